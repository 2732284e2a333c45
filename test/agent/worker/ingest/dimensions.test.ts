import { describe, expect, it } from "vitest";
import { ingest, jsonl, withoutTime } from "./helpers.ts";

const T = "2024-01-01T00:00:00.000Z";

describe("dimension discovery (empty dimensions)", () => {
  it("takes every field in first-seen order, except the timestamp, metric inputs and exclusions", async () => {
    const r = await ingest(
      jsonl([
        { timestamp: T, b: "1", a: "2", added: 5 },
        { timestamp: T, c: "3", a: "4", skip: "s", d: "5" },
      ]),
      { dataSchema: { metricsSpec: [{ type: "longSum", name: "sum_added", fieldName: "added" }], dimensionsSpec: { dimensionExclusions: ["skip"] } } },
    );
    expect(r.segments[0]!.dimensions).toEqual(["b", "a", "c", "d"]);
    expect(r.segments[0]!.metrics).toEqual(["sum_added"]);
  });

  it("writes numbers and booleans of discovered fields as strings", async () => {
    const r = await ingest(jsonl([{ timestamp: T, n: 5, f: 1.5, yes: true }]));
    expect(withoutTime(r.rows)).toEqual([{ n: "5", f: "1.5", yes: "true" }]);
  });

  it("does not discover nested objects or lists of objects (Druid's default flattenSpec)", async () => {
    const r = await ingest(jsonl([{ timestamp: T, obj: { x: 1 }, objs: [{ y: 1 }], tags: ["b", "a"], plain: "p" }]));
    expect(r.segments[0]!.dimensions).toEqual(["tags", "plain"]);
    expect(withoutTime(r.rows)).toEqual([{ tags: ["a", "b"], plain: "p" }]);
  });

  it("adds discovered fields after explicit ones with includeAllDimensions", async () => {
    const r = await ingest(jsonl([{ timestamp: T, z: "1", y: "2" }]), { dataSchema: { dimensionsSpec: { dimensions: ["y"], includeAllDimensions: true } } });
    expect(r.segments[0]!.dimensions).toEqual(["y", "z"]);
  });

  it("keeps only the listed dimensions otherwise, even when a segment has no value for one", async () => {
    const r = await ingest(jsonl([{ timestamp: T, a: "1", b: "2" }]), { dataSchema: { dimensionsSpec: { dimensions: ["b", "missing"] } } });
    expect(r.segments[0]!.dimensions).toEqual(["b", "missing"]);
    expect(withoutTime(r.rows)).toEqual([{ b: "2", missing: null }]);
  });
});

describe("typed dimensions", () => {
  const spec = {
    dataSchema: {
      dimensionsSpec: { dimensions: [{ name: "l", type: "long" }, { name: "f", type: "float" }, { name: "d", type: "double" }, "s"] },
    },
    tuningConfig: { maxSavedParseExceptions: 10 },
  };

  it("converts numbers and numeric text, truncating longs and rounding floats to 32 bits", async () => {
    const r = await ingest(jsonl([{ timestamp: T, l: "12.7", f: 0.1, d: "2.5e3", s: 7 }, { timestamp: T, l: -3.9, f: "1", d: 0.1, s: "x" }]), spec);
    expect(withoutTime(r.rows)).toEqual([ // rows of equal time sort by dimension values
      { l: -3, f: 1, d: 0.1, s: "x" },
      { l: 12, f: Math.fround(0.1), d: 2500, s: "7" },
    ]);
    expect(r.segments[0]!.meta.dimensions.map((d) => d.type)).toEqual(["long", "float", "double", "string"]);
  });

  it("stores null for an unconvertible value and counts the row as processed with error", async () => {
    const r = await ingest(jsonl([{ timestamp: T, l: "abc", f: [1, 2], d: "", s: "ok" }]), spec);
    expect(withoutTime(r.rows)).toEqual([{ l: null, f: null, d: null, s: "ok" }]);
    expect(r.rowStats).toMatchObject({ processed: 0, processedWithError: 1 });
    expect(r.unparseableEvents[0]).toMatchObject({
      errorType: "processedWithError",
      details: ["could not convert value [abc] to long", "Could not ingest value [[1, 2]] as float. A float column cannot have multiple values in the same row."],
    });
  });
});

describe("multi-value string dimensions", () => {
  it("sorts values by default, de-duplicates with SORTED_SET, keeps order with ARRAY", async () => {
    const r = await ingest(jsonl([{ timestamp: T, a: ["b", "a", "b"], b: ["b", "a", "b"], c: ["b", "a", "b"] }]), {
      dataSchema: { dimensionsSpec: { dimensions: ["a", { name: "b", multiValueHandling: "SORTED_SET" }, { name: "c", multiValueHandling: "ARRAY" }] } },
    });
    expect(withoutTime(r.rows)).toEqual([{ a: ["a", "b", "b"], b: ["a", "b"], c: ["b", "a", "b"] }]);
  });

  it("stores an empty list as null and a one-element list as its value", async () => {
    const r = await ingest(jsonl([{ timestamp: T, a: [] }, { timestamp: "2024-01-01T00:00:01Z", a: ["x"] }]), { dataSchema: { dimensionsSpec: { dimensions: ["a"] } } });
    expect(withoutTime(r.rows)).toEqual([{ a: null }, { a: "x" }]);
    expect(r.segments[0]!.meta.dimensions[0]!.multiValue).toBe(false);
  });
});
