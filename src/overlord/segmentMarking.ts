/**
 * Marking segments used or unused (Druid's markUsed / markUnused / segment enable and disable,
 * which current Druid serves from the Overlord): the Overlord is the one writer of `segments`,
 * so an operator's marking is serialised per data source with publishes, allocation and kills
 * (TaskActions.exclusive) instead of racing them from the Worker.
 */
import { SegmentTimeline } from "../segments/timeline.ts";
import type { Interval } from "../shared/intervals.ts";
import type { SegmentPort } from "./taskActions.ts";

export type MarkRequest =
  | { kind: "interval"; used: boolean; interval: Interval; versions: string[] | null }
  | { kind: "ids"; used: boolean; ids: string[] }
  /** Every unused segment used again, unless a used segment overshadows it. */
  | { kind: "allUsed" }
  | { kind: "allUnused" };

/** Applies one marking to `dataSource`; returns how many segments changed. */
export async function markSegments(segments: SegmentPort, dataSource: string, r: MarkRequest, now: number): Promise<number> {
  switch (r.kind) {
    case "interval":
      return r.used ? segments.markUsedInInterval(dataSource, r.interval, r.versions, now) : segments.markUnusedInInterval(dataSource, r.interval, r.versions, now);
    case "ids":
      return segments.setUsedByIds(dataSource, r.ids, r.used, now);
    case "allUsed": {
      const all = await segments.overlapping(dataSource, null, null);
      const hidden = new Set(new SegmentTimeline(all.map((x) => x.segment)).overshadowed());
      const ids = all.filter((x) => !x.used && !hidden.has(x.segment)).map((x) => x.id);
      return ids.length > 0 ? segments.setUsedByIds(dataSource, ids, true, now) : 0;
    }
    case "allUnused": {
      const used = await segments.overlapping(dataSource, null, true);
      return used.length > 0 ? segments.setUsedByIds(dataSource, used.map((x) => x.id), false, now) : 0;
    }
  }
}
