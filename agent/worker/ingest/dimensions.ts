/**
 * Druid's dimensionsSpec: the dimension schemas (string / long / float / double), exclusions and
 * schemaless discovery, plus the conversion of a raw input value into what a dimension stores.
 *
 * Discovery (empty `dimensions`, or `includeAllDimensions`): every input field not excluded
 * becomes a string dimension, in first-seen order. The timestamp column, `__time`, and every
 * aggregator name and input field are always excluded. JSON fields holding objects (or lists of
 * objects) are not discovered, as Druid's default flattenSpec only discovers root-level
 * primitives and lists of primitives.
 *
 * String values: numbers and booleans are written as text; a list is a multi-value row, sorted
 * (`SORTED_ARRAY`, Druid's default), de-duplicated (`SORTED_SET`) or kept (`ARRAY`); an empty
 * list is null and a one-element list its element. Numeric dimensions take numbers or numeric
 * text (long truncates); anything else is null and reported, the row is processed with error.
 */
import { invalidSpec, javaString, unsupported } from "./errors.ts";

export type DimensionType = "string" | "long" | "float" | "double";
export type MultiValueHandling = "SORTED_ARRAY" | "SORTED_SET" | "ARRAY";

export interface DimensionSchema {
  name: string;
  type: DimensionType;
  multiValueHandling: MultiValueHandling;
}

export type DimensionSchemaJson = string | { name: string; type?: string; multiValueHandling?: string; createBitmapIndex?: boolean };

export interface DimensionsSpecJson {
  dimensions?: DimensionSchemaJson[];
  dimensionExclusions?: string[];
  includeAllDimensions?: boolean;
  useSchemaDiscovery?: boolean;
  spatialDimensions?: unknown[];
}

/** A stored string dimension value: null, one string, or a multi-value list (≥ 2 entries). */
export type StringDimValue = string | string[] | null;

export interface DimensionsPlan {
  explicit: DimensionSchema[];
  /** Discover further (string) dimensions from the input. */
  discover: boolean;
  exclusions: Set<string>;
}

export function planDimensions(spec: DimensionsSpecJson | undefined, alwaysExcluded: Iterable<string>): DimensionsPlan {
  const s = spec ?? {};
  if (s.dimensions !== undefined && !Array.isArray(s.dimensions)) throw invalidSpec("dimensionsSpec.dimensions must be a list");
  if (s.spatialDimensions && s.spatialDimensions.length > 0) throw unsupported("spatialDimensions are not supported");
  const explicit: DimensionSchema[] = (s.dimensions ?? []).map((d) => {
    if (typeof d === "string") return { name: d, type: "string", multiValueHandling: "SORTED_ARRAY" };
    if (!d || typeof d !== "object" || typeof d.name !== "string" || d.name === "") throw invalidSpec(`Invalid dimension [${JSON.stringify(d)}]: needs a name`);
    const type = (d.type ?? "string").toLowerCase();
    if (type !== "string" && type !== "long" && type !== "float" && type !== "double") {
      throw unsupported(`Dimension [${d.name}] has type [${d.type}]; supported: string, long, float, double`);
    }
    const mvh = (d.multiValueHandling ?? "SORTED_ARRAY").toUpperCase();
    if (mvh !== "SORTED_ARRAY" && mvh !== "SORTED_SET" && mvh !== "ARRAY") throw invalidSpec(`Invalid multiValueHandling [${d.multiValueHandling}]`);
    return { name: d.name, type, multiValueHandling: mvh };
  });
  const names = new Set<string>();
  for (const d of explicit) {
    if (d.name === "__time") throw invalidSpec("Dimension name [__time] is reserved");
    if (names.has(d.name)) throw invalidSpec(`Duplicate column entries found : [${d.name}]`);
    names.add(d.name);
  }
  const exclusions = new Set<string>([...(s.dimensionExclusions ?? []), ...alwaysExcluded, "__time"]);
  for (const d of explicit) exclusions.delete(d.name);
  return { explicit, discover: explicit.length === 0 || s.includeAllDimensions === true, exclusions };
}

/** Whether a JSON value is something Druid's default flattenSpec discovers (primitive or list of primitives). */
export function isDiscoverable(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  return Array.isArray(value) && value.every((v) => v === null || typeof v !== "object");
}

const toText = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "object") return javaString(v);
  return String(v);
};

/** Decimal numbers as Java's Long/Double parsers read them (no hex, no empty string). */
export const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?Infinity$/;

const compareNullsFirst = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);

/** A raw value as a string dimension stores it. */
export function toStringDimValue(value: unknown, handling: MultiValueHandling): StringDimValue {
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) return toText(value);
  let list = value.map(toText) as (string | null)[];
  if (handling !== "ARRAY") list.sort(compareNullsFirst);
  if (handling === "SORTED_SET") list = list.filter((v, i) => i === 0 || v !== list[i - 1]);
  if (list.length === 0) return null;
  if (list.length === 1) return list[0]!;
  return list.map((v) => v ?? "") as string[]; // nulls inside a list are kept as empty entries
}

/**
 * A raw value as a numeric dimension stores it: a number, or null. `problems` collects Druid's
 * message when the value cannot be converted (the row is then processed with error).
 */
export function toNumericDimValue(value: unknown, type: "long" | "float" | "double", problems: string[]): number | null {
  if (value === null || value === undefined) return null;
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "boolean") n = value ? 1 : 0;
  else if (typeof value === "bigint") n = Number(value);
  else if (typeof value === "string") {
    const s = value.trim();
    if (s === "") return null;
    n = NUMBER_RE.test(s) ? Number(s) : Number.NaN;
    if (Number.isNaN(n)) {
      problems.push(`could not convert value [${value}] to ${type}`);
      return null;
    }
  } else {
    problems.push(Array.isArray(value)
      ? `Could not ingest value [${javaString(value)}] as ${type}. A ${type} column cannot have multiple values in the same row.`
      : `could not convert value [${javaString(value)}] to ${type}`);
    return null;
  }
  if (type === "long") {
    if (!Number.isFinite(n)) { problems.push(`could not convert value [${javaString(value)}] to long`); return null; }
    return Math.trunc(n);
  }
  return type === "float" ? Math.fround(n) : n;
}
