import { describe, expect, it } from "vitest";
import { corePartitionsOf, dataSegmentSchema, partitionNumOf, segmentIdOf } from "../../src/segments/dataSegment.ts";
import { shardSpecSchema } from "../../src/segments/shardSpec.ts";

/** The first issue's path and message when `spec` is refused. */
function refusal(spec: unknown) {
  const r = shardSpecSchema.safeParse(spec);
  expect(r.success).toBe(false);
  const issue = r.error!.issues[0]!;
  return { path: issue.path.join("."), message: issue.message };
}

describe("shard specs as Druid serialises them are accepted", () => {
  it.each([
    { type: "none" },
    { type: "tombstone", partitionNum: 0, partitions: 0 },
    { type: "tombstone", partitionNum: 0, partitions: 1 },
    { type: "linear", partitionNum: 3 },
    { type: "numbered", partitionNum: 0, partitions: 2 },
    { type: "numbered", partitionNum: 0, partitions: 0 },
    { type: "numbered", partitionNum: 5, partitions: 2 }, // appended beyond the core set
    { type: "numbered", partitionNum: 2_147_483_647, partitions: 2_147_483_647 },
    { type: "hashed", partitionNum: 1, partitions: 2, bucketId: 1, numBuckets: 2, partitionDimensions: ["page"], partitionFunction: "murmur3_32_abs" },
    { type: "hashed", partitionNum: 1, partitions: 2, bucketId: null, numBuckets: null, partitionDimensions: null, partitionFunction: null },
    { type: "hashed", partitionNum: 1, partitions: 2 },
    { type: "single", dimension: "page", start: null, end: "m", partitionNum: 0, numCorePartitions: 2 },
    { type: "single", dimension: "page", start: "m", end: null, partitionNum: 1, numCorePartitions: -1 },
    { type: "range", dimensions: ["page", "user"], start: null, end: ["m", null], partitionNum: 0, numCorePartitions: 2 },
    { type: "numbered_overwrite", partitionId: 32_768, startRootPartitionId: 0, endRootPartitionId: 2, minorVersion: 1, atomicUpdateGroupSize: 1 },
    { type: "numbered_overwrite", partitionId: 65_535, startRootPartitionId: 0, endRootPartitionId: 32_767, minorVersion: 32_767, atomicUpdateGroupSize: -1 },
    { type: "dim_value_set", partitionNum: 0, partitions: 1, partitionDimensionValues: { page: ["a", "b"] } },
  ])("accepts %j", (spec) => {
    expect(shardSpecSchema.parse(spec)).toEqual(spec);
  });

  it("keeps unknown extra fields", () => {
    expect(shardSpecSchema.parse({ type: "numbered", partitionNum: 0, partitions: 1, note: "x" })).toEqual({ type: "numbered", partitionNum: 0, partitions: 1, note: "x" });
  });
});

describe("shard specs Druid's constructors would refuse are refused, naming the field", () => {
  it.each([
    [{ type: "numbered", partitionNum: -1, partitions: 1 }, "partitionNum"],
    [{ type: "numbered", partitionNum: 1e300, partitions: 1 }, "partitionNum"],
    [{ type: "numbered", partitionNum: 2_147_483_648, partitions: 1 }, "partitionNum"],
    [{ type: "numbered", partitionNum: "0", partitions: 1 }, "partitionNum"],
    [{ type: "numbered", partitionNum: 0.5, partitions: 1 }, "partitionNum"],
    [{ type: "numbered", partitionNum: null, partitions: 1 }, "partitionNum"],
    [{ type: "numbered", partitions: 1 }, "partitionNum"],
    [{ type: "numbered", partitionNum: 0, partitions: -1 }, "partitions"],
    [{ type: "numbered", partitionNum: 0 }, "partitions"],
    [{ type: "linear" }, "partitionNum"],
    [{ type: "linear", partitionNum: -2 }, "partitionNum"],
    [{ type: "hashed", partitionNum: 0, partitions: 1, bucketId: -1 }, "bucketId"],
    [{ type: "hashed", partitionNum: 0, partitions: 1, numBuckets: -1 }, "numBuckets"],
    [{ type: "hashed", partitionNum: 0, partitions: 1, partitionFunction: "md5" }, "partitionFunction"],
    [{ type: "hashed", partitionNum: 0, partitions: 1, partitionDimensions: "page" }, "partitionDimensions"],
    [{ type: "single", start: null, end: null, partitionNum: 0, numCorePartitions: 1 }, "dimension"],
    [{ type: "single", dimension: "d", start: null, end: null, partitionNum: -1, numCorePartitions: 1 }, "partitionNum"],
    [{ type: "single", dimension: "d", start: null, end: null, partitionNum: 0, numCorePartitions: -2 }, "numCorePartitions"],
    [{ type: "range", dimensions: [], start: null, end: null, partitionNum: 0, numCorePartitions: 1 }, "dimensions"],
    [{ type: "range", dimensions: ["d"], start: "a", end: null, partitionNum: 0, numCorePartitions: 1 }, "start"],
    [{ type: "numbered_overwrite", partitionId: 32_767, startRootPartitionId: 0, endRootPartitionId: 1, minorVersion: 1, atomicUpdateGroupSize: 1 }, "partitionId"],
    [{ type: "numbered_overwrite", partitionId: 65_536, startRootPartitionId: 0, endRootPartitionId: 1, minorVersion: 1, atomicUpdateGroupSize: 1 }, "partitionId"],
    [{ type: "numbered_overwrite", partitionId: 32_768, startRootPartitionId: 32_768, endRootPartitionId: 1, minorVersion: 1, atomicUpdateGroupSize: 1 }, "startRootPartitionId"],
    [{ type: "numbered_overwrite", partitionId: 32_768, startRootPartitionId: 0, endRootPartitionId: -1, minorVersion: 1, atomicUpdateGroupSize: 1 }, "endRootPartitionId"],
    [{ type: "numbered_overwrite", partitionId: 32_768, startRootPartitionId: 0, endRootPartitionId: 1, minorVersion: 0, atomicUpdateGroupSize: 1 }, "minorVersion"],
    [{ type: "numbered_overwrite", partitionId: 32_768, startRootPartitionId: 0, endRootPartitionId: 1, minorVersion: 1, atomicUpdateGroupSize: 0 }, "atomicUpdateGroupSize"],
    [{ type: "numbered_overwrite", partitionId: 32_768, startRootPartitionId: 0, endRootPartitionId: 1, minorVersion: 1, atomicUpdateGroupSize: 32_768 }, "atomicUpdateGroupSize"],
    [{ type: "tombstone", partitionNum: 3 }, "partitionNum"],
    [{ type: "dim_value_set", partitionNum: 0, partitions: -1 }, "partitions"],
  ])("refuses %j at %s", (spec, field) => {
    expect(refusal(spec).path).toBe(field);
  });

  it("refuses unknown types and the specs that exist only while building segments", () => {
    expect(refusal({ type: "Numbered", partitionNum: 0, partitions: 1 }).message).toContain("unknown shardSpec type [Numbered]");
    expect(refusal({ partitionNum: 0, partitions: 1 }).message).toContain("unknown shardSpec type");
    expect(refusal({ type: "building_numbered", partitionId: 0 }).message).toContain("cannot be published");
    expect(refusal({ type: "bucket_hash", bucketId: 0 }).message).toContain("cannot be published");
  });

  it("refuses a shardSpec that is not an object", () => {
    expect(shardSpecSchema.safeParse("numbered").success).toBe(false);
    expect(shardSpecSchema.safeParse([]).success).toBe(false);
  });
});

describe("partition numbers and core partitions of valid specs (Druid's getPartitionNum / getNumCorePartitions)", () => {
  it.each([
    [{ type: "none" }, 0, 0],
    [{ type: "tombstone", partitionNum: 0, partitions: 1 }, 0, 0],
    [{ type: "linear", partitionNum: 4 }, 4, 0],
    [{ type: "numbered", partitionNum: 3, partitions: 2 }, 3, 2],
    [{ type: "hashed", partitionNum: 1, partitions: 4 }, 1, 4],
    [{ type: "single", dimension: "d", start: null, end: null, partitionNum: 2, numCorePartitions: 3 }, 2, 3],
    [{ type: "single", dimension: "d", start: null, end: null, partitionNum: 2, numCorePartitions: -1 }, 2, 0],
    [{ type: "range", dimensions: ["d"], start: null, end: null, partitionNum: 1, numCorePartitions: 2 }, 1, 2],
    [{ type: "numbered_overwrite", partitionId: 32_770, startRootPartitionId: 0, endRootPartitionId: 2, minorVersion: 1, atomicUpdateGroupSize: 1 }, 32_770, 0],
    [null, 0, 0],
  ])("%j has partition %i and %i core partitions", (spec, p, core) => {
    expect(partitionNumOf(spec)).toBe(p);
    expect(corePartitionsOf(spec)).toBe(core);
  });

  it("gives an overwriting segment an id with its own partition (not the root segment's)", () => {
    const base = { dataSource: "ds", interval: "2020-01-01T00:00:00.000Z/2020-01-02T00:00:00.000Z", version: "v" };
    const overwrite = { type: "numbered_overwrite", partitionId: 32_768, startRootPartitionId: 0, endRootPartitionId: 1, minorVersion: 1, atomicUpdateGroupSize: 1 };
    expect(segmentIdOf({ ...base, shardSpec: overwrite })).toBe("ds_2020-01-01T00:00:00.000Z_2020-01-02T00:00:00.000Z_v_32768");
  });
});

describe("published DataSegments", () => {
  const good = {
    dataSource: "wiki",
    interval: "2020-01-01T00:00:00.000Z/2020-01-02T00:00:00.000Z",
    version: "2020-02-01T00:00:00.000Z",
    loadSpec: { type: "r2", key: "segments/wiki/0.parquet" },
    dimensions: "page,user",
    metrics: "count",
    shardSpec: { type: "numbered", partitionNum: 0, partitions: 1 },
    binaryVersion: 9,
    size: 10,
    totalRows: 5,
    lastCompactionState: { anything: true },
  };
  const issue = (segment: unknown) => {
    const r = dataSegmentSchema.safeParse(segment);
    expect(r.success).toBe(false);
    const i = r.error!.issues[0]!;
    return { path: i.path.join("."), message: i.message };
  };

  it("accepts the agent's segment as it is, extra fields included", () => {
    expect(dataSegmentSchema.parse(good)).toEqual(good);
  });

  it("accepts the nullable fields as absent or null, and a missing shardSpec as Druid's NumberedShardSpec(0, 1)", () => {
    const minimal = { dataSource: "wiki", interval: "2020-01-01/2020-01-02", version: "v" };
    expect(dataSegmentSchema.parse(minimal)).toEqual({ ...minimal, shardSpec: { type: "numbered", partitionNum: 0, partitions: 1 } });
    expect(dataSegmentSchema.parse({ ...minimal, shardSpec: null, loadSpec: null, dimensions: null, metrics: null, binaryVersion: null, totalRows: null }).shardSpec).toEqual({
      type: "numbered",
      partitionNum: 0,
      partitions: 1,
    });
  });

  it.each([
    [{ dataSource: "a/b" }, "dataSource", "cannot contain the '/' character"],
    [{ dataSource: "" }, "dataSource", "non-empty"],
    [{ dataSource: 5 }, "dataSource", "string"],
    [{ interval: "2020-01-01/2020-01-01" }, "interval", "the interval is empty"],
    [{ interval: "2020-01-02/2020-01-01" }, "interval", "end is before start"],
    [{ interval: "2020-01-01T00:00:00+25:00/2020-01-02" }, "interval", "offset"],
    [{ interval: "yesterday" }, "interval", ""],
    [{ version: "" }, "version", "non-empty"],
    [{ version: 3 }, "version", "string"],
    [{ size: -1 }, "size", ""],
    [{ size: 1.5 }, "size", ""],
    [{ size: "10" }, "size", ""],
    [{ binaryVersion: 9.5 }, "binaryVersion", ""],
    [{ totalRows: -1 }, "totalRows", ""],
    [{ dimensions: ["page", "user"] }, "dimensions", "comma-separated"],
    [{ metrics: 7 }, "metrics", "comma-separated"],
    [{ loadSpec: "s3://x" }, "loadSpec", "loadSpec"],
    [{ shardSpec: { type: "numbered", partitionNum: -1, partitions: 1 } }, "shardSpec.partitionNum", "partition number"],
    [{ shardSpec: { type: "numbered", partitionNum: 0, partitions: -1 } }, "shardSpec.partitions", "count"],
  ])("refuses %j at %s", (change, path, message) => {
    const got = issue({ ...good, ...change });
    expect(got.path).toBe(path);
    expect(got.message).toContain(message);
  });
});
