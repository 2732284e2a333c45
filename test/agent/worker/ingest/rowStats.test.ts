import { describe, expect, it } from "vitest";
import { IngestionError } from "../../../../agent/worker/ingest/index.ts";
import { ingest, jsonl } from "./helpers.ts";

const good = (i: number, extra: object = {}) => ({ timestamp: `2024-01-0${1 + (i % 3)}T00:00:00Z`, page: `p${i}`, ...extra });

describe("row stats: thrown away vs unparseable", () => {
  it("throws away rows outside granularitySpec.intervals, keeping whole segment buckets that overlap them", async () => {
    const r = await ingest(jsonl([
      { timestamp: "2024-01-01T23:59:59Z" }, // day bucket overlaps the interval
      { timestamp: "2024-01-02T05:00:00Z" },
      { timestamp: "2024-01-03T00:00:00Z" }, // outside
      { timestamp: "2023-12-31T12:00:00Z" }, // outside
    ]), { dataSchema: { granularitySpec: { segmentGranularity: "day", intervals: ["2024-01-01T12:00:00Z/2024-01-03T00:00:00Z"], rollup: false } } });
    expect(r.rowStats).toMatchObject({ processed: 2, thrownAway: 2, unparseable: 0 });
  });

  it("counts filtered rows as thrown away and bad rows as unparseable", async () => {
    const data = [jsonl([good(0, { keep: "y" }), good(1, { keep: "n" }), good(2, { keep: "y" })]), "{oops", JSON.stringify({ page: "no time" })].join("\n");
    const r = await ingest(data, { dataSchema: { transformSpec: { filter: { type: "selector", dimension: "keep", value: "y" } } } });
    expect(r.rowStats).toEqual({ processed: 2, processedBytes: Buffer.byteLength(data), processedWithError: 0, thrownAway: 1, unparseable: 2 });
  });

  it("keeps no parse exceptions by default (Druid's maxSavedParseExceptions 0)", async () => {
    const r = await ingest("{bad\n{worse");
    expect(r.rowStats.unparseable).toBe(2);
    expect(r.unparseableEvents).toEqual([]);
  });

  it("keeps only the last maxSavedParseExceptions events", async () => {
    const r = await ingest(["{a", "{b", "{c"].join("\n"), { tuningConfig: { maxSavedParseExceptions: 2 } });
    expect(r.unparseableEvents.map((e) => e.input)).toEqual(["{b", "{c"]);
  });
});

describe("maxParseExceptions", () => {
  it("fails once unparseable + processedWithError exceed the limit, with the stats so far", async () => {
    const data = jsonl([good(0), good(1, { n: "x" }), good(2)]) + "\n{bad\n" + jsonl([good(3)]);
    const err = await ingest(data, {
      dataSchema: { dimensionsSpec: { dimensions: ["page", { name: "n", type: "long" }] } },
      tuningConfig: { maxParseExceptions: 1, maxSavedParseExceptions: 5 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestionError);
    const e = err as IngestionError;
    expect(e.code).toBe("maxParseExceptions");
    expect(e.message).toMatch(/^Max parse exceptions\[1\] exceeded/);
    expect(e.rowStats).toMatchObject({ processed: 2, processedWithError: 1, unparseable: 1 });
    expect(e.unparseableEvents!.map((x) => x.errorType)).toEqual(["processedWithError", "unparseable"]);
  });

  it("tolerates exactly maxParseExceptions bad rows", async () => {
    const r = await ingest(`{bad\n${jsonl([good(0)])}`, { tuningConfig: { maxParseExceptions: 1 } });
    expect(r.rowStats).toMatchObject({ processed: 1, unparseable: 1 });
  });

  it("fails on the first bad row with reportParseExceptions", async () => {
    await expect(ingest(`{bad\n${jsonl([good(0)])}`, { tuningConfig: { reportParseExceptions: true } })).rejects.toThrow(/Max parse exceptions\[0\] exceeded/);
  });

  it("never fails by default (Integer.MAX_VALUE)", async () => {
    const r = await ingest(Array.from({ length: 500 }, () => "{bad").join("\n"));
    expect(r.rowStats.unparseable).toBe(500);
    expect(r.segments).toEqual([]);
  });
});

describe("transformSpec filters", () => {
  const rows = [
    { timestamp: "2024-01-01", c: "a", n: 1, tags: ["x", "y"] },
    { timestamp: "2024-01-01", c: "b", n: 2, tags: ["z"] },
    { timestamp: "2024-01-01", c: "c", n: 3 },
  ];
  const kept = async (filter: object) => {
    const r = await ingest(jsonl(rows), { dataSchema: { dimensionsSpec: { dimensions: ["c"] }, transformSpec: { filter: filter as { type: string } } } });
    return { cs: r.rows.map((x) => x.c), thrownAway: r.rowStats.thrownAway };
  };

  it("selector matches the string form of a value, null matches missing", async () => {
    expect(await kept({ type: "selector", dimension: "n", value: "2" })).toEqual({ cs: ["b"], thrownAway: 2 });
    expect((await kept({ type: "selector", dimension: "tags", value: null })).cs).toEqual(["c"]);
  });

  it("in, and, or, not", async () => {
    expect((await kept({ type: "in", dimension: "c", values: ["a", "c"] })).cs).toEqual(["a", "c"]);
    expect((await kept({ type: "and", fields: [{ type: "in", dimension: "c", values: ["a", "b"] }, { type: "selector", dimension: "n", value: "2" }] })).cs).toEqual(["b"]);
    expect((await kept({ type: "or", fields: [{ type: "selector", dimension: "c", value: "a" }, { type: "selector", dimension: "c", value: "c" }] })).cs).toEqual(["a", "c"]);
    expect((await kept({ type: "not", field: { type: "selector", dimension: "c", value: "a" } })).cs).toEqual(["b", "c"]);
  });

  it("matches a multi-value field when any value matches", async () => {
    expect((await kept({ type: "selector", dimension: "tags", value: "y" })).cs).toEqual(["a"]);
  });

  it("bound, like, regex and equals", async () => {
    expect((await kept({ type: "bound", dimension: "n", lower: "2", ordering: "numeric" })).cs).toEqual(["b", "c"]);
    expect((await kept({ type: "like", dimension: "c", pattern: "b%" })).cs).toEqual(["b"]);
    expect((await kept({ type: "regex", dimension: "c", pattern: "^[ac]$" })).cs).toEqual(["a", "c"]);
    expect((await kept({ type: "equals", column: "c", matchValueType: "STRING", matchValue: "c" })).cs).toEqual(["c"]);
  });

  it("rejects unsupported filter types", async () => {
    await expect(kept({ type: "javascript", dimension: "c", function: "x" })).rejects.toThrow(/Filter type \[javascript\] is not supported/);
  });
});
