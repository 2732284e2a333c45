/**
 * Druid's segment timeline (VersionedIntervalTimeline + PartitionHolder), as a pure function of
 * a set of used segments: which segments are visible, which are overshadowed, and the visible
 * chunks of an interval.
 *
 * Rules (`docs/design/segments.md`, `docs/ingestion/tasks.md`):
 * - Segments with the same dataSource, interval and version form one chunk. A chunk is complete
 *   when all its core partitions (0..n-1, n from the shardSpec; see `corePartitionsOf`) are
 *   present; with no core set (n = 0) any non-empty chunk is complete. Only complete chunks are
 *   visible; partitions beyond the core set ride along with a complete chunk.
 * - Within a dataSource, at each instant the complete chunk with the highest version (string
 *   order, as Druid) is the visible one. A complete chunk is overshadowed when no instant of its
 *   interval is visible — that is, complete chunks of strictly higher versions together cover
 *   its whole interval; partly covered chunks stay visible for the rest.
 * - An incomplete chunk is never visible; it is overshadowed only when complete higher-version
 *   chunks fully cover it (Druid's `isOvershadowed`), otherwise it is merely waiting.
 * - Equal versions never overshadow each other (no minor versions / segment locking here).
 */
import { corePartitionsOf, intervalOf, partitionNumOf, type ShardSpec } from "./dataSegment.ts";
import type { Interval } from "../shared/intervals.ts";

/** What the timeline needs of a segment (DataSegment JSON satisfies it). */
export interface TimelineSegment {
  dataSource: string;
  interval: string | Interval;
  version: string;
  shardSpec?: ShardSpec | null;
}

/** One (dataSource, interval, version) chunk with its partitions, ordered by partition number. */
export interface TimelineChunk<T> {
  dataSource: string;
  interval: Interval;
  version: string;
  segments: T[];
  complete: boolean;
  /** Parts of `interval` where this chunk is visible (empty when overshadowed or incomplete). */
  visibleIntervals: Interval[];
  overshadowed: boolean;
}

/** A visible piece of the timeline (Druid's TimelineObjectHolder). */
export interface TimelineHolder<T> {
  dataSource: string;
  /** The visible part, clipped to the looked-up interval. */
  interval: Interval;
  /** The chunk's own interval. */
  trueInterval: Interval;
  version: string;
  segments: T[];
}

/** True when partitions 0..n-1 of the core set are all present (any non-empty set if n = 0). */
export function isCompletePartitionSet(shardSpecs: readonly (ShardSpec | null | undefined)[]): boolean {
  if (shardSpecs.length === 0) return false;
  let core = 0;
  for (const s of shardSpecs) core = Math.max(core, corePartitionsOf(s));
  if (core === 0) return true;
  const seen = new Set<number>();
  for (const s of shardSpecs) {
    const p = partitionNumOf(s);
    if (p < core) seen.add(p);
  }
  return seen.size === core;
}

/** Sorted, disjoint, non-touching intervals. */
type IntervalSet = Interval[];

/** Index of the first interval in `set` whose end is after `t`. */
function firstEndingAfter(set: IntervalSet, t: number): number {
  let lo = 0, hi = set.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (set[mid]!.end <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function covers(set: IntervalSet, i: Interval): boolean {
  const k = firstEndingAfter(set, i.start);
  if (k >= set.length) return false;
  const c = set[k]!;
  return c.start <= i.start && i.end <= c.end && (i.end > i.start || c.end > i.start);
}

function subtract(i: Interval, set: IntervalSet): Interval[] {
  const out: Interval[] = [];
  let cursor = i.start;
  for (let k = firstEndingAfter(set, i.start); k < set.length && set[k]!.start < i.end; k++) {
    const c = set[k]!;
    if (c.start > cursor) out.push({ start: cursor, end: c.start });
    cursor = Math.max(cursor, c.end);
  }
  if (cursor < i.end) out.push({ start: cursor, end: i.end });
  return out;
}

function addTo(set: IntervalSet, i: Interval): void {
  if (i.end <= i.start) return;
  let k = firstEndingAfter(set, i.start - 1); // first that ends at or after i.start (touching merges)
  let start = i.start, end = i.end;
  const from = k;
  while (k < set.length && set[k]!.start <= end) {
    start = Math.min(start, set[k]!.start);
    end = Math.max(end, set[k]!.end);
    k++;
  }
  set.splice(from, k - from, { start, end });
}

/**
 * The timeline of a set of used segments (any number of dataSources). Build once, then query;
 * O(n log n) for the usual non-overlapping layouts.
 */
export class SegmentTimeline<T extends TimelineSegment> {
  /** All chunks, by dataSource, then interval start, then version. */
  readonly chunks: TimelineChunk<T>[];
  private readonly overshadowedSet = new Set<T>();

  constructor(segments: Iterable<T>) {
    const byKey = new Map<string, TimelineChunk<T> & { parts: Set<number> }>();
    for (const seg of segments) {
      const interval = intervalOf(seg);
      const key = `${seg.dataSource}\u0000${interval.start}\u0000${interval.end}\u0000${seg.version}`;
      let chunk = byKey.get(key);
      if (!chunk) {
        chunk = { dataSource: seg.dataSource, interval, version: seg.version, segments: [], complete: false, visibleIntervals: [], overshadowed: false, parts: new Set() };
        byKey.set(key, chunk);
      }
      const p = partitionNumOf(seg.shardSpec);
      if (chunk.parts.has(p)) continue; // the same segment id twice
      chunk.parts.add(p);
      chunk.segments.push(seg);
    }
    const chunks = [...byKey.values()];
    for (const c of chunks) {
      c.segments.sort((a, b) => partitionNumOf(a.shardSpec) - partitionNumOf(b.shardSpec));
      c.complete = isCompletePartitionSet(c.segments.map((s) => s.shardSpec));
    }
    this.resolve(chunks);
    this.chunks = chunks
      .map(({ parts: _parts, ...c }) => c)
      .sort((a, b) => (a.dataSource < b.dataSource ? -1 : a.dataSource > b.dataSource ? 1 : a.interval.start - b.interval.start || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0)));
    for (const c of this.chunks) if (c.overshadowed) for (const s of c.segments) this.overshadowedSet.add(s);
  }

  /** Walks versions from the highest down, keeping the union of complete higher-version chunks. */
  private resolve(chunks: TimelineChunk<T>[]): void {
    const byDataSource = new Map<string, TimelineChunk<T>[]>();
    for (const c of chunks) {
      const list = byDataSource.get(c.dataSource) ?? [];
      list.push(c);
      byDataSource.set(c.dataSource, list);
    }
    for (const list of byDataSource.values()) {
      list.sort((a, b) => (a.version < b.version ? 1 : a.version > b.version ? -1 : 0));
      const covered: IntervalSet = [];
      for (let i = 0; i < list.length; ) {
        let j = i;
        while (j < list.length && list[j]!.version === list[i]!.version) j++;
        const group = list.slice(i, j);
        for (const c of group) {
          c.overshadowed = covers(covered, c.interval);
          c.visibleIntervals = c.complete && !c.overshadowed ? subtract(c.interval, covered) : [];
        }
        for (const c of group) if (c.complete) addTo(covered, c.interval);
        i = j;
      }
    }
  }

  /** The overshadowed segments (what MarkOvershadowedSegmentsAsUnused would mark unused). */
  overshadowed(): T[] {
    return [...this.overshadowedSet];
  }

  isOvershadowed(segment: T): boolean {
    return this.overshadowedSet.has(segment);
  }

  /**
   * The visible pieces of the timeline overlapping `interval` (all of it when omitted), in time
   * order, optionally for one dataSource (Druid's `lookup`).
   */
  lookup(interval?: Interval, dataSource?: string): TimelineHolder<T>[] {
    const out: TimelineHolder<T>[] = [];
    for (const c of this.chunks) {
      if (dataSource !== undefined && c.dataSource !== dataSource) continue;
      for (const v of c.visibleIntervals) {
        const start = interval ? Math.max(v.start, interval.start) : v.start;
        const end = interval ? Math.min(v.end, interval.end) : v.end;
        if (start >= end) continue;
        out.push({ dataSource: c.dataSource, interval: { start, end }, trueInterval: c.interval, version: c.version, segments: c.segments });
      }
    }
    return out.sort((a, b) => (a.dataSource < b.dataSource ? -1 : a.dataSource > b.dataSource ? 1 : a.interval.start - b.interval.start));
  }

  /** The segments visible somewhere in `interval` (Druid's findNonOvershadowedObjectsInInterval). */
  visible(interval?: Interval, dataSource?: string): T[] {
    const seen = new Set<T>();
    for (const h of this.lookup(interval, dataSource)) for (const s of h.segments) seen.add(s);
    return [...seen];
  }
}

/** The overshadowed members of `segments`. */
export const findOvershadowed = <T extends TimelineSegment>(segments: Iterable<T>): T[] => new SegmentTimeline(segments).overshadowed();

/** The segments of `segments` visible in `interval`. */
export const visibleSegments = <T extends TimelineSegment>(segments: Iterable<T>, interval?: Interval): T[] =>
  new SegmentTimeline(segments).visible(interval);
