import { readFileSync } from "node:fs";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { describe, expect, it } from "vitest";
import { readSegmentMeta, readSegmentParquet, writeSegmentParquet, type SegmentFileMeta } from "../../../../agent/worker/ingest/parquet.ts";
import { ingest, jsonl } from "./helpers.ts";

const meta: SegmentFileMeta = {
  format: "druid-edge-segment",
  formatVersion: 1,
  dataSource: "ds",
  interval: "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z",
  queryGranularity: "none",
  rollup: true,
  numRows: 3,
  minTime: Date.UTC(2024, 0, 1),
  maxTime: Date.UTC(2024, 0, 1, 2),
  dimensions: [
    { name: "s", type: "string", multiValue: false },
    { name: "tags", type: "string", multiValue: true },
    { name: "l", type: "long", multiValue: false },
    { name: "d", type: "double", multiValue: false },
  ],
  metrics: [
    { name: "count", kind: "long", aggregator: { type: "count", name: "count" } },
    { name: "sum", kind: "double", aggregator: { type: "doubleSum", name: "sum", fieldName: "x" } },
  ],
};
const time = [Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 1), Date.UTC(2024, 0, 1, 2)];
const columns = {
  meta,
  time,
  dimensions: [
    ["héllo ☃", null, ""],
    [["a", "b"], "solo", null],
    [2 ** 53 - 1, null, -7],
    [0.1, -1e300, null],
  ],
  metrics: [[1, 2, 3], [1.5, null, -0.25]],
};

describe("segment files (Parquet)", () => {
  it("round-trips rows: strings, multi-values, longs, doubles and nulls", async () => {
    const bytes = await writeSegmentParquet(columns);
    const { meta: back, rows } = await readSegmentParquet(bytes);
    expect(back).toEqual(meta);
    expect(rows).toEqual([
      { __time: time[0], s: "héllo ☃", tags: ["a", "b"], l: 2 ** 53 - 1, d: 0.1, count: 1, sum: 1.5 },
      { __time: time[1], s: null, tags: ["solo"], l: null, d: -1e300, count: 2, sum: null },
      { __time: time[2], s: "", tags: null, l: -7, d: null, count: 3, sum: -0.25 },
    ]);
  });

  it("uses standard Parquet types a generic reader understands", async () => {
    const bytes = await writeSegmentParquet(columns);
    const md = parquetMetadata(bytes.buffer as ArrayBuffer);
    const byName = Object.fromEntries(parquetSchema(md).children.map((c) => [c.element.name, c.element]));
    expect(byName.__time).toMatchObject({ type: "INT64", converted_type: "TIMESTAMP_MILLIS", repetition_type: "REQUIRED" });
    expect(byName.s).toMatchObject({ type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" });
    expect(byName.tags).toMatchObject({ converted_type: "LIST" });
    expect(byName.l).toMatchObject({ type: "INT64" });
    expect(byName.d).toMatchObject({ type: "DOUBLE" });
    expect(md.num_rows).toBe(3n);
    // SNAPPY, which every Parquet reader decodes without a decompressor passed in
    const chunks = md.row_groups[0]!.columns.map((c) => c.meta_data!);
    expect(new Set(chunks.map((c) => c.codec))).toEqual(new Set(["SNAPPY"]));
    expect(chunks.find((c) => c.path_in_schema[0] === "s")!.encodings.some((e) => e.endsWith("DICTIONARY"))).toBe(true);
    const rows = await parquetReadObjects({ file: bytes.buffer as ArrayBuffer, columns: ["__time", "s"] });
    expect(rows[0]).toEqual({ __time: new Date(time[0]!), s: "héllo ☃" });
  });

  it("writes a segment one row group at a time (dictionary columns sliced per group) and reads it back whole", async () => {
    const bytes = await writeSegmentParquet(columns, 2);
    const md = parquetMetadata(bytes.buffer as ArrayBuffer);
    expect(md.row_groups.map((g) => Number(g.num_rows))).toEqual([2, 1]);
    const { rows } = await readSegmentParquet(bytes);
    expect(rows).toEqual((await readSegmentParquet(await writeSegmentParquet(columns))).rows);
    // dictionary-encoded input (as the index hands it over), sliced across groups
    const dictCols = {
      ...columns,
      dimensions: [{ dictionary: ["héllo ☃", ""], ids: Int32Array.of(0, -1, 1) }, { dictionary: [["a", "b"], "solo"], ids: Int32Array.of(0, 1, -1) }, ...columns.dimensions.slice(2)],
    };
    expect((await readSegmentParquet(await writeSegmentParquet(dictCols, 1))).rows).toEqual(rows);
  });

  it("still reads a segment written by the earlier writer (hyparquet-writer, GZIP pages), so older segments can be compacted", async () => {
    // written by agent/ingest/parquet.ts at 3b64b8e from this file's `columns`
    const bytes = new Uint8Array(readFileSync(new URL("../fixtures/segment-hyparquet-writer-gzip.parquet", import.meta.url)));
    const md = parquetMetadata(bytes.buffer as ArrayBuffer);
    expect(md.row_groups[0]!.columns.some((c) => c.meta_data!.codec === "GZIP")).toBe(true);
    expect(await readSegmentParquet(bytes)).toEqual(await readSegmentParquet(await writeSegmentParquet(columns)));
  });

  it("writes dimensions that are null in every row (an explicit dimension the input never has)", async () => {
    const m: SegmentFileMeta = {
      ...meta,
      dimensions: [{ name: "s", type: "string", multiValue: false }, { name: "tags", type: "string", multiValue: true }, { name: "l", type: "long", multiValue: false }],
      metrics: [],
    };
    const none = () => ({ dictionary: [], ids: Int32Array.of(-1, -1, -1) });
    const { rows } = await readSegmentParquet(await writeSegmentParquet({ meta: m, time, dimensions: [none(), none(), [null, null, null]], metrics: [] }));
    expect(rows).toEqual(time.map((t) => ({ __time: t, s: null, tags: null, l: null })));
  });

  it("stores long values exactly across the whole safe-integer range, negatives included", async () => {
    const longs = [-(2 ** 53 - 1), -1, 2 ** 32, -(2 ** 32) + 1, 2 ** 31, 0];
    const m: SegmentFileMeta = { ...meta, numRows: longs.length, dimensions: [{ name: "l", type: "long", multiValue: false }], metrics: [] };
    const t = longs.map(() => Date.UTC(2024, 0, 1));
    const { rows } = await readSegmentParquet(await writeSegmentParquet({ meta: m, time: t, dimensions: [longs], metrics: [] }));
    expect(rows.map((r) => r.l)).toEqual(longs);
  });

  it("carries the Druid schema in the druid.segment key-value metadata", async () => {
    expect(readSegmentMeta(await writeSegmentParquet(columns)).metrics[1]!.aggregator).toEqual({ type: "doubleSum", name: "sum", fieldName: "x" });
  });

  it("writes an empty segment file", async () => {
    const bytes = await writeSegmentParquet({ meta: { ...meta, numRows: 0 }, time: [], dimensions: meta.dimensions.map(() => []), metrics: meta.metrics.map(() => []) });
    expect((await readSegmentParquet(bytes)).rows).toEqual([]);
  });

  it("ingests many generated rows and reads back exactly what went in, sorted by time", async () => {
    const n = 5000;
    const input = Array.from({ length: n }, (_, i) => ({
      timestamp: Date.UTC(2024, 0, 1) + ((i * 7919) % n) * 1000,
      country: ["fr", "de", "jp", null][i % 4],
      page: `page-${i}`,
      added: i % 13,
      ratio: i / 7,
    }));
    const r = await ingest(jsonl(input), {
      dataSchema: {
        timestampSpec: { column: "timestamp", format: "millis" },
        dimensionsSpec: { dimensions: ["country", "page", { name: "added", type: "long" }, { name: "ratio", type: "double" }] },
        granularitySpec: { segmentGranularity: "day", rollup: false },
      },
    });
    const expected = [...input].sort((a, b) => a.timestamp - b.timestamp).map((x) => ({ __time: x.timestamp, country: x.country, page: x.page, added: x.added, ratio: x.ratio }));
    expect(r.rows).toEqual(expected);
    expect(r.segments[0]!.size).toBe(r.segments[0]!.bytes!.length);
  });
});
