/** Full task lists and worker keys (docs/agent-protocol.md, "Identity" and "At most once"). */
import { describe, expect, it } from "vitest";
import { assigned, druidError, failed, noop, overlord, running, succeeded } from "./support/overlordHarness.ts";

const HOST = "w1:8091";

/** A worker of capacity 3 that holds t1 (confirmed RUNNING) and t2 (assigned and sent, not started). */
function busyWorker(config = {}) {
  const o = overlord({ workerLeaseMs: 45_000, ...config });
  o.submit(noop("t1"), noop("t2"));
  const a = o.agent(HOST, { capacity: 3 });
  expect(assigned(a.answer())).toEqual(["t1", "t2"]);
  a.answer({ tasks: [running("t1")] });
  return { o, a };
}

describe("a full task list from the key holding the host", () => {
  it("fails a confirmed-running task it omits: it disappeared on the worker", () => {
    const { o, a } = busyWorker();
    a.answer({ counter: null, tasks: [] });
    expect(o.entry("t1")).toMatchObject({ status: "FAILED", errorMsg: "This task disappeared on the worker where it was assigned" });
  });

  it("sends an unstarted assignment it omits again in the snapshot", () => {
    const { o, a } = busyWorker();
    const r = a.answer({ counter: null, tasks: [running("t1")] });
    // a snapshot names every task the worker should hold (assign is idempotent on the agent)
    expect(assigned(r)).toEqual(["t1", "t2"]);
    expect(o.entry("t1")).toMatchObject({ status: "RUNNING", runner: "RUNNING" });
    expect(o.entry("t2")).toMatchObject({ status: "RUNNING", worker: HOST });
  });

  it("applies the outcomes it lists (an agent restarted with its journal) and acknowledges them", () => {
    const { o, a } = busyWorker();
    const r = a.answer({ counter: null, tasks: [succeeded("t1"), failed("t2", "The agent restarted while this task was running")] });
    expect(r.acks.sort()).toEqual(["t1", "t2"]);
    expect(o.entry("t1").status).toBe("SUCCESS");
    expect(o.entry("t2")).toMatchObject({ status: "FAILED", errorMsg: "The agent restarted while this task was running" });
    expect(assigned(r)).toEqual([]);
  });

  it("drops slots of tasks that ended here while the worker was away, so they do not block capacity", () => {
    const { o, a } = busyWorker();
    o.core.queue.shutdown("t1");
    o.commit();
    a.answer({ counter: null, tasks: [running("t2")] });
    expect(o.core.runner.workerInfo()[0]!.runningTasks).toEqual(["t2"]);
  });
});

describe("another agent naming the same host", () => {
  it("is refused with workerHeldByAnotherAgent while the holder's lease holds, and changes nothing", () => {
    const { o } = busyWorker();
    o.commit();
    o.advance(44_999);
    const intruder = o.agent(HOST, { capacity: 3 }, "another-key");
    const err = druidError(() => intruder.poll({ counter: null, tasks: [failed("t1")] }));
    expect(err).toMatchObject({ category: "CONFLICT", errorCode: "workerHeldByAnotherAgent" });
    expect(o.core.ctx.writes.size).toBe(0);
    expect(o.entry("t1")).toMatchObject({ status: "RUNNING", runner: "RUNNING" });
    expect(o.core.runner.holdsWorker(HOST, "another-key")).toBe(false);
    expect(o.core.runner.holdsWorker(HOST, `key-of-${HOST}`)).toBe(true);
  });

  it("takes the host over once the lease lapsed: what was sent or running fails, a never-sent assignment goes to it", () => {
    const { o } = busyWorker();
    o.submit(noop("t3")); // assigned to the worker, never in an answer
    expect(o.entry("t3").worker).toBe(HOST);
    o.commit();
    o.advance(45_000);
    const b = o.agent(HOST, { capacity: 3 }, "new-key");
    const r = b.answer();
    for (const id of ["t1", "t2"]) {
      expect(o.entry(id)).toMatchObject({ status: "FAILED", errorMsg: expect.stringContaining("was taken over by a different agent") });
    }
    expect(assigned(r)).toEqual(["t3"]);
    expect(o.entry("t3")).toMatchObject({ status: "RUNNING", worker: HOST });
    expect(o.core.runner.holdsWorker(HOST, "new-key")).toBe(true);
    // the old agent, back, is refused now
    expect(druidError(() => o.agent(HOST, { capacity: 3 }).poll())).toMatchObject({ errorCode: "workerHeldByAnotherAgent" });
  });

  it("takes over a worker already marked lost, before taskCleanupTimeout fails its tasks", () => {
    const { o } = busyWorker();
    o.advance(45_000);
    o.core.runner.tick();
    expect(o.core.runner.workerInfo()).toEqual([]);
    o.agent(HOST, {}, "new-key").answer();
    expect(o.entry("t1").errorMsg).toContain("taken over");
    expect(o.core.runner.workerInfo()).toMatchObject([{ worker: { host: HOST } }]);
  });

  it("the same key after the lease lapsed keeps its tasks (re-adopted from its full list)", () => {
    const { o, a } = busyWorker();
    o.advance(60_000);
    o.core.runner.tick();
    const r = a.answer({ counter: null, tasks: [running("t1"), running("t2")] });
    expect(r.resetCounter).toBe(false);
    expect(o.entry("t1")).toMatchObject({ status: "RUNNING", runner: "RUNNING" });
    expect(o.entry("t2")).toMatchObject({ status: "RUNNING", runner: "RUNNING" });
  });
});
