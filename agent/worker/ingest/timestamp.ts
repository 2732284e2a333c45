/**
 * Druid's timestampSpec (`TimestampSpec`, `TimestampParser`): where the row's time comes from and
 * how it is read. Formats: `auto` (digits = millis, otherwise ISO with `T` or space and an
 * optional trailing zone), `iso`, `millis`, `posix` (seconds), `micro`, `nano`, `ruby`
 * (fractional seconds), or a Joda pattern. A numeric JSON value is read as millis by every
 * format except posix/micro/nano/ruby. A missing or null value takes `missingValue` when set.
 * The last value parsed is cached, as Druid does, since neighbouring rows often share a time.
 */
import { DateTime } from "luxon";
import { invalidSpec, RowParseError, rowToPrint, javaString } from "./errors.ts";
import { compileJodaPattern } from "./jodaPattern.ts";

export interface TimestampSpecJson {
  column?: string;
  format?: string;
  missingValue?: string | number | null;
}

/** Reads a row's timestamp (epoch millis); throws RowParseError with Druid's message. */
export type TimestampExtractor = (row: Record<string, unknown>) => number;

const MAX_MS = 8.64e15;

const ISO_RE = /^([+-]?\d{4,9})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** ISO-8601 (Joda's dateTimeParser); `allowSpace` accepts a space for the `T` (Druid's `auto`). */
export function parseIsoTimestamp(text: string, allowSpace: boolean): number | null {
  // Druid's own form (2015-09-12T00:46:58.771Z) by the engine's parser, checked for roll-overs
  if (text.length === 24 && text.charCodeAt(23) === 90 && text.charCodeAt(10) === 84 && text.charCodeAt(19) === 46) {
    const ms = Date.parse(text);
    const day = (text.charCodeAt(8) - 48) * 10 + text.charCodeAt(9) - 48;
    const hour = (text.charCodeAt(11) - 48) * 10 + text.charCodeAt(12) - 48;
    if (ms === ms && hour < 24 && (day <= 28 || new Date(ms).getUTCDate() === day)) return ms;
  }
  const m = ISO_RE.exec(text);
  if (m) {
    if (!allowSpace && text.includes(" ")) return null;
    if (m[8] && !m[4]) return null; // an offset needs a time
    const year = Number(m[1]), month = m[2] ? Number(m[2]) : 1, day = m[3] ? Number(m[3]) : 1;
    const hour = m[4] ? Number(m[4]) : 0, minute = m[5] ? Number(m[5]) : 0, second = m[6] ? Number(m[6]) : 0;
    const millis = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000 + 1e-7) : 0;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
    let ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
    if (year >= 0 && year < 100) ms = new Date(ms).setUTCFullYear(year);
    if (new Date(ms).getUTCDate() !== day) return null;
    const off = m[8];
    if (off && off !== "Z") {
      const digits = off.slice(1).replace(":", "");
      const minutes = Number(digits.slice(0, 2)) * 60 + (digits.length > 2 ? Number(digits.slice(2)) : 0);
      ms -= (off[0] === "-" ? -1 : 1) * minutes * 60_000;
    }
    return ms;
  }
  if (!/^[+-]?\d/.test(text) || (!allowSpace && text.includes(" "))) return null;
  const dt = DateTime.fromISO(allowSpace ? text.replace(" ", "T") : text, { zone: "utc" });
  return dt.isValid ? dt.toMillis() : null;
}

/** Druid's `ParserUtils.stripQuotes`. */
const stripQuotes = (s: string) => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);
const LONG_RE = /^[+-]?\d{1,19}$/;

function parseAuto(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text);
  let s = stripQuotes(text).trim();
  const sp = s.lastIndexOf(" ");
  if (sp > 0) {
    const zone = s.slice(sp + 1);
    if (/^[A-Za-z]/.test(zone) || /^[+-]\d{2}:?\d{2}$/.test(zone)) {
      const local = parseIsoTimestamp(s.slice(0, sp), true);
      if (local === null) return null;
      const name = /^[+-]/.test(zone) ? `UTC${zone}` : zone;
      const dt = DateTime.fromMillis(local, { zone: "utc" }).setZone(name, { keepLocalTime: true });
      return dt.isValid ? dt.toMillis() : null;
    }
  }
  s = s.trim();
  return parseIsoTimestamp(s, true);
}

type StringParser = (text: string) => number | null;

function stringParser(format: string): StringParser {
  switch (format.toLowerCase()) {
    case "auto": return parseAuto;
    case "iso": return (t) => parseIsoTimestamp(t.trim(), false);
    case "millis": return (t) => (LONG_RE.test(stripQuotes(t)) ? Number(stripQuotes(t)) : null);
    case "posix": return (t) => (LONG_RE.test(stripQuotes(t)) ? Number(stripQuotes(t)) * 1000 : null);
    case "micro": return (t) => (LONG_RE.test(stripQuotes(t)) ? Math.trunc(Number(stripQuotes(t)) / 1000) : null);
    case "nano": return (t) => (LONG_RE.test(stripQuotes(t)) ? Math.trunc(Number(stripQuotes(t)) / 1e6) : null);
    case "ruby": return (t) => { const n = Number(stripQuotes(t)); return t.trim() !== "" && Number.isFinite(n) ? Math.trunc(n * 1000) : null; };
    default: return compileJodaPattern(format);
  }
}

function numericParser(format: string): (n: number) => number {
  switch (format.toLowerCase()) {
    case "posix": return (n) => Math.trunc(n) * 1000;
    case "micro": return (n) => Math.trunc(Math.trunc(n) / 1000);
    case "nano": return (n) => Math.trunc(Math.trunc(n) / 1e6);
    case "ruby": return (n) => Math.trunc(n * 1000);
    default: return (n) => Math.trunc(n);
  }
}

/** One value (string or number) to epoch millis with `format`; null if it cannot be read. */
export function createTimestampParser(format = "auto"): (value: unknown) => number | null {
  const str = stringParser(format);
  const num = numericParser(format);
  return (value: unknown) => {
    let ms: number | null;
    if (typeof value === "number") ms = Number.isFinite(value) ? num(value) : null;
    else if (typeof value === "bigint") ms = num(Number(value));
    else if (typeof value === "string") ms = value === "" ? null : str(value);
    else ms = null;
    return ms !== null && Number.isFinite(ms) && Math.abs(ms) <= MAX_MS ? ms : null;
  };
}

export function createTimestampExtractor(spec: TimestampSpecJson = {}): TimestampExtractor {
  const column = spec.column ?? "timestamp";
  const format = spec.format ?? "auto";
  if (typeof column !== "string" || typeof format !== "string") throw invalidSpec("timestampSpec.column and format must be strings");
  const parse = createTimestampParser(format);
  let missing: number | null = null;
  if (spec.missingValue !== undefined && spec.missingValue !== null) {
    missing = typeof spec.missingValue === "number" ? spec.missingValue : parseIsoTimestamp(String(spec.missingValue), true);
    if (missing === null) throw invalidSpec(`Invalid timestampSpec.missingValue [${spec.missingValue}]`);
  }
  let lastValue: unknown = undefined;
  let lastMs = 0;
  return (row) => {
    const raw = row[column];
    if (raw === undefined || raw === null) {
      if (missing !== null) return missing;
      throw new RowParseError(`Timestamp[null] is unparseable! Event: ${rowToPrint(row)}`);
    }
    if (raw === lastValue) return lastMs;
    const ms = parse(raw);
    if (ms === null) throw new RowParseError(`Timestamp[${javaString(raw)}] is unparseable! Event: ${rowToPrint(row)}`);
    lastValue = raw;
    lastMs = ms;
    return ms;
  };
}
