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
import initParquetWasm, {
  Compression, Encoding, Table as WasmTable, WriterPropertiesBuilder, transformParquetStream, type RecordBatch as WasmRecordBatch,
} from "parquet-wasm/esm";
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

/**
 * Rows per row group. The writer is fed one group at a time (its Arrow data built, handed over
 * and released), so its memory is bounded by a group, not by the segment (Druid's default
 * segment holds up to 5,000,000 rows).
 */
export const ROW_GROUP_ROWS = 100_000;

function sliceOf<T>(values: ArrayLike<T>, start: number, end: number): ArrayLike<T> {
  return ArrayBuffer.isView(values) ? (values as unknown as Float64Array).subarray(start, end) as unknown as ArrayLike<T> : Array.prototype.slice.call(values, start, end);
}

/**
 * Rows [start, end) of a dictionary column, with a dictionary of only the values they use (in
 * first-use order): the caller may hand over a dictionary shared with other segments.
 */
function sliceDictionary(col: DictionaryColumn, start: number, end: number): DictionaryColumn {
  const dictionary: DictionaryColumn["dictionary"][number][] = [];
  const ids = new Int32Array(end - start);
  // a dense remap table when the dictionary is not much larger than the slice, else a map
  const dense = col.dictionary.length <= 4 * (end - start) ? new Int32Array(col.dictionary.length).fill(-1) : null;
  const sparse = dense ? null : new Map<number, number>();
  for (let i = start; i < end; i++) {
    const g = col.ids[i]!;
    if (g < 0) { ids[i - start] = -1; continue; }
    let l = dense ? dense[g]! : (sparse!.get(g) ?? -1);
    if (l < 0) {
      l = dictionary.length;
      dictionary.push(col.dictionary[g]!);
      if (dense) dense[g] = l;
      else sparse!.set(g, l);
    }
    ids[i - start] = l;
  }
  return { dictionary, ids };
}

/** Rows [start, end) of the segment as one Arrow record batch in the writer's memory. */
function wasmBatch(cols: SegmentColumns, start: number, end: number): WasmRecordBatch[] {
  const columns: ArrowColumn[] = [timeColumn("__time", sliceOf(cols.time, start, end))];
  cols.meta.dimensions.forEach((d, i) => {
    const col = cols.dimensions[i]!;
    columns.push(dimensionColumn(d, Array.isArray(col) ? (sliceOf(col, start, end) as SegmentValue[]) : sliceDictionary(col, start, end), i));
  });
  cols.meta.metrics.forEach((m, i) => {
    const values = sliceOf(cols.metrics[i]!, start, end);
    columns.push(m.kind === "long" ? int64Column(m.name, values) : float64Column(m.name, values));
  });
  return WasmTable.fromIPCStream(tableToIPC(arrowTable(columns, end - start), "stream")).recordBatches();
}

/** Encodes one segment's rows as a Parquet file, one row group of at most `rowGroupRows` at a time. */
export async function writeSegmentParquet(cols: SegmentColumns, rowGroupRows = ROW_GROUP_ROWS): Promise<Uint8Array> {
  await loadParquetWriter();
  const n = cols.time.length;
  const props = new WriterPropertiesBuilder()
    .setCompression(Compression.SNAPPY)
    // sorted timestamps delta-pack to a few bits each (a dictionary of them would be ~7 bytes/row)
    .setColumnDictionaryEnabled("__time", false)
    .setColumnEncoding("__time", Encoding.DELTA_BINARY_PACKED)
    .setKeyValueMetadata(new Map([[SEGMENT_METADATA_KEY, JSON.stringify(cols.meta)]]))
    .setCreatedBy("druid-edge")
    .setMaxRowGroupSize(rowGroupRows)
    .build();
  let start = 0;
  let first = true;
  const batches = new ReadableStream<WasmRecordBatch>({
    pull(controller) {
      // an empty segment still sends one (empty) batch: the schema comes from it
      if (start >= n && !first) return controller.close();
      const end = Math.min(n, start + rowGroupRows);
      for (const b of wasmBatch(cols, start, end)) controller.enqueue(b);
      start = end;
      first = false;
    },
  });
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of (await transformParquetStream(batches, props)) as ReadableStream<Uint8Array>) {
    parts.push(part);
    size += part.byteLength;
  }
  const file = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    file.set(p, at);
    at += p.byteLength;
  }
  return file;
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
