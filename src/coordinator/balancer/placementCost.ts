/**
 * The cost of placing a segment on a data node, as Druid's cost strategy computes it
 * (computePlacementCost): the node's projected segments (held, plus loading, minus dropping)
 * are kept as counts per interval, in total and per data source, so the cost is one interval
 * cost per distinct interval within the 45-day horizon — weighted by the segments there, those
 * of the same data source counted twice — however many segments share it. A node that already
 * projects the segment has its own joint cost with itself taken off, so staying and moving
 * compare fairly.
 */
import { COST_HORIZON_MS, intervalCost } from "./intervalCost.ts";

export interface CostedSegment {
  dataSource: string;
  start: number;
  end: number;
}

interface IntervalCount {
  start: number;
  end: number;
  total: number;
  byDataSource: Map<string, number>;
}

/** A node's projected segments as counts per interval (Druid's SegmentCountsPerInterval). */
export class IntervalCounts {
  private readonly byInterval = new Map<string, IntervalCount>();

  add(s: CostedSegment, n = 1): void {
    const key = `${s.start}/${s.end}`;
    let c = this.byInterval.get(key);
    if (!c) {
      c = { start: s.start, end: s.end, total: 0, byDataSource: new Map() };
      this.byInterval.set(key, c);
    }
    c.total += n;
    const ds = (c.byDataSource.get(s.dataSource) ?? 0) + n;
    if (ds === 0) c.byDataSource.delete(s.dataSource);
    else c.byDataSource.set(s.dataSource, ds);
    if (c.total === 0) this.byInterval.delete(key);
  }

  remove(s: CostedSegment): void {
    this.add(s, -1);
  }

  get intervals(): number {
    return this.byInterval.size;
  }

  /** Each interval overlapping [from, to) with its weight for `dataSource` (total + same data source). */
  *weightsNear(from: number, to: number, dataSource: string): Generator<[start: number, end: number, weight: number]> {
    for (const c of this.byInterval.values()) {
      if (c.start < to && c.end > from) yield [c.start, c.end, c.total + (c.byDataSource.get(dataSource) ?? 0)];
    }
  }
}

/** Druid's placement cost of `segment` on a node whose projected segments are `counts`. */
export function placementCost(segment: CostedSegment, counts: IntervalCounts, projectsSegment: boolean): number {
  const eternity = !Number.isFinite(segment.start) || !Number.isFinite(segment.end);
  const from = eternity ? -Infinity : segment.start - COST_HORIZON_MS;
  const to = eternity ? Infinity : segment.end + COST_HORIZON_MS;
  let cost = 0;
  for (const [start, end, weight] of counts.weightsNear(from, to, segment.dataSource)) cost += intervalCost(segment.start, segment.end, start, end) * weight;
  if (projectsSegment) cost -= intervalCost(segment.start, segment.end, segment.start, segment.end) * 2;
  return cost;
}
