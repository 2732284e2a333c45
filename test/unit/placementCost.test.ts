/**
 * The cost balancer's placement cost (coordinator/balancer/placementCost.ts) against its
 * definition: the sum of the segment's joint costs with every projected segment within the
 * 45-day horizon, less its joint cost with itself when the node already projects it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { COST_HORIZON_MS, jointSegmentCost } from "../../src/coordinator/balancer/intervalCost.ts";
import { IntervalCounts, placementCost, type CostedSegment } from "../../src/coordinator/balancer/placementCost.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const seg = (ds: number, day: number, days = 1): CostedSegment => ({ dataSource: `ds${ds}`, start: T0 + day * DAY, end: T0 + (day + days) * DAY });

/** The definition, one pair at a time. */
function bruteForce(s: CostedSegment, projected: CostedSegment[], projectsSegment: boolean): number {
  let cost = 0;
  for (const o of projected) if (o.start < s.end + COST_HORIZON_MS && o.end > s.start - COST_HORIZON_MS) cost += jointSegmentCost(s, o);
  if (projectsSegment) cost -= jointSegmentCost(s, s);
  return cost;
}

describe("the cost balancer's placement cost", () => {
  it("equals the sum of joint costs with every projected segment within 45 days, less the segment's own", () => {
    const s = fc.record({ ds: fc.nat(2), day: fc.integer({ min: 0, max: 120 }), days: fc.integer({ min: 1, max: 3 }) });
    fc.assert(
      fc.property(s, fc.array(s, { maxLength: 40 }), fc.boolean(), (x, others, includeSelf) => {
        const target = seg(x.ds, x.day, x.days);
        const projected = others.map((o) => seg(o.ds, o.day, o.days));
        if (includeSelf) projected.push(target);
        const counts = new IntervalCounts();
        for (const p of projected) counts.add(p);
        const expected = bruteForce(target, projected, includeSelf);
        expect(placementCost(target, counts, includeSelf)).toBeCloseTo(expected, 3);
      }),
      { numRuns: 150 },
    );
  });

  it("counts a segment of the same data source twice and ignores one beyond the horizon", () => {
    const counts = new IntervalCounts();
    counts.add(seg(0, 10));
    const same = placementCost(seg(0, 11), counts, false);
    const other = placementCost(seg(1, 11), counts, false);
    expect(same).toBeCloseTo(2 * other, 6);
    expect(placementCost(seg(0, 60), counts, false)).toBe(0);
  });

  it("prefers the emptier node, and one without the data source's neighbours", () => {
    const crowded = new IntervalCounts();
    const sparse = new IntervalCounts();
    for (let d = 0; d < 10; d++) crowded.add(seg(0, d));
    sparse.add(seg(1, 3));
    expect(placementCost(seg(0, 5), sparse, false)).toBeLessThan(placementCost(seg(0, 5), crowded, false));
  });

  it("forgets removed segments", () => {
    const counts = new IntervalCounts();
    counts.add(seg(0, 1));
    counts.add(seg(0, 1));
    counts.remove(seg(0, 1));
    counts.remove(seg(0, 1));
    expect(counts.intervals).toBe(0);
    expect(placementCost(seg(0, 1), counts, false)).toBe(0);
  });
});
