/**
 * transformSpec.filter: Druid's DimFilters evaluated on raw input rows before they are indexed
 * (rows that do not match are thrown away). Supported: selector, in, equals, null, bound, regex,
 * like, and, or, not, true, false. Values compare as strings, as Druid's string matching does;
 * a multi-value field matches when any of its values does; a missing field is null. `__time` is
 * the row's timestamp in millis.
 */
import { invalidSpec, javaString, unsupported } from "./errors.ts";

export type FilterJson = { type: string; [field: string]: unknown };
export type RowFilter = (row: Record<string, unknown>, time: number) => boolean;

const text = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === "string" ? v : typeof v === "object" ? javaString(v) : String(v));

/** The values of a column as strings; [null] when missing or null, as Druid's dimension selectors. */
function valuesOf(row: Record<string, unknown>, time: number, column: string): (string | null)[] {
  const v = column === "__time" ? time : row[column];
  if (Array.isArray(v)) return v.length === 0 ? [null] : v.map(text);
  return [text(v)];
}

function column(f: FilterJson, key = "dimension"): string {
  const c = f[key] ?? f.column;
  if (typeof c !== "string" || c === "") throw invalidSpec(`Filter [${f.type}] needs a ${key}`);
  return c;
}

function likeToRegExp(pattern: string, escape: string | undefined): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (escape && c === escape && i + 1 < pattern.length) { re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); continue; }
    re += c === "%" ? "[\\s\\S]*" : c === "_" ? "[\\s\\S]" : c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export function compileFilter(f: FilterJson): RowFilter {
  if (!f || typeof f !== "object" || typeof f.type !== "string") throw invalidSpec(`Invalid filter [${JSON.stringify(f)}]`);
  switch (f.type) {
    case "true": return () => true;
    case "false": return () => false;
    case "selector": {
      const dim = column(f);
      const value = f.value === undefined || f.value === null ? null : String(f.value);
      return (row, t) => valuesOf(row, t, dim).includes(value);
    }
    case "equals": {
      const dim = column(f, "column");
      if (f.matchValue === undefined || f.matchValue === null) throw invalidSpec("Filter [equals] needs a matchValue");
      const value = String(f.matchValue);
      return (row, t) => valuesOf(row, t, dim).includes(value);
    }
    case "null": {
      const dim = column(f, "column");
      return (row, t) => valuesOf(row, t, dim).includes(null);
    }
    case "in": {
      const dim = column(f);
      if (!Array.isArray(f.values)) throw invalidSpec("Filter [in] needs values");
      const set = new Set((f.values as unknown[]).map((v) => (v === null || v === undefined ? null : String(v))));
      return (row, t) => valuesOf(row, t, dim).some((v) => set.has(v));
    }
    case "regex": {
      const dim = column(f);
      const re = new RegExp(String(f.pattern));
      return (row, t) => valuesOf(row, t, dim).some((v) => v !== null && re.test(v));
    }
    case "like": {
      const dim = column(f);
      const re = likeToRegExp(String(f.pattern), typeof f.escape === "string" ? f.escape : undefined);
      return (row, t) => valuesOf(row, t, dim).some((v) => v !== null && re.test(v));
    }
    case "bound": {
      const dim = column(f);
      const numeric = f.ordering === "numeric" || (typeof f.ordering === "object" && (f.ordering as { type?: string })?.type === "numeric");
      const lower = f.lower === undefined || f.lower === null ? null : String(f.lower);
      const upper = f.upper === undefined || f.upper === null ? null : String(f.upper);
      const cmp = numeric ? (a: string, b: string) => Number(a) - Number(b) : (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      return (row, t) =>
        valuesOf(row, t, dim).some((v) => {
          if (v === null || (numeric && Number.isNaN(Number(v)))) return false;
          if (lower !== null) { const c = cmp(v, lower); if (f.lowerStrict ? c <= 0 : c < 0) return false; }
          if (upper !== null) { const c = cmp(v, upper); if (f.upperStrict ? c >= 0 : c > 0) return false; }
          return true;
        });
    }
    case "and":
    case "or": {
      if (!Array.isArray(f.fields) || f.fields.length === 0) throw invalidSpec(`Filter [${f.type}] needs fields`);
      const parts = (f.fields as FilterJson[]).map(compileFilter);
      return f.type === "and" ? (row, t) => parts.every((p) => p(row, t)) : (row, t) => parts.some((p) => p(row, t));
    }
    case "not": {
      const inner = compileFilter(f.field as FilterJson);
      return (row, t) => !inner(row, t);
    }
    default:
      throw unsupported(`Filter type [${f.type}] is not supported in transformSpec`);
  }
}
