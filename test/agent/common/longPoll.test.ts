/** One long poll over HTTP against a stub fetch: what each answer becomes, and aborts. */
import { describe, expect, it, vi } from "vitest";
import { POLL_GUARD_EXTRA_MS, sendLongPoll, type LongPollRequest } from "../../../agent/common/longPoll.ts";

function request(fetch: typeof globalThis.fetch, holdMs = 20_000): LongPollRequest<{ ok: true }> {
  return {
    url: "http://overlord.test/poll",
    headers: { Authorization: "Bearer t" },
    body: { hello: 1 },
    holdMs,
    fetch,
    parse: (json) => {
      if ((json as { ok?: unknown }).ok !== true) throw new Error("not an answer");
      return { ok: true };
    },
  };
}

const answering = (status: number, body: string | null) => (async () => new Response(body, { status })) as typeof fetch;

describe("sendLongPoll", () => {
  it("POSTs the JSON body uncompressed with the caller's headers", async () => {
    let seen: RequestInit | undefined;
    const fetch = (async (_url: string, init: RequestInit) => {
      seen = init;
      return new Response(null, { status: 204 });
    }) as typeof globalThis.fetch;
    await sendLongPoll(request(fetch), new AbortController());
    expect(seen!.method).toBe("POST");
    expect(seen!.body).toBe('{"hello":1}');
    expect(seen!.headers).toMatchObject({ Authorization: "Bearer t", "content-type": "application/json", "accept-encoding": "identity" });
  });

  it("turns a 200 into the parsed answer, a 204 into no news, and a body that does not parse into a failure", async () => {
    expect(await sendLongPoll(request(answering(200, '{"ok":true}')), new AbortController())).toEqual({ kind: "reply", reply: { ok: true } });
    expect(await sendLongPoll(request(answering(204, null)), new AbortController())).toEqual({ kind: "noNews" });
    expect(await sendLongPoll(request(answering(200, '{"ok":false}')), new AbortController())).toEqual({ kind: "failed", error: "not an answer" });
  });

  it("turns any other status into a refusal carrying Druid's error message", async () => {
    const r = await sendLongPoll(request(answering(409, '{"error":"druidException","errorMessage":"host taken"}')), new AbortController());
    expect(r).toEqual({ kind: "refused", status: 409, message: "host taken" });
  });

  it("settles as aborted when the agent aborts it, even if fetch never settles", async () => {
    const never = (() => new Promise<Response>(() => {})) as typeof fetch;
    const c = new AbortController();
    const pending = sendLongPoll(request(never), c);
    c.abort("news");
    expect(await pending).toEqual({ kind: "aborted", reason: "news" });
  });

  it("counts a poll still unanswered POLL_GUARD_EXTRA_MS past its hold as failed", async () => {
    vi.useFakeTimers();
    try {
      const never = (() => new Promise<Response>(() => {})) as typeof fetch;
      const c = new AbortController();
      const pending = sendLongPoll(request(never, 20_000), c);
      vi.advanceTimersByTime(20_000 + POLL_GUARD_EXTRA_MS - 1);
      expect(c.signal.aborted).toBe(false);
      vi.advanceTimersByTime(1);
      expect(await pending).toEqual({ kind: "failed", error: `no answer within ${20_000 + POLL_GUARD_EXTRA_MS} ms` });
    } finally {
      vi.useRealTimers();
    }
  });
});
