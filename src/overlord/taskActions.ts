/**
 * Druid's task actions (`POST /druid/indexer/v1/action`): what a running task asks of the
 * Overlord — locks, pending-segment allocation, publishing, marking and nuking segments, and
 * reading segment metadata. Lock decisions are made on the in-memory lockbox (their changes go
 * to the next group commit); segment metadata lives in D1 behind `SegmentPort`.
 *
 * A publish checks the task's locks and commits in one D1 transaction while the task is pinned in
 * the lockbox, so a higher-priority request cannot revoke its locks in between (Druid's
 * doInCriticalSection). Allocation and publication are serialised per data source.
 */
import { KeyedMutex } from "../platform/keyedMutex.ts";
import {
  allocatePendingSegment,
  allocationIntervalCandidates,
  sequenceNamePrevIdSha1,
  type SegmentIdWithShardSpec,
} from "../segments/allocation.ts";
import { visibleSegments } from "../segments/timeline.ts";
import { dataSegmentSchema, intervalOf, segmentIdOf, type DataSegment } from "../segments/dataSegment.ts";
import { DruidError, invalidInput } from "../shared/errors.ts";
import { contains, formatInterval, parseGranularity, parseInstant, parseInterval, type Interval, MAX_INSTANT, MIN_INSTANT } from "../shared/intervals.ts";
import type { PendingRecord, SegmentRecord } from "../metadata/segmentStore.ts";
import type { LockType, TaskLock } from "../protocol/taskLocks.ts";
import type { SegmentPublishResult, TaskAction } from "../protocol/taskAction.ts";
import type { LockChange, Lockbox } from "./lockbox.ts";
import type { TaskEntry } from "./types.ts";

/** Segment metadata as the actions need it (implemented over D1 by metadata/segmentStore.ts). */
export interface SegmentPort {
  overlapping(dataSource: string, intervals: Interval[] | null, used: boolean | null): Promise<SegmentRecord[]>;
  unusedWithin(dataSource: string, interval: Interval | null, opts: { versions?: string[] | null; limit?: number | null; maxUsedStatusLastUpdatedTime?: string | null }): Promise<SegmentRecord[]>;
  byIds(ids: string[]): Promise<SegmentRecord[]>;
  /** Inserts the segments as used and drops the task's pending segments, in one transaction. */
  publish(segments: DataSegment[], taskId: string, nowMs: number): Promise<void>;
  markUnusedInInterval(dataSource: string, interval: Interval, versions: string[] | null, nowMs: number): Promise<number>;
  markUsedInInterval(dataSource: string, interval: Interval, versions: string[] | null, nowMs: number): Promise<number>;
  setUsedByIds(dataSource: string, ids: string[], used: boolean, nowMs: number): Promise<number>;
  nuke(ids: string[]): Promise<number>;
  pendingBySha1(sha1: string): Promise<PendingRecord | null>;
  pendingOverlapping(dataSource: string, interval: Interval): Promise<PendingRecord[]>;
  insertPending(p: PendingRecord, nowMs: number): Promise<void>;
}

/** What the actions need of the task queue: its lockbox, and to persist and react to lock changes. */
export interface LockHost {
  readonly lockbox: Pick<Lockbox, "tryLock" | "release" | "locksOf" | "covers" | "pin" | "unpin" | "onReleased">;
  persistLockChanges(changes: LockChange[]): void;
  /** Locks were released in these data sources: waiting tasks may become ready. */
  manage(dataSources: string[]): void;
}

export interface ActionHost {
  locks: LockHost;
  segments: SegmentPort;
  now(): number;
  /** Makes the lock changes collected so far durable (group commit). */
  durable(): Promise<void>;
  /** Segment rows were committed (published or marked): the Coordinator's view may catch up now. */
  segmentsChanged(): void;
}

const MAX_LOCK_WAIT_MS = 25_000;
/** The longest granularity bucket (a year, leap or not), kept clear of the ends of time. */
const YEAR_MS = 366 * 86_400_000;
/** Interval options where an empty interval is legitimate (it matches nothing). */
const ANY = { allowEmpty: true };

export class TaskActions {
  private readonly mutex = new KeyedMutex();
  private readonly releaseWaiters = new Set<() => void>();

  constructor(private readonly host: ActionHost) {
    host.locks.lockbox.onReleased(() => {
      for (const w of [...this.releaseWaiters]) w();
    });
  }

  /** Runs `fn` alone among the segment writes of `dataSource` (publishes, allocation, marking, kills). */
  exclusive<T>(dataSource: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(dataSource, fn);
  }

  /** Performs an action for an active task; the result is Druid's JSON for that action. */
  async perform(entry: TaskEntry, action: TaskAction): Promise<unknown> {
    const task = entry.task;
    const lockbox = this.host.locks.lockbox;
    switch (action.type) {
      case "lockList":
        return lockbox.locksOf(task.id);
      case "lockTryAcquire":
        return this.tryLock(entry, parseInterval(action.interval, "interval"), action.lockType ?? "EXCLUSIVE");
      case "lockAcquire":
        return this.acquire(entry, parseInterval(action.interval, "interval"), action.lockType ?? "EXCLUSIVE", action.timeoutMs ?? 0);
      case "lockRelease": {
        // Releasing, marking and retrieving over an empty interval touch nothing (as in Druid).
        const changes = lockbox.release(task.id, task.dataSource, parseInterval(action.interval, "interval", ANY));
        this.host.locks.persistLockChanges(changes);
        if (changes.length > 0) this.host.locks.manage([task.dataSource]);
        await this.host.durable();
        return null;
      }
      case "segmentAllocate":
        return this.mutex.run(action.dataSource, () => this.allocate(entry, action));
      case "segmentTransactionalInsert":
        return this.publish(entry, action.segments as DataSegment[], null);
      case "segmentTransactionalReplace":
        return this.publish(entry, action.segments as DataSegment[], "REPLACE");
      case "segmentTransactionalAppend":
        return this.publish(entry, action.segments as DataSegment[], "APPEND");
      case "markSegmentsAsUnused": {
        const interval = parseInterval(action.interval, "interval", ANY);
        this.requireDataSource(entry, action.dataSource);
        this.requireLock(entry, interval);
        return this.mutex.run(action.dataSource, async () => {
          const n = await this.host.segments.markUnusedInInterval(action.dataSource, interval, action.versions ?? null, this.host.now());
          if (n > 0) this.host.segmentsChanged();
          return n;
        });
      }
      case "segmentNuke":
        return this.nuke(entry, action.segments as DataSegment[]);
      case "retrieveUsedSegments": {
        const texts = action.intervals ?? (action.interval ? [action.interval] : []);
        if (texts.length === 0) throw invalidInput("Invalid [intervals]: at least one interval is required");
        const intervals = texts.map((t) => parseInterval(t, "intervals", ANY));
        const used = (await this.host.segments.overlapping(action.dataSource, intervals, true)).map((r) => r.segment);
        if (action.visibility === "INCLUDING_OVERSHADOWED") return used;
        const visible = new Set<DataSegment>();
        for (const i of intervals) for (const s of visibleSegments(used, i)) visible.add(s);
        return [...visible];
      }
      case "retrieveUnusedSegments": {
        const interval = parseInterval(action.interval, "interval", ANY);
        const rows = await this.host.segments.unusedWithin(action.dataSource, interval, {
          versions: action.versions ?? null,
          limit: action.limit ?? null,
          maxUsedStatusLastUpdatedTime: action.maxUsedStatusLastUpdatedTime ?? null,
        });
        return rows.map((r) => r.segment);
      }
    }
  }

  private async tryLock(entry: TaskEntry, interval: Interval, type: LockType): Promise<TaskLock | null> {
    const t = entry.task;
    if (type === "KILL") throw invalidInput("Invalid [lockType]: KILL locks are reserved for embedded kill tasks");
    const r = this.host.locks.lockbox.tryLock({ taskId: t.id, groupId: t.groupId, dataSource: t.dataSource, interval, type, priority: t.priority });
    this.host.locks.persistLockChanges(r.changes);
    if (r.changes.length > 0) await this.host.durable();
    return r.granted ? r.lock : null;
  }

  /** Druid's blocking lockAcquire: retried whenever a lock is released, until the timeout (0 = our cap). */
  private async acquire(entry: TaskEntry, interval: Interval, type: LockType, timeoutMs: number): Promise<TaskLock | null> {
    const deadline = this.host.now() + (timeoutMs > 0 ? Math.min(timeoutMs, MAX_LOCK_WAIT_MS) : MAX_LOCK_WAIT_MS);
    for (;;) {
      const lock = await this.tryLock(entry, interval, type);
      if (lock || entry.status !== "RUNNING") return lock;
      const left = deadline - this.host.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.releaseWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.releaseWaiters.add(done);
      });
    }
  }

  private async allocate(entry: TaskEntry, a: Extract<TaskAction, { type: "segmentAllocate" }>): Promise<SegmentIdWithShardSpec | null> {
    this.requireDataSource(entry, a.dataSource);
    const ts = typeof a.timestamp === "number" ? a.timestamp : parseInstant(a.timestamp, "timestamp");
    // A row's time chunk must be expressible as an interval: past the ends of time there is none
    // (its text form would clamp to an empty interval), so refuse before anything is locked.
    if (!Number.isInteger(ts) || ts < MIN_INSTANT + YEAR_MS || ts > MAX_INSTANT - YEAR_MS) {
      throw invalidInput(`Invalid [timestamp]: [${String(a.timestamp)}] is outside the range of instants segments can cover`);
    }
    const queryGranularity = parseGranularity(a.queryGranularity ?? "none", "queryGranularity");
    const preferred = parseGranularity(a.preferredSegmentGranularity ?? "day", "preferredSegmentGranularity");
    const rowBucket = { start: ts, end: ts + 1 };
    const usedNear = (await this.host.segments.overlapping(a.dataSource, [rowBucket], true)).map((r) => r.segment);
    const visibleIntervals = visibleSegments(usedNear).map((s) => intervalOf(s));
    const candidates = allocationIntervalCandidates(ts, queryGranularity, preferred, visibleIntervals);
    const type: LockType = a.taskLockType ?? entry.task.lockType;
    const partial = a.partialShardSpec ?? a.shardSpecFactory ?? { type: "numbered" as const };
    for (const interval of candidates) {
      const lock = await this.tryLock(entry, interval, type);
      if (!lock) continue;
      const version = lock.version;
      const sha1 = sequenceNamePrevIdSha1({ sequenceName: a.sequenceName, previousSegmentId: a.previousSegmentId ?? null, skipSegmentLineageCheck: a.skipSegmentLineageCheck ?? false, interval, version });
      const existing = await this.host.segments.pendingBySha1(sha1);
      if (existing) return existing.segment;
      const [used, pending, unused] = await Promise.all([
        this.host.segments.overlapping(a.dataSource, [interval], true),
        this.host.segments.pendingOverlapping(a.dataSource, interval),
        this.host.segments.unusedWithin(a.dataSource, interval, {}),
      ]);
      const r = allocatePendingSegment({
        dataSource: a.dataSource,
        interval,
        lockVersion: version,
        used: used.map((x) => x.segment),
        pending: pending.map((p) => p.segment),
        unused: unused.map((x) => x.segment),
        partialShardSpec: { type: partial.type },
      });
      if (!r.ok) return null;
      await this.host.segments.insertPending(
        { id: segmentIdOf(r.id), sequenceName: a.sequenceName, sequencePrevId: a.previousSegmentId ?? "", sha1, taskAllocatorId: entry.task.id, segment: r.id },
        this.host.now(),
      );
      return r.id;
    }
    return null;
  }

  private async publish(entry: TaskEntry, segments: DataSegment[], required: LockType | null): Promise<SegmentPublishResult> {
    if (segments.length === 0) throw invalidInput("Invalid [segments]: nothing to publish");
    const ds = entry.task.dataSource;
    for (const s of segments) this.requireDataSource(entry, s.dataSource);
    const ids = new Set(segments.map((s) => segmentIdOf(s)));
    if (ids.size !== segments.length) throw invalidInput("Invalid [segments]: duplicate segment ids");
    return this.mutex.run(ds, async () => {
      const lockbox = this.host.locks.lockbox;
      lockbox.pin(entry.task.id);
      try {
        for (const s of segments) this.requireLockCovering(entry, s, required);
        const clash = await this.host.segments.byIds([...ids]);
        if (clash.length > 0) return { segments: [], success: false, errorMsg: `Segment [${clash[0]!.id}] already exists` };
        if (entry.status !== "RUNNING") throw new DruidError("FORBIDDEN", `Task [${entry.task.id}] is no longer running`, "taskNotRunning");
        await this.host.segments.publish(segments, entry.task.id, this.host.now());
        this.host.segmentsChanged();
        return { segments, success: true, errorMsg: null };
      } finally {
        lockbox.unpin(entry.task.id);
      }
    });
  }

  private async nuke(entry: TaskEntry, segments: DataSegment[]): Promise<number> {
    for (const s of segments) {
      this.requireDataSource(entry, s.dataSource);
      this.requireLockCovering(entry, s, null);
    }
    return this.mutex.run(entry.task.dataSource, async () => {
      const rows = await this.host.segments.byIds(segments.map((s) => segmentIdOf(s)));
      const used = rows.find((r) => r.used);
      if (used) throw invalidInput(`Segment [${used.id}] is used; only unused segments can be nuked`, "segmentUsed");
      return this.host.segments.nuke(rows.map((r) => r.id));
    });
  }

  private requireDataSource(entry: TaskEntry, dataSource: string): void {
    if (dataSource !== entry.task.dataSource) {
      throw new DruidError("FORBIDDEN", `Task [${entry.task.id}] of dataSource [${entry.task.dataSource}] cannot act on dataSource [${dataSource}]`, "wrongDataSource");
    }
  }

  private requireLock(entry: TaskEntry, interval: Interval): void {
    if (!this.host.locks.lockbox.covers(entry.task.id, entry.task.dataSource, interval)) {
      throw new DruidError("FORBIDDEN", `Task [${entry.task.id}] holds no live lock covering ${formatInterval(interval)}`, "lockNotHeld");
    }
  }

  /** Druid's TaskLocks.isLockCoversSegments for time-chunk locks, plus the revoked check. */
  private requireLockCovering(entry: TaskEntry, s: DataSegment, required: LockType | null): void {
    const interval = intervalOf(s);
    const ok = this.host.locks.lockbox
      .locksOf(entry.task.id)
      .some(
        (l) =>
          !l.revoked &&
          l.dataSource === s.dataSource &&
          (required === null || l.type === required) &&
          contains(parseInterval(l.interval, "lock interval"), interval) &&
          (l.type === "APPEND" || l.version >= s.version),
      );
    if (!ok) {
      throw new DruidError(
        "FORBIDDEN",
        `Task [${entry.task.id}] holds no live ${required ?? ""}${required ? " " : ""}lock covering segment [${segmentIdOf(s)}] (revoked, missing, or older than the segment version)`,
        "lockNotHeld",
      );
    }
  }
}
