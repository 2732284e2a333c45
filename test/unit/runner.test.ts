import { describe, expect, it } from "vitest";
import type { WorkerBehaviorConfig } from "../../src/overlord/workerSelect.ts";
import { assigned, failed, noop, overlord, running, shutdowns, succeeded } from "./support/overlordHarness.ts";

const audit = { author: "t", comment: "", ip: "127.0.0.1", createdMs: 0 };
const strategy = (selectStrategy: WorkerBehaviorConfig["selectStrategy"]): WorkerBehaviorConfig => ({ type: "default", selectStrategy, autoScaler: null });
const noops = (n: number, prefix = "t") => Array.from({ length: n }, (_, i) => noop(`${prefix}${i + 1}`));

describe("assignment through the runner", () => {
  it("hands a newly registered worker its assignments in the snapshot of its first full poll, up to its capacity", () => {
    const o = overlord();
    o.submit(...noops(3));
    const r = o.agent("w1:8091", { capacity: 2 }).answer();
    expect(r).toMatchObject({ term: 1, resetCounter: false, acks: [] });
    expect(r.requests![0]).toEqual({ type: "metadata", disabled: false });
    expect(assigned(r)).toEqual(["t1", "t2"]);
    expect(r.counter).not.toBeNull();
    expect(o.entry("t3")).toMatchObject({ worker: null, runner: "PENDING" });
    expect(o.core.runner.workerInfo()).toMatchObject([{ worker: { host: "w1:8091", capacity: 2 }, currCapacityUsed: 2, runningTasks: ["t1", "t2"] }]);
  });

  it("lets prefetch queue tasks beyond capacity on the worker", () => {
    const o = overlord();
    o.submit(...noops(5));
    expect(assigned(o.agent("w1:8091", { capacity: 1, prefetch: 2 }).answer())).toEqual(["t1", "t2", "t3"]);
  });

  it("refills a slot when its task ends: the next pending task comes with the ack", () => {
    const o = overlord();
    o.submit(...noops(2));
    const a = o.agent("w1:8091");
    expect(assigned(a.answer())).toEqual(["t1"]);
    a.answer({ tasks: [running("t1")] });
    const r = a.answer({ tasks: [succeeded("t1")] });
    expect(r.acks).toEqual(["t1"]);
    expect(assigned(r)).toEqual(["t2"]);
  });

  it("assigns in priority order", () => {
    const o = overlord();
    o.submit(noop("low", { context: { priority: 1 } }), noop("high", { context: { priority: 99 } }));
    expect(assigned(o.agent("w1:8091").answer())).toEqual(["high"]);
  });

  it("spreads tasks with equalDistribution and fills one worker first with fillCapacity", () => {
    for (const [type, expected] of [["equalDistribution", [2, 2]], ["fillCapacity", [3, 1]]] as const) {
      const o = overlord();
      o.core.setWorkerConfig(strategy({ type }), audit);
      o.agent("a:1", { capacity: 3 }).answer();
      o.agent("b:1", { capacity: 3 }).answer();
      o.submit(...noops(4));
      const on = (h: string) => o.core.activeEntries().filter((e) => e.worker === h).length;
      expect([on("a:1"), on("b:1")]).toEqual(expected);
    }
  });

  it("sends a task to the worker category its data source has affinity with, and falls back when none is configured", () => {
    const o = overlord();
    const spec = { strong: false, categoryMap: { noop: { defaultCategory: null, categoryAffinity: { wiki: "hot" }, supervisorIdCategoryAffinity: {} } } };
    o.core.setWorkerConfig(strategy({ type: "equalDistributionWithCategorySpec", workerCategorySpec: spec }), audit);
    o.agent("cold:1", { capacity: 4, category: "cold" }).answer();
    o.agent("hot:1", { capacity: 1, category: "hot" }).answer();
    o.submit(noop("w", { dataSource: "wiki" }), noop("x", { dataSource: "other" }));
    expect(o.entry("w").worker).toBe("hot:1");
    expect(o.entry("x").worker).toBe("cold:1");
  });

  it("gives a disabled worker nothing, and its pending work once it is enabled again", () => {
    const o = overlord();
    const a = o.agent("w1:8091");
    a.answer();
    expect(o.core.runner.setDisabled("w1:8091", true)).toBe(true);
    o.submit(noop("t1"));
    expect(o.entry("t1").worker).toBeNull();
    o.commit();
    expect(a.answer().requests).toEqual([{ type: "metadata", disabled: true }]);
    o.core.runner.setDisabled("w1:8091", false);
    expect(o.entry("t1").worker).toBe("w1:8091");
    o.commit();
    expect(a.answer().requests).toEqual([{ type: "metadata", disabled: false }, { type: "assign", taskId: "t1" }]);
    expect(o.core.runner.setDisabled("unknown:1", true)).toBe(false);
  });

  it("gives nothing to a worker older than minWorkerVersion", () => {
    const o = overlord({ minWorkerVersion: "2" });
    o.submit(noop("t1"));
    expect(assigned(o.agent("w1:8091", { version: "1" }).answer())).toEqual([]);
    expect(assigned(o.agent("w2:8091", { version: "2" }).answer())).toEqual(["t1"]);
  });
});

describe("the worker's change log", () => {
  it("holds an up-to-date poll with no news", () => {
    const o = overlord();
    const a = o.agent("w1:8091");
    a.answer();
    expect(a.poll()).toBe("held");
    expect(a.lastOutcome).toMatchObject({ kind: "hold", host: "w1:8091", timeoutMs: 20_000 });
  });

  it("caps how long a poll is held at maxPollTimeoutMs", () => {
    const o = overlord({ maxPollTimeoutMs: 5_000 });
    const a = o.agent("w1:8091");
    a.answer();
    a.poll({ timeoutMs: 20_000 });
    expect(a.lastOutcome).toMatchObject({ kind: "hold", timeoutMs: 5_000 });
  });

  it("does not hand out an assignment before the commit that makes it durable", () => {
    const o = overlord();
    const a = o.agent("w1:8091");
    a.answer();
    o.submit(noop("t1"));
    expect(o.entry("t1").worker).toBe("w1:8091");
    expect(o.core.runner.hasNews("w1:8091", a.counter!)).toBe(false);
    expect(o.core.runner.replyFor("w1:8091", a.counter!, []).requests).toEqual([]);
    expect(o.core.runner.replyFor("w1:8091", null, []).requests).toEqual([{ type: "metadata", disabled: false }]);
    o.commit();
    expect(o.core.runner.hasNews("w1:8091", a.counter!)).toBe(true);
    const r = o.core.runner.replyFor("w1:8091", a.counter!, []);
    expect(r.requests).toEqual([{ type: "assign", taskId: "t1" }]);
    expect(r.counter!.counter).toBeGreaterThan(a.counter!.counter);
  });

  it("answers a poll at its counter with only the changes after it", () => {
    const o = overlord();
    const a = o.agent("w1:8091", { capacity: 3 });
    a.answer();
    o.submit(noop("t1"));
    o.commit();
    expect(assigned(a.answer())).toEqual(["t1"]);
    o.submit(noop("t2"));
    o.commit();
    expect(assigned(a.answer())).toEqual(["t2"]);
    expect(a.poll()).toBe("held");
  });

  it("resets a poll whose counter is stale (hash mismatch) or from the future, then serves a full snapshot", () => {
    const o = overlord();
    const a = o.agent("w1:8091");
    a.answer();
    o.submit(noop("t1"));
    o.commit();
    const c = a.counter!;
    for (const bad of [{ counter: c.counter, hash: c.hash + 1 }, { counter: c.counter + 10, hash: c.hash }]) {
      const r = a.answer({ counter: bad });
      expect(r).toMatchObject({ resetCounter: true, counter: null, requests: null });
      expect(r.resetCause).toBeTruthy();
    }
    expect(a.counter).toBeNull();
    expect(assigned(a.answer())).toEqual(["t1"]);
  });

  it("resets a poll from an older term, and one with a counter before any full poll in this term", () => {
    const o = overlord({}, { term: 2 });
    const a = o.agent("w1:8091");
    expect(a.answer({ term: 1, counter: { counter: 3, hash: 42 } })).toMatchObject({ term: 2, resetCounter: true, resetCause: "term changed to [2]" });
    expect(a.answer({ term: 2, counter: { counter: 3, hash: 42 } })).toMatchObject({ resetCounter: true, resetCause: "worker not synced in this term" });
    expect(a.answer({ counter: null })).toMatchObject({ term: 2, resetCounter: false });
  });
});

describe("task statuses reported by the worker", () => {
  function runningOn() {
    const o = overlord();
    o.submit(noop("t1"));
    const a = o.agent("w1:8091");
    a.answer();
    return { o, a };
  }

  it("confirms an assignment on RUNNING, with its location, and changes nothing on a repeat", () => {
    const { o, a } = runningOn();
    a.answer({ tasks: [running("t1")] });
    expect(o.entry("t1")).toMatchObject({ status: "RUNNING", runner: "RUNNING", location: { host: "10.0.0.1", port: 8100 } });
    expect(o.core.statusOf("t1")).toMatchObject({ runnerStatusCode: "RUNNING" });
    o.core.runner.poll(a.request({ tasks: [running("t1")] }), a.key);
    expect(o.core.ctx.writes.size).toBe(0);
    o.core.runner.poll(a.request({ tasks: [{ ...running("t1"), location: { host: "10.0.0.2", port: 8101, tlsPort: -1 } }] }), a.key);
    expect([...o.core.ctx.writes.tasks.keys()]).toEqual(["t1"]);
    expect(o.entry("t1").location.host).toBe("10.0.0.2");
  });

  it("ends a task on SUCCESS and acknowledges it, again on a repeat without changing it", () => {
    const { o, a } = runningOn();
    a.answer({ tasks: [running("t1")] });
    expect(a.answer({ tasks: [succeeded("t1", 77)] }).acks).toEqual(["t1"]);
    expect(o.entry("t1")).toMatchObject({ status: "SUCCESS", duration: 77, runner: "NONE" });
    expect(a.answer({ tasks: [succeeded("t1", 99)] }).acks).toEqual(["t1"]);
    expect(o.entry("t1")).toMatchObject({ status: "SUCCESS", duration: 77 });
    expect(o.core.runner.workerInfo()[0]!.currCapacityUsed).toBe(0);
  });

  it("records FAILED with the worker's error message", () => {
    const { o, a } = runningOn();
    expect(a.answer({ tasks: [failed("t1", "out of memory")] }).acks).toEqual(["t1"]);
    expect(o.entry("t1")).toMatchObject({ status: "FAILED", errorMsg: "out of memory" });
  });

  it("acknowledges a final status of a task it does not know, and tells the worker to stop an unknown running one", () => {
    const { a } = runningOn();
    expect(a.answer({ tasks: [succeeded("ghost")] }).acks).toEqual(["ghost"]);
    expect(shutdowns(a.answer({ tasks: [running("ghost2")] }))).toEqual(["ghost2"]);
  });

  it("tells a worker to stop a task that is assigned to another worker, leaving it there", () => {
    const o = overlord();
    o.submit(noop("t1"));
    o.agent("w1:8091").answer();
    const b = o.agent("w2:8091");
    b.answer();
    expect(shutdowns(b.answer({ tasks: [running("t1")] }))).toEqual(["t1"]);
    expect(o.entry("t1")).toMatchObject({ worker: "w1:8091", runner: "PENDING" });
  });

  it("sends a shutdown for a user-stopped running task and keeps its slot until the worker reports it done", () => {
    const o = overlord();
    o.submit(noop("t1"), noop("t2"));
    const a = o.agent("w1:8091");
    a.answer();
    a.answer({ tasks: [running("t1")] });
    o.core.queue.shutdown("t1");
    expect(o.entry("t1").status).toBe("FAILED");
    o.commit();
    expect(shutdowns(a.answer())).toEqual(["t1"]);
    expect(o.entry("t2").worker).toBeNull();
    const r = a.answer({ tasks: [failed("t1", "killed")] });
    expect(r.acks).toEqual(["t1"]);
    expect(o.entry("t1").errorMsg).toBe("Shutdown request from user");
    expect(assigned(r)).toEqual(["t2"]);
  });
});
