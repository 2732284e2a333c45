/** retryingFetch with a scripted fetch, an injected clock, jitter and wait: no real sleeps. */
import { describe, expect, it } from "vitest";
import { describeFailure, retryingFetch, type RetryOptions } from "../../../agent/common/retryingFetch.ts";

type Step = number | Error;

/** A fetch that answers each call with the next status (or throws the next error), and a clock that only the waits move. */
function scripted(steps: Step[], extra: Partial<RetryOptions> = {}) {
  let clock = 1_000;
  const calls: { at: number; init: RequestInit | undefined }[] = [];
  const waits: number[] = [];
  const bodies: Response[] = [];
  const fetch = (async (_url: string, init?: RequestInit) => {
    calls.push({ at: clock, init });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
    if (step instanceof Error) throw step;
    const res = new Response(`body of ${step}`, { status: step });
    bodies.push(res);
    return res;
  }) as typeof globalThis.fetch;
  const opts: RetryOptions = {
    fetch,
    initialDelayMs: 100,
    maxDelayMs: 1000,
    now: () => clock,
    random: () => 0.5, // no jitter: each delay is the step itself
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    ...extra,
  };
  return { opts, calls, waits, bodies, now: () => clock };
}

describe("retryingFetch", () => {
  it("returns a 2xx at once, without waiting", async () => {
    const s = scripted([200]);
    const r = await retryingFetch("http://o/x", {}, s.opts);
    expect(r.kind).toBe("answered");
    expect(r.response!.status).toBe(200);
    expect(s.waits).toEqual([]);
  });

  it("takes a 4xx other than 429 as final: no retry, the answer returned with its body unread", async () => {
    const s = scripted([404, 200]);
    const r = await retryingFetch("http://o/x", {}, s.opts);
    expect(r.kind).toBe("answered");
    expect(r.response!.status).toBe(404);
    expect(await r.response!.text()).toBe("body of 404");
    expect(s.calls).toHaveLength(1);
  });

  it("retries a 5xx, a 429 and a network error, waiting a step that doubles up to its cap", async () => {
    const s = scripted([503, 429, new TypeError("fetch failed"), 500, 502, 500, 200]);
    const r = await retryingFetch("http://o/x", {}, s.opts);
    expect(r.kind).toBe("answered");
    expect(r.response!.status).toBe(200);
    expect(s.waits).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("jitters each wait between 50% and 150% of the step, by the injected randomness", async () => {
    const low = scripted([503, 503, 200], { random: () => 0 });
    await retryingFetch("http://o/x", {}, low.opts);
    expect(low.waits).toEqual([50, 100]);
    const high = scripted([503, 503, 200], { random: () => 1 });
    await retryingFetch("http://o/x", {}, high.opts);
    expect(high.waits).toEqual([150, 300]);
  });

  it("gives up rather than wait past the deadline, returning the last transient answer unread", async () => {
    const s = scripted([503]);
    const deadline = s.now() + 750; // waits 100 + 200 + 400 fit; the next (800) would end past it
    const r = await retryingFetch("http://o/x", {}, { ...s.opts, deadline });
    expect(r.kind).toBe("gaveUp");
    expect(s.waits).toEqual([100, 200, 400]);
    expect(s.calls.map((c) => c.at)).toEqual([1000, 1100, 1300, 1700]);
    expect(r.kind === "gaveUp" && r.attempts).toBe(4);
    expect(r.response!.status).toBe(503);
    expect(await r.response!.text()).toBe("body of 503");
  });

  it("gives up with the network error when the last attempt could not reach the server", async () => {
    const s = scripted([new TypeError("fetch failed")]);
    const r = await retryingFetch("http://o/x", {}, { ...s.opts, deadline: s.now() + 250 });
    expect(r.kind).toBe("gaveUp");
    expect(r.response).toBeNull();
    expect(r.kind === "gaveUp" && r.error?.message).toBe("fetch failed");
    expect(await describeFailure(r)).toBe("fetch failed");
  });

  it("makes at most maxAttempts attempts", async () => {
    const s = scripted([500]);
    const r = await retryingFetch("http://o/x", {}, { ...s.opts, maxAttempts: 3 });
    expect(r.kind).toBe("gaveUp");
    expect(s.calls).toHaveLength(3);
    expect(s.waits).toEqual([100, 200]);
  });

  it("lets the caller's classifier decide what is transient", async () => {
    const s = scripted([409, 200]);
    const r = await retryingFetch("http://o/x", {}, { ...s.opts, isTransient: (res) => res.status === 409 });
    expect(r.response!.status).toBe(200);
    expect(s.calls).toHaveLength(2);
  });

  it("cancels a transient answer's body before the next attempt", async () => {
    const s = scripted([503, 200]);
    await retryingFetch("http://o/x", {}, s.opts);
    expect(s.bodies[0]!.bodyUsed).toBe(true); // cancelled: nothing left to read
    expect(s.bodies[1]!.bodyUsed).toBe(false);
  });

  it("builds the request afresh for each attempt when init is a function", async () => {
    const s = scripted([503, 503, 200]);
    let built = 0;
    await retryingFetch("http://o/x", () => ({ headers: { attempt: String(++built) } }), s.opts);
    expect(s.calls.map((c) => (c.init!.headers as Record<string, string>)["attempt"])).toEqual(["1", "2", "3"]);
  });

  it("ends with the signal's reason when aborted during a wait, making no further attempt", async () => {
    const c = new AbortController();
    const s = scripted([503, 200], {
      sleep: async () => {
        c.abort(new Error("task stopped"));
      },
    });
    await expect(retryingFetch("http://o/x", {}, { ...s.opts, signal: c.signal })).rejects.toThrow("task stopped");
    expect(s.calls).toHaveLength(1);
  });

  it("does not take its own abort during an attempt for a network error: it ends at once", async () => {
    const c = new AbortController();
    const s = scripted([503]);
    const fetch = (async () => {
      c.abort(new Error("task stopped"));
      throw new DOMException("aborted", "AbortError");
    }) as typeof globalThis.fetch;
    await expect(retryingFetch("http://o/x", {}, { ...s.opts, fetch, signal: c.signal })).rejects.toThrow("task stopped");
    expect(s.waits).toEqual([]);
  });

  it("makes no attempt when the signal has already aborted", async () => {
    const c = new AbortController();
    c.abort(new Error("already stopped"));
    const s = scripted([200]);
    await expect(retryingFetch("http://o/x", {}, { ...s.opts, signal: c.signal })).rejects.toThrow("already stopped");
    expect(s.calls).toHaveLength(0);
  });
});

describe("describeFailure", () => {
  it("names an answer by its status and the start of its body", async () => {
    const s = scripted([413]);
    const r = await retryingFetch("http://o/x", {}, s.opts);
    expect(await describeFailure(r, 4)).toBe("HTTP 413 body");
  });
});
