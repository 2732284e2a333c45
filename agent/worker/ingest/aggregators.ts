/**
 * Druid's ingestion-time aggregators (metricsSpec): count, long/double/float sum, min and max.
 * An aggregator reads its `fieldName` from the raw row (Druid's `Rows.objectToNumber`: numbers,
 * or text with commas removed; text that is not a number is a parse error and the row is
 * processed with error) and folds it into the stored value. Nulls are skipped, so a metric whose
 * inputs were all null stays null (Druid's SQL-compatible null handling); `count` counts input
 * rows. long metrics truncate, float metrics round to 32 bits after every step (as Java's float).
 * Values are held as doubles: long sums are exact up to 2^53.
 */
import { invalidSpec, unsupported } from "./errors.ts";
import { NUMBER_RE } from "./dimensions.ts";

export interface AggregatorJson {
  type: string;
  name: string;
  fieldName?: string;
  expression?: string;
}

export type MetricKind = "long" | "double" | "float";
export type MetricOp = "count" | "sum" | "min" | "max";

export interface AggregatorSpec {
  /** The JSON as given (kept in segment metadata for re-ingestion). */
  json: AggregatorJson;
  name: string;
  fieldName: string | null;
  kind: MetricKind;
  op: MetricOp;
}

const TYPES: Record<string, [MetricKind, MetricOp]> = {
  count: ["long", "count"],
  longSum: ["long", "sum"], doubleSum: ["double", "sum"], floatSum: ["float", "sum"],
  longMin: ["long", "min"], doubleMin: ["double", "min"], floatMin: ["float", "min"],
  longMax: ["long", "max"], doubleMax: ["double", "max"], floatMax: ["float", "max"],
};

export function planAggregators(metricsSpec: AggregatorJson[] | undefined): AggregatorSpec[] {
  if (metricsSpec !== undefined && !Array.isArray(metricsSpec)) throw invalidSpec("metricsSpec must be a list");
  const names = new Set<string>();
  return (metricsSpec ?? []).map((a) => {
    if (!a || typeof a !== "object" || typeof a.type !== "string") throw invalidSpec(`Invalid aggregator [${JSON.stringify(a)}]`);
    const t = TYPES[a.type];
    if (!t) throw unsupported(`Aggregator type [${a.type}] is not supported; supported: ${Object.keys(TYPES).join(", ")}`);
    if (typeof a.name !== "string" || a.name === "") throw invalidSpec(`Aggregator [${a.type}] needs a name`);
    if (a.name === "__time") throw invalidSpec("Metric name [__time] is reserved");
    if (names.has(a.name)) throw invalidSpec(`Duplicate column entries found : [${a.name}]`);
    names.add(a.name);
    if (a.expression !== undefined) throw unsupported(`Aggregator [${a.name}]: expressions are not supported`);
    if (t[1] !== "count" && (typeof a.fieldName !== "string" || a.fieldName === "")) throw invalidSpec(`Aggregator [${a.name}] needs a fieldName`);
    return { json: a, name: a.name, fieldName: t[1] === "count" ? null : a.fieldName!, kind: t[0], op: t[1] };
  });
}

/** The numeric input of an aggregator, or null; pushes Druid's message to `problems` when unreadable. */
export function metricInput(value: unknown, agg: AggregatorSpec, problems: string[]): number | null {
  if (value === null || value === undefined) return null;
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "boolean") n = value ? 1 : 0;
  else if (typeof value === "bigint") n = Number(value);
  else if (typeof value === "string") {
    const s = value.trim().replaceAll(",", "").replace(/^\+/, "");
    if (s === "") return null;
    if (!NUMBER_RE.test(s) && s !== "NaN") {
      problems.push(`Unable to parse value[${value}] for field[${agg.fieldName}]`);
      return null;
    }
    n = Number(s);
  } else {
    problems.push(`Unable to parse value[${Array.isArray(value) ? `[${value.join(", ")}]` : String(value)}] for field[${agg.fieldName}]`);
    return null;
  }
  if (agg.kind === "long") return Number.isFinite(n) ? Math.trunc(n) : n > 0 ? Number.MAX_SAFE_INTEGER : n < 0 ? Number.MIN_SAFE_INTEGER : 0;
  return agg.kind === "float" ? Math.fround(n) : n;
}

/**
 * Folds `input` into the stored `(value, has)` pair and returns the new value; `has` tells
 * whether a value existed before. The caller keeps a has-value flag per row and metric.
 */
export function fold(agg: AggregatorSpec, current: number, has: boolean, input: number): number {
  if (!has) return input;
  switch (agg.op) {
    case "count":
    case "sum": return agg.kind === "float" ? Math.fround(current + input) : current + input;
    case "min": return input < current ? input : current;
    case "max": return input > current ? input : current;
  }
}
