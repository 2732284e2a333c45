/**
 * Pending-segment allocation as Druid's `segmentAllocate` action does it
 * (`SegmentAllocateAction`, `IndexerSQLMetadataStorageCoordinator#createNewSegment`), as pure
 * functions over the used and pending segments the caller read: which interval to try, which
 * version and partition number the new id gets, and the idempotency digest of the request.
 */
import { corePartitionsOf, intervalOf, partitionNumOf, type ShardSpec } from "./dataSegment.ts";
import { bucket, contains, formatInterval, sameInterval, type GranularityName, type Interval } from "../shared/intervals.ts";
import { sha1, toHex } from "../shared/sha1.ts";
import { SegmentTimeline, type TimelineSegment } from "./timeline.ts";

/** Druid's SegmentIdWithShardSpec JSON (the result of `segmentAllocate`, the pending payload). */
export interface SegmentIdWithShardSpec {
  dataSource: string;
  interval: string;
  version: string;
  shardSpec: ShardSpec;
}

/** The `shardSpecFactory` / partialShardSpec of the request: only root-generation specs here. */
export type PartialShardSpec = { type: "numbered" } | { type: "linear" };

export interface AllocationRequest {
  dataSource: string;
  /** The interval chosen for the new segment (see `allocationIntervalCandidates`). */
  interval: Interval;
  /** The version of the task's lock on the interval. */
  lockVersion: string;
  /** Used segments overlapping `interval` (overshadowed ones may be included; they are ignored). */
  used: readonly TimelineSegment[];
  /** Pending segments overlapping `interval`. */
  pending: readonly SegmentIdWithShardSpec[];
  /** Unused segments of `interval`; an id that would collide with one is refused. */
  unused?: readonly TimelineSegment[];
  partialShardSpec?: PartialShardSpec;
}

export type AllocationResult = { ok: true; id: SegmentIdWithShardSpec } | { ok: false; reason: string };

/** numbered_overwrite (segment locking) lives in its own partition space; everything else shares the root one. */
const sharesRootPartitionSpace = (s: ShardSpec | null | undefined) => s?.type !== "numbered_overwrite";

function completeShardSpec(partial: PartialShardSpec, partitionNum: number, numCorePartitions: number): ShardSpec {
  return partial.type === "linear" ? { type: "linear", partitionNum } : { type: "numbered", partitionNum, partitions: numCorePartitions };
}

/**
 * The id Druid would allocate next in `interval`:
 * - version: the version of the visible used chunk if there is one, else the highest version of
 *   the pending segments, else the lock version;
 * - partition: 1 + the highest partition number among the committed chunk and the pending
 *   segments of that version (0 for the first segment of the interval);
 * - core partitions: those of the committed chunk (0 when there is none).
 * Refused (as Druid returns null) when the visible used segments form more than one chunk, or the
 * highest id belongs to a different interval.
 */
export function allocatePendingSegment(req: AllocationRequest): AllocationResult {
  const partial = req.partialShardSpec ?? { type: "numbered" };
  const holders = new SegmentTimeline(req.used.filter((s) => s.dataSource === req.dataSource)).lookup(req.interval, req.dataSource);
  if (holders.length > 1) {
    return { ok: false, reason: `Cannot allocate new segment for dataSource[${req.dataSource}], interval[${formatInterval(req.interval)}]: already have [${holders.length}] chunks.` };
  }

  type Candidate = { interval: Interval; version: string; shardSpec: ShardSpec };
  let committedMax: Candidate | null = null;
  const existingVersion = holders[0]?.version ?? null;
  if (holders[0]) {
    for (const seg of holders[0].segments) {
      const spec = seg.shardSpec ?? { type: "none" };
      if (!sharesRootPartitionSpace(spec)) continue;
      if (!committedMax || partitionNumOf(committedMax.shardSpec) < partitionNumOf(spec)) {
        committedMax = { interval: intervalOf(seg), version: seg.version, shardSpec: spec };
      }
    }
  }

  const candidates: Candidate[] = req.pending
    .filter((p) => p.dataSource === req.dataSource)
    .map((p) => ({ interval: intervalOf(p), version: p.version, shardSpec: p.shardSpec }));
  if (committedMax) candidates.push(committedMax);
  let overallMax: Candidate | null = null;
  for (const c of candidates) {
    if (!sharesRootPartitionSpace(c.shardSpec)) continue;
    if (existingVersion !== null && c.version !== existingVersion) continue;
    if (
      !overallMax ||
      partitionNumOf(c.shardSpec) > partitionNumOf(overallMax.shardSpec) ||
      (partitionNumOf(c.shardSpec) === partitionNumOf(overallMax.shardSpec) && c.version > overallMax.version)
    ) overallMax = c;
  }

  let id: SegmentIdWithShardSpec;
  const interval = formatInterval(req.interval);
  if (!overallMax) {
    id = { dataSource: req.dataSource, interval, version: existingVersion ?? req.lockVersion, shardSpec: completeShardSpec(partial, 0, 0) };
  } else if (!sameInterval(overallMax.interval, req.interval)) {
    return {
      ok: false,
      reason: `Cannot allocate new segment for dataSource[${req.dataSource}], interval[${interval}], existingVersion[${req.lockVersion}]: conflicting segment with interval[${formatInterval(overallMax.interval)}] version[${overallMax.version}].`,
    };
  } else {
    id = {
      dataSource: req.dataSource,
      interval,
      version: existingVersion ?? overallMax.version,
      shardSpec: completeShardSpec(partial, partitionNumOf(overallMax.shardSpec) + 1, committedMax ? corePartitionsOf(committedMax.shardSpec) : 0),
    };
  }

  const clash = (req.unused ?? []).find(
    (u) => u.dataSource === id.dataSource && u.version === id.version && sameInterval(intervalOf(u), req.interval) && partitionNumOf(u.shardSpec) === partitionNumOf(id.shardSpec),
  );
  if (clash) {
    return { ok: false, reason: `Cannot allocate new segment for dataSource[${req.dataSource}], interval[${interval}]: an unused segment with version[${id.version}] and partition[${partitionNumOf(id.shardSpec)}] already exists.` };
  }
  return { ok: true, id };
}

const FINER_ORDER: GranularityName[] = [
  "year", "quarter", "month", "week", "day", "eight_hour", "six_hour", "hour", "thirty_minute", "fifteen_minute",
  "ten_minute", "five_minute", "minute", "second",
];

/** Druid's `Granularity.granularitiesFinerThan`: the preferred granularity and every finer one, coarsest first (WEEK only when preferred). */
export function granularitiesFinerThan(preferred: GranularityName): GranularityName[] {
  if (preferred === "all") return ["all", ...FINER_ORDER.filter((g) => g !== "week")];
  const width = (g: GranularityName) => { const b = bucket(g, 0); return b.end - b.start; };
  const limit = width(preferred);
  return FINER_ORDER.filter((g) => (g === "week" ? preferred === "week" : width(g) <= limit));
}

/**
 * The intervals `segmentAllocate` tries for a row at `timestamp`, in order. When visible used
 * segments overlap the row's query-granularity bucket, only their interval (it must contain the
 * bucket; none if they disagree); otherwise the preferred granularity's bucket, then finer ones,
 * each kept only if it contains the row's bucket.
 */
export function allocationIntervalCandidates(
  timestamp: number,
  queryGranularity: GranularityName,
  preferredSegmentGranularity: GranularityName,
  usedVisibleIntervals: readonly Interval[],
): Interval[] {
  const rowInterval = queryGranularity === "none" ? { start: timestamp, end: timestamp + 1 } : bucket(queryGranularity, timestamp);
  const overlapping = usedVisibleIntervals.filter((i) => i.start < rowInterval.end && rowInterval.start < i.end);
  if (overlapping.length > 0) {
    const first = overlapping[0]!;
    return contains(first, rowInterval) ? [first] : [];
  }
  const out: Interval[] = [];
  for (const g of granularitiesFinerThan(preferredSegmentGranularity)) {
    const b = bucket(g, timestamp);
    if (contains(b, rowInterval) && !out.some((o) => sameInterval(o, b))) out.push(b);
  }
  return out;
}

export interface SequenceKey {
  sequenceName: string;
  /** The previous segment id of the sequence; null/empty for the first allocation. */
  previousSegmentId: string | null;
  /** With skipSegmentLineageCheck the interval replaces the previous id in the key. */
  skipSegmentLineageCheck?: boolean;
  interval: Interval;
  version: string;
}

/**
 * `sequence_name_prev_id_sha1`, unique in `druid_pendingSegments`
 * (`PendingSegmentRecord#computeSequenceNamePrevIdSha1`): SHA-1 over the sequence name, 0xff,
 * then either the previous id (UTF-8) or, skipping the lineage check, the interval's start and
 * end millis (little-endian longs, as Guava's Hasher), then 0xff and the version; upper-case hex.
 */
export function sequenceNamePrevIdSha1(key: SequenceKey): string {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode(key.sequenceName), Uint8Array.of(0xff)];
  if (key.skipSegmentLineageCheck) {
    const longs = new DataView(new ArrayBuffer(16));
    longs.setBigInt64(0, BigInt(key.interval.start), true);
    longs.setBigInt64(8, BigInt(key.interval.end), true);
    parts.push(new Uint8Array(longs.buffer));
  } else {
    parts.push(enc.encode(key.previousSegmentId ?? ""));
  }
  parts.push(Uint8Array.of(0xff), enc.encode(key.version));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { all.set(p, off); off += p.length; }
  return toHex(sha1(all)).toUpperCase();
}
