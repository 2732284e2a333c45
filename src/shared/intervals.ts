/**
 * Time in Druid's terms: UTC instants with millisecond precision, half-open intervals
 * `start/end`, ISO-8601 periods and granularities. Parsing is delegated to luxon; this module
 * owns the conversions to and from Druid's textual forms (including `_` in URL paths).
 */
import { DateTime, Duration, Interval as LuxonInterval } from "luxon";
import { invalidInput } from "./errors.ts";

/** Half-open [start, end) in epoch milliseconds. */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

/** JavaScript dates stop at ±8.64e15 ms; Druid's eternity is wider, so we map it onto our extremes. */
export const MIN_INSTANT = -8.64e15;
export const MAX_INSTANT = 8.64e15;
export const ETERNITY: Interval = { start: MIN_INSTANT, end: MAX_INSTANT };
const DRUID_ETERNITY_START = "-146136543-09-08T08:23:32.096Z";
const DRUID_ETERNITY_END = "146140482-04-24T15:36:27.903Z";

export function toIso(ms: number): string {
  if (ms <= MIN_INSTANT) return DRUID_ETERNITY_START;
  if (ms >= MAX_INSTANT) return DRUID_ETERNITY_END;
  return new Date(ms).toISOString();
}

export function formatInterval(i: Interval): string {
  return `${toIso(i.start)}/${toIso(i.end)}`;
}

/** Interval as it appears in a URL path segment (`/` replaced by `_`). */
export function formatPathInterval(i: Interval): string {
  return formatInterval(i).replace("/", "_");
}

/** Parses an ISO instant (date, date-time, with or without zone; UTC assumed). */
export function parseInstant(text: string, field = "timestamp"): number {
  if (text === DRUID_ETERNITY_START) return MIN_INSTANT;
  if (text === DRUID_ETERNITY_END) return MAX_INSTANT;
  const dt = DateTime.fromISO(text, { zone: "utc", setZone: false });
  if (!dt.isValid) throw invalidInput(`Invalid ${field} [${text}]: not an ISO-8601 instant`);
  return dt.toMillis();
}

export function parsePeriod(text: string, field = "period"): Duration {
  const d = Duration.fromISO(text);
  if (!d.isValid) throw invalidInput(`Invalid ${field} [${text}]: not an ISO-8601 period`);
  return d;
}

/**
 * Parses `start/end`, `start/period` or `period/end` (Druid's interval syntax). `_` is accepted as
 * the separator when `allowUnderscore` (URL paths). Empty or reversed intervals are rejected.
 */
export function parseInterval(text: unknown, field = "interval", allowUnderscore = false): Interval {
  if (typeof text !== "string" || text.length === 0 || text.length > 200) {
    throw invalidInput(`Invalid ${field}: expected an ISO-8601 interval string like 2024-01-01/2024-01-02`);
  }
  let s = text;
  if (!s.includes("/") && allowUnderscore) s = s.replace("_", "/");
  const parts = s.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw invalidInput(`Invalid ${field} [${text}]: expected start/end`);
  }
  const [a, b] = parts as [string, string];
  let start: number;
  let end: number;
  if (a.startsWith("P")) {
    end = parseInstant(b, field);
    start = DateTime.fromMillis(end, { zone: "utc" }).minus(parsePeriod(a, field)).toMillis();
  } else if (b.startsWith("P")) {
    start = parseInstant(a, field);
    end = DateTime.fromMillis(start, { zone: "utc" }).plus(parsePeriod(b, field)).toMillis();
  } else {
    start = parseInstant(a, field);
    end = parseInstant(b, field);
  }
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw invalidInput(`Invalid ${field} [${text}]`);
  if (end < start) throw invalidInput(`Invalid ${field} [${text}]: end is before start`);
  return { start, end };
}

export const overlaps = (a: Interval, b: Interval): boolean => a.start < b.end && b.start < a.end;
export const contains = (outer: Interval, inner: Interval): boolean =>
  outer.start <= inner.start && inner.end <= outer.end;
export const sameInterval = (a: Interval, b: Interval): boolean => a.start === b.start && a.end === b.end;
export const isEmpty = (i: Interval): boolean => i.end <= i.start;

/** Unused import guard for luxon's Interval (kept for callers that want luxon objects). */
export const toLuxon = (i: Interval) =>
  LuxonInterval.fromDateTimes(DateTime.fromMillis(i.start, { zone: "utc" }), DateTime.fromMillis(i.end, { zone: "utc" }));

export type GranularityName =
  | "none" | "second" | "minute" | "five_minute" | "ten_minute" | "fifteen_minute" | "thirty_minute"
  | "hour" | "six_hour" | "eight_hour" | "day" | "week" | "month" | "quarter" | "year" | "all";

const FIXED_MS: Partial<Record<GranularityName, number>> = {
  none: 1, second: 1000, minute: 60_000, five_minute: 300_000, ten_minute: 600_000,
  fifteen_minute: 900_000, thirty_minute: 1_800_000, hour: 3_600_000, six_hour: 21_600_000,
  eight_hour: 28_800_000, day: 86_400_000,
};

/** Accepts Druid's simple granularity strings (any case) and `{"type":"period","period":"P1D"}` for the common periods. */
export function parseGranularity(g: unknown, field = "granularity"): GranularityName {
  let name: string | undefined;
  if (typeof g === "string") name = g.toLowerCase();
  else if (g && typeof g === "object" && "type" in g) {
    const o = g as { type: string; period?: string; duration?: number };
    if (o.type === "period" && typeof o.period === "string") {
      const byPeriod: Record<string, GranularityName> = {
        PT1S: "second", PT1M: "minute", PT5M: "five_minute", PT10M: "ten_minute", PT15M: "fifteen_minute",
        PT30M: "thirty_minute", PT1H: "hour", PT6H: "six_hour", PT8H: "eight_hour", P1D: "day", P1W: "week",
        P1M: "month", P3M: "quarter", P1Y: "year",
      };
      name = byPeriod[o.period];
    } else name = String(o.type).toLowerCase();
  }
  const all: GranularityName[] = [
    "none", "second", "minute", "five_minute", "ten_minute", "fifteen_minute", "thirty_minute", "hour",
    "six_hour", "eight_hour", "day", "week", "month", "quarter", "year", "all",
  ];
  if (!name || !(all as string[]).includes(name)) throw invalidInput(`Invalid ${field} [${JSON.stringify(g)}]`);
  return name as GranularityName;
}

/** Start of the bucket of `granularity` containing `ms` (UTC). */
export function bucketStart(granularity: GranularityName, ms: number): number {
  if (granularity === "all") return MIN_INSTANT;
  const fixed = FIXED_MS[granularity];
  if (fixed) return Math.floor(ms / fixed) * fixed;
  const dt = DateTime.fromMillis(ms, { zone: "utc" });
  switch (granularity) {
    case "week": return dt.startOf("week").toMillis();
    case "month": return dt.startOf("month").toMillis();
    case "quarter": return dt.startOf("quarter").toMillis();
    default: return dt.startOf("year").toMillis();
  }
}

/** The bucket of `granularity` containing `ms`. */
export function bucket(granularity: GranularityName, ms: number): Interval {
  if (granularity === "all") return ETERNITY;
  const start = bucketStart(granularity, ms);
  const fixed = FIXED_MS[granularity];
  if (fixed) return { start, end: start + fixed };
  const dt = DateTime.fromMillis(start, { zone: "utc" });
  const unit = granularity === "week" ? { weeks: 1 } : granularity === "month" ? { months: 1 } : granularity === "quarter" ? { months: 3 } : { years: 1 };
  return { start, end: dt.plus(unit).toMillis() };
}

/** Splits an interval into the granularity buckets that overlap it, in order. */
export function bucketsOf(granularity: GranularityName, i: Interval): Interval[] {
  const out: Interval[] = [];
  if (granularity === "all") return [ETERNITY];
  let cur = bucket(granularity, i.start);
  while (cur.start < i.end) {
    out.push(cur);
    cur = bucket(granularity, cur.end);
    if (out.length > 100_000) throw invalidInput("Interval splits into too many granularity buckets");
  }
  return out;
}
