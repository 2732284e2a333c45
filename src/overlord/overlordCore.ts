/**
 * The Overlord's whole in-memory state machine: task queue + lockbox + runner, fenced by a term.
 * Built from storage at start (Druid's becomeLeader: lockbox sync, queue sync, runner restore);
 * afterwards every decision is synchronous and leaves its durable consequences in `ctx.writes`.
 */
import type { OverlordConfig } from "./config.ts";
import type { TaskLock } from "../protocol/taskLocks.ts";
import { lockKey, type LockFilterPolicy } from "./lockbox.ts";
import { Runner } from "./runner.ts";
import { TaskQueue, byPriorityThenSeq, type CoreContext } from "./taskQueue.ts";
import { parseTask, type Task } from "./taskSpec.ts";
import { statusPlus, type TaskEntry, type TaskLocation, type TaskState, type RunnerState } from "./types.ts";
import { WriteSet } from "./writes.ts";
import type { WorkerBehaviorConfig } from "./workerSelect.ts";
import type { PollRequest } from "../protocol/agent.ts";
import { DEFAULT_WORKER_CATEGORY } from "../protocol/headers.ts";

export interface StoredTask {
  payload: Record<string, unknown>;
  createdMs: number;
  status: TaskState;
  errorMsg: string | null;
  duration: number;
  worker: string | null;
  assignedTerm: number | null;
  runnerStatus: RunnerState | null;
  location: TaskLocation;
  /** Why the stored payload cannot be used (not JSON, nested too deep): the task is failed. */
  unreadable?: string;
}

export interface StoredState {
  tasks: StoredTask[];
  locks: Array<{ taskId: string; lock: TaskLock }>;
  workers: Array<{ host: string; ip: string; capacity: number; category: string; version: string; disabled: boolean; keyDigest: string | null }>;
  workerConfig: WorkerBehaviorConfig | null;
}

export class OverlordCore {
  readonly ctx: CoreContext;
  readonly queue: TaskQueue;
  readonly runner: Runner;

  constructor(term: number, config: OverlordConfig, now: () => number, pollHeld: (host: string) => boolean = () => false) {
    this.ctx = { term, config, now, writes: new WriteSet() };
    this.queue = new TaskQueue(this.ctx, { assignPending: () => this.runner.assignPending(), taskFinished: (e) => this.runner.taskEnded(e) });
    this.runner = new Runner(this.ctx, this.queue, pollHeld);
  }

  get term(): number {
    return this.ctx.term;
  }

  /** Swaps out the writes collected so far (for a commit). */
  takeWrites(): WriteSet {
    const ws = this.ctx.writes;
    this.ctx.writes = new WriteSet();
    return ws;
  }

  /**
   * Rebuilds memory from storage. Tasks whose stored payload no longer parses, and task groups
   * that cannot get all their locks back, are failed (Druid: "failed to reacquire lock while
   * becoming leader"); those failures are in `ctx.writes` for the first commit.
   */
  restore(state: StoredState): void {
    if (state.workerConfig) this.runner.behavior = state.workerConfig;
    for (const w of state.workers) {
      this.runner.restoreWorker({ host: w.host, ip: w.ip, capacity: w.capacity, category: w.category || DEFAULT_WORKER_CATEGORY, version: w.version, prefetch: 0 }, w.disabled, w.keyDigest);
    }
    const broken: Array<{ entry: TaskEntry; why: string }> = [];
    for (const s of state.tasks) {
      let task: Task;
      if (s.unreadable !== undefined) {
        broken.push({ entry: this.entryOf(fallbackTask(s.payload), s), why: s.unreadable });
        continue;
      }
      try {
        task = parseTask(s.payload, { now: s.createdMs, maxPayloadBytes: Number.MAX_SAFE_INTEGER, testTaskTypes: this.ctx.config.testTaskTypes });
      } catch {
        broken.push({ entry: this.entryOf(fallbackTask(s.payload), s), why: "it no longer validates" });
        continue;
      }
      this.queue.restore(this.entryOf(task, s));
    }
    const priorities = new Map<string, { groupId: string; priority: number }>();
    for (const e of this.queue.active.values()) priorities.set(e.task.id, { groupId: e.task.groupId, priority: e.task.priority });
    const stored = state.locks
      .filter((l) => priorities.has(l.taskId))
      .map((l) => ({ taskId: l.taskId, groupId: priorities.get(l.taskId)!.groupId, priority: l.lock.priority ?? priorities.get(l.taskId)!.priority, lock: l.lock }));
    // Lock rows of tasks that are no longer active are stale: delete them.
    for (const l of state.locks) if (!priorities.has(l.taskId)) this.ctx.writes.putLock(l.taskId, lockKey(l.lock), null);
    const { failedTasks } = this.queue.lockbox.restore(stored);
    for (const { entry, why } of broken) {
      this.queue.restore(entry);
      this.queue.finish(entry, "FAILED", `Task payload could not be read back from storage: ${why}`);
    }
    for (const id of failedTasks) {
      for (const l of state.locks.filter((x) => x.taskId === id)) this.ctx.writes.putLock(id, lockKey(l.lock), null);
    }
    this.queue.failAll(failedTasks, "Failed to reacquire lock while becoming leader");
    for (const e of [...this.queue.active.values()].sort(byPriorityThenSeq)) {
      if (e.worker) this.runner.restoreAssignment(e);
    }
    this.queue.placeRestored();
    this.runner.assignPending();
  }

  private entryOf(task: Task, s: StoredTask): TaskEntry {
    const assigned = s.status === "RUNNING" ? s.worker : null;
    return {
      task,
      createdMs: s.createdMs,
      status: s.status,
      runner: s.status !== "RUNNING" ? "NONE" : assigned ? (s.runnerStatus === "RUNNING" ? "RUNNING" : "PENDING") : "WAITING",
      errorMsg: s.errorMsg,
      duration: s.duration,
      location: s.location,
      worker: assigned,
      assignedTerm: s.assignedTerm,
      assignedAt: null,
      seq: 0,
    };
  }

  // ---- decisions outside the queue and the runner --------------------------------------------

  /** The dynamic WorkerBehaviorConfig: in force at once, stored with an audit entry. */
  setWorkerConfig(config: WorkerBehaviorConfig, audit: { author: string; comment: string; ip: string; createdMs: number }): void {
    this.runner.behavior = config;
    this.ctx.writes.add({ kind: "config", data: { name: "worker.config", payload: config } });
    this.ctx.writes.add({ kind: "audit", data: { key: "worker.config", type: "worker.config", ...audit, payload: JSON.stringify(config), request: null } });
    this.runner.assignPending();
  }

  /**
   * Logs and reports sent inline with final statuses go into the same commit as the status, so
   * an operator who sees SUCCESS can read both (and 20,000 tiny logs cost no extra requests).
   * Called after the poll was accepted, so a refused worker key stores nothing.
   */
  storeInlineLogs(req: PollRequest, now: number): void {
    for (const t of req.tasks) {
      if (t.log === undefined && t.reports === undefined) continue;
      const e = this.queue.get(t.id);
      if (!e || e.worker !== req.worker.host) continue;
      if (t.log !== undefined) this.ctx.writes.add({ kind: "log", data: { taskId: t.id, log: t.log, now } });
      if (t.reports !== undefined) this.ctx.writes.add({ kind: "report", data: { taskId: t.id, payload: t.reports, now } });
    }
  }

  // ---- queries ------------------------------------------------------------------------------

  activeEntries(state?: "waiting" | "pending" | "running"): TaskEntry[] {
    const want = state?.toUpperCase() as RunnerState | undefined;
    const out: TaskEntry[] = [];
    for (const e of this.queue.active.values()) if (!want || e.runner === want) out.push(e);
    return out.sort((a, b) => b.createdMs - a.createdMs || b.seq - a.seq);
  }

  statusOf(id: string) {
    const e = this.queue.get(id);
    return e ? statusPlus(e) : null;
  }

  lockedIntervals(filters: LockFilterPolicy[]) {
    return this.queue.lockbox.lockedIntervals(filters);
  }

  activeLocks(filters: LockFilterPolicy[]) {
    return this.queue.lockbox.activeLocks(filters);
  }

  nextDeadline(): number | null {
    return this.runner.nextDeadline();
  }
}

/** A minimal Task for a stored payload that no longer validates, so it can be failed cleanly. */
function fallbackTask(payload: Record<string, unknown>): Task {
  const id = String(payload["id"] ?? "unknown");
  return {
    id,
    groupId: String(payload["groupId"] ?? id),
    type: "noop",
    dataSource: String(payload["dataSource"] ?? "none"),
    priority: 0,
    resource: { availabilityGroup: id, requiredCapacity: 1 },
    context: {},
    lockIntervals: [],
    lockType: "EXCLUSIVE",
    payload,
  };
}
