/**
 * One HTTP request, retried while its failure is transient — a network error, a 5xx, a 429 —
 * with jittered exponential backoff (agent/common/backoff.ts), until it gets a final answer or
 * runs out of time or attempts. Every other answer (2xx, 3xx, other 4xx) is final: returned to
 * the caller as it is. The clock, the jitter and the wait are injectable, so tests run it
 * without real waits.
 */
import { Backoff } from "./backoff.ts";
import { waitOrAbort, type Sleep } from "./waiters.ts";

export interface RetryOptions {
  fetch: typeof fetch;
  /** The backoff's first step and cap (ms); each delay is 50–150% of the step. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** No attempt starts after this time (on `now`'s clock): a delay that would end past it ends the retrying. */
  deadline?: number;
  /** At most this many attempts (default: no limit; with no deadline either, it retries until `signal` aborts). */
  maxAttempts?: number;
  /** Aborts the retrying (a wait, or the next attempt) with its reason; pass it in `init` too to abort an attempt under way. */
  signal?: AbortSignal;
  /** Whether an answer is worth another attempt (default: 5xx and 429). */
  isTransient?: (res: Response) => boolean;
  now?: () => number;
  random?: () => number;
  /** Waits `ms`, or less if `signal` aborts (default waitOrAbort). */
  sleep?: Sleep;
}

export type RetryResult =
  /** A final answer (body unread). */
  | { kind: "answered"; response: Response }
  /** Out of time or attempts: the last attempt's transient answer (body unread) or its network error. */
  | { kind: "gaveUp"; attempts: number; response: Response; error: null }
  | { kind: "gaveUp"; attempts: number; response: null; error: Error };

export const isTransientStatus = (status: number): boolean => status >= 500 || status === 429;

const NEVER_ABORTED = new AbortController().signal;

/** `init` may be a function, called for each attempt (e.g. for a fresh per-attempt timeout signal). */
export async function retryingFetch(url: string, init: RequestInit | (() => RequestInit), o: RetryOptions): Promise<RetryResult> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? waitOrAbort;
  const isTransient = o.isTransient ?? ((res: Response) => isTransientStatus(res.status));
  const signal = o.signal ?? NEVER_ABORTED;
  const backoff = new Backoff(o.initialDelayMs, o.maxDelayMs, o.random ?? Math.random);
  for (let attempts = 1; ; attempts++) {
    signal.throwIfAborted();
    let last: { response: Response; error: null } | { response: null; error: Error };
    try {
      const response = await o.fetch(url, typeof init === "function" ? init() : init);
      if (!isTransient(response)) return { kind: "answered", response };
      last = { response, error: null };
    } catch (err) {
      signal.throwIfAborted(); // our own abort is not a network error
      last = { response: null, error: err instanceof Error ? err : new Error(String(err)) };
    }
    const delay = backoff.next();
    const outOfAttempts = o.maxAttempts !== undefined && attempts >= o.maxAttempts;
    const outOfTime = o.deadline !== undefined && now() + delay > o.deadline;
    if (outOfAttempts || outOfTime) return { kind: "gaveUp", attempts, ...last };
    await last.response?.body?.cancel().catch(() => undefined);
    await sleep(delay, signal);
  }
}

/** Why a request did not succeed, for a log line: `HTTP 503 <start of the body>` or the network error's message. */
export async function describeFailure(r: RetryResult, maxChars = 200): Promise<string> {
  if (r.response === null) return r.error.message;
  const text = await r.response.text().catch(() => "");
  return `HTTP ${r.response.status} ${text.slice(0, maxChars)}`;
}
