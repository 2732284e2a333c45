/**
 * The segment view's snapshot (coordinator/segmentViewSnapshot.ts): bytes out, the same view
 * back — same segments, same overshadowing, same answers to lookups, and the same behaviour
 * under further changes as the view it was taken from.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SegmentView, type SegmentRow } from "../../src/coordinator/segmentView.ts";
import { SNAPSHOT_CHUNK_BYTES, SnapshotDecoder, SnapshotError, encodeSnapshot } from "../../src/coordinator/segmentViewSnapshot.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const AT = { watermark: { seq: 42, id: "x" }, deletedSeen: 7, takenAt: 1_000 };

function row(ds: number, day: number, version: number, partitionNum: number, used = true, corePartitions = 1): SegmentRow {
  return { dataSource: `ds${ds}`, start: T0 + day * DAY, end: T0 + (day + 1) * DAY, version: `v${version}`, partitionNum, corePartitions, size: 1000 + day, used };
}

function roundTrip(view: SegmentView): SegmentView {
  const { meta, chunks } = encodeSnapshot(view, AT);
  const decoder = new SnapshotDecoder(JSON.parse(JSON.stringify(meta)));
  for (const c of chunks()) decoder.push(c.slice()); // stored and read back: copies
  return decoder.finish();
}

function ids(v: SegmentView): string[] {
  return v.dataSources().flatMap((ds) => [...v.slotsOf(ds)].map((s) => v.idOf(s))).sort();
}

function overshadowedIds(v: SegmentView): string[] {
  return v.dataSources().flatMap((ds) => v.overshadowedIds(ds)).sort();
}

const op = fc.record({ ds: fc.nat(2), day: fc.nat(6), version: fc.nat(3), part: fc.nat(2), used: fc.boolean(), core: fc.integer({ min: 0, max: 3 }) });

describe("the segment view's snapshot", () => {
  it("gives back a view with the same segments and overshadowing, which then changes exactly as the original does", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.array(op, { maxLength: 40 }), (before, after) => {
        const original = new SegmentView();
        for (const o of before) original.upsert(row(o.ds, o.day, o.version, o.part, o.used, o.core));
        const restored = roundTrip(original);
        expect(restored.size).toBe(original.size);
        expect(ids(restored)).toEqual(ids(original));
        expect(overshadowedIds(restored)).toEqual(overshadowedIds(original));
        for (const o of after) {
          const r = row(o.ds, o.day, o.version, o.part, o.used, o.core);
          expect(restored.upsert(r) >= 0).toBe(original.upsert(r) >= 0);
        }
        expect(ids(restored)).toEqual(ids(original));
        expect(overshadowedIds(restored)).toEqual(overshadowedIds(original));
        expect(restored.dataSourceStats()).toEqual(original.dataSourceStats());
      }),
      { numRuns: 200 },
    );
  });

  it("spans many chunks for a large view and finds every segment by key afterwards", () => {
    const original = new SegmentView();
    for (let i = 0; i < 20_000; i++) original.upsert(row(i % 7, i, i % 5, 0));
    for (let i = 0; i < 20_000; i += 3) original.remove({ dataSource: `ds${i % 7}`, start: T0 + i * DAY, end: T0 + (i + 1) * DAY, version: `v${i % 5}`, partitionNum: 0 });
    const { meta } = encodeSnapshot(original, AT);
    expect(meta.chunks).toBeGreaterThan(3);
    expect(meta.totalBytes).toBeGreaterThan(3 * SNAPSHOT_CHUNK_BYTES);
    const restored = roundTrip(original);
    expect(restored.size).toBe(original.size);
    for (let i = 0; i < 20_000; i++) {
      const key = { dataSource: `ds${i % 7}`, start: T0 + i * DAY, end: T0 + (i + 1) * DAY, version: `v${i % 5}`, partitionNum: 0 };
      expect(restored.slotOf(key) >= 0).toBe(i % 3 !== 0);
    }
  });

  it("keeps where the sync stood (watermark, deletion floor, time) in its meta", () => {
    const v = new SegmentView();
    v.upsert(row(0, 0, 0, 0));
    const { meta } = encodeSnapshot(v, AT);
    expect(meta).toMatchObject({ watermark: AT.watermark, deletedSeen: 7, takenAt: 1_000, segments: 1 });
  });

  it("refuses a snapshot with a missing chunk, an extra byte or another format, rather than a wrong view", () => {
    const v = new SegmentView();
    for (let i = 0; i < 8_000; i++) v.upsert(row(i % 3, i, 0, 0));
    const { meta, chunks } = encodeSnapshot(v, AT);
    const all = [...chunks()];
    const missing = new SnapshotDecoder(meta);
    for (const c of all.slice(0, -1)) missing.push(c);
    expect(() => missing.finish()).toThrow(SnapshotError);
    const extra = new SnapshotDecoder(meta);
    for (const c of all) extra.push(c);
    expect(() => extra.push(new Uint8Array(1))).toThrow(SnapshotError);
    expect(() => new SnapshotDecoder({ ...meta, format: 2 as 1 })).toThrow(SnapshotError);
    expect(() => new SnapshotDecoder({ ...meta, totalBytes: meta.totalBytes + 1 })).toThrow(SnapshotError);
  });

  it("restores an empty view that then takes segments", () => {
    const restored = roundTrip(new SegmentView());
    expect(restored.size).toBe(0);
    restored.upsert(row(0, 0, 0, 0));
    restored.upsert(row(0, 0, 1, 0));
    expect(restored.size).toBe(2);
    expect(overshadowedIds(restored)).toHaveLength(1);
  });
});
