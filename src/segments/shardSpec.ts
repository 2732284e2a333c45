/**
 * Druid's shard specs as Druid serialises them (`processing/.../timeline/partition/*ShardSpec.java`),
 * validated with the rules of their constructors:
 *
 * - `numbered` {partitionNum, partitions}: both ints >= 0 (NumberedShardSpec's Preconditions);
 *   partitionNum may be >= partitions (segments appended beyond the core set).
 * - `hashed` {partitionNum, partitions, bucketId?, numBuckets?, partitionDimensions?,
 *   partitionFunction?}: as `numbered`; the nullable fields default as Druid's (bucketId =
 *   partitionNum, numBuckets = partitions), partitionFunction is `murmur3_32_abs`.
 * - `linear` {partitionNum}: required (LinearShardSpec's checkNotNull), int >= 0.
 * - `none` {}; `tombstone` {partitionNum 0, partitions 0 (1 before Druid 28)}.
 * - `single` {dimension, start, end, partitionNum, numCorePartitions} and `range` {dimensions,
 *   start, end, partitionNum, numCorePartitions}: partitionNum int >= 0, dimensions non-empty
 *   (DimensionRangeShardSpec's Preconditions), numCorePartitions -1 (Druid's "unknown", written for
 *   legacy specs) or >= 0.
 * - `numbered_overwrite` {partitionId, startRootPartitionId, endRootPartitionId, minorVersion,
 *   atomicUpdateGroupSize}: partitionId in [32768, 65536), root ids in [0, 32768), minorVersion
 *   a short > 0, atomicUpdateGroupSize a short > 0 or -1 (NumberedOverwriteShardSpec).
 * - `dim_value_set` {partitionNum, partitions, partitionDimensionValues?}: as `numbered`.
 *
 * Numbers are Java ints (or shorts) and must be JSON integers in range: a string, a fraction or
 * 1e300 is refused (Jackson would coerce "0" or truncate 1.5; we do not guess). Fields Druid
 * always writes are required; fields its constructors take as @Nullable may be absent or null.
 * Unknown extra fields are kept. The `building_*` and `bucket_*` specs exist only while a task
 * builds segments (BuildingShardSpec: "converted to a proper shardSpec when published") and are
 * refused here, as is any unknown type.
 */
import { z } from "zod";

const INT_MAX = 2_147_483_647;
const SHORT_MAX = 32_767;
/** PartitionIds: root-generation ids are [0, 32768), non-root (overwrite) ids [32768, 65536). */
export const ROOT_GEN_END_PARTITION_ID = 32_768;
export const NON_ROOT_GEN_END_PARTITION_ID = 65_536;

/** An integer in [min, max], with one clear message (a string "0", 1.5 and 1e300 all fail). */
const intIn = (min: number, max: number, what = `an integer in [${min}, ${max}]`) =>
  z
    .number({ error: (i) => `expected ${what}, got ${i.input === null ? "null" : typeof i.input}` })
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, { message: `expected ${what}` });

const partitionNum = intIn(0, INT_MAX, "a partition number (an integer in [0, 2147483647])");
const count = intIn(0, INT_MAX, "a count (an integer in [0, 2147483647])");
/** numCorePartitions of range specs: -1 is Druid's UNKNOWN_NUM_CORE_PARTITIONS. */
const numCorePartitions = intIn(-1, INT_MAX, "a number of core partitions (-1 for unknown, or an integer in [0, 2147483647])");
const strings = z.array(z.string());

const numbered = z.looseObject({ type: z.literal("numbered"), partitionNum, partitions: count });
const linear = z.looseObject({ type: z.literal("linear"), partitionNum });
const none = z.looseObject({ type: z.literal("none") });
const tombstone = z.looseObject({
  type: z.literal("tombstone"),
  partitionNum: z.literal(0, { error: "a tombstone's partitionNum is always 0" }).optional(),
  partitions: z.union([z.literal(0), z.literal(1)], { error: "a tombstone's partitions is 0 (1 before Druid 28)" }).optional(),
});
const hashed = z.looseObject({
  type: z.literal("hashed"),
  partitionNum,
  partitions: count,
  bucketId: partitionNum.nullish(),
  numBuckets: count.nullish(),
  partitionDimensions: strings.nullish(),
  partitionFunction: z
    .string()
    .refine((f) => f.toUpperCase() === "MURMUR3_32_ABS", { message: "expected a hash partition function (murmur3_32_abs)" })
    .nullish(),
});
const single = z.looseObject({
  type: z.literal("single"),
  dimension: z.string({ error: "expected the partition dimension (a string)" }),
  start: z.string().nullish(),
  end: z.string().nullish(),
  partitionNum,
  numCorePartitions: numCorePartitions.nullish(),
});
const stringTuple = z.array(z.string().nullable());
const range = z.looseObject({
  type: z.literal("range"),
  dimensions: z.array(z.string(), { error: "expected the partition dimensions (an array of strings)" }).min(1, { message: "dimensions should be non-null and non-empty" }),
  start: stringTuple.nullish(),
  end: stringTuple.nullish(),
  partitionNum,
  numCorePartitions: numCorePartitions.nullish(),
});
const numberedOverwrite = z.looseObject({
  type: z.literal("numbered_overwrite"),
  partitionId: intIn(ROOT_GEN_END_PARTITION_ID, NON_ROOT_GEN_END_PARTITION_ID - 1),
  startRootPartitionId: intIn(0, ROOT_GEN_END_PARTITION_ID - 1),
  endRootPartitionId: intIn(0, ROOT_GEN_END_PARTITION_ID - 1),
  minorVersion: intIn(1, SHORT_MAX),
  atomicUpdateGroupSize: intIn(-1, SHORT_MAX, `-1 (unknown) or an integer in [1, ${SHORT_MAX}]`).refine((n) => n !== 0, { message: `expected -1 (unknown) or an integer in [1, ${SHORT_MAX}]` }),
});
const dimValueSet = z.looseObject({
  type: z.literal("dim_value_set"),
  partitionNum,
  partitions: count,
  partitionDimensionValues: z.record(z.string(), strings).nullish(),
});

export const PUBLISHABLE_SHARD_SPEC_TYPES = ["none", "tombstone", "linear", "numbered", "hashed", "single", "range", "numbered_overwrite", "dim_value_set"] as const;

export const shardSpecSchema = z.discriminatedUnion("type", [none, tombstone, linear, numbered, hashed, single, range, numberedOverwrite, dimValueSet], {
  error: (i) => {
    if (i.code !== "invalid_union") return undefined;
    const input = i.input as { type?: unknown } | null | undefined;
    const type = input && typeof input === "object" ? input.type : undefined;
    if (typeof type === "string" && /^(building|bucket)_/.test(type)) {
      return `shardSpec type [${type}] is only used while building segments and cannot be published`;
    }
    return `unknown shardSpec type [${String(type)}]; expected one of ${PUBLISHABLE_SHARD_SPEC_TYPES.join(", ")}`;
  },
});

export type PublishedShardSpec = z.infer<typeof shardSpecSchema>;
