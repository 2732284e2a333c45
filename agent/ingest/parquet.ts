/**
 * Segment files as Apache Parquet (layout in docs/segments.md): one row per (rolled-up) Druid
 * row, sorted by `__time`; `__time` is INT64 TIMESTAMP_MILLIS, string dimensions UTF8 (a
 * multi-value dimension is a LIST of UTF8), long dimensions and long metrics INT64, float and
 * double ones DOUBLE; every column but `__time` is nullable. The key-value metadata entry
 * `druid.segment` holds the schema in Druid's terms (dimension types, aggregators, granularity),
 * so a segment can be re-read and re-ingested (compaction) without its DataSegment.
 * `__time` is DELTA_BINARY_PACKED with min/max statistics; high-cardinality string columns are
 * GZIP-compressed (node's zlib, level 1: native and fast; every Parquet tool reads it), the
 * rest is dictionary- or plain-encoded without compression. Written with hyparquet-writer, read with hyparquet.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { parquetMetadata, parquetReadObjects, type SchemaElement } from "hyparquet";
import { parquetWriteBuffer, type ColumnSource } from "hyparquet-writer";
import type { AggregatorJson, MetricKind } from "./aggregators.ts";
import type { DimensionType } from "./dimensions.ts";

export const SEGMENT_METADATA_KEY = "druid.segment";

export interface SegmentDimensionMeta {
  name: string;
  type: DimensionType;
  /** Stored as a LIST column (some row has several values). */
  multiValue: boolean;
}

export interface SegmentMetricMeta {
  name: string;
  kind: MetricKind;
  /** The aggregator that produced the column (Druid's metricsSpec entry). */
  aggregator: AggregatorJson;
}

export interface SegmentFileMeta {
  format: "druid-edge-segment";
  formatVersion: 1;
  dataSource: string;
  /** `start/end`, ISO-8601. */
  interval: string;
  queryGranularity: string;
  rollup: boolean;
  numRows: number;
  minTime: number | null;
  maxTime: number | null;
  dimensions: SegmentDimensionMeta[];
  metrics: SegmentMetricMeta[];
}

export type SegmentValue = string | string[] | number | null;
export type SegmentRow = { __time: number } & Record<string, SegmentValue>;

export interface SegmentColumns {
  meta: SegmentFileMeta;
  /** `__time` of each row, sorted ascending. */
  time: ArrayLike<number>;
  /** Values per dimension, in `meta.dimensions` order. */
  dimensions: SegmentValue[][];
  /** Values per metric, in `meta.metrics` order. */
  metrics: (number | null)[][];
  /** Distinct non-null values per dimension, if the caller knows them (else counted here). */
  cardinalities?: number[];
}

const optional = (name: string, type: SchemaElement["type"], converted?: SchemaElement["converted_type"]): SchemaElement => ({
  name, type, repetition_type: "OPTIONAL", ...(converted ? { converted_type: converted } : {}),
});

const toBigInts = (values: ArrayLike<number | null>) => Array.from(values, (v) => (v === null ? null : BigInt(Math.trunc(v))));

/** Encodes one segment's rows as a Parquet file. */
export function writeSegmentParquet(cols: SegmentColumns): Uint8Array {
  const schema: SchemaElement[] = [{ name: "root", num_children: 1 + cols.meta.dimensions.length + cols.meta.metrics.length }];
  const columnData: ColumnSource[] = [];
  schema.push({ name: "__time", type: "INT64", converted_type: "TIMESTAMP_MILLIS", repetition_type: "REQUIRED" });
  columnData.push({
    name: "__time", data: Array.from(cols.time), nullable: false, statistics: true, // the writer makes the BigInts
    encoding: "DELTA_BINARY_PACKED", codec: "UNCOMPRESSED",
  });

  cols.meta.dimensions.forEach((d, i) => {
    const values = cols.dimensions[i]!;
    const cardinality = cols.cardinalities?.[i] ?? new Set(values.map((v) => (Array.isArray(v) ? v.join("\u0000") : v))).size;
    // dictionary-encode when values repeat (decided here, so the writer skips its own sampling);
    // dictionary-encoded columns are already small, compress the other string columns
    const encoding = cardinality * 2 <= values.length ? "RLE_DICTIONARY" : "PLAIN";
    const codec = d.type === "string" && cardinality > values.length / 10 ? "GZIP" : "UNCOMPRESSED";
    if (d.type === "string" && d.multiValue) {
      schema.push(
        { name: d.name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        { name: "element", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      );
      columnData.push({ name: d.name, data: values.map((v) => (v === null ? null : Array.isArray(v) ? v : [String(v)])), codec, encoding });
    } else if (d.type === "string") {
      schema.push(optional(d.name, "BYTE_ARRAY", "UTF8"));
      columnData.push({ name: d.name, data: values as (string | null)[], codec, encoding });
    } else if (d.type === "long") {
      schema.push(optional(d.name, "INT64"));
      columnData.push({ name: d.name, data: toBigInts(values as (number | null)[]), codec, encoding });
    } else {
      schema.push(optional(d.name, "DOUBLE"));
      columnData.push({ name: d.name, data: values as (number | null)[], codec, encoding });
    }
  });

  cols.meta.metrics.forEach((m, i) => {
    const values = cols.metrics[i]!;
    if (m.kind === "long") {
      schema.push(optional(m.name, "INT64"));
      columnData.push({ name: m.name, data: toBigInts(values), codec: "UNCOMPRESSED" });
    } else {
      schema.push(optional(m.name, "DOUBLE"));
      columnData.push({ name: m.name, data: values, codec: "UNCOMPRESSED" });
    }
  });

  const buf = parquetWriteBuffer({
    columnData,
    schema,
    codec: "GZIP",
    compressors: { GZIP: (input) => gzipSync(input, { level: 1 }) },
    statistics: false,
    rowGroupSize: 100_000,
    kvMetadata: [{ key: SEGMENT_METADATA_KEY, value: JSON.stringify(cols.meta) }],
    createdBy: "druid-edge",
  });
  return new Uint8Array(buf);
}

const asArrayBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : (bytes.slice().buffer as ArrayBuffer);

/** The `druid.segment` metadata of a segment file. */
export function readSegmentMeta(bytes: Uint8Array): SegmentFileMeta {
  const md = parquetMetadata(asArrayBuffer(bytes));
  const kv = md.key_value_metadata?.find((e) => e.key === SEGMENT_METADATA_KEY);
  if (!kv?.value) throw new Error("Not a druid-edge segment file: no druid.segment metadata");
  return JSON.parse(kv.value) as SegmentFileMeta;
}

/** All rows of a segment file, in file order (sorted by `__time`), with plain JS values. */
export async function readSegmentParquet(bytes: Uint8Array): Promise<{ meta: SegmentFileMeta; rows: SegmentRow[] }> {
  const file = asArrayBuffer(bytes);
  const meta = readSegmentMeta(bytes);
  const raw = await parquetReadObjects({
    file,
    compressors: { GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)) },
    parsers: { timestampFromMilliseconds: (ms: bigint) => Number(ms) },
  });
  const names = ["__time", ...meta.dimensions.map((d) => d.name), ...meta.metrics.map((m) => m.name)];
  const rows = raw.map((r) => {
    const row = {} as SegmentRow;
    for (const name of names) {
      const v = r[name];
      row[name] = v === undefined || v === null ? null : typeof v === "bigint" ? Number(v) : v;
    }
    return row;
  });
  return { meta, rows };
}
