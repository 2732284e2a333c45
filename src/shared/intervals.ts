/**
 * Time in Druid's terms: UTC instants with millisecond precision, half-open intervals
 * `start/end`, ISO-8601 periods and granularities. Parsing is delegated to luxon; this module
 * owns the conversions to and from Druid's textual forms (including `_` in URL paths).
 */
import { DateTime, Duration, FixedOffsetZone, Interval as LuxonInterval, type WeekdayNumbers } from "luxon";
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

/**
 * Joda's ISODateTimeFormat.dateTimeParser(), which Druid reads every instant with (Intervals.of,
 * DateTimes.ISO_DATE_TIME), less the forms luxon cannot compute (fractional hours or minutes,
 * offsets with seconds, one-digit months or days): `date-element ['T' time-element [offset]]` or
 * `'T' time-element [offset]`, where date-element is `yyyy[-MM[-dd]]`, `yyyy-DDD` or
 * `xxxx-Www[-e]` (4 to 9 year digits, optional sign), time-element `HH[:mm[:ss[.fraction]]]`
 * (`.` or `,`, up to 9 digits) and offset `Z` or `±HH[[:]mm]`. Literals are case-insensitive,
 * as Joda's. Anything else — luxon's basic forms (`20200101`), bare times (`10:00`), spaces —
 * is refused rather than read differently from Druid.
 */
const INSTANT_RE =
  /^(?:([+-]?\d{4,9})(?:-(\d{2})(?:-(\d{2}))?|-(\d{3})|-W(\d{2})(?:-(\d))?)?)?(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?)?$/i;
/** Druid's canonical form, taken on a fast path (round-tripped, so Feb 30 or 24:00 never roll over). */
const CANONICAL_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** JavaScript's Date range in years (±8.64e15 ms); Joda's own goes to ±292278993. */
const MAX_YEAR = 275760;

/** The epoch millisecond of an ISO instant, or the reason it is not one Druid would read (and we can represent). */
function readInstant(text: string): number | string {
  if (text === DRUID_ETERNITY_START) return MIN_INSTANT;
  if (text === DRUID_ETERNITY_END) return MAX_INSTANT;
  if (CANONICAL_RE.test(text)) {
    const ms = Date.parse(text);
    return Number.isFinite(ms) && new Date(ms).toISOString() === text ? ms : "not a valid date-time";
  }
  const m = INSTANT_RE.exec(text);
  if (!m || text === "" || (m[1] === undefined && m[7] === undefined)) return "not an ISO-8601 instant";
  const [, yearText, month, day, ordinal, week, weekday, hour, minute, second, fraction, zone, sign, offH, offM] = m;
  const year = yearText === undefined ? 1970 : Number(yearText); // a bare time is on Joda's default date
  if (Math.abs(year) > MAX_YEAR) return `the year ${yearText} is outside the supported range (-${MAX_YEAR} to ${MAX_YEAR})`;
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const h = Number(offH);
    const mi = offM === undefined ? 0 : Number(offM);
    if (h > 23 || mi > 59) return `the time zone offset [${zone}] is out of range (-23:59 to +23:59)`;
    offsetMinutes = (sign === "-" ? -1 : 1) * (h * 60 + mi);
  }
  const time = {
    hour: hour === undefined ? 0 : Number(hour),
    minute: minute === undefined ? 0 : Number(minute),
    second: second === undefined ? 0 : Number(second),
    millisecond: fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, "0")),
  };
  if (time.hour > 23 || time.minute > 59 || time.second > 59) return "not a valid time of day (hours 0-23, minutes and seconds 0-59)";
  const zoneOpt = { zone: FixedOffsetZone.instance(offsetMinutes) };
  const dt =
    week !== undefined
      ? DateTime.fromObject({ weekYear: year, weekNumber: Number(week), weekday: (weekday === undefined ? 1 : Number(weekday)) as WeekdayNumbers, ...time }, zoneOpt)
      : ordinal !== undefined
        ? DateTime.fromObject({ year, ordinal: Number(ordinal), ...time }, zoneOpt)
        : DateTime.fromObject({ year, month: month === undefined ? 1 : Number(month), day: day === undefined ? 1 : Number(day), ...time }, zoneOpt);
  if (!dt.isValid) return dt.invalidReason === "unit out of range" ? "not a valid date" : `not a valid date-time (${dt.invalidExplanation ?? dt.invalidReason})`;
  const ms = dt.toMillis();
  if (!Number.isFinite(ms) || ms < MIN_INSTANT || ms > MAX_INSTANT) return "outside the supported range of instants";
  return ms;
}

/** Parses an ISO instant as Druid does (date, date-time, with or without zone; UTC assumed). */
export function parseInstant(text: string, field = "timestamp"): number {
  const r = readInstant(text);
  if (typeof r === "string") throw invalidInput(`Invalid ${field} [${text}]: ${r}`);
  return r;
}

/** `parseInstant` without the error: the instant, or null (Druid's DateTimes.ISO_DATE_TIME, for segment ids). */
export function tryParseInstant(text: string): number | null {
  const r = readInstant(text);
  return typeof r === "number" ? r : null;
}

/** Joda's ISOPeriodFormat.standard(): `PnYnMnWnD[TnHnMn[.fff]S]`, at least one field, fractions only on seconds. */
const PERIOD_RE = /^P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:[.,]\d{1,3})?S)?)?$/;

export function parsePeriod(text: string, field = "period"): Duration {
  const d = PERIOD_RE.test(text) ? Duration.fromISO(text.replace(",", ".")) : null;
  if (!d || !d.isValid) throw invalidInput(`Invalid ${field} [${text}]: not an ISO-8601 period`);
  return d;
}

export interface IntervalOptions {
  /** Accept `_` as the separator (intervals in URL paths). */
  allowUnderscore?: boolean;
  /**
   * Accept an empty interval (start equals end). Druid refuses them wherever they would be
   * locked or stored (AbstractFixedIntervalTask "interval empty", CompactionIntervalSpec
   * "Interval[..] is empty, must specify a nonempty interval", TaskLockbox.tryLock); only filters
   * that simply match nothing take them.
   */
  allowEmpty?: boolean;
}

/**
 * Parses `start/end`, `start/period` or `period/end` (Druid's interval syntax). `options` (or
 * `true`, the older form of `{allowUnderscore: true}`) may accept `_` as the separator and empty
 * intervals; reversed intervals and periods that leave the representable range are always refused.
 */
export function parseInterval(text: unknown, field = "interval", options: boolean | IntervalOptions = {}): Interval {
  const opts: IntervalOptions = typeof options === "boolean" ? { allowUnderscore: options } : options;
  if (typeof text !== "string" || text.length === 0 || text.length > 200) {
    throw invalidInput(`Invalid ${field}: expected an ISO-8601 interval string like 2024-01-01/2024-01-02`);
  }
  let s = text;
  if (!s.includes("/") && opts.allowUnderscore) s = s.replace("_", "/");
  const parts = s.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw invalidInput(`Invalid ${field} [${text}]: expected start/end`);
  }
  const [a, b] = parts as [string, string];
  const instant = (t: string) => {
    const r = readInstant(t);
    if (typeof r === "string") throw invalidInput(`Invalid ${field} [${text}]: [${t}]: ${r}`);
    return r;
  };
  const period = (t: string) => {
    if (!PERIOD_RE.test(t)) throw invalidInput(`Invalid ${field} [${text}]: [${t}] is not an ISO-8601 period`);
    return Duration.fromISO(t.replace(",", "."));
  };
  let start: number;
  let end: number;
  if (a.startsWith("P") && b.startsWith("P")) {
    throw invalidInput(`Invalid ${field} [${text}]: an interval cannot be composed of two periods`);
  } else if (a.startsWith("P")) {
    end = instant(b);
    start = end <= MIN_INSTANT || end >= MAX_INSTANT ? NaN : DateTime.fromMillis(end, { zone: "utc" }).minus(period(a)).toMillis();
  } else if (b.startsWith("P")) {
    start = instant(a);
    end = start <= MIN_INSTANT || start >= MAX_INSTANT ? NaN : DateTime.fromMillis(start, { zone: "utc" }).plus(period(b)).toMillis();
  } else {
    start = instant(a);
    end = instant(b);
  }
  if (!Number.isFinite(start) || !Number.isFinite(end) || start < MIN_INSTANT || end > MAX_INSTANT) {
    throw invalidInput(`Invalid ${field} [${text}]: the period takes the interval outside the supported range of instants`);
  }
  if (end < start) throw invalidInput(`Invalid ${field} [${text}]: end is before start`);
  if (end === start && !opts.allowEmpty) {
    throw invalidInput(`Invalid ${field} [${text}]: the interval is empty (start equals end), must specify a non-empty interval`);
  }
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
