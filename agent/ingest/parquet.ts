/**
 * Segment files as Apache Parquet (layout in docs/segments.md): one row per (rolled-up) Druid
 * row, sorted by `__time`; `__time` is INT64 TIMESTAMP(MILLIS, UTC), string dimensions UTF8 (a
 * multi-value dimension is a LIST of UTF8), long dimensions and long metrics INT64, float and
 * double ones DOUBLE; every column but `__time` is nullable. The key-value metadata entry
 * `druid.segment` holds the schema in Druid's terms (dimension types, aggregators, granularity),
 * so a segment can be re-read and re-ingested (compaction) without its DataSegment.
 * Written by parquet-wasm (the Rust `parquet` crate compiled to WebAssembly) from an Arrow table
 * built over the index's own arrays (arrowColumns.ts): `__time` delta-packed, other columns
 * dictionary-encoded (plain past a 1 MB dictionary), SNAPPY pages. Read back with hyparquet.
 */
import { gunzipSync } from "node:zlib";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { tableToIPC } from "apache-arrow";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import initParquetWasm, { Compression, Encoding, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from "parquet-wasm/esm";
import type { AggregatorJson, MetricKind } from "./aggregators.ts";
import type { DimensionType } from "./dimensions.ts";
import {
  arrowTable, float64Column, int64Column, stringColumn, stringListColumn, timeColumn, type ArrowColumn, type DictionaryColumn,
} from "./arrowColumns.ts";

export type { DictionaryColumn } from "./arrowColumns.ts";

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
  /**
   * Per dimension, in `meta.dimensions` order: string dimensions dictionary-encoded (or as plain
   * values), numeric ones as numbers or null.
   */
  dimensions: (DictionaryColumn | SegmentValue[])[];
  /** Values per metric, in `meta.metrics` order. */
  metrics: (number | null)[][];
}

/** Plain string values as a dictionary column (for callers that hold values, not ids). */
function dictionaryOf(values: SegmentValue[]): DictionaryColumn {
  const dictionary: (string | string[])[] = [];
  const index = new Map<string, number>();
  const ids = new Int32Array(values.length);
  values.forEach((v, i) => {
    if (v === null) return void (ids[i] = -1);
    const value = typeof v === "number" ? String(v) : v;
    const key = typeof value === "string" ? value : JSON.stringify(value);
    let id = index.get(key);
    if (id === undefined) {
      id = dictionary.length;
      dictionary.push(value);
      index.set(key, id);
    }
    ids[i] = id;
  });
  return { dictionary, ids };
}

function dimensionColumn(d: SegmentDimensionMeta, col: DictionaryColumn | SegmentValue[], dictionaryId: number): ArrowColumn {
  if (d.type === "string") {
    const dict = Array.isArray(col) ? dictionaryOf(col) : col;
    return d.multiValue ? stringListColumn(d.name, dict) : stringColumn(d.name, dict, dictionaryId);
  }
  if (!Array.isArray(col)) throw new Error(`Dimension ${d.name} (${d.type}) must be given as numbers`);
  const values = col as (number | null)[];
  return d.type === "long" ? int64Column(d.name, values) : float64Column(d.name, values);
}

let writerReady: Promise<unknown> | null = null;

/**
 * Compiles the writer's WebAssembly (~5 MB) asynchronously, once per process: V8 compiles it on
 * background threads, so an ingestion that starts this before reading its input gets it while
 * it parses (a synchronous compile would stall the task ~100 ms).
 */
export function loadParquetWriter(): Promise<unknown> {
  writerReady ??= readFile(createRequire(import.meta.url).resolve("parquet-wasm/esm/parquet_wasm_bg.wasm")).then((bytes) =>
    initParquetWasm({ module_or_path: bytes }),
  );
  return writerReady;
}

/** Encodes one segment's rows as a Parquet file. */
export async function writeSegmentParquet(cols: SegmentColumns): Promise<Uint8Array> {
  await loadParquetWriter();
  const n = cols.time.length;
  const columns: ArrowColumn[] = [timeColumn("__time", cols.time)];
  cols.meta.dimensions.forEach((d, i) => columns.push(dimensionColumn(d, cols.dimensions[i]!, i)));
  cols.meta.metrics.forEach((m, i) =>
    columns.push(m.kind === "long" ? int64Column(m.name, cols.metrics[i]!) : float64Column(m.name, cols.metrics[i]!)),
  );
  const ipc = tableToIPC(arrowTable(columns, n), "stream");
  const props = new WriterPropertiesBuilder()
    .setCompression(Compression.SNAPPY)
    // sorted timestamps delta-pack to a few bits each (a dictionary of them would be ~7 bytes/row)
    .setColumnDictionaryEnabled("__time", false)
    .setColumnEncoding("__time", Encoding.DELTA_BINARY_PACKED)
    .setKeyValueMetadata(new Map([[SEGMENT_METADATA_KEY, JSON.stringify(cols.meta)]]))
    .setCreatedBy("druid-edge")
    .setMaxRowGroupSize(100_000)
    .build();
  return writeParquet(WasmTable.fromIPCStream(ipc), props);
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
    // files written before the switch to parquet-wasm have GZIP pages
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
