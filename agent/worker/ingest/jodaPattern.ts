/**
 * Parses timestamps with a Joda-Time pattern (`yyyy-MM-dd HH:mm:ss`, `dd/MMM/yyyy:HH:mm:ss Z`, …),
 * as Druid's timestampSpec `format` does. A pattern is compiled once into a regular expression
 * plus field setters; parsing a value is one regex match and `Date.UTC`.
 *
 * Supported letters: y/Y (year; `yy` is Joda's two-digit year), M (month: number, `MMM` short
 * name, `MMMM` full name), d (day), D (day of year), H/k (hour of day), h/K with a (half-day),
 * m, s, S (fraction of second, any width), a (AM/PM), E (day name, checked only for shape),
 * Z/ZZ (offset `+0800`, `+08:00` or `Z`), ZZZ (zone id such as `America/Los_Angeles`),
 * '…' literals ('' is a quote). Numeric fields next to each other use their exact widths, as Joda.
 */
import { DateTime } from "luxon";
import { invalidSpec } from "./errors.ts";

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

interface Fields {
  year: number; month: number; day: number; dayOfYear: number; hour: number; hourHalf: number; pm: number;
  minute: number; second: number; millis: number; offsetMinutes: number | null; zone: string | null;
}

type Setter = (f: Fields, text: string) => boolean;

interface Token { kind: "literal"; text: string }
interface Field { kind: "field"; letter: string; count: number }

function tokenize(pattern: string): (Token | Field)[] {
  const out: (Token | Field)[] = [];
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === "'") {
      let j = i + 1, text = "";
      for (;;) {
        if (j >= pattern.length) throw invalidSpec(`Invalid timestamp format [${pattern}]: unterminated quote`);
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") { text += "'"; j += 2; continue; }
          break;
        }
        text += pattern[j++];
      }
      out.push({ kind: "literal", text: j === i + 1 ? "'" : text });
      i = j + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      out.push({ kind: "field", letter: c, count: j - i });
      i = j;
    } else {
      out.push({ kind: "literal", text: c });
      i++;
    }
  }
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const NUMERIC = new Set(["y", "Y", "M", "d", "D", "H", "k", "h", "K", "m", "s", "S"]);

/** Joda's two-digit year: pivot = this year - 30, values map into [pivot - 50, pivot + 49]. */
function twoDigitYear(yy: number): number {
  const pivot = new Date().getUTCFullYear() - 30;
  const low = pivot - 50;
  const t = low >= 0 ? low % 100 : 99 + ((low + 1) % 100);
  return yy + low + (yy < t ? 100 : 0) - t;
}

function fieldRegex(f: Field, nextIsNumeric: boolean): { re: string; set: Setter } {
  const num = (max: number) => (nextIsNumeric || (f.count > 1 && f.letter === "S") ? `(\\d{${f.count}})` : `(\\d{1,${Math.max(f.count, max)}})`);
  switch (f.letter) {
    case "y":
    case "Y":
      if (f.count === 2) return { re: "(\\d{2})", set: (o, t) => ((o.year = twoDigitYear(Number(t))), true) };
      return { re: nextIsNumeric ? `([+-]?\\d{${f.count}})` : "([+-]?\\d{1,9})", set: (o, t) => ((o.year = Number(t)), true) };
    case "M":
      if (f.count >= 3) {
        const names = f.count === 3 ? MONTHS.map((m) => m.slice(0, 3)) : MONTHS;
        return {
          re: `(${names.join("|")})`,
          set: (o, t) => ((o.month = names.indexOf(t.toLowerCase()) + 1), o.month > 0),
        };
      }
      return { re: num(2), set: (o, t) => ((o.month = Number(t)), true) };
    case "d": return { re: num(2), set: (o, t) => ((o.day = Number(t)), true) };
    case "D": return { re: num(3), set: (o, t) => ((o.dayOfYear = Number(t)), true) };
    case "H": return { re: num(2), set: (o, t) => ((o.hour = Number(t)), true) };
    case "k": return { re: num(2), set: (o, t) => ((o.hour = Number(t) % 24), true) };
    case "h": return { re: num(2), set: (o, t) => ((o.hourHalf = Number(t) % 12), true) };
    case "K": return { re: num(2), set: (o, t) => ((o.hourHalf = Number(t)), true) };
    case "m": return { re: num(2), set: (o, t) => ((o.minute = Number(t)), true) };
    case "s": return { re: num(2), set: (o, t) => ((o.second = Number(t)), true) };
    case "S":
      return { re: nextIsNumeric ? `(\\d{${f.count}})` : "(\\d{1,9})", set: (o, t) => ((o.millis = Math.floor(Number(`0.${t}`) * 1000 + 1e-7)), true) };
    case "a": return { re: "(am|pm)", set: (o, t) => ((o.pm = t.toLowerCase() === "pm" ? 1 : 0), true) };
    case "E": return { re: "([a-z]{2,9})", set: () => true };
    case "Z":
      if (f.count >= 3) return { re: "([A-Za-z_]+(?:/[A-Za-z_+\\-0-9]+)*|UTC)", set: (o, t) => ((o.zone = t), true) };
      return {
        re: "(Z|[+-]\\d{2}:?\\d{2})",
        set: (o, t) => {
          if (t === "Z") { o.offsetMinutes = 0; return true; }
          const sign = t[0] === "-" ? -1 : 1;
          const digits = t.slice(1).replace(":", "");
          o.offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
          return true;
        },
      };
    default:
      throw invalidSpec(`Unsupported timestamp format letter [${f.letter}] (supported: y M d D H k h K m s S a E Z and quoted literals)`);
  }
}

/** A compiled Joda pattern: returns epoch millis (UTC unless the value carries an offset/zone), or null if the text does not match. */
export type JodaParser = (text: string) => number | null;

export function compileJodaPattern(pattern: string): JodaParser {
  const tokens = tokenize(pattern);
  let source = "^";
  const setters: Setter[] = [];
  let hasHalfDay = false;
  tokens.forEach((t, i) => {
    if (t.kind === "literal") { source += escapeRe(t.text); return; }
    const next = tokens[i + 1];
    const nextIsNumeric = next?.kind === "field" && NUMERIC.has(next.letter) && NUMERIC.has(t.letter) && !(next.letter === "M" && next.count >= 3);
    const { re, set } = fieldRegex(t, nextIsNumeric);
    if (t.letter === "h" || t.letter === "K") hasHalfDay = true;
    source += re;
    setters.push(set);
  });
  const re = new RegExp(`${source}$`, "i");
  return (text: string) => {
    const m = re.exec(text.trim());
    if (!m) return null;
    const f: Fields = { year: 1970, month: 1, day: 1, dayOfYear: 0, hour: 0, hourHalf: 0, pm: 0, minute: 0, second: 0, millis: 0, offsetMinutes: null, zone: null };
    for (let i = 0; i < setters.length; i++) if (!setters[i]!(f, m[i + 1]!)) return null;
    const hour = hasHalfDay ? f.hourHalf + 12 * f.pm : f.hour;
    if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31 || hour > 23 || f.minute > 59 || f.second > 59) return null;
    let ms: number;
    if (f.dayOfYear > 0) {
      ms = Date.UTC(f.year, 0, f.dayOfYear, hour, f.minute, f.second, f.millis);
      if (new Date(ms).getUTCFullYear() !== f.year) return null;
    } else {
      ms = Date.UTC(f.year, f.month - 1, f.day, hour, f.minute, f.second, f.millis);
      if (new Date(ms).getUTCDate() !== f.day) return null; // 31 April and the like
    }
    if (f.year >= 0 && f.year < 100) ms = new Date(ms).setUTCFullYear(f.year); // Date.UTC maps 0–99 to 1900s
    if (f.offsetMinutes !== null) ms -= f.offsetMinutes * 60_000;
    else if (f.zone !== null) {
      const local = DateTime.fromMillis(ms, { zone: "utc" }).setZone(f.zone, { keepLocalTime: true });
      if (!local.isValid) return null;
      ms = local.toMillis();
    }
    return ms;
  };
}
