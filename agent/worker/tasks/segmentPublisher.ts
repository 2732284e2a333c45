/**
 * From built segment files to published segments: picks each segment's version and shardSpec
 * (overwrite: the version of the task's time-chunk lock, numbered partitions with the full core
 * set, so the new chunk overshadows what was there; append: a pending segment from
 * `segmentAllocate`), uploads the file to deep storage, and publishes the whole set with one
 * transactional action at the end — a task that dies before that leaves no partial segment set.
 */
import type { BuiltSegment } from "../ingest/index.ts";
import { contains, formatInterval, parseInterval, type Interval } from "../../../src/shared/intervals.ts";
import type { LockType, TaskLock } from "../../../src/protocol/taskLocks.ts";
import type { IngestTaskContext } from "./context.ts";

export interface DataSegmentJson {
  dataSource: string;
  interval: string;
  version: string;
  loadSpec: { type: "r2"; key: string };
  dimensions: string;
  metrics: string;
  shardSpec: Record<string, unknown>;
  binaryVersion: number;
  size: number;
  totalRows: number;
  [k: string]: unknown;
}

interface Allocated {
  dataSource: string;
  interval: string;
  version: string;
  shardSpec: { type: string; partitionNum?: number; [k: string]: unknown };
}

export interface PublisherOptions {
  dataSource: string;
  append: boolean;
  lockType: LockType;
  queryGranularity: string;
  segmentGranularity: string;
  /** Extra DataSegment fields (e.g. lastCompactionState). */
  extra?: Record<string, unknown>;
}

/** Deep-storage key of a segment file. */
export function segmentKey(dataSource: string, interval: string, version: string, partitionNum: number): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._:+-]/g, "_");
  return `segments/${encodeURIComponent(dataSource)}/${safe(interval)}/${safe(version)}/${partitionNum}/index.parquet`;
}

export class SegmentPublisher {
  private locks: Array<TaskLock & { parsed: Interval }> | null = null;
  /**
   * An overwrite asks for the locks it holds when it starts (the Overlord took them when the task
   * became ready), so the answer is in by the time the first segment is built instead of costing
   * a round trip then. A lock revoked in between fails the publish, which checks them again.
   */
  private readonly heldLocks: Promise<TaskLock[]> | null;
  private previousSegmentId: string | null = null;
  readonly segments: DataSegmentJson[] = [];

  constructor(private readonly ctx: IngestTaskContext, private readonly o: PublisherOptions) {
    this.heldLocks = o.append ? null : ctx.client.action<TaskLock[]>({ type: "lockList" });
    // a failure surfaces when the first segment needs a version (or never, if none is built)
    this.heldLocks?.catch(() => {});
  }

  /** Version for an overwrite of `interval`: a held lock containing it, else one acquired now. */
  private async lockVersion(interval: Interval): Promise<string> {
    if (!this.locks) {
      const held = await this.heldLocks!; // asked for at construction: lock versions are for overwrites only
      this.locks = held.filter((l) => !l.revoked && l.dataSource === this.o.dataSource).map((l) => ({ ...l, parsed: parseInterval(l.interval) }));
    }
    const hit = this.locks.find((l) => contains(l.parsed, interval));
    if (hit) return hit.version;
    const lock = await this.ctx.client.action<TaskLock | null>({ type: "lockTryAcquire", lockType: this.o.lockType, interval: formatInterval(interval) });
    if (!lock || lock.revoked) throw new Error(`Could not acquire a ${this.o.lockType} lock on ${formatInterval(interval)} of [${this.o.dataSource}]`);
    this.locks.push({ ...lock, parsed: parseInterval(lock.interval) });
    return lock.version;
  }

  private async allocate(interval: Interval): Promise<Allocated> {
    const id = await this.ctx.client.action<Allocated | null>({
      type: "segmentAllocate",
      dataSource: this.o.dataSource,
      timestamp: new Date(interval.start).toISOString(),
      queryGranularity: this.o.queryGranularity,
      preferredSegmentGranularity: this.o.segmentGranularity,
      sequenceName: this.ctx.taskId,
      previousSegmentId: this.previousSegmentId,
      skipSegmentLineageCheck: false,
      partialShardSpec: { type: "numbered" },
      lockGranularity: "TIME_CHUNK",
      taskLockType: this.o.lockType,
    });
    if (!id) throw new Error(`Could not allocate a segment for ${formatInterval(interval)} of [${this.o.dataSource}]`);
    const got = parseInterval(id.interval);
    if (got.start !== interval.start || got.end !== interval.end) {
      throw new Error(
        `Appending to ${formatInterval(interval)} needs segments of the same granularity as the existing ones (allocated ${id.interval}); use the existing segmentGranularity`,
      );
    }
    this.previousSegmentId = `${id.dataSource}_${id.interval.replace("/", "_")}_${id.version}${id.shardSpec.partitionNum ? `_${id.shardSpec.partitionNum}` : ""}`;
    return id;
  }

  /** Uploads one built segment and remembers its DataSegment for the final publish. */
  async add(built: BuiltSegment): Promise<void> {
    const started = Date.now();
    let version: string;
    let shardSpec: Record<string, unknown>;
    if (this.o.append) {
      const id = await this.allocate(built.interval);
      version = id.version;
      shardSpec = id.shardSpec;
    } else {
      version = await this.lockVersion(built.interval);
      shardSpec = { type: "numbered", partitionNum: built.partitionNum, partitions: built.numPartitions };
    }
    const interval = formatInterval(built.interval);
    const key = segmentKey(this.o.dataSource, interval, version, Number(shardSpec["partitionNum"] ?? 0));
    await this.ctx.client.putObject(key, built.bytes);
    this.ctx.log(`uploaded ${key} (${built.numRows} rows, ${built.size} bytes, ${Date.now() - started} ms with its lock or allocation)`);
    this.segments.push({
      dataSource: this.o.dataSource,
      interval,
      version,
      loadSpec: { type: "r2", key },
      dimensions: built.dimensions.join(","),
      metrics: built.metrics.join(","),
      shardSpec,
      binaryVersion: 9,
      size: built.size,
      totalRows: built.numRows,
      ...(this.o.extra ?? {}),
    });
  }

  /** Publishes every added segment in one transaction (nothing to do when none were built). */
  async publish(): Promise<number> {
    if (this.segments.length === 0) return 0;
    const type = this.o.lockType === "APPEND" ? "segmentTransactionalAppend" : this.o.lockType === "REPLACE" ? "segmentTransactionalReplace" : "segmentTransactionalInsert";
    const r = await this.ctx.client.action<{ success: boolean; errorMsg: string | null; segments: unknown[] }>({ type, segments: this.segments });
    if (!r.success) throw new Error(`Publishing ${this.segments.length} segments failed: ${r.errorMsg ?? "unknown reason"}`);
    this.ctx.log(`published ${this.segments.length} segments`);
    return this.segments.length;
  }
}
