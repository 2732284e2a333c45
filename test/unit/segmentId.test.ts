import { describe, expect, it } from "vitest";
import { allPossibleSegmentIdParsings, formatSegmentId, parseSegmentId, possibleSegmentIdParsings } from "../../src/segments/segmentId.ts";
import { segmentIdOf } from "../../src/segments/dataSegment.ts";

const day = { start: Date.UTC(2015, 8, 12), end: Date.UTC(2015, 8, 13) };
const V = "2023-08-10T04:12:03.860Z";

describe("SegmentId (Druid's text form)", () => {
  it("formats ds_start_end_version and leaves out partition 0", () => {
    expect(formatSegmentId({ dataSource: "wiki", interval: day, version: V, partitionNum: 0 })).toBe(
      "wiki_2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z_2023-08-10T04:12:03.860Z",
    );
  });

  it("appends _partition when the partition is not 0", () => {
    expect(formatSegmentId({ dataSource: "wiki", interval: day, version: V, partitionNum: 3 })).toBe(
      "wiki_2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z_2023-08-10T04:12:03.860Z_3",
    );
  });

  it("round-trips ids whose dataSource and version contain underscores", () => {
    for (const parts of [
      { dataSource: "my_wiki_edits", interval: day, version: V, partitionNum: 0 },
      { dataSource: "my_wiki_edits", interval: day, version: V, partitionNum: 17 },
      { dataSource: "_x_", interval: day, version: "v_1_b", partitionNum: 2 },
    ]) {
      expect(parseSegmentId(formatSegmentId(parts), parts.dataSource)).toEqual(parts);
    }
  });

  it("offers both readings of a trailing _n: partition first, then part of the version", () => {
    const id = "ds_2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z_v_5";
    expect(possibleSegmentIdParsings(id, "ds").map((p) => [p.version, p.partitionNum])).toEqual([["v", 5], ["v_5", 0]]);
  });

  it("treats a trailing _0 as part of the version (partition 0 never has a suffix)", () => {
    const id = "ds_2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z_v_0";
    expect(possibleSegmentIdParsings(id, "ds").map((p) => [p.version, p.partitionNum])).toEqual([["v_0", 0]]);
  });

  it("rejects ids of another dataSource, bad instants and reversed intervals", () => {
    const id = formatSegmentId({ dataSource: "wiki", interval: day, version: V, partitionNum: 0 });
    expect(parseSegmentId(id, "wik")).toBeNull();
    expect(parseSegmentId(id, "other")).toBeNull();
    expect(parseSegmentId("wiki_notadate_2015-09-13T00:00:00.000Z_v", "wiki")).toBeNull();
    expect(parseSegmentId("wiki_2015-09-13T00:00:00.000Z_2015-09-12T00:00:00.000Z_v", "wiki")).toBeNull();
    expect(parseSegmentId("wiki_2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z", "wiki")).toBeNull();
  });

  it("finds the dataSource of an id by trying each underscore, most probable reading first", () => {
    const id = formatSegmentId({ dataSource: "a_b_c", interval: day, version: V, partitionNum: 4 });
    const all = allPossibleSegmentIdParsings(id);
    expect(all[0]).toEqual({ dataSource: "a_b_c", interval: day, version: V, partitionNum: 4 });
    expect(all[1]).toEqual({ dataSource: "a_b_c", interval: day, version: `${V}_4`, partitionNum: 0 });
    // a version that is itself an instant allows a longer dataSource too, as in Druid
    expect(all.slice(2).map((p) => p.dataSource)).toEqual(["a_b_c_2015-09-12T00:00:00.000Z"]);
  });

  it("computes the id of a DataSegment from its JSON", () => {
    expect(
      segmentIdOf({ dataSource: "wiki", interval: "2015-09-12T00:00:00.000Z/2015-09-13T00:00:00.000Z", version: V, shardSpec: { type: "numbered", partitionNum: 2, partitions: 3 } }),
    ).toBe(`wiki_2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z_${V}_2`);
  });
});
