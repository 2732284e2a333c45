/**
 * The cost balancer's interval cost (coordinator/balancer/intervalCost.ts) against the integral
 * it stands for: closed forms for simple cases, a numerical double integral for random ones, and
 * the properties placements rely on (symmetry, halving per day apart, additivity over a split).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { intervalCost, jointSegmentCost, unitIntervalCost } from "../../src/coordinator/balancer/intervalCost.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** ∫0^x1 ∫y0^y1 e^(−|x−y|) dy dx by the midpoint rule on an n × n grid. */
function numeric(x1: number, y0: number, y1: number, n = 400): number {
  let sum = 0;
  const dx = x1 / n, dy = (y1 - y0) / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sum += Math.exp(-Math.abs((i + 0.5) * dx - (y0 + (j + 0.5) * dy)));
  return sum * dx * dy;
}

describe("the cost balancer's interval cost", () => {
  it("matches the closed forms: adjacent unit intervals e^-2 − 2e^-1 + 1, an interval with itself 2e^-1", () => {
    expect(unitIntervalCost(1, 1, 2)).toBeCloseTo(Math.exp(-2) - 2 * Math.exp(-1) + 1, 12);
    expect(unitIntervalCost(1, -1, 0)).toBeCloseTo(Math.exp(-2) - 2 * Math.exp(-1) + 1, 12);
    expect(unitIntervalCost(1, 0, 1)).toBeCloseTo(2 * Math.exp(-1), 12);
    expect(unitIntervalCost(0, 0, 5)).toBe(0);
    expect(unitIntervalCost(3, 2, 2)).toBe(0);
  });

  it("equals the double integral for disjoint, overlapping and nested intervals", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 4, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: 0.01, max: 4, noNaN: true }), (x1, y0, len) => {
        const exact = unitIntervalCost(x1, y0, y0 + len);
        expect(Math.abs(exact - numeric(x1, y0, y0 + len))).toBeLessThan(1e-4 * Math.max(1, exact));
      }),
      { numRuns: 60 },
    );
  });

  it("is symmetric, and halves for every day two hour-long intervals are moved apart", () => {
    const t = Date.UTC(2024, 0, 1);
    expect(intervalCost(t, t + DAY, t + 3 * HOUR, t + 2 * DAY)).toBeCloseTo(intervalCost(t + 3 * HOUR, t + 2 * DAY, t, t + DAY), 6);
    const near = intervalCost(t, t + HOUR, t + 10 * DAY, t + 10 * DAY + HOUR);
    const far = intervalCost(t, t + HOUR, t + 11 * DAY, t + 11 * DAY + HOUR);
    expect(far / near).toBeCloseTo(0.5, 6);
  });

  it("adds up over a split interval: cost(A, Y) + cost(B, Y) = cost(A∪B, Y)", () => {
    const t = Date.UTC(2024, 0, 1);
    const whole = intervalCost(t, t + 2 * DAY, t + 12 * HOUR, t + 3 * DAY);
    const parts = intervalCost(t, t + DAY, t + 12 * HOUR, t + 3 * DAY) + intervalCost(t + DAY, t + 2 * DAY, t + 12 * HOUR, t + 3 * DAY);
    expect(parts).toBeCloseTo(whole, 3);
  });

  it("doubles the joint cost of two segments of one data source", () => {
    const t = Date.UTC(2024, 0, 1);
    const a = { dataSource: "wiki", start: t, end: t + DAY };
    const b = { dataSource: "wiki", start: t + DAY, end: t + 2 * DAY };
    expect(jointSegmentCost(a, b)).toBeCloseTo(2 * jointSegmentCost(a, { ...b, dataSource: "other" }), 6);
  });
});
