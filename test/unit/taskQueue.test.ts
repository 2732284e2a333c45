import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type OverlordConfig } from "../../src/overlord/config.ts";
import { TaskQueue, type CoreContext } from "../../src/overlord/taskQueue.ts";
import type { TaskEntry } from "../../src/overlord/types.ts";
import { WriteSet } from "../../src/overlord/writes.ts";
import { DruidError } from "../../src/shared/errors.ts";
import { T0, druidError, indexTask, noop } from "./support/overlordHarness.ts";

const DAY1 = "2024-01-01/2024-01-02";

/** A queue with a fake runner that records its hooks (and can "assign" pending tasks to a worker). */
function queue(config: Partial<OverlordConfig> = {}) {
  let now = T0;
  const ctx: CoreContext = { now: () => now, term: 1, config: { ...DEFAULT_CONFIG, ...config }, writes: new WriteSet() };
  const calls = { assignPending: 0, finished: [] as string[] };
  let assignTo: string | null = null;
  const q: TaskQueue = new TaskQueue(ctx, {
    assignPending: () => {
      calls.assignPending++;
      if (!assignTo) return;
      for (const id of q.pending.ids()) {
        const e = q.active.get(id)!;
        q.pending.remove(id);
        e.worker = assignTo;
      }
    },
    taskFinished: (e: TaskEntry) => calls.finished.push(e.task.id),
  });
  return {
    q,
    ctx,
    calls,
    advance: (ms: number) => (now += ms),
    assignTo: (host: string | null) => (assignTo = host),
    runnerOf: (id: string) => q.get(id)?.runner,
    takeWrites: () => {
      const ws = ctx.writes;
      ctx.writes = new WriteSet();
      return ws;
    },
  };
}

describe("TaskQueue submission", () => {
  it("refuses a batch with a duplicate id and changes nothing", () => {
    const { q, ctx, calls } = queue();
    const err = druidError(() => q.submit([noop("a"), noop("b"), noop("a")], new Set()));
    expect(err).toMatchObject({ category: "INVALID_INPUT", errorCode: "EntryAlreadyExists" });
    expect(err.message).toContain("[a]");
    expect(q.active.size).toBe(0);
    expect(ctx.writes.size).toBe(0);
    expect(calls.assignPending).toBe(0);
  });

  it("refuses ids that are already active, recently completed, or known to storage", () => {
    const { q } = queue();
    q.submit([noop("a"), noop("done")], new Set());
    q.shutdown("done");
    for (const ids of [["x", "a"], ["done"], ["stored"]]) {
      const before = q.active.size;
      expect(() => q.submit(ids.map((id) => noop(id)), new Set(["stored"]))).toThrow(DruidError);
      expect(q.active.size).toBe(before);
      expect(q.get("x")).toBeUndefined();
    }
  });

  it("refuses a batch that would take the queue past queueMaxSize, all or nothing", () => {
    const { q } = queue({ queueMaxSize: 3 });
    q.submit([noop("a"), noop("b")], new Set());
    const err = druidError(() => q.submit([noop("c"), noop("d")], new Set()));
    expect(err).toMatchObject({ category: "CAPACITY_EXCEEDED" });
    expect([...q.active.keys()]).toEqual(["a", "b"]);
    q.submit([noop("c")], new Set());
    expect(q.active.size).toBe(3);
  });

  it("counts only active tasks against queueMaxSize: completed tasks free room", () => {
    const { q } = queue({ queueMaxSize: 1 });
    q.submit([noop("a")], new Set());
    q.shutdown("a");
    expect(() => q.submit([noop("b")], new Set())).not.toThrow();
  });

  it("collects every submitted task as an inserted row in ctx.writes and asks the runner to assign", () => {
    const { q, ctx, calls } = queue();
    q.submit([noop("a"), indexTask("i", DAY1)], new Set());
    expect([...ctx.writes.tasks.values()].map((t) => [t.entry.task.id, t.inserted])).toEqual([["a", true], ["i", true]]);
    expect([...ctx.writes.locks.values()].map((l) => [l.taskId, l.lock?.type])).toEqual([["i", "EXCLUSIVE"]]);
    expect(calls.assignPending).toBe(1);
  });
});

describe("TaskQueue readiness through locks", () => {
  it("makes a task with no lock intervals pending at once", () => {
    const { q, runnerOf } = queue();
    q.submit([noop("a")], new Set());
    expect(runnerOf("a")).toBe("PENDING");
    expect(q.pending.ids()).toEqual(["a"]);
  });

  it("keeps a second task on the same interval waiting, and makes it pending when the first releases", () => {
    const { q, runnerOf, calls } = queue();
    q.submit([indexTask("first", DAY1), indexTask("second", "2024-01-01T12:00/2024-01-03")], new Set());
    expect(runnerOf("first")).toBe("PENDING");
    expect(runnerOf("second")).toBe("WAITING");
    expect(q.lockbox.locksOf("second")).toEqual([]);
    const before = calls.assignPending;
    q.finish(q.get("first")!, "SUCCESS", null);
    expect(runnerOf("second")).toBe("PENDING");
    expect(q.pending.ids()).toEqual(["second"]);
    expect(calls.assignPending).toBe(before + 1);
  });

  it("lets tasks on disjoint intervals or other data sources be pending together", () => {
    const { q } = queue();
    q.submit([indexTask("a", DAY1), indexTask("b", "2024-01-02/2024-01-03"), indexTask("c", DAY1, { dataSource: "other" })], new Set());
    expect(q.pending.ids()).toEqual(["a", "b", "c"]);
  });

  it("keeps a noop with isReadyResult NO waiting and fails one with EXCEPTION", () => {
    const { q, runnerOf } = queue();
    q.submit([noop("no", { isReadyResult: "NO" }), noop("ex", { isReadyResult: "EXCEPTION" })], new Set());
    expect(runnerOf("no")).toBe("WAITING");
    expect(q.get("ex")).toMatchObject({ status: "FAILED", errorMsg: expect.stringContaining("EXCEPTION") });
  });
});

describe("TaskQueue priorities", () => {
  it("orders pending tasks by priority, then submission order", () => {
    const { q } = queue();
    q.submit([noop("low", { context: { priority: 1 } }), noop("hi1", { context: { priority: 90 } }), noop("mid"), noop("hi2", { context: { priority: 90 } })], new Set());
    expect(q.pending.ids()).toEqual(["hi1", "hi2", "mid", "low"]);
  });

  it("revokes a strictly lower-priority lock for a higher-priority task, which becomes pending", () => {
    const { q, ctx, runnerOf } = queue();
    q.submit([indexTask("low", DAY1, { priority: 10 })], new Set());
    ctx.writes = new WriteSet();
    q.submit([indexTask("high", DAY1, { priority: 80 })], new Set());
    expect(runnerOf("high")).toBe("PENDING");
    expect(q.lockbox.locksOf("low")).toMatchObject([{ revoked: true }]);
    expect(q.lockbox.covers("low", "wiki", q.get("low")!.task.lockIntervals[0]!)).toBe(false);
    // the revocation is persisted with the new lock
    const rows = [...ctx.writes.locks.values()].map((l) => [l.taskId, l.lock?.revoked]);
    expect(rows).toEqual(expect.arrayContaining([["low", true], ["high", false]]));
    // the revoked task is still active (Druid fails it only when it next uses the lock)
    expect(q.get("low")!.status).toBe("RUNNING");
  });

  it("does not revoke an equal-priority lock: the later task waits", () => {
    const { q, runnerOf } = queue();
    q.submit([indexTask("a", DAY1, { priority: 50 }), indexTask("b", DAY1, { priority: 50 })], new Set());
    expect(runnerOf("b")).toBe("WAITING");
    expect(q.lockbox.locksOf("a")).toMatchObject([{ revoked: false }]);
  });

  it("wakes waiting tasks in priority order when a lock is released", () => {
    const { q, runnerOf } = queue();
    q.submit([indexTask("holder", DAY1, { priority: 100 }), indexTask("w-low", DAY1, { priority: 10 }), indexTask("w-high", DAY1, { priority: 60 })], new Set());
    expect([runnerOf("w-low"), runnerOf("w-high")]).toEqual(["WAITING", "WAITING"]);
    q.shutdown("holder");
    expect(runnerOf("w-high")).toBe("PENDING");
    expect(runnerOf("w-low")).toBe("WAITING");
  });
});

describe("TaskQueue shutdown and completion", () => {
  it("fails a waiting, a pending and a running task on shutdown, telling the runner only about the one on a worker", () => {
    const { q, calls, assignTo } = queue();
    assignTo("w1:8091");
    q.submit([indexTask("run", DAY1)], new Set());
    assignTo(null);
    q.submit([indexTask("wait", DAY1), noop("pend")], new Set());
    expect(q.get("run")!.worker).toBe("w1:8091");
    for (const id of ["wait", "pend", "run"]) {
      expect(q.shutdown(id)).toBe(true);
      expect(q.get(id)).toMatchObject({ status: "FAILED", runner: "NONE", errorMsg: "Shutdown request from user" });
      expect(q.active.has(id)).toBe(false);
    }
    expect(calls.finished).toEqual(["run"]);
    expect(q.pending.size).toBe(0);
    expect(q.lockbox.allLocks()).toEqual([]);
  });

  it("answers false for a shutdown of an unknown or completed task and changes nothing", () => {
    const { q, takeWrites } = queue();
    q.submit([noop("a")], new Set());
    q.finish(q.get("a")!, "SUCCESS", null, 5);
    takeWrites();
    expect(q.shutdown("a")).toBe(false);
    expect(q.shutdown("nope")).toBe(false);
    expect(q.get("a")).toMatchObject({ status: "SUCCESS", duration: 5, errorMsg: null });
    expect(takeWrites().size).toBe(0);
  });

  it("shutdownDataSource fails exactly the active tasks of that data source", () => {
    const { q } = queue();
    q.submit([indexTask("w1", DAY1), indexTask("w2", DAY1), indexTask("o1", DAY1, { dataSource: "other" })], new Set());
    expect(q.shutdownDataSource("wiki")).toBe(2);
    expect(q.get("w1")!.status).toBe("FAILED");
    expect(q.get("w2")!.status).toBe("FAILED");
    expect(q.get("o1")!.status).toBe("RUNNING");
    expect(q.shutdownDataSource("wiki")).toBe(0);
  });

  it("records a finish once: final state, duration from creation, lock rows deleted", () => {
    const { q, advance, takeWrites } = queue();
    q.submit([indexTask("a", DAY1)], new Set());
    takeWrites();
    advance(1234);
    q.finish(q.get("a")!, "FAILED", "x".repeat(2000));
    q.finish(q.get("a")!, "SUCCESS", null);
    const e = q.get("a")!;
    expect(e.status).toBe("FAILED");
    expect(e.duration).toBe(1234);
    expect(e.errorMsg!.length).toBeLessThanOrEqual(1024);
    const ws = takeWrites();
    expect([...ws.tasks.values()]).toMatchObject([{ inserted: false, entry: { status: "FAILED" } }]);
    expect([...ws.locks.values()]).toMatchObject([{ taskId: "a", lock: null }]);
  });

  it("keys writes per task: a task submitted and finished before a commit is one inserted row in its final state", () => {
    const { q, ctx } = queue();
    q.submit([noop("a")], new Set());
    q.shutdown("a");
    expect([...ctx.writes.tasks.values()]).toMatchObject([{ inserted: true, entry: { status: "FAILED" } }]);
  });
});
