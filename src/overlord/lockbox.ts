/**
 * Druid's TaskLockbox for time-chunk locks: lock posses per groupId, the coexistence rules of
 * EXCLUSIVE / SHARED / REPLACE / APPEND / KILL, versions, priority preemption (revoke only when
 * every incompatible lock has strictly lower priority) and re-acquisition after a restart.
 *
 * Pure and synchronous: every call returns the changes that must be persisted (`LockChange`),
 * the caller writes them in its next group commit.
 *
 * One deliberate strengthening over Druid: versions handed out for new non-APPEND locks are
 * strictly increasing within a lockbox (Druid uses `now()`, which two requests in the same
 * millisecond can share), so a later lock always overshadows an earlier one.
 */
import type { LockType, TaskLock } from "../protocol/taskLocks.ts";
import { contains, formatInterval, isEmpty, overlaps, parseInterval, sameInterval, toIso, ETERNITY, type Interval } from "../shared/intervals.ts";


export interface LockRequest {
  taskId: string;
  groupId: string;
  dataSource: string;
  interval: Interval;
  type: LockType;
  priority: number;
  /** Druid's preferredVersion (e.g. a version allocated earlier); otherwise one is assigned. */
  preferredVersion?: string;
}

export interface LockChange {
  kind: "added" | "revoked" | "removed";
  taskId: string;
  lock: TaskLock;
}

export type LockResult =
  | { granted: true; lock: TaskLock; changes: LockChange[] }
  | { granted: false; revoked: boolean; reason: string; changes: LockChange[] };

/** Druid's LockFilterPolicy (bodies of /lockedIntervals/v2 and /activeLocks). */
export interface LockFilterPolicy {
  datasource: string;
  priority: number;
  intervals?: string[];
  context?: Record<string, unknown>;
}

export interface StoredLock {
  taskId: string;
  groupId: string;
  priority: number;
  lock: TaskLock;
}

export const APPEND_LOCK_VERSION = "1970-01-01T00:00:00.000Z";

/** Key of a task's lock row (druid_tasklocks is keyed by task and lock). */
export function lockKey(lock: Pick<TaskLock, "type" | "interval" | "version">): string {
  return `${lock.type}|${lock.interval}|${lock.version}`;
}

interface Posse {
  lock: TaskLock;
  interval: Interval;
  tasks: Set<string>;
}

/** Can two overlapping, non-revoked locks coexist? (TaskLockbox#canXLockCoexist, symmetric.) */
export function canCoexist(a: { type: LockType; interval: Interval }, b: { type: LockType; interval: Interval }): boolean {
  if (a.type === "KILL" || b.type === "KILL") return !(a.type === "KILL" && b.type === "KILL");
  if (a.type === "SHARED" && b.type === "SHARED") return true;
  if (a.type === "APPEND" && b.type === "APPEND") return true;
  if (a.type === "REPLACE" && b.type === "APPEND") return contains(a.interval, b.interval);
  if (a.type === "APPEND" && b.type === "REPLACE") return contains(b.interval, a.interval);
  return false;
}

export class Lockbox {
  /** Posses per dataSource. */
  private readonly byDataSource = new Map<string, Posse[]>();
  /** Posses each task belongs to. */
  private readonly byTask = new Map<string, Set<Posse>>();
  private lastVersionMs = Number.NEGATIVE_INFINITY;
  /** Tasks inside a publish (Druid's doInCriticalSection): their locks cannot be revoked meanwhile. */
  private readonly pinned = new Map<string, number>();
  /** Told after any task left a posse (a lock was released): blocked requests may retry. */
  private readonly releaseListeners = new Set<(dataSource: string) => void>();

  constructor(private readonly clock: { now(): number }) {}

  /** Subscribes to lock releases; returns the unsubscribe. */
  onReleased(listener: (dataSource: string) => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }

  pin(taskId: string): void {
    this.pinned.set(taskId, (this.pinned.get(taskId) ?? 0) + 1);
  }

  unpin(taskId: string): void {
    const n = (this.pinned.get(taskId) ?? 0) - 1;
    if (n > 0) this.pinned.set(taskId, n);
    else this.pinned.delete(taskId);
  }

  private isPinned(p: Posse): boolean {
    for (const t of p.tasks) if (this.pinned.has(t)) return true;
    return false;
  }

  /** Druid's tryLock: grants, reuses a posse, preempts lower priorities, or refuses at once. */
  tryLock(req: LockRequest): LockResult {
    if (isEmpty(req.interval)) return refuse(`Lock interval ${formatInterval(req.interval)} is empty`);
    const posses = this.possesOf(req.dataSource);
    const overlapping = posses.filter((p) => overlaps(p.interval, req.interval));

    // A task that already holds a lock covering the request keeps using it.
    const own = overlapping.find((p) => p.tasks.has(req.taskId) && p.lock.type === req.type && contains(p.interval, req.interval));
    if (own) {
      if (own.lock.revoked) return { granted: false, revoked: true, reason: `Lock for ${own.lock.interval} was revoked`, changes: [] };
      return { granted: true, lock: own.lock, changes: [] };
    }

    const reusable = overlapping.find(
      (p) => p.lock.groupId === req.groupId && p.lock.type === req.type && contains(p.interval, req.interval) && (req.preferredVersion === undefined || p.lock.version === req.preferredVersion),
    );
    if (reusable) {
      if (reusable.lock.revoked) return { granted: false, revoked: true, reason: `Lock for ${reusable.lock.interval} was revoked`, changes: [] };
      if (reusable.lock.priority !== req.priority) {
        return refuse(`Task [${req.taskId}] has priority ${req.priority} but its group's lock has priority ${reusable.lock.priority}`);
      }
      return { granted: true, lock: reusable.lock, changes: this.join(reusable, req.taskId) };
    }

    const conflicts = overlapping.filter((p) => !p.lock.revoked && !canCoexist({ type: p.lock.type, interval: p.interval }, req));
    const changes: LockChange[] = [];
    if (conflicts.length > 0) {
      const sameGroupSameInterval = conflicts.every((p) => p.lock.groupId === req.groupId && sameInterval(p.interval, req.interval));
      if (!sameGroupSameInterval) {
        const blocker = conflicts.find((p) => p.lock.priority >= req.priority || this.isPinned(p));
        if (blocker) {
          return refuse(
            `Cannot acquire ${req.type} lock on ${formatInterval(req.interval)} of [${req.dataSource}]: it conflicts with ${blocker.lock.type} lock on ${blocker.lock.interval} of group [${blocker.lock.groupId}] (priority ${blocker.lock.priority})`,
          );
        }
        for (const p of conflicts) changes.push(...this.revoke(p));
      }
    }
    const lock: TaskLock = {
      granularity: "timeChunk",
      type: req.type,
      groupId: req.groupId,
      dataSource: req.dataSource,
      interval: formatInterval(req.interval),
      version: req.preferredVersion ?? this.newVersion(req.type),
      priority: req.priority,
      revoked: false,
    };
    const posse: Posse = { lock, interval: req.interval, tasks: new Set() };
    posses.push(posse);
    changes.push(...this.join(posse, req.taskId));
    return { granted: true, lock, changes };
  }

  /** Druid's lockRelease: the task leaves its posses on exactly this interval. */
  release(taskId: string, dataSource: string, interval: Interval): LockChange[] {
    const mine = this.byTask.get(taskId);
    if (!mine) return [];
    const out: LockChange[] = [];
    for (const p of [...mine]) {
      if (p.lock.dataSource === dataSource && sameInterval(p.interval, interval)) out.push(this.leave(p, taskId));
    }
    return out;
  }

  /** Drops every lock of a finished task. */
  removeTask(taskId: string): LockChange[] {
    const mine = this.byTask.get(taskId);
    if (!mine) return [];
    return [...mine].map((p) => this.leave(p, taskId));
  }

  locksOf(taskId: string): TaskLock[] {
    return [...(this.byTask.get(taskId) ?? [])].map((p) => p.lock);
  }

  allLocks(): Array<{ taskId: string; lock: TaskLock }> {
    const out: Array<{ taskId: string; lock: TaskLock }> = [];
    for (const [taskId, ps] of this.byTask) for (const p of ps) out.push({ taskId, lock: p.lock });
    return out;
  }

  /** Does the task hold a live (non-revoked) lock of this dataSource containing `interval`? */
  covers(taskId: string, dataSource: string, interval: Interval): boolean {
    for (const p of this.byTask.get(taskId) ?? []) {
      if (!p.lock.revoked && p.lock.dataSource === dataSource && contains(p.interval, interval)) return true;
    }
    return false;
  }

  /**
   * Re-acquires stored locks after a restart (GlobalTaskLockbox#syncFromStorage): in (version,
   * taskId) order, keeping stored versions and revoked flags, without preemption. When any lock
   * of a group fails, every task of that group loses all its locks and is reported as failed.
   */
  restore(stored: StoredLock[]): { failedGroups: Set<string>; failedTasks: string[] } {
    const sorted = [...stored].sort((a, b) => cmp(a.lock.version, b.lock.version) || cmp(a.taskId, b.taskId));
    const failedGroups = new Set<string>();
    for (const s of sorted) {
      let interval: Interval;
      try {
        interval = parseInterval(s.lock.interval, "lock interval");
      } catch {
        continue; // Druid ignores locks with an empty (or unreadable) interval
      }
      if (s.lock.groupId !== s.groupId || !this.reacquire(s, interval)) failedGroups.add(s.groupId);
      const v = Date.parse(s.lock.version);
      if (s.lock.type !== "APPEND" && Number.isFinite(v)) this.lastVersionMs = Math.max(this.lastVersionMs, v);
    }
    const failedTasks = new Set<string>();
    for (const s of stored) if (failedGroups.has(s.groupId)) failedTasks.add(s.taskId);
    for (const id of failedTasks) this.removeTask(id);
    return { failedGroups, failedTasks: [...failedTasks] };
  }

  private reacquire(s: StoredLock, interval: Interval): boolean {
    const posses = this.possesOf(s.lock.dataSource);
    const same = posses.find(
      (p) => p.lock.groupId === s.lock.groupId && p.lock.type === s.lock.type && sameInterval(p.interval, interval) && p.lock.version === s.lock.version,
    );
    if (same) {
      if (same.lock.revoked !== s.lock.revoked || same.lock.priority !== s.priority) return false;
      this.join(same, s.taskId);
      return true;
    }
    if (!s.lock.revoked) {
      const candidate = { type: s.lock.type, interval };
      const conflict = posses.some((p) => !p.lock.revoked && overlaps(p.interval, interval) && !canCoexist(candidate, { type: p.lock.type, interval: p.interval }));
      if (conflict) return false;
    }
    const lock: TaskLock = { ...s.lock, granularity: "timeChunk", interval: formatInterval(interval), priority: s.priority, revoked: !!s.lock.revoked };
    const posse: Posse = { lock, interval, tasks: new Set() };
    posses.push(posse);
    this.join(posse, s.taskId);
    return true;
  }

  /** Intervals of live locks matching the filters (Druid's getLockedIntervals). */
  lockedIntervals(filters: LockFilterPolicy[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const f of filters) {
      const seen = new Set(out[f.datasource] ?? []);
      for (const p of this.matching(f)) seen.add(p.lock.interval);
      if (seen.size > 0) out[f.datasource] = [...seen].sort();
    }
    return out;
  }

  /** Live locks matching the filters (Druid's getActiveLocks), one per posse. */
  activeLocks(filters: LockFilterPolicy[]): Record<string, TaskLock[]> {
    const out: Record<string, TaskLock[]> = {};
    for (const f of filters) {
      const list = out[f.datasource] ?? [];
      for (const p of this.matching(f)) if (!list.includes(p.lock)) list.push(p.lock);
      if (list.length > 0) out[f.datasource] = list;
    }
    return out;
  }

  private matching(f: LockFilterPolicy): Posse[] {
    const ctx = f.context ?? {};
    const concurrent = ctx["useConcurrentLocks"] === true || ctx["taskLockType"] === "REPLACE";
    const wantsKill = ctx["taskLockType"] === "KILL";
    const intervals = f.intervals && f.intervals.length > 0 ? f.intervals.map((i) => parseInterval(i, "intervals", { allowEmpty: true })) : [ETERNITY];
    return this.possesOf(f.datasource, false).filter(
      (p) =>
        !p.lock.revoked &&
        p.tasks.size > 0 &&
        p.lock.priority >= f.priority &&
        !(concurrent && p.lock.type === "APPEND") &&
        (p.lock.type !== "KILL" || wantsKill) &&
        intervals.some((i) => overlaps(i, p.interval)),
    );
  }

  private possesOf(dataSource: string, create = true): Posse[] {
    let list = this.byDataSource.get(dataSource);
    if (!list) {
      list = [];
      if (create) this.byDataSource.set(dataSource, list);
    }
    return list;
  }

  private join(p: Posse, taskId: string): LockChange[] {
    if (p.tasks.has(taskId)) return [];
    p.tasks.add(taskId);
    let mine = this.byTask.get(taskId);
    if (!mine) this.byTask.set(taskId, (mine = new Set()));
    mine.add(p);
    return [{ kind: "added", taskId, lock: p.lock }];
  }

  private leave(p: Posse, taskId: string): LockChange {
    p.tasks.delete(taskId);
    const mine = this.byTask.get(taskId);
    mine?.delete(p);
    if (mine && mine.size === 0) this.byTask.delete(taskId);
    if (p.tasks.size === 0) {
      const list = this.byDataSource.get(p.lock.dataSource);
      if (list) {
        const i = list.indexOf(p);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.byDataSource.delete(p.lock.dataSource);
      }
    }
    for (const l of this.releaseListeners) l(p.lock.dataSource);
    return { kind: "removed", taskId, lock: p.lock };
  }

  private revoke(p: Posse): LockChange[] {
    p.lock.revoked = true;
    return [...p.tasks].map((taskId) => ({ kind: "revoked" as const, taskId, lock: p.lock }));
  }

  private newVersion(type: LockType): string {
    if (type === "APPEND") return APPEND_LOCK_VERSION;
    const ms = Math.max(this.clock.now(), this.lastVersionMs + 1);
    this.lastVersionMs = ms;
    return toIso(ms);
  }
}

function refuse(reason: string): LockResult {
  return { granted: false, revoked: false, reason, changes: [] };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
