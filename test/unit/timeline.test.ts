import { describe, expect, it } from "vitest";
import { SegmentTimeline, findOvershadowed, isCompletePartitionSet, visibleSegments } from "../../src/segments/timeline.ts";
import { segmentIdOf, type ShardSpec } from "../../src/segments/dataSegment.ts";

const D = (d: number, h = 0) => `2024-01-${String(d).padStart(2, "0")}T${String(h).padStart(2, "0")}:00:00.000Z`;
interface Seg { dataSource: string; interval: string; version: string; shardSpec: ShardSpec }
const seg = (interval: string, version: string, partitionNum = 0, partitions = 1, dataSource = "ds"): Seg => ({
  dataSource, interval, version, shardSpec: { type: "numbered", partitionNum, partitions },
});
const ids = (segs: Seg[]) => segs.map(segmentIdOf).sort();
const day = (d: number) => `${D(d)}/${D(d + 1)}`;
const ms = (iso: string) => Date.parse(iso);

describe("partition completeness", () => {
  it("needs every core partition of a numbered set", () => {
    expect(isCompletePartitionSet([{ type: "numbered", partitionNum: 0, partitions: 2 }])).toBe(false);
    expect(isCompletePartitionSet([{ type: "numbered", partitionNum: 0, partitions: 2 }, { type: "numbered", partitionNum: 1, partitions: 2 }])).toBe(true);
  });

  it("ignores appended partitions beyond the core set", () => {
    expect(isCompletePartitionSet([{ type: "numbered", partitionNum: 2, partitions: 2 }, { type: "numbered", partitionNum: 0, partitions: 2 }])).toBe(false);
    expect(
      isCompletePartitionSet([0, 1, 5].map((p) => ({ type: "numbered", partitionNum: p, partitions: 2 }))),
    ).toBe(true);
  });

  it("treats numbered with 0 partitions, linear and none as always complete", () => {
    expect(isCompletePartitionSet([{ type: "numbered", partitionNum: 3, partitions: 0 }])).toBe(true);
    expect(isCompletePartitionSet([{ type: "linear", partitionNum: 7 }])).toBe(true);
    expect(isCompletePartitionSet([{ type: "none" }])).toBe(true);
    expect(isCompletePartitionSet([])).toBe(false);
  });

  it("reads numCorePartitions of hashed and range specs", () => {
    expect(isCompletePartitionSet([{ type: "hashed", partitionNum: 0, numCorePartitions: 2, partitions: 2 }])).toBe(false);
    expect(isCompletePartitionSet([{ type: "range", partitionNum: 0, numCorePartitions: 1 }])).toBe(true);
  });
});

describe("overshadowing", () => {
  it("hides a lower version fully covered by a complete higher version of the same interval", () => {
    const old = [seg(day(1), "v1", 0, 2), seg(day(1), "v1", 1, 2)];
    const neu = [seg(day(1), "v2", 0, 1)];
    expect(ids(findOvershadowed([...old, ...neu]))).toEqual(ids(old));
    expect(ids(visibleSegments([...old, ...neu]))).toEqual(ids(neu));
  });

  it("hides a lower version when several higher chunks together cover it", () => {
    const old = seg(day(1), "v1");
    const halves = [seg(`${D(1, 0)}/${D(1, 12)}`, "v2"), seg(`${D(1, 12)}/${D(2, 0)}`, "v2")];
    expect(ids(findOvershadowed([old, ...halves]))).toEqual(ids([old]));
  });

  it("keeps a lower version that is only partly covered, visible for the uncovered part", () => {
    const old = seg(day(1), "v1");
    const morning = seg(`${D(1, 0)}/${D(1, 6)}`, "v2");
    const tl = new SegmentTimeline([old, morning]);
    expect(tl.overshadowed()).toEqual([]);
    expect(tl.lookup().map((h) => [h.version, new Date(h.interval.start).toISOString(), new Date(h.interval.end).toISOString()])).toEqual([
      ["v2", D(1, 0), D(1, 6)],
      ["v1", D(1, 6), D(2, 0)],
    ]);
  });

  it("does not let an incomplete higher version hide anything, and keeps it invisible", () => {
    const old = seg(day(1), "v1");
    const partial = seg(day(1), "v2", 0, 2); // partition 1 of 2 missing
    const tl = new SegmentTimeline([old, partial]);
    expect(tl.overshadowed()).toEqual([]);
    expect(ids(tl.visible())).toEqual(ids([old]));
  });

  it("marks an incomplete lower version overshadowed once a complete higher one covers it", () => {
    const partialOld = seg(day(1), "v1", 1, 2);
    const neu = seg(day(1), "v2");
    expect(ids(findOvershadowed([partialOld, neu]))).toEqual(ids([partialOld]));
  });

  it("never overshadows within the same version; appended partitions stay visible", () => {
    const segs = [seg(day(1), "v1", 0, 1), seg(day(1), "v1", 1, 1), seg(day(1), "v1", 2, 1)];
    expect(findOvershadowed(segs)).toEqual([]);
    expect(visibleSegments(segs)).toHaveLength(3);
  });

  it("lets a day of v2 overshadow hours of v1 but not a neighbouring day", () => {
    const hours = [0, 1, 2].map((h) => seg(`${D(1, h)}/${D(1, h + 1)}`, "v1"));
    const nextDay = seg(day(2), "v1");
    const fresh = seg(day(1), "v2");
    expect(ids(findOvershadowed([...hours, nextDay, fresh]))).toEqual(ids(hours));
  });

  it("keeps a higher version from shadowing a lower one that lies outside it, across a gap", () => {
    const old = seg(`${D(1)}/${D(4)}`, "v1");
    const covers = [seg(day(1), "v2"), seg(day(3), "v2")]; // day 2 uncovered
    const tl = new SegmentTimeline([old, ...covers]);
    expect(tl.overshadowed()).toEqual([]);
    expect(tl.lookup({ start: ms(D(2)), end: ms(D(3)) }).map((h) => h.version)).toEqual(["v1"]);
  });

  it("decides per dataSource", () => {
    const a = seg(day(1), "v1", 0, 1, "a");
    const b = seg(day(1), "v2", 0, 1, "b");
    expect(findOvershadowed([a, b])).toEqual([]);
  });

  it("compares versions as strings, like Druid", () => {
    const older = seg(day(1), "2024-01-01T00:00:00.000Z");
    const newer = seg(day(1), "2024-01-01T00:00:00.000Z_1");
    expect(ids(findOvershadowed([older, newer]))).toEqual(ids([older]));
  });

  it("clips lookups to the asked interval and returns segments in partition order", () => {
    const segs = [seg(day(1), "v1", 1, 2), seg(day(1), "v1", 0, 2), seg(day(2), "v1")];
    const holders = new SegmentTimeline(segs).lookup({ start: ms(D(1, 12)), end: ms(D(2, 6)) });
    expect(holders.map((h) => [new Date(h.interval.start).toISOString(), new Date(h.interval.end).toISOString()])).toEqual([
      [D(1, 12), D(2, 0)],
      [D(2, 0), D(2, 6)],
    ]);
    expect(holders[0]!.segments.map((s) => s.shardSpec.partitionNum)).toEqual([0, 1]);
    expect(holders[0]!.trueInterval).toEqual({ start: ms(D(1)), end: ms(D(2)) });
  });

  it("ignores a segment listed twice", () => {
    const s = seg(day(1), "v1", 0, 2);
    const tl = new SegmentTimeline([s, { ...s }]);
    expect(tl.chunks[0]!.segments).toHaveLength(1);
    expect(tl.chunks[0]!.complete).toBe(false);
  });
});
