/**
 * Druid's cost function for putting two segments on one data node (CostBalancerStrategy): two
 * segments whose intervals are close in time are likely to be queried together, so placing them
 * together costs more. For intervals X and Y the cost is
 *
 *   cost(X, Y) = ∫x∈X ∫y∈Y e^(−λ·|x − y|) dy dx,   λ = ln 2 / 24 h
 *
 * (it halves with every day of separation), doubled for two segments of one data source. The
 * closed forms below are the ones Druid evaluates, so placements rank as Druid's do. Beyond 45
 * days on either side the cost is negligible and Druid does not count it (`COST_HORIZON_MS`).
 */

const HALF_LIFE_HOURS = 24;
const LAMBDA = Math.LN2 / HALF_LIFE_HOURS;
const INV_LAMBDA_SQUARE = 1 / (LAMBDA * LAMBDA);
/** Milliseconds per unit of the λ = 1 form. */
const MILLIS_FACTOR = 3_600_000 / LAMBDA;

/** Segments farther apart than this (either side) are not counted in a placement cost. */
export const COST_HORIZON_MS = 45 * 86_400_000;

/**
 * cost(X, Y) for X = [0, x1) and Y = [y0, y1) with λ = 1 (x1 ≥ 0, y1 ≥ y0): the unit form
 * other λ reduce to by scaling the inputs by λ and the result by 1/λ².
 */
export function unitIntervalCost(x1: number, y0: number, y1: number): number {
  if (x1 === 0 || y1 === y0) return 0;
  // symmetric: make X the one that starts first
  if (y0 < 0) {
    const x = x1;
    x1 = y1 - y0;
    y1 = x - y0;
    y0 = -y0;
  }
  if (y0 < x1) {
    // overlapping: X = A|B|C or A|B with Y = B|C; cost = cost(A, Y) + cost(B, C) + cost(B, B)
    let beta: number; // |B|
    let gamma: number; // |B| + |C|
    if (y1 <= x1) {
      beta = y1 - y0;
      gamma = x1 - y0;
    } else {
      beta = x1 - y0;
      gamma = y1 - y0;
    }
    return unitIntervalCost(y0, y0, y1) + unitIntervalCost(beta, beta, gamma) + 2 * (beta + Math.exp(-beta) - 1);
  }
  // disjoint, x ≤ y throughout: the exponents are kept small (x1 − y, not x1) against overflow
  return Math.exp(-y1) - Math.exp(-y0) - (Math.exp(x1 - y1) - Math.exp(x1 - y0));
}

/** cost(A, B) of two intervals in epoch milliseconds (Druid's intervalCost(Interval, Interval)). */
export function intervalCost(aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const t1 = (aEnd - aStart) / MILLIS_FACTOR;
  const start = (bStart - aStart) / MILLIS_FACTOR;
  const end = (bEnd - aStart) / MILLIS_FACTOR;
  return INV_LAMBDA_SQUARE * unitIntervalCost(t1, start, end);
}

/** The joint cost of two segments: their interval cost, twice for one data source. */
export function jointSegmentCost(a: { start: number; end: number; dataSource: string }, b: { start: number; end: number; dataSource: string }): number {
  return intervalCost(a.start, a.end, b.start, b.end) * (a.dataSource === b.dataSource ? 2 : 1);
}
