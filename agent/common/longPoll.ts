/**
 * One long poll over HTTP: a JSON POST the server may hold for `holdMs` before it answers,
 * reduced to a PollResult (agent/common/pollLoop.ts): a 200's answer (parsed by the caller), no
 * news (204), a refusal (any other status, with the server's message), a network failure, or an
 * abort by the agent itself. A guard timer bounds a poll the network swallowed.
 */
import { druidErrorMessage } from "./druidErrors.ts";
import type { PollResult } from "./pollLoop.ts";

export interface LongPollRequest<A> {
  url: string;
  /** Added to the JSON content type and `Accept-Encoding: identity`. */
  headers: Record<string, string>;
  body: unknown;
  /** How long the server may hold the poll; it counts as lost `POLL_GUARD_EXTRA_MS` later. */
  holdMs: number;
  fetch: typeof fetch;
  /** A 200's JSON → the answer; a throw makes the poll `failed`. */
  parse(json: unknown): A;
}

/** Extra time beyond the hold before a held poll counts as lost. */
export const POLL_GUARD_EXTRA_MS = 10_000;

/**
 * Sends one poll. The result is settled by the abort signal itself, not only by fetch: an abort
 * that lands while fetch is still writing the request has been seen to leave fetch's promise
 * pending forever (Node 20's undici), which would stall the agent.
 */
export function sendLongPoll<A>(req: LongPollRequest<A>, controller: AbortController): Promise<PollResult<A>> {
  const settledByAbort = new Promise<PollResult<A>>((resolve) => {
    const onAbort = () => {
      const reason: unknown = controller.signal.reason;
      resolve(reason instanceof Error ? { kind: "failed", error: reason.message } : { kind: "aborted", reason });
    };
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([fetchLongPoll(req, controller), settledByAbort]);
}

async function fetchLongPoll<A>(req: LongPollRequest<A>, controller: AbortController): Promise<PollResult<A>> {
  const guardMs = req.holdMs + POLL_GUARD_EXTRA_MS;
  const guard = setTimeout(() => controller.abort(new Error(`no answer within ${guardMs} ms`)), guardMs);
  try {
    const res = await req.fetch(req.url, {
      method: "POST",
      // Uncompressed: a poll's answer is small and frequent, and gzip cost CPU at both ends.
      headers: { ...req.headers, "content-type": "application/json", "accept-encoding": "identity" },
      body: JSON.stringify(req.body),
      signal: controller.signal,
    });
    if (res.status === 204) {
      await res.body?.cancel();
      return { kind: "noNews" };
    }
    const text = await res.text();
    if (res.status !== 200) return { kind: "refused", status: res.status, message: druidErrorMessage(text) };
    return { kind: "reply", reply: req.parse(JSON.parse(text)) };
  } catch (err) {
    const reason: unknown = controller.signal.reason;
    if (controller.signal.aborted && !(reason instanceof Error)) return { kind: "aborted", reason };
    return { kind: "failed", error: describe(err) };
  } finally {
    clearTimeout(guard);
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}
