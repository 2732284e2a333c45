/**
 * Druid's SegmentId (`processing/.../timeline/SegmentId.java`): the text form
 * `dataSource_start_end_version[_partitionNum]`, with the partition suffix only when it is not 0.
 * Both the dataSource and the version may contain `_`, so a text id can have several readings;
 * parsing follows Druid: with a known dataSource there are at most two (a trailing `_n`, n > 0,
 * is a partition, or part of the version), and without one every `_` position is tried and
 * validated by the two ISO instants that must follow it.
 */
import { toIso, tryParseInstant, type Interval } from "../shared/intervals.ts";

export interface SegmentIdParts {
  dataSource: string;
  interval: Interval;
  version: string;
  partitionNum: number;
}

/** `ds_start_end_version[_partition]`; instants in Druid's `2024-01-01T00:00:00.000Z` form. */
export function formatSegmentId(p: SegmentIdParts): string {
  const base = `${p.dataSource}_${toIso(p.interval.start)}_${toIso(p.interval.end)}_${p.version}`;
  return p.partitionNum === 0 ? base : `${base}_${p.partitionNum}`;
}

/** Druid's ISO_DATE_TIME parse, or null: the same grammar and checks as `parseInstant`. */
const tryInstant = tryParseInstant;

/**
 * Every reading of `id` whose dataSource is `dataSource`, most probable first (Druid's
 * `iteratePossibleParsingsWithDataSource`): with a trailing `_n` (n > 0) the partition reading
 * comes first, then the reading where `_n` belongs to the version.
 */
export function possibleSegmentIdParsings(id: string, dataSource: string): SegmentIdParts[] {
  if (!id.startsWith(dataSource) || id.charAt(dataSource.length) !== "_") return [];
  const splits = id.slice(dataSource.length + 1).split("_");
  if (splits.length < 3) return [];
  const start = tryInstant(splits[0]!);
  const end = tryInstant(splits[1]!);
  if (start === null || end === null || start >= end) return [];
  const interval = { start, end };
  let version = splits.slice(2, Math.max(splits.length - 1, 3)).join("_");
  const out: SegmentIdParts[] = [];
  if (splits.length > 3) {
    const trail = splits[splits.length - 1]!;
    if (/^\d{1,10}$/.test(trail)) {
      const n = Number(trail);
      if (n > 0 && n <= 2_147_483_647) out.push({ dataSource, interval, version, partitionNum: n });
    }
    version = `${version}_${trail}`;
  }
  out.push({ dataSource, interval, version, partitionNum: 0 });
  return out;
}

/** Druid's `SegmentId.tryParse(dataSource, id)`: the most probable reading, or null. */
export function parseSegmentId(id: string, dataSource: string): SegmentIdParts | null {
  return possibleSegmentIdParsings(id, dataSource)[0] ?? null;
}

/**
 * Every reading of `id` for any dataSource (Druid's `iterateAllPossibleParsings`). The dataSource
 * is tried at each `_` position from the left, so the first result is the shortest dataSource
 * followed by two valid instants — the most probable reading.
 */
export function allPossibleSegmentIdParsings(id: string): SegmentIdParts[] {
  const splits = id.split("_");
  const out: SegmentIdParts[] = [];
  for (let k = 1; k < splits.length - 2; k++) {
    out.push(...possibleSegmentIdParsings(id, splits.slice(0, k).join("_")));
  }
  return out;
}
