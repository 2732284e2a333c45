/**
 * Druid's DataSegment JSON (the payload of `druid_segments`) and its shardSpec, with the two facts
 * the rest of the system reads from a shardSpec: the partition number and the number of core
 * partitions (`processing/.../timeline/DataSegment.java`, `.../partition/*ShardSpec.java`).
 */
import { formatSegmentId } from "./segmentId.ts";
import { parseInterval, type Interval } from "./intervals.ts";

/**
 * A shardSpec as Druid serialises it. `numbered`: {partitionNum, partitions (= core partitions)};
 * `linear`: {partitionNum}; `none`: {}; `hashed`/`range`/`single`: {partitionNum,
 * numCorePartitions, ...}. Unknown fields are kept as they are.
 */
export interface ShardSpec {
  type: string;
  partitionNum?: number;
  partitions?: number;
  numCorePartitions?: number;
  [field: string]: unknown;
}

export interface DataSegment {
  dataSource: string;
  /** `start/end`, ISO-8601, as Druid writes it. */
  interval: string;
  version: string;
  loadSpec?: Record<string, unknown>;
  /** Comma-separated, as in Druid's JSON. */
  dimensions?: string;
  metrics?: string;
  shardSpec: ShardSpec;
  binaryVersion?: number;
  size?: number;
  identifier?: string;
  lastCompactionState?: unknown;
  totalRows?: number;
  [field: string]: unknown;
}

/** Druid's NoneShardSpec: one segment per time chunk. */
export const NONE_SHARD_SPEC: ShardSpec = { type: "none" };

/** The partition number (0 for `none` and for specs without one). */
export function partitionNumOf(spec: ShardSpec | null | undefined): number {
  const n = spec?.partitionNum;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : 0;
}

/**
 * The number of core partitions: the partitions that must all be present before the time chunk is
 * complete. 0 means there is no core set (`linear`, `none`, appended `numbered`): any non-empty
 * set of partitions is complete.
 */
export function corePartitionsOf(spec: ShardSpec | null | undefined): number {
  if (!spec) return 0;
  switch (spec.type) {
    case "none":
    case "linear":
      return 0;
    default: {
      const n = spec.numCorePartitions ?? spec.partitions;
      return typeof n === "number" && Number.isInteger(n) && n > 0 ? n : 0;
    }
  }
}

/** The segment's id, Druid's `ds_start_end_version[_partition]`. */
export function segmentIdOf(segment: Pick<DataSegment, "dataSource" | "interval" | "version" | "shardSpec">): string {
  return formatSegmentId({
    dataSource: segment.dataSource,
    interval: parseInterval(segment.interval, "segment interval"),
    version: segment.version,
    partitionNum: partitionNumOf(segment.shardSpec),
  });
}

/** Parsed interval of a segment-like object whose interval is a string or already parsed. */
export function intervalOf(segment: { interval: string | Interval }): Interval {
  return typeof segment.interval === "string" ? parseInterval(segment.interval, "segment interval") : segment.interval;
}
