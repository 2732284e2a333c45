/**
 * Druid's TaskQueue, event-driven: submissions, readiness (acquiring each task's locks),
 * completion and shutdown. Decisions are synchronous on memory; every durable consequence goes
 * into `ctx.writes` for the next group commit. Readiness is re-checked only for the data sources
 * whose locks were released, so 5,000 waiting tasks cost nothing until something changes.
 */
import { DruidError, capacityExceeded, invalidInput } from "../shared/errors.ts";
import { formatInterval } from "../shared/intervals.ts";
import { Lockbox, lockKey, type LockChange } from "./lockbox.ts";
import { PendingQueue } from "./pendingQueue.ts";
import type { Task } from "./taskSpec.ts";
import { NO_LOCATION, truncateError, type TaskEntry, type TaskState } from "./types.ts";
import type { WriteSet } from "./writes.ts";
import type { OverlordConfig } from "./config.ts";

export interface CoreContext {
  now(): number;
  term: number;
  config: OverlordConfig;
  writes: WriteSet;
}

/** Hooks the runner gives the queue. */
export interface RunnerHooks {
  /** Ready tasks were added: try to assign them. */
  assignPending(): void;
  /** A task finished (any reason) while assigned to a worker. */
  taskFinished(entry: TaskEntry): void;
}

/** Completed tasks kept in memory for status reads (bounded, oldest evicted). */
class RecentlyCompleted {
  private readonly map = new Map<string, TaskEntry>();
  constructor(private readonly max: number) {}
  add(e: TaskEntry) {
    this.map.delete(e.task.id);
    this.map.set(e.task.id, e);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  get(id: string) {
    return this.map.get(id);
  }
  values() {
    return this.map.values();
  }
}

export class TaskQueue {
  /** Active tasks (status RUNNING: waiting, pending or running). */
  readonly active = new Map<string, TaskEntry>();
  readonly recent = new RecentlyCompleted(20_000);
  readonly lockbox: Lockbox;
  readonly pending = new PendingQueue();
  /** Waiting task ids per dataSource. */
  private readonly waiting = new Map<string, Set<string>>();
  private seq = 0;

  constructor(
    private readonly ctx: CoreContext,
    private readonly runner: RunnerHooks,
  ) {
    this.lockbox = new Lockbox({ now: () => ctx.now() });
  }

  get(id: string): TaskEntry | undefined {
    return this.active.get(id) ?? this.recent.get(id);
  }

  /**
   * All-or-nothing submission of parsed tasks. `knownIds` are ids found in storage by the caller
   * (tasks no longer in memory). Throws a DruidError and changes nothing when any task is refused.
   */
  submit(tasks: Task[], knownIds: ReadonlySet<string>): TaskEntry[] {
    const seen = new Set<string>();
    for (const t of tasks) {
      if (seen.has(t.id) || knownIds.has(t.id) || this.get(t.id)) {
        throw new DruidError("INVALID_INPUT", `Task [${t.id}] already exists`, "EntryAlreadyExists");
      }
      seen.add(t.id);
    }
    if (this.active.size + tasks.length > this.ctx.config.queueMaxSize) {
      throw capacityExceeded(
        `Task queue already contains [${this.active.size}] tasks; cannot add [${tasks.length}] more (maxSize [${this.ctx.config.queueMaxSize}])`,
      );
    }
    const now = this.ctx.now();
    const entries = tasks.map((task) => {
      const e: TaskEntry = {
        task,
        createdMs: now,
        status: "RUNNING",
        runner: "WAITING",
        errorMsg: null,
        duration: -1,
        location: NO_LOCATION,
        worker: null,
        assignedTerm: null,
        assignedAt: null,
        seq: ++this.seq,
      };
      this.active.set(task.id, e);
      this.ctx.writes.insertTask(e);
      return e;
    });
    for (const e of entries) this.tryMakeReady(e);
    this.runner.assignPending();
    return entries;
  }

  /** Restores an active task loaded from storage (Overlord start). */
  restore(e: TaskEntry): void {
    e.seq = ++this.seq;
    this.active.set(e.task.id, e);
  }

  /** After restore: waiting/pending placement of tasks that are not on a worker. */
  placeRestored(): void {
    const unassigned = [...this.active.values()].filter((e) => !e.worker).sort(byPriorityThenSeq);
    for (const e of unassigned) {
      const held = this.lockbox.locksOf(e.task.id);
      if (held.length > 0 || e.task.lockIntervals.length === 0) {
        // its locks came back from storage: it was ready
        if (this.readinessBlocker(e) === null && this.haveAllLocks(e)) {
          e.runner = "PENDING";
          this.pending.push(e.task.id, e.task.priority);
          continue;
        }
      }
      this.tryMakeReady(e);
    }
  }

  private haveAllLocks(e: TaskEntry): boolean {
    return e.task.lockIntervals.every((i) => this.lockbox.covers(e.task.id, e.task.dataSource, i));
  }

  /** noop's legacy isReadyResult: NO keeps the task waiting; EXCEPTION fails it. */
  private readinessBlocker(e: TaskEntry): "NO" | "EXCEPTION" | null {
    if (e.task.type !== "noop") return null;
    const r = e.task.payload["isReadyResult"];
    return r === "NO" || r === "EXCEPTION" ? r : null;
  }

  /** Druid's isReady for a task: acquire every lock interval, or release what was taken. */
  private tryMakeReady(e: TaskEntry): void {
    const blocker = this.readinessBlocker(e);
    if (blocker === "EXCEPTION") {
      this.finish(e, "FAILED", "isReady threw: isReadyResult=EXCEPTION");
      return;
    }
    if (blocker === "NO") {
      this.addWaiting(e);
      return;
    }
    const t = e.task;
    const changes: LockChange[] = [];
    let ok = true;
    for (const interval of t.lockIntervals) {
      const r = this.lockbox.tryLock({
        taskId: t.id,
        groupId: t.groupId,
        dataSource: t.dataSource,
        interval,
        type: t.lockType,
        priority: t.priority,
      });
      if (!r.granted) {
        ok = false;
        break;
      }
      changes.push(...r.changes);
    }
    if (!ok) {
      // Druid: unlockAll and retry later. Locks taken in this attempt were never persisted.
      // Anything revoked stays revoked; what this attempt (or a restore) held is deleted.
      this.persistLockChanges(changes);
      this.persistLockChanges(this.lockbox.removeTask(t.id));
      this.addWaiting(e);
      return;
    }
    this.persistLockChanges(changes);
    this.removeWaiting(e);
    e.runner = "PENDING";
    this.pending.push(t.id, t.priority);
  }

  persistLockChanges(changes: LockChange[]): void {
    for (const c of changes) {
      this.ctx.writes.putLock(c.taskId, lockKey(c.lock), c.kind === "removed" ? null : c.lock);
    }
  }

  private addWaiting(e: TaskEntry) {
    e.runner = "WAITING";
    let s = this.waiting.get(e.task.dataSource);
    if (!s) this.waiting.set(e.task.dataSource, (s = new Set()));
    s.add(e.task.id);
  }

  private removeWaiting(e: TaskEntry) {
    const s = this.waiting.get(e.task.dataSource);
    if (!s) return;
    s.delete(e.task.id);
    if (s.size === 0) this.waiting.delete(e.task.dataSource);
  }

  /** Re-check readiness of the waiting tasks of these data sources (locks were released there). */
  manage(dataSources: Iterable<string>): void {
    let any = false;
    for (const ds of dataSources) {
      const ids = this.waiting.get(ds);
      if (!ids) continue;
      const entries = [...ids].map((id) => this.active.get(id)!).filter(Boolean).sort(byPriorityThenSeq);
      for (const e of entries) {
        if (e.runner !== "WAITING") continue;
        this.tryMakeReady(e);
        if ((e.runner as string) === "PENDING") any = true;
      }
    }
    if (any) this.runner.assignPending();
  }

  /** Marks a task complete: persists the status, drops its locks, wakes waiting tasks. */
  finish(e: TaskEntry, status: Exclude<TaskState, "RUNNING">, errorMsg: string | null, duration?: number): void {
    if (e.status !== "RUNNING") return;
    e.status = status;
    e.errorMsg = truncateError(errorMsg);
    e.duration = duration ?? (e.duration >= 0 ? e.duration : Math.max(0, this.ctx.now() - e.createdMs));
    const wasRunnerState = e.runner;
    e.runner = "NONE";
    this.ctx.writes.updateTask(e);
    this.active.delete(e.task.id);
    this.recent.add(e);
    this.pending.remove(e.task.id);
    if (wasRunnerState === "WAITING") this.removeWaiting(e);
    const removed = this.lockbox.removeTask(e.task.id);
    this.persistLockChanges(removed);
    if (e.worker) this.runner.taskFinished(e);
    if (removed.length > 0) this.manage(new Set(removed.map((c) => c.lock.dataSource)));
  }

  /** User shutdown (Druid: notifyStatus FAILED "Shutdown request from user"). Unknown or complete: no-op. */
  shutdown(id: string): boolean {
    const e = this.active.get(id);
    if (!e) return false;
    this.finish(e, "FAILED", "Shutdown request from user");
    return true;
  }

  shutdownDataSource(dataSource: string): number {
    let n = 0;
    for (const e of [...this.active.values()]) {
      if (e.task.dataSource === dataSource) {
        this.finish(e, "FAILED", "Shutdown request from user");
        n++;
      }
    }
    return n;
  }

  /** Fails every task of the given ids (used after lock restore failures). */
  failAll(ids: Iterable<string>, message: string): void {
    for (const id of ids) {
      const e = this.active.get(id);
      if (e) this.finish(e, "FAILED", message);
    }
  }

}

export function byPriorityThenSeq(a: TaskEntry, b: TaskEntry): number {
  return b.task.priority - a.task.priority || a.seq - b.seq;
}
