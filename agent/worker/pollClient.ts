/**
 * One `POST /druid-internal/v1/agent/poll`, reduced to what the poll loop decides on: a
 * snapshot, no news (204), a refusal (4xx/5xx), a network failure, or an abort by the agent
 * itself (news to send, or stopping). A guard timer bounds a poll the network swallowed.
 */
import { WORKER_KEY_HEADER } from "../../src/protocol/headers.ts";
import type { PollAnswer, PollBody } from "../../src/protocol/agent.ts";

export type PollReply = PollAnswer;

export type PollResult =
  | { kind: "reply"; reply: PollReply }
  | { kind: "noNews" }
  | { kind: "refused"; status: number; message: string }
  | { kind: "failed"; error: string }
  | { kind: "aborted"; reason: unknown };

export interface PollTarget {
  overlord: string;
  token: string;
  /** The agent's secret identity (agent/worker/identity.ts). */
  workerKey: string;
  fetch: typeof fetch;
}

/** Extra time beyond `timeoutMs` before a held poll counts as lost. */
export const POLL_GUARD_EXTRA_MS = 10_000;

/**
 * Sends one poll. The result is settled by the abort signal itself, not only by fetch: an abort
 * that lands while fetch is still writing the request has been seen to leave fetch's promise
 * pending forever (Node 20's undici), which would stall the agent.
 */
export function sendPoll(target: PollTarget, body: PollBody, controller: AbortController): Promise<PollResult> {
  const settledByAbort = new Promise<PollResult>((resolve) => {
    const onAbort = () => {
      const reason: unknown = controller.signal.reason;
      resolve(reason instanceof Error ? { kind: "failed", error: reason.message } : { kind: "aborted", reason });
    };
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([fetchPoll(target, body, controller), settledByAbort]);
}

async function fetchPoll(target: PollTarget, body: PollBody, controller: AbortController): Promise<PollResult> {
  const guard = setTimeout(() => controller.abort(new Error(`no answer within ${body.timeoutMs + POLL_GUARD_EXTRA_MS} ms`)), body.timeoutMs + POLL_GUARD_EXTRA_MS);
  try {
    const res = await target.fetch(`${target.overlord}/druid-internal/v1/agent/poll`, {
      method: "POST",
      // Uncompressed: a poll's reply is small and frequent, and gzip cost CPU at both ends.
      headers: { Authorization: `Bearer ${target.token}`, [WORKER_KEY_HEADER]: target.workerKey, "content-type": "application/json", "accept-encoding": "identity" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (res.status === 204) {
      await res.body?.cancel();
      return { kind: "noNews" };
    }
    const text = await res.text();
    if (res.status !== 200) return { kind: "refused", status: res.status, message: errorMessage(text) };
    return { kind: "reply", reply: parsePollReply(JSON.parse(text)) };
  } catch (err) {
    const reason: unknown = controller.signal.reason;
    if (controller.signal.aborted && !(reason instanceof Error)) return { kind: "aborted", reason };
    return { kind: "failed", error: describe(err) };
  } finally {
    clearTimeout(guard);
  }
}

function errorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: unknown; errorMessage?: unknown };
    const m = j.errorMessage ?? j.error;
    if (typeof m === "string") return m.slice(0, 500);
  } catch {
    // not JSON
  }
  return text.slice(0, 500);
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

/** Throws when a 200 body is not a poll answer (the loop then backs off and retries). */
export function parsePollReply(body: unknown): PollReply {
  const r = body as Partial<PollReply> | null;
  if (!r || typeof r !== "object" || typeof r.term !== "number" || typeof r.resetCounter !== "boolean") {
    throw new Error("The poll answer is not a change-log snapshot");
  }
  if (!r.resetCounter && (r.counter === null || typeof r.counter !== "object" || !Array.isArray(r.requests))) {
    throw new Error("The poll answer has no counter or requests");
  }
  if (r.acks !== undefined && !Array.isArray(r.acks)) throw new Error("The poll answer's acks is not a list");
  return { ...r, acks: r.acks ?? [] } as PollReply;
}
