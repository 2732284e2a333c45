/**
 * Druid's inputFormats for text: `json` (one object per line), `csv` (RFC 4180 quoting: quoted
 * fields may hold the delimiter, `""` and line breaks) and `tsv` (Druid's DelimitedInputFormat:
 * `delimiter`, default tab, no quoting). csv/tsv take `columns`, or `findColumnsFromHeader`, and
 * `skipHeaderRows` (lines skipped before the header); values containing `listDelimiter`
 * (default \u0001) become multi-value lists. A parser is per entity (each file has its header).
 */
import { invalidSpec, unsupported } from "./errors.ts";

export type InputFormatJson =
  | { type: "json"; flattenSpec?: unknown; featureSpec?: unknown; keepNullColumns?: boolean }
  | { type: "csv" | "tsv"; columns?: string[]; findColumnsFromHeader?: boolean; hasHeaderRow?: boolean; skipHeaderRows?: number; listDelimiter?: string; delimiter?: string }
  | { type: string; [field: string]: unknown };

/** One line's outcome: a row, a parse error, or nothing (header, skipped line, quoted line break). */
export type ParsedLine = { row: Record<string, unknown>; input: string } | { error: string; input: string } | null;

export interface LineParser {
  parse(line: string): ParsedLine;
  /** Called at the end of the entity (an unterminated quoted field is an error). */
  finish(): ParsedLine;
}

export type LineParserFactory = () => LineParser;

export function planInputFormat(format: InputFormatJson | undefined): LineParserFactory {
  if (!format || typeof format !== "object") throw invalidSpec("ioConfig.inputFormat is required");
  switch (format.type) {
    case "json": {
      const f = format as { flattenSpec?: { useFieldDiscovery?: boolean; fields?: unknown[] } };
      if (f.flattenSpec && Array.isArray(f.flattenSpec.fields) && f.flattenSpec.fields.length > 0) throw unsupported("json flattenSpec fields are not supported");
      return () => jsonParser();
    }
    case "csv":
    case "tsv":
      return delimitedFactory(format as Extract<InputFormatJson, { type: "csv" | "tsv" }>);
    default:
      throw unsupported(`inputFormat type [${format.type}] is not supported; supported: json, csv, tsv`);
  }
}

function jsonParser(): LineParser {
  return {
    parse(line) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return { error: `Unable to parse row [${line}]`, input: line };
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) return { error: `Unable to parse row [${line}]`, input: line };
      return { row: value as Record<string, unknown>, input: line };
    },
    finish: () => null,
  };
}

/** Splits one CSV record (RFC 4180). Returns null when a quoted field is still open. */
export function splitCsv(record: string, delimiter = ","): string[] | null {
  if (!record.includes('"')) return record.split(delimiter);
  const out: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  let atStart = true;
  while (i < record.length) {
    const c = record[i]!;
    if (quoted) {
      if (c === '"') {
        if (record[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      field += c; i++; continue;
    }
    if (c === '"' && atStart) { quoted = true; atStart = false; i++; continue; }
    if (record.startsWith(delimiter, i)) { out.push(field); field = ""; atStart = true; i += delimiter.length; continue; }
    field += c; atStart = false; i++;
  }
  if (quoted) return null;
  out.push(field);
  return out;
}

function delimitedFactory(f: Extract<InputFormatJson, { type: "csv" | "tsv" }>): LineParserFactory {
  const csv = f.type === "csv";
  const delimiter = csv ? "," : (f.delimiter ?? "\t");
  if (typeof delimiter !== "string" || delimiter === "") throw invalidSpec("tsv delimiter must be a non-empty string");
  const listDelimiter = f.listDelimiter ?? "\u0001";
  const fromHeader = f.findColumnsFromHeader ?? f.hasHeaderRow ?? false;
  const skip = f.skipHeaderRows ?? 0;
  if (!Number.isInteger(skip) || skip < 0) throw invalidSpec("skipHeaderRows must be a non-negative integer");
  const columns = f.columns;
  if (columns !== undefined && (!Array.isArray(columns) || columns.some((c) => typeof c !== "string"))) throw invalidSpec(`${f.type} columns must be a list of names`);
  if (!fromHeader && (!columns || columns.length === 0)) throw invalidSpec(`${f.type} inputFormat needs columns, or findColumnsFromHeader: true`);
  if (columns && new Set(columns).size !== columns.length) throw invalidSpec(`Duplicate column names in [${columns.join(", ")}]`);
  if (columns && columns.some((c) => c.includes(delimiter))) throw invalidSpec(`Column names cannot contain the delimiter [${delimiter}]`);

  const toValue = (v: string): unknown => (v.includes(listDelimiter) ? v.split(listDelimiter) : v);
  return () => {
    let names: string[] | null = fromHeader ? null : columns!;
    let skipped = 0;
    let pending: string | null = null; // an unterminated quoted record
    return {
      parse(line) {
        if (skipped < skip) { skipped++; return null; }
        const record = pending === null ? line : `${pending}\n${line}`;
        const values = csv ? splitCsv(record, delimiter) : record.split(delimiter);
        if (values === null) { pending = record; return null; }
        pending = null;
        if (names === null) {
          names = values.map((v) => v.trim());
          if (names.length === 0 || names.some((n) => n === "")) return { error: `Unable to parse header row [${record}]: empty column name`, input: record };
          return null;
        }
        const row: Record<string, unknown> = {};
        const n = Math.min(names.length, values.length);
        for (let i = 0; i < n; i++) row[names[i]!] = toValue(values[i]!);
        for (let i = n; i < names.length; i++) row[names[i]!] = null;
        return { row, input: record };
      },
      finish() {
        if (pending === null) return null;
        const input = pending;
        pending = null;
        return { error: `Unable to parse row [${input}]: unterminated quoted field`, input };
      },
    };
  };
}
