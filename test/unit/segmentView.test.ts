import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SegmentView, rowOf, type SegmentRow } from "../../src/coordinator/segmentView.ts";
import { findOvershadowed } from "../../src/segments/timeline.ts";
import { segmentIdOf, type ShardSpec } from "../../src/segments/dataSegment.ts";
import { toIso } from "../../src/shared/intervals.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const row = (dataSource: string, day: number, version: string, partitionNum = 0, corePartitions = 1, days = 1, used = true): SegmentRow => ({
  dataSource, start: T0 + day * DAY, end: T0 + (day + days) * DAY, version, partitionNum, corePartitions, size: 1000 + partitionNum, used,
});

interface Seg { dataSource: string; interval: string; version: string; shardSpec: ShardSpec; size: number }

const shardSpecArb: fc.Arbitrary<ShardSpec> = fc.oneof(
  fc.record({ type: fc.constant("numbered"), partitionNum: fc.integer({ min: 0, max: 3 }), partitions: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ type: fc.constant("hashed"), partitionNum: fc.integer({ min: 0, max: 3 }), partitions: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ type: fc.constant("range"), dimensions: fc.constant(["d"]), partitionNum: fc.integer({ min: 0, max: 2 }), numCorePartitions: fc.integer({ min: -1, max: 2 }) }),
  fc.record({ type: fc.constant("linear"), partitionNum: fc.integer({ min: 0, max: 3 }) }),
  fc.constant({ type: "none" }),
);
/** Hours on a small range, so intervals overlap, nest, touch and repeat. */
const segArb: fc.Arbitrary<Seg> = fc
  .record({
    dataSource: fc.constantFrom("wiki", "a_b", "x"),
    start: fc.integer({ min: 0, max: 12 }),
    length: fc.constantFrom(1, 1, 2, 3, 4, 6, 12),
    version: fc.constantFrom("v1", "v2", "v3", "v2_1", "2024-01-01T00:00:00.000Z"),
    shardSpec: shardSpecArb,
  })
  .map(({ dataSource, start, length, version, shardSpec }) => ({
    dataSource, version, shardSpec, size: 10,
    interval: `${toIso(T0 + start * 3_600_000)}/${toIso(T0 + (start + length) * 3_600_000)}`,
  }));

/** Segments deduplicated by id, the last one winning (as upserts do). */
const dedupe = (segs: Seg[]): Seg[] => [...new Map(segs.map((s) => [segmentIdOf(s), s])).values()];
const viewOf = (segs: Seg[]) => {
  const v = new SegmentView();
  for (const s of segs) v.upsert(rowOf(s));
  return v;
};
const viewOvershadowed = (v: SegmentView) => v.dataSources().flatMap((ds) => v.overshadowedIds(ds)).sort();
const timelineOvershadowed = (segs: Seg[]) => findOvershadowed(dedupe(segs)).map(segmentIdOf).sort();

describe("SegmentView slots", () => {
  it("upserts, finds by id and tuple, and updates in place", () => {
    const v = new SegmentView();
    const a = v.upsert(row("wiki", 0, "v1"));
    const b = v.upsert(row("wiki", 0, "v1", 1, 2));
    expect(v.size).toBe(2);
    expect(a).not.toBe(b);
    expect(v.upsert({ ...row("wiki", 0, "v1"), size: 5 })).toBe(a);
    expect(v.size).toBe(2);
    expect(v.sizeOf(a)).toBe(5);
    expect(v.idOf(b)).toBe("wiki_2024-01-01T00:00:00.000Z_2024-01-02T00:00:00.000Z_v1_1");
    expect(v.slotOfId(v.idOf(b))).toBe(b);
    expect(v.slotOf({ dataSource: "wiki", start: T0, end: T0 + DAY, version: "v1", partitionNum: 0 })).toBe(a);
    expect(v.partitionOf(b)).toBe(1);
    expect(v.corePartitionsOf(b)).toBe(2);
    expect(v.intervalOf(b)).toEqual({ start: T0, end: T0 + DAY });
  });

  it("removes by id or tuple and reuses the freed slot", () => {
    const v = new SegmentView();
    const a = v.upsert(row("wiki", 0, "v1"));
    v.upsert(row("wiki", 1, "v1"));
    const id = v.idOf(a);
    expect(v.remove(id)).toBe(true);
    expect(v.remove(id)).toBe(false);
    expect(v.size).toBe(1);
    expect(v.isUsed(a)).toBe(false);
    const c = v.upsert(row("other", 5, "v9"));
    expect(c).toBe(a);
    expect(v.dataSourceOf(c)).toBe("other");
    expect(v.remove({ dataSource: "other", start: T0 + 5 * DAY, end: T0 + 6 * DAY, version: "v9", partitionNum: 0 })).toBe(true);
    expect(v.dataSources()).toEqual(["wiki"]);
  });

  it("treats an unused row as a removal", () => {
    const v = new SegmentView();
    v.upsert(row("wiki", 0, "v1"));
    expect(v.upsert(row("wiki", 0, "v1", 0, 1, 1, false))).toBe(-1);
    expect(v.size).toBe(0);
    expect(v.upsert(row("wiki", 3, "v1", 0, 1, 1, false))).toBe(-1); // absent: nothing happens
    expect(v.size).toBe(0);
  });

  it("resolves ids whose data source and version contain underscores", () => {
    const v = new SegmentView();
    const s = v.upsert(row("a_b", 0, "v_1", 3, 4));
    expect(v.slotOfId("a_b_2024-01-01T00:00:00.000Z_2024-01-02T00:00:00.000Z_v_1_3")).toBe(s);
    expect(v.slotOfId("a_b_2024-01-01T00:00:00.000Z_2024-01-02T00:00:00.000Z_v_1")).toBe(-1);
  });

  it("keeps every segment findable through growth and many removes", () => {
    const v = new SegmentView();
    const slots = new Map<number, number>();
    for (let i = 0; i < 5000; i++) slots.set(i, v.upsert(row(`ds${i % 7}`, i, `v${i % 13}`, i % 3, 3)));
    for (let i = 0; i < 5000; i += 2) expect(v.remove({ dataSource: `ds${i % 7}`, start: T0 + i * DAY, end: T0 + (i + 1) * DAY, version: `v${i % 13}`, partitionNum: i % 3 })).toBe(true);
    expect(v.size).toBe(2500);
    for (let i = 0; i < 5000; i++) {
      const found = v.slotOf({ dataSource: `ds${i % 7}`, start: T0 + i * DAY, end: T0 + (i + 1) * DAY, version: `v${i % 13}`, partitionNum: i % 3 });
      expect(found).toBe(i % 2 === 0 ? -1 : slots.get(i));
    }
    expect(v.bytesUsed()).toBeGreaterThan(0);
  });
});

describe("SegmentView overshadowing", () => {
  it("marks a chunk covered by a complete higher version, not by an incomplete one", () => {
    const v = new SegmentView();
    const old = v.upsert(row("wiki", 0, "v1"));
    const newer = v.upsert(row("wiki", 0, "v2", 0, 2)); // 1 of 2 core partitions
    expect(v.isOvershadowed(old)).toBe(false);
    const second = v.upsert(row("wiki", 0, "v2", 1, 2));
    expect(v.isOvershadowed(old)).toBe(true);
    expect([v.isOvershadowed(newer), v.isOvershadowed(second)]).toEqual([false, false]);
    v.removeSlot(second);
    expect(v.isOvershadowed(old)).toBe(false);
  });

  it("needs the union of higher versions to cover the whole interval", () => {
    const v = new SegmentView();
    const month = v.upsert(row("wiki", 0, "v1", 0, 1, 3));
    v.upsert(row("wiki", 0, "v2"));
    v.upsert(row("wiki", 1, "v2"));
    expect(v.isOvershadowed(month)).toBe(false);
    v.upsert(row("wiki", 2, "v3", 0, 0)); // no core set: complete
    expect(v.overshadowedIds("wiki")).toEqual([v.idOf(month)]);
    expect(v.overshadowedIds("other")).toEqual([]);
  });

  it("checks every step under a long chunk (many alternating higher versions)", () => {
    const v = new SegmentView();
    const long = v.upsert(row("wiki", 0, "v1", 0, 1, 40));
    const days = Array.from({ length: 40 }, (_, d) => v.upsert(row("wiki", d, d % 2 ? "v2" : "v3")));
    expect(v.isOvershadowed(long)).toBe(true);
    v.removeSlot(days[25]);
    expect(v.isOvershadowed(long)).toBe(false);
    v.upsert(row("wiki", 25, "v1_z")); // higher than v1 ("v1" < "v1_z")
    expect(v.isOvershadowed(long)).toBe(true);
  });

  it("never lets one data source overshadow another", () => {
    const v = new SegmentView();
    const a = v.upsert(row("a", 0, "v1"));
    v.upsert(row("b", 0, "v2"));
    expect(v.isOvershadowed(a)).toBe(false);
  });

  it("equals the timeline's answer on random segments", () => {
    let nonTrivial = 0;
    fc.assert(
      // unique by Druid's id, as the segments table's key makes them ("v2_1" partition 0 and "v2"
      // partition 1 spell the same id, so they can never both be stored)
      fc.property(fc.uniqueArray(segArb, { maxLength: 60, selector: (s) => segmentIdOf(s) }), (segs) => {
        const expected = timelineOvershadowed(segs);
        if (expected.length > 0) nonTrivial++;
        expect(viewOvershadowed(viewOf(segs))).toEqual(expected);
      }),
      { numRuns: 400 },
    );
    expect(nonTrivial).toBeGreaterThan(50); // the generator does produce overshadowing
  });

  it("gives the same answer incrementally as from scratch", () => {
    type Op = { kind: "upsert"; seg: Seg } | { kind: "unused"; seg: Seg } | { kind: "remove"; pick: number } | { kind: "query"; pick: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: segArb.map((seg) => ({ kind: "upsert" as const, seg })) },
      { weight: 1, arbitrary: segArb.map((seg) => ({ kind: "unused" as const, seg })) },
      { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: "remove" as const, pick })) },
      { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: "query" as const, pick })) },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const v = new SegmentView();
        const live = new Map<string, Seg>();
        for (const op of ops) {
          if (op.kind === "upsert") {
            const same = live.get(segmentIdOf(op.seg));
            // another tuple spelling the same id cannot be stored (the table's key): skip it
            if (same && (same.version !== op.seg.version || same.shardSpec.partitionNum !== op.seg.shardSpec.partitionNum)) continue;
            v.upsert(rowOf(op.seg));
            live.set(segmentIdOf(op.seg), op.seg);
          } else if (op.kind === "unused") {
            const same = live.get(segmentIdOf(op.seg));
            if (same && (same.version !== op.seg.version || same.shardSpec.partitionNum !== op.seg.shardSpec.partitionNum)) continue;
            v.upsert(rowOf(op.seg, false));
            live.delete(segmentIdOf(op.seg));
          } else if (live.size > 0) {
            const id = [...live.keys()][op.pick % live.size];
            if (op.kind === "remove") {
              expect(v.remove(id)).toBe(true);
              live.delete(id);
            } else {
              expect(v.isOvershadowed(v.slotOfId(id))).toBe(timelineOvershadowed([...live.values()]).includes(id));
            }
          }
          expect(v.size).toBe(live.size);
        }
        const incremental = viewOvershadowed(v);
        v.invalidateAll();
        expect(viewOvershadowed(v)).toEqual(incremental);
        expect(incremental).toEqual(viewOvershadowed(viewOf([...live.values()])));
        expect(incremental).toEqual(timelineOvershadowed([...live.values()]));
      }),
      { numRuns: 300 },
    );
  });
});
