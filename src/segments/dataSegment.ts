/**
 * Druid's DataSegment JSON (the payload of `druid_segments`) and its shardSpec, with the two facts
 * the rest of the system reads from a shardSpec: the partition number and the number of core
 * partitions (`processing/.../timeline/DataSegment.java`, `.../partition/*ShardSpec.java`).
 */
import { wellFormed } from "../shared/text.ts";
import { z } from "zod";
import { validateId } from "../shared/ids.ts";
import { formatSegmentId } from "./segmentId.ts";
import { parseInterval, type Interval } from "../shared/intervals.ts";
import { shardSpecSchema } from "./shardSpec.ts";

/**
 * A shardSpec as Druid serialises it. `numbered`/`hashed`: {partitionNum, partitions (= core
 * partitions)}; `linear`: {partitionNum}; `none`: {}; `range`/`single`: {partitionNum,
 * numCorePartitions, ...}; `numbered_overwrite`: {partitionId, ...}. Unknown fields are kept as
 * they are. What a valid one is: `shardSpecSchema` (shardSpec.ts).
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

/** What Druid's DataSegment takes for a null shardSpec (`new NumberedShardSpec(0, 1)`). */
export const DEFAULT_SHARD_SPEC: ShardSpec = { type: "numbered", partitionNum: 0, partitions: 1 };

/** A string field checked by a throwing validator, its message becoming the zod issue. */
const checkedString = (check: (v: string) => void, what: string) =>
  z.string({ error: `expected ${what} (a string)` }).superRefine((value, ctx) => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  });

/**
 * A DataSegment a task publishes (or names to nuke), with the fields the Overlord interprets
 * checked as Druid's constructor would: dataSource by Druid's id rules (IdUtils.validateId),
 * interval parseable and non-empty, version a non-empty string, shardSpec a valid spec (null →
 * Druid's NumberedShardSpec(0, 1)), size an integer >= 0 (`Preconditions.checkArgument(size >= 0)`),
 * binaryVersion and totalRows Java ints, dimensions/metrics the comma-separated strings Druid
 * writes (CommaListJoinSerializer; its deserializer reads only a string), loadSpec an object.
 * Other fields are kept as given.
 */
export const dataSegmentSchema = z.looseObject({
  dataSource: checkedString((v) => validateId(v, "dataSource"), "a dataSource"),
  interval: checkedString((v) => void parseInterval(v, "interval"), "an interval"),
  version: z
    .string({ error: "expected a version (a string)" })
    .min(1, { message: "version must be a non-empty string" })
    .max(255)
    // stored in D1 as text and part of the segment id: a lone surrogate would read back as U+FFFD
    .refine((v) => v === wellFormed(v), { message: "version must be well-formed Unicode (no lone surrogates)" }),
  shardSpec: shardSpecSchema.nullish().transform((s) => s ?? { ...DEFAULT_SHARD_SPEC }),
  loadSpec: z.record(z.string(), z.unknown(), { error: "expected a loadSpec object" }).nullish(),
  dimensions: z.string({ error: "expected a comma-separated string" }).nullish(),
  metrics: z.string({ error: "expected a comma-separated string" }).nullish(),
  binaryVersion: z.number().int().min(-2_147_483_648).max(2_147_483_647).nullish(),
  size: z.number().int().min(0).optional(),
  totalRows: z.number().int().min(0).max(2_147_483_647).nullish(),
});

/** The partition number (Druid's ShardSpec.getPartitionNum: 0 for `none`, `tombstone` and a missing spec). */
export function partitionNumOf(spec: ShardSpec | null | undefined): number {
  if (!spec) return 0;
  switch (spec.type) {
    case "none":
    case "tombstone":
      return 0;
    case "numbered_overwrite":
      return spec["partitionId"] as number;
    default:
      return spec.partitionNum ?? 0;
  }
}

/**
 * The number of core partitions (Druid's getNumCorePartitions): the partitions that must all be
 * present before the time chunk is complete. 0 means there is no core set (`linear`, `none`,
 * `tombstone`, `numbered_overwrite`, appended `numbered`, range specs whose count is unknown
 * (-1)): any non-empty set of partitions is complete. Specs are valid here (validated when
 * published, `shardSpecSchema`; allocated ones are built valid).
 */
export function corePartitionsOf(spec: ShardSpec | null | undefined): number {
  if (!spec) return 0;
  switch (spec.type) {
    case "none":
    case "linear":
    case "tombstone":
    case "numbered_overwrite":
      return 0;
    case "single":
    case "range":
      return Math.max(spec.numCorePartitions ?? 0, 0);
    default:
      return spec.partitions ?? spec.numCorePartitions ?? 0;
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
