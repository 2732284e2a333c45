/** The long-poll loop with scripted polls: answers, backoff, news, stop (no network, no real backoff waits). */
import { afterEach, describe, expect, it } from "vitest";
import { PollLoop, type Poll, type PollProblem, type PollResult } from "../../../agent/common/pollLoop.ts";

type Answer = { n: number };

/** A poll whose result the test decides; an abort settles it as `aborted` (as a real sender must). */
interface ScriptedPoll extends Poll<Answer> {
  sent: Promise<void>;
  reply(result: PollResult<Answer>): void;
  controller: AbortController | null;
  answers: (Answer | null)[];
}

function scriptedPoll(answeredAtOnce = false, onAnswer: (a: Answer | null) => void | "backOff" = () => {}): ScriptedPoll {
  let markSent!: () => void;
  let settle!: (r: PollResult<Answer>) => void;
  const p: ScriptedPoll = {
    answeredAtOnce,
    sent: new Promise<void>((r) => (markSent = r)),
    controller: null,
    answers: [],
    reply: (r) => settle(r),
    send(controller) {
      p.controller = controller;
      markSent();
      return new Promise<PollResult<Answer>>((resolve) => {
        settle = resolve;
        controller.signal.addEventListener("abort", () => resolve({ kind: "aborted", reason: controller.signal.reason }), { once: true });
      });
    },
    answered(a) {
      p.answers.push(a);
      return onAnswer(a);
    },
  };
  return p;
}

/** A loop over a queue of polls the test pushes; `next()` waits until one is there. */
function harness() {
  const queue: ScriptedPoll[] = [];
  const waiting: ((p: ScriptedPoll) => void)[] = [];
  const problems: PollProblem[] = [];
  const sleeps: number[] = [];
  let wake: (() => void) | null = null;
  const loop = new PollLoop<Answer>({
    next: () => (queue.length > 0 ? queue.shift()! : new Promise<ScriptedPoll>((r) => waiting.push(r))),
    failed: (p) => problems.push(p),
    random: () => 0.5,
    // Backoff waits end when the test says (or on stop), never by a clock.
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        sleeps.push(ms);
        wake = resolve;
        signal.addEventListener("abort", () => resolve(), { once: true });
      }),
  });
  const push = (p: ScriptedPoll) => {
    const w = waiting.shift();
    if (w) w(p);
    else queue.push(p);
    return p;
  };
  return { loop, push, problems, sleeps, endSleep: () => wake?.() };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
let loops: PollLoop<Answer>[] = [];

afterEach(async () => {
  await Promise.all(loops.map((l) => l.stop()));
  loops = [];
});

function started(h: ReturnType<typeof harness>) {
  loops.push(h.loop);
  h.loop.start();
  return h;
}

describe("the poll loop", () => {
  it("hands a 200's answer and a 204 (null) to the poll that got them and sends the next poll at once", async () => {
    const h = started(harness());
    const first = h.push(scriptedPoll());
    await first.sent;
    first.reply({ kind: "reply", reply: { n: 1 } });
    const second = h.push(scriptedPoll());
    await second.sent;
    second.reply({ kind: "noNews" });
    const third = h.push(scriptedPoll());
    await third.sent;
    expect(first.answers).toEqual([{ n: 1 }]);
    expect(second.answers).toEqual([null]);
    expect(h.sleeps).toEqual([]);
  });

  it("reports a refused or failed poll and retries after a backoff step that doubles, and resets after an answer", async () => {
    const h = started(harness());
    const refused = h.push(scriptedPoll());
    await refused.sent;
    refused.reply({ kind: "refused", status: 503, message: "down" });
    await tick();
    expect(h.problems).toEqual([{ kind: "refused", status: 503, message: "down" }]);
    expect(h.sleeps).toEqual([100]);
    h.endSleep();
    const failed = h.push(scriptedPoll());
    await failed.sent;
    failed.reply({ kind: "failed", error: "ECONNREFUSED" });
    await tick();
    expect(h.sleeps).toEqual([100, 200]);
    h.endSleep();
    const answered = h.push(scriptedPoll());
    await answered.sent;
    answered.reply({ kind: "noNews" });
    const again = h.push(scriptedPoll());
    await again.sent;
    again.reply({ kind: "failed", error: "ECONNRESET" });
    await tick();
    expect(h.sleeps).toEqual([100, 200, 100]);
  });

  it("waits one backoff step before the next poll when an answer asks it to", async () => {
    const h = started(harness());
    const p = h.push(scriptedPoll(false, () => "backOff"));
    await p.sent;
    p.reply({ kind: "reply", reply: { n: 1 } });
    await tick();
    expect(h.sleeps).toEqual([100]);
    expect(h.problems).toEqual([]);
  });

  it("aborts a held poll for news after the debounce and sends the next one at once, without backing off", async () => {
    const h = started(harness());
    const held = h.push(scriptedPoll());
    await held.sent;
    h.loop.news();
    h.loop.news(); // a burst shares one abort
    const next = h.push(scriptedPoll());
    await next.sent;
    expect(held.controller!.signal.reason).toBe("news");
    expect(held.answers).toEqual([]);
    expect(h.sleeps).toEqual([]);
  });

  it("does not abort a poll the server answers at once for news, but pollNow aborts any poll", async () => {
    const h = started(harness());
    const carrying = h.push(scriptedPoll(true));
    await carrying.sent;
    h.loop.news();
    await new Promise((r) => setTimeout(r, 10));
    expect(carrying.controller!.signal.aborted).toBe(false);
    h.loop.pollNow();
    expect(carrying.controller!.signal.aborted).toBe(true);
    await h.push(scriptedPoll()).sent;
  });

  it("stop cuts a held poll short and resolves once the loop has returned", async () => {
    const h = started(harness());
    const held = h.push(scriptedPoll());
    await held.sent;
    await h.loop.stop();
    expect(held.controller!.signal.reason).toBe("stop");
    expect(h.loop.stopped).toBe(true);
  });

  it("stop cuts a backoff wait short", async () => {
    const h = started(harness());
    const refused = h.push(scriptedPoll());
    await refused.sent;
    refused.reply({ kind: "refused", status: 401, message: "Unauthorized" });
    await tick();
    expect(h.sleeps).toEqual([100]);
    await h.loop.stop();
  });

  it("sends no poll built while it was stopping", async () => {
    const h = started(harness());
    await tick(); // the loop waits in next()
    const stopped = h.loop.stop();
    const late = h.push(scriptedPoll());
    await stopped;
    expect(late.controller).toBeNull();
  });
});
