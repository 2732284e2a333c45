import { describe, expect, it } from "vitest";
import { ingest, iso, jsonl } from "./helpers.ts";

const at = (d: string) => Date.parse(d);
const events = (times: string[]) => jsonl(times.map((t, i) => ({ timestamp: t, i: String(i).padStart(3, "0") })));

describe("partitioning into segments", () => {
  it("groups rows by segmentGranularity bucket, in time order", async () => {
    const r = await ingest(events(["2024-01-02T05:00:00Z", "2024-01-01T23:00:00Z", "2024-01-02T00:00:00Z", "2024-01-01T01:00:00Z"]));
    expect(r.segments.map((s) => [iso(s.interval.start), iso(s.interval.end), s.numRows, s.partitionNum, s.numPartitions])).toEqual([
      ["2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", 2, 0, 1],
      ["2024-01-02T00:00:00.000Z", "2024-01-03T00:00:00.000Z", 2, 0, 1],
    ]);
    expect(r.segments[0]!.rows.map((x) => iso(x.__time))).toEqual(["2024-01-01T01:00:00.000Z", "2024-01-01T23:00:00.000Z"]);
  });

  it("supports hour, month and year segments and ISO-week buckets", async () => {
    const times = ["2024-01-01T00:10:00Z", "2024-01-01T01:10:00Z", "2024-02-03T00:00:00Z"];
    const by = async (g: string) => (await ingest(events(times), { dataSchema: { granularitySpec: { segmentGranularity: g, rollup: false } } })).segments.map((s) => iso(s.interval.start));
    expect(await by("hour")).toEqual(["2024-01-01T00:00:00.000Z", "2024-01-01T01:00:00.000Z", "2024-02-03T00:00:00.000Z"]);
    expect(await by("month")).toEqual(["2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z"]);
    expect(await by("year")).toEqual(["2024-01-01T00:00:00.000Z"]);
    expect(await by("week")).toEqual(["2024-01-01T00:00:00.000Z", "2024-01-29T00:00:00.000Z"]);
  });

  it("splits a bucket into partitions of at most maxRowsPerSegment rows, sorted across partitions", async () => {
    const times = Array.from({ length: 7 }, (_, i) => `2024-01-01T0${6 - i}:00:00Z`);
    const r = await ingest(events(times), { tuningConfig: { partitionsSpec: { type: "dynamic", maxRowsPerSegment: 3 } } });
    expect(r.segments.map((s) => [s.partitionNum, s.numPartitions, s.numRows])).toEqual([[0, 3, 3], [1, 3, 3], [2, 3, 1]]);
    const all = r.segments.flatMap((s) => s.rows.map((x) => x.__time));
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(r.segments[1]!.meta.minTime).toBe(at("2024-01-01T03:00:00Z"));
  });

  it("also reads the legacy tuningConfig.maxRowsPerSegment", async () => {
    const r = await ingest(events(["2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z"]), { tuningConfig: { maxRowsPerSegment: 1 } });
    expect(r.segments.map((s) => s.numRows)).toEqual([1, 1]);
  });

  it("counts maxRowsPerSegment after rollup", async () => {
    const r = await ingest(events(["2024-01-01T00:00:00Z", "2024-01-01T00:00:30Z", "2024-01-01T00:01:00Z"]).replaceAll(/"i":"\d+"/g, '"i":"same"'), {
      dataSchema: { granularitySpec: { queryGranularity: "minute", rollup: true }, metricsSpec: [{ type: "count", name: "n" }] },
      tuningConfig: { partitionsSpec: { type: "dynamic", maxRowsPerSegment: 2 } },
    });
    expect(r.segments.map((s) => s.numRows)).toEqual([2]);
  });

  it("orders rows of equal time by dimension values, nulls first", async () => {
    const r = await ingest(jsonl([
      { timestamp: "2024-01-01", a: "b", n: 2 }, { timestamp: "2024-01-01", a: "a", n: 9 }, { timestamp: "2024-01-01", n: 1 }, { timestamp: "2024-01-01", a: "a", n: -1 },
    ]), { dataSchema: { dimensionsSpec: { dimensions: ["a", { name: "n", type: "long" }] } } });
    expect(r.rows.map((x) => [x.a, x.n])).toEqual([[null, 1], ["a", -1], ["a", 9], ["b", 2]]);
  });

  it("orders long runs of equal time the same way (dictionary ranks)", async () => {
    const names = Array.from({ length: 200 }, (_, i) => `v${(i * 37) % 200}`);
    const r = await ingest(jsonl(names.map((a) => ({ timestamp: "2024-01-01", a }))), { dataSchema: { dimensionsSpec: { dimensions: ["a"] } } });
    expect(r.rows.map((x) => x.a)).toEqual([...names].sort());
  });

  it("puts everything in one eternity segment with segmentGranularity all", async () => {
    const r = await ingest(events(["1999-01-01T00:00:00Z", "2024-01-01T00:00:00Z"]), { dataSchema: { granularitySpec: { segmentGranularity: "all", rollup: false } } });
    expect(r.segments).toHaveLength(1);
    expect(r.segments[0]!.meta.interval).toBe("-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z");
    expect(r.segments[0]!.numRows).toBe(2);
  });

  it("rejects a queryGranularity coarser than the segmentGranularity, and non-dynamic partitions", async () => {
    await expect(ingest("", { dataSchema: { granularitySpec: { segmentGranularity: "none" } } })).rejects.toThrow(/cannot be \[none\]/);
    await expect(ingest("", { dataSchema: { granularitySpec: { segmentGranularity: "hour", queryGranularity: "day" } } })).rejects.toThrow(/must not be coarser/);
    await expect(ingest("", { tuningConfig: { partitionsSpec: { type: "hashed" } } })).rejects.toThrow(/partitionsSpec type \[hashed\] is not supported/);
  });
});
