/**
 * The view's columns on segment rows (migrations/0007): the migration's backfill of existing rows
 * derives size and core partitions exactly as new rows get them (corePartitionsOf), for every
 * shard spec type.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SegmentStore } from "../../src/metadata/segmentStore.ts";
import { corePartitionsOf, segmentIdOf, type DataSegment } from "../../src/segments/dataSegment.ts";
import { rows } from "./helpers.ts";

const specs: Array<Record<string, unknown> | null> = [
  null,
  { type: "none" },
  { type: "linear", partitionNum: 2 },
  { type: "tombstone", partitionNum: 0 },
  { type: "numbered", partitionNum: 0, partitions: 3 },
  { type: "numbered", partitionNum: 4, partitions: 0 },
  { type: "numbered_overwrite", partitionId: 32768, startRootPartitionId: 0, endRootPartitionId: 1, minorVersion: 1, atomicUpdateGroupSize: 1 },
  { type: "hashed", partitionNum: 1, partitions: 4, numCorePartitions: 4 },
  { type: "single", partitionNum: 0, numCorePartitions: 2, dimension: "d", start: null, end: "m" },
  { type: "range", partitionNum: 1, numCorePartitions: 5, dimensions: ["d"], start: null, end: null },
  { type: "single", partitionNum: 0, dimension: "d", start: null, end: null },
];

describe("the segment view's columns", () => {
  it("are backfilled by the migration as new rows get them, for every shard spec type", async () => {
    const segments = specs.map(
      (shardSpec, i) =>
        ({ dataSource: "cols", interval: `2024-01-${String(i + 1).padStart(2, "0")}/2024-01-${String(i + 2).padStart(2, "0")}`, version: "v1", loadSpec: {}, shardSpec, size: 1000 + i, binaryVersion: 9 }) as unknown as DataSegment,
    );
    await env.DB.batch(new SegmentStore(env.DB).insertStatements(segments, null, Date.now()));
    const expected = segments.map((s) => ({ id: segmentIdOf(s), size: s.size, core_partitions: corePartitionsOf(s.shardSpec) }));
    const read = () => rows("SELECT id, size, core_partitions FROM segments WHERE datasource = 'cols' ORDER BY start_ms");
    expect(await read()).toEqual(expected);
    // as rows written before the migration: the columns at their defaults, then the backfill
    await env.DB.prepare("UPDATE segments SET size = 0, core_partitions = 0 WHERE datasource = 'cols'").run();
    const migration = (env.TEST_MIGRATIONS as Array<{ name: string; queries: string[] }>).find((m) => m.name.startsWith("0007"))!;
    for (const q of migration.queries.filter((x) => x.trim().toUpperCase().startsWith("UPDATE"))) await env.DB.prepare(q).run();
    expect(await read()).toEqual(expected);
  });
});
