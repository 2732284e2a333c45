/** OverlordCore.restore: the Overlord rebuilt from a StoredState (Druid's becomeLeader). */
import { describe, expect, it } from "vitest";
import type { StoredState, StoredTask } from "../../src/overlord/overlordCore.ts";
import type { Task } from "../../src/overlord/taskSpec.ts";
import { NO_LOCATION } from "../../src/overlord/types.ts";
import type { TaskLock } from "../../src/protocol/taskLocks.ts";
import { T0, assigned, druidError, indexTask, noop, overlord, running } from "./support/overlordHarness.ts";

const HOST = "w1:8091";
const CFG = { workerLeaseMs: 10_000, taskAssignmentTimeoutMs: 20_000, taskCleanupTimeoutMs: 30_000 };
const DAY1 = "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z";

function stored(task: Task, s: Partial<StoredTask> = {}): StoredTask {
  return { payload: task.payload, createdMs: T0 - 60_000, status: "RUNNING", errorMsg: null, duration: -1, worker: null, assignedTerm: null, runnerStatus: null, location: NO_LOCATION, ...s };
}
const onWorker = (task: Task, runnerStatus: "RUNNING" | "PENDING") => stored(task, { worker: HOST, assignedTerm: 1, runnerStatus });
const lock = (task: Task, version: string, l: Partial<TaskLock> = {}): { taskId: string; lock: TaskLock } => ({
  taskId: task.id,
  lock: { granularity: "timeChunk", type: "EXCLUSIVE", groupId: task.groupId, dataSource: task.dataSource, interval: DAY1, version, priority: task.priority, revoked: false, ...l },
});
const worker = { host: HOST, ip: "10.0.0.1", capacity: 2, category: "_default_worker_category", version: "0", disabled: false, keyDigest: `key-of-${HOST}` };

function restored(state: Partial<StoredState>, config = CFG) {
  const o = overlord(config, { term: 2 });
  o.core.restore({ tasks: [], locks: [], workers: [], workerConfig: null, ...state });
  return o;
}

describe("OverlordCore.restore", () => {
  it("re-attaches tasks running or assigned on a worker, and the worker's snapshot names them", () => {
    const o = restored({ tasks: [onWorker(noop("r"), "RUNNING"), onWorker(noop("p"), "PENDING")], workers: [worker] });
    expect(o.entry("r")).toMatchObject({ runner: "RUNNING", worker: HOST });
    expect(o.entry("p")).toMatchObject({ runner: "PENDING", worker: HOST });
    expect(o.core.queue.pending.size).toBe(0);
    expect(o.core.runner.workerInfo()).toMatchObject([{ currCapacityUsed: 2, runningTasks: ["r", "p"] }]);
    const a = o.agent(HOST, { capacity: 2 });
    const r = a.answer({ term: 1, counter: { counter: 7, hash: 1 } });
    expect(r).toMatchObject({ term: 2, resetCounter: true });
    expect(assigned(a.answer({ tasks: [running("r")] }))).toEqual(["r", "p"]);
    expect(o.entry("r")).toMatchObject({ status: "RUNNING", runner: "RUNNING" });
  });

  it("gives the worker one lease to come back: after it and taskCleanupTimeout, its tasks fail", () => {
    const o = restored({ tasks: [onWorker(noop("r"), "RUNNING")], workers: [worker] });
    expect(o.core.nextDeadline()).toBe(T0 + 10_000);
    o.advance(10_000);
    o.core.runner.tick();
    expect(o.entry("r").status).toBe("RUNNING");
    o.advance(30_000);
    o.core.runner.tick();
    expect(o.entry("r")).toMatchObject({ status: "FAILED", errorMsg: expect.stringContaining("taskCleanupTimeout") });
  });

  it("fails a restored assignment the worker does not confirm within taskAssignmentTimeout", () => {
    const o = restored({ tasks: [onWorker(noop("p"), "PENDING")], workers: [worker] }, { ...CFG, workerLeaseMs: 60_000 });
    o.advance(20_000);
    o.core.runner.tick();
    expect(o.entry("p")).toMatchObject({ status: "FAILED", errorMsg: expect.stringContaining("taskAssignmentTimeout") });
  });

  it("keeps the stored worker key: another agent is refused while the restored lease holds", () => {
    const o = restored({ tasks: [onWorker(noop("r"), "RUNNING")], workers: [worker] });
    expect(druidError(() => o.agent(HOST, {}, "someone-else").poll())).toMatchObject({ category: "CONFLICT", errorCode: "workerHeldByAnotherAgent" });
    expect(o.entry("r").status).toBe("RUNNING");
  });

  it("re-attaches a task to a worker known only from the task row", () => {
    const o = restored({ tasks: [onWorker(noop("r"), "RUNNING")] });
    expect(o.core.runner.workerInfo()).toMatchObject([{ worker: { host: HOST, capacity: 1 }, runningTasks: ["r"] }]);
  });

  it("fails a task whose payload could not be read, saying why", () => {
    const o = restored({ tasks: [stored(noop("bad"), { payload: { id: "bad", type: "noop" }, unreadable: "it is not a JSON object", worker: HOST, runnerStatus: "RUNNING" })] });
    expect(o.entry("bad")).toMatchObject({ status: "FAILED", errorMsg: "Task payload could not be read back from storage: it is not a JSON object" });
    expect(o.core.queue.active.size).toBe(0);
    expect([...o.core.ctx.writes.tasks.keys()]).toEqual(["bad"]);
  });

  it("fails a task whose payload no longer validates", () => {
    const o = restored({ tasks: [stored(noop("old"), { payload: { id: "old", type: "realtime", dataSource: "wiki" } })] });
    expect(o.entry("old")).toMatchObject({ status: "FAILED", errorMsg: "Task payload could not be read back from storage: it no longer validates" });
  });

  it("puts a task back as pending when its locks come back, and as waiting when they conflict", () => {
    const a = indexTask("a", "2024-01-01/2024-01-02");
    const b = indexTask("b", "2024-01-01/2024-01-02");
    const o = restored({ tasks: [stored(a), stored(b)], locks: [lock(a, "2025-01-01T00:00:00.000Z")] });
    expect(o.entry("a").runner).toBe("PENDING");
    expect(o.entry("b").runner).toBe("WAITING");
    expect(o.core.queue.lockbox.locksOf("a")).toMatchObject([{ version: "2025-01-01T00:00:00.000Z" }]);
    o.core.queue.shutdown("a");
    expect(o.entry("b").runner).toBe("PENDING");
  });

  it("fails every task of a lock group that cannot reacquire its locks, and deletes their lock rows", () => {
    const holder = indexTask("holder", "2024-01-01/2024-01-02");
    const g1 = indexTask("g1", "2024-01-01/2024-01-02", { groupId: "g" });
    const g2 = indexTask("g2", "2024-01-05/2024-01-06", { groupId: "g" });
    const o = restored({
      tasks: [stored(holder), stored(g1), stored(g2)],
      locks: [
        lock(holder, "2025-01-01T00:00:00.000Z"),
        lock(g1, "2025-02-01T00:00:00.000Z"), // conflicts with the older holder
        lock(g2, "2025-02-01T00:00:00.000Z", { interval: "2024-01-05T00:00:00.000Z/2024-01-06T00:00:00.000Z" }),
      ],
    });
    for (const id of ["g1", "g2"]) expect(o.entry(id)).toMatchObject({ status: "FAILED", errorMsg: "Failed to reacquire lock while becoming leader" });
    expect(o.entry("holder")).toMatchObject({ status: "RUNNING", runner: "PENDING" });
    const deleted = [...o.core.ctx.writes.locks.values()].filter((l) => l.lock === null).map((l) => l.taskId).sort();
    expect(deleted).toEqual(["g1", "g2"]);
    expect(o.core.queue.lockbox.allLocks().map((l) => l.taskId)).toEqual(["holder"]);
  });

  it("deletes stored lock rows of tasks that are no longer active", () => {
    const gone = indexTask("gone", "2024-01-01/2024-01-02");
    const o = restored({ locks: [lock(gone, "2025-01-01T00:00:00.000Z")] });
    expect([...o.core.ctx.writes.locks.values()]).toMatchObject([{ taskId: "gone", lock: null }]);
    expect(o.core.queue.lockbox.allLocks()).toEqual([]);
  });

  it("restores the worker config and disabled workers", () => {
    const o = restored({
      workers: [{ ...worker, disabled: true }],
      workerConfig: { type: "default", selectStrategy: { type: "fillCapacity" }, autoScaler: null },
    });
    expect(o.core.runner.behavior.selectStrategy.type).toBe("fillCapacity");
    expect(o.core.runner.workerInfo()).toMatchObject([{ worker: { disabled: true } }]);
    o.submit(noop("t1"));
    const r = o.agent(HOST, { capacity: 2 }).answer();
    expect(r.requests).toEqual([{ type: "metadata", disabled: true }]);
    expect(o.entry("t1").worker).toBeNull();
  });

  it("counts restored assignments as sent: an agent with a new key taking over after the lease fails them", () => {
    const o = restored({ tasks: [onWorker(noop("p"), "PENDING")], workers: [worker] });
    o.advance(10_000);
    const r = o.agent(HOST, {}, "fresh-disk-key").answer();
    expect(assigned(r)).toEqual([]);
    expect(o.entry("p")).toMatchObject({ status: "FAILED", errorMsg: expect.stringContaining("taken over") });
  });
});
