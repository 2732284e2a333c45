/**
 * Druid's LogUsedSegments / CollectSegmentStats: what the view holds, per data source (used
 * segments, their bytes, how many are overshadowed), logged once per run and kept as the run's
 * stats for `GET /druid/coordinator/v1/duties`. Reads only the view; changes nothing.
 */
import type { SegmentView } from "../coordinator/segmentView.ts";

export interface SegmentStats {
  usedSegments: number;
  bytes: number;
  overshadowed: number;
  dataSources: Record<string, { segments: number; bytes: number; overshadowed: number }>;
}

export function collectSegmentStats(view: SegmentView, log: (line: string) => void = console.log): SegmentStats {
  const out: SegmentStats = { usedSegments: 0, bytes: 0, overshadowed: 0, dataSources: {} };
  for (const d of view.dataSourceStats()) {
    out.dataSources[d.dataSource] = { segments: d.segments, bytes: d.bytes, overshadowed: d.overshadowed };
    out.usedSegments += d.segments;
    out.bytes += d.bytes;
    out.overshadowed += d.overshadowed;
  }
  log(`Found [${out.usedSegments}] used segments in [${Object.keys(out.dataSources).length}] data sources ([${out.overshadowed}] overshadowed, [${out.bytes}] bytes).`);
  return out;
}
