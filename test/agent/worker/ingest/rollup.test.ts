import { describe, expect, it } from "vitest";
import { ingest, iso, jsonl, withoutTime } from "./helpers.ts";

const metricsSpec = [
  { type: "count", name: "count" },
  { type: "longSum", name: "added_sum", fieldName: "added" },
  { type: "longMin", name: "added_min", fieldName: "added" },
  { type: "longMax", name: "added_max", fieldName: "added" },
  { type: "doubleSum", name: "price_sum", fieldName: "price" },
  { type: "doubleMin", name: "price_min", fieldName: "price" },
  { type: "doubleMax", name: "price_max", fieldName: "price" },
];

const events = [
  { timestamp: "2024-01-01T10:05:00Z", page: "A", user: "u1", added: 3, price: 1.5 },
  { timestamp: "2024-01-01T10:30:00Z", page: "A", user: "u1", added: 4, price: 2.25 },
  { timestamp: "2024-01-01T10:59:59Z", page: "A", user: "u2", added: 1, price: null },
  { timestamp: "2024-01-01T11:00:00Z", page: "A", user: "u1", added: 10, price: 0.5 },
  { timestamp: "2024-01-01T10:15:00Z", page: "A", user: "u1", added: "7", price: "1,000.5" },
  { timestamp: "2024-01-01T10:20:00Z", page: "B", added: null },
];

describe("rollup (Druid's results, computed by hand)", () => {
  it("merges rows with the same truncated time and dimensions and aggregates their metrics", async () => {
    const r = await ingest(jsonl(events), {
      dataSchema: { dimensionsSpec: { dimensions: ["page", "user"] }, metricsSpec, granularitySpec: { queryGranularity: "hour", rollup: true } },
    });
    expect(r.rows).toEqual([
      { __time: Date.parse("2024-01-01T10:00:00Z"), page: "A", user: "u1", count: 3, added_sum: 14, added_min: 3, added_max: 7, price_sum: 1004.25, price_min: 1.5, price_max: 1000.5 },
      { __time: Date.parse("2024-01-01T10:00:00Z"), page: "A", user: "u2", count: 1, added_sum: 1, added_min: 1, added_max: 1, price_sum: null, price_min: null, price_max: null },
      { __time: Date.parse("2024-01-01T10:00:00Z"), page: "B", user: null, count: 1, added_sum: null, added_min: null, added_max: null, price_sum: null, price_min: null, price_max: null },
      { __time: Date.parse("2024-01-01T11:00:00Z"), page: "A", user: "u1", count: 1, added_sum: 10, added_min: 10, added_max: 10, price_sum: 0.5, price_min: 0.5, price_max: 0.5 },
    ]);
    expect(r.rowStats).toMatchObject({ processed: 6, processedWithError: 0 });
    expect(r.segments[0]!.numRows).toBe(4);
  });

  it("keeps every row without rollup, with times still truncated to queryGranularity", async () => {
    const r = await ingest(jsonl(events), {
      dataSchema: { dimensionsSpec: { dimensions: ["page", "user"] }, metricsSpec: [{ type: "count", name: "count" }], granularitySpec: { queryGranularity: "hour", rollup: false } },
    });
    expect(r.rows.map((x) => [iso(x.__time), x.page, x.user, x.count])).toEqual([
      ["2024-01-01T10:00:00.000Z", "A", "u1", 1],
      ["2024-01-01T10:00:00.000Z", "A", "u1", 1],
      ["2024-01-01T10:00:00.000Z", "A", "u1", 1],
      ["2024-01-01T10:00:00.000Z", "A", "u2", 1],
      ["2024-01-01T10:00:00.000Z", "B", null, 1],
      ["2024-01-01T11:00:00.000Z", "A", "u1", 1],
    ]);
  });

  it("does not merge rows that differ only in a null versus an empty string", async () => {
    const r = await ingest(jsonl([{ timestamp: "2024-01-01", a: "" }, { timestamp: "2024-01-01", a: null }]), {
      dataSchema: { dimensionsSpec: { dimensions: ["a"] }, metricsSpec: [{ type: "count", name: "n" }], granularitySpec: { rollup: true } },
    });
    expect(withoutTime(r.rows)).toEqual([{ a: null, n: 1 }, { a: "", n: 1 }]);
  });

  it("rolls up rows read before a dimension was discovered with later rows that have it null", async () => {
    const r = await ingest(jsonl([{ timestamp: "2024-01-01", a: "x" }, { timestamp: "2024-01-01", a: "x", b: null }, { timestamp: "2024-01-01", a: "x", b: "y" }]), {
      dataSchema: { metricsSpec: [{ type: "count", name: "n" }], granularitySpec: { rollup: true } },
    });
    expect(withoutTime(r.rows)).toEqual([{ a: "x", b: null, n: 2 }, { a: "x", b: "y", n: 1 }]);
  });

  it("rolls up multi-value rows by their sorted value lists and typed dimensions by value", async () => {
    const r = await ingest(jsonl([
      { timestamp: "2024-01-01", tags: ["b", "a"], n: "1" },
      { timestamp: "2024-01-01", tags: ["a", "b"], n: 1.9 },
      { timestamp: "2024-01-01", tags: ["a"], n: 1 },
    ]), {
      dataSchema: { dimensionsSpec: { dimensions: ["tags", { name: "n", type: "long" }] }, metricsSpec: [{ type: "count", name: "count" }], granularitySpec: { rollup: true } },
    });
    expect(withoutTime(r.rows)).toEqual([{ tags: ["a"], n: 1, count: 1 }, { tags: ["a", "b"], n: 1, count: 2 }]);
  });
});

describe("aggregators", () => {
  const one = async (type: string, values: unknown[]) => {
    const r = await ingest(jsonl(values.map((v) => ({ timestamp: "2024-01-01", v }))), {
      dataSchema: { dimensionsSpec: { dimensions: [] }, metricsSpec: [{ type, name: "m", fieldName: "v" }], granularitySpec: { rollup: true } },
      tuningConfig: { maxSavedParseExceptions: 5 },
    });
    return { value: r.rows[0]!.m, stats: r.rowStats, events: r.unparseableEvents };
  };

  it.each([
    ["longSum", [1, 2.9, "3"], 6],
    ["longMin", [5, -2.5, 3], -2],
    ["longMax", [5, "9.99", 3], 9],
    ["doubleSum", [0.5, "0.25", 1], 1.75],
    ["doubleMin", [0.5, -0.25, 1], -0.25],
    ["doubleMax", [0.5, 1e10, 1], 1e10],
    ["floatSum", [0.1, 0.2], Math.fround(Math.fround(0.1) + Math.fround(0.2))],
    ["floatMin", [0.1, 0.2], Math.fround(0.1)],
    ["floatMax", [0.1, 0.2], Math.fround(0.2)],
  ])("%s over %j gives %d", async (type, values, expected) => {
    expect((await one(type, values)).value).toBe(expected);
  });

  it("skips nulls and missing fields, and stays null when every input is null", async () => {
    expect((await one("longSum", [null, 4, null])).value).toBe(4);
    expect((await one("doubleMax", [null, null])).value).toBeNull();
  });

  it("counts input rows, not distinct values", async () => {
    expect((await one("count", [1, 1, 1])).value).toBe(3);
  });

  it("treats an unparseable input as a column error: the row is kept, processed with error", async () => {
    const r = await one("longSum", [2, "lots"]);
    expect(r.value).toBe(2);
    expect(r.stats).toMatchObject({ processed: 1, processedWithError: 1 });
    expect(r.events[0]!.details).toEqual(["Unable to parse value[lots] for field[v]"]);
  });

  it("rejects unknown aggregator types clearly", async () => {
    await expect(ingest("", { dataSchema: { metricsSpec: [{ type: "hyperUnique", name: "u", fieldName: "x" }] } })).rejects.toThrow(/Aggregator type \[hyperUnique\] is not supported/);
  });
});
