/**
 * Errors of the ingestion core. `IngestionError` fails the whole task (bad spec, unreadable
 * input, too many parse exceptions); `RowParseError` is about one input row and is counted, not
 * fatal (Druid's ParseException). `javaString` prints values the way Druid's messages do (Java's
 * Map/List toString), so unparseable-event messages read like Druid's.
 */

export type IngestionErrorCode = "invalidSpec" | "unsupported" | "inputSource" | "maxParseExceptions";

export class IngestionError extends Error {
  readonly code: IngestionErrorCode;
  /** Row stats and saved parse exceptions at the time of failure (set by runIngestion), for the task report. */
  rowStats?: import("./rowStats.ts").RowStats;
  unparseableEvents?: import("./rowStats.ts").ParseExceptionReport[];
  constructor(code: IngestionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "IngestionError";
    this.code = code;
  }
}

export const invalidSpec = (message: string) => new IngestionError("invalidSpec", message);
export const unsupported = (message: string) => new IngestionError("unsupported", message);

/** A problem with one row (unparseable) or one of its columns (processed with error). */
export class RowParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RowParseError";
  }
}

/** Java's toString for the values Druid prints in its messages: `{a=1, b=[x, y]}`. */
export function javaString(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return `[${value.map(javaString).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${javaString(v)}`).join(", ")}}`;
  }
  return String(value);
}

/** Druid's `rawMapToPrint`: the row as Java prints it, cut at 100 characters. */
export function rowToPrint(row: Record<string, unknown>): string {
  const s = javaString(row);
  return s.length < 100 ? s : `${s.slice(0, 100)}...`;
}
