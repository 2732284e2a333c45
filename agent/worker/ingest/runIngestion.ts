/**
 * Batch ingestion, start to finish, without I/O of its own beyond reading the input: spec →
 * input entities → lines → rows → (timestamp, filter, intervals) → rollup per segment bucket →
 * sorted partitions of at most maxRowsPerSegment rows → one Parquet file each, plus Druid's row
 * stats. It runs inside an agent's task process; publishing (allocation, deep storage, metadata)
 * is the caller's.
 *
 * Order per row, as Druid: parse (unparseable on failure) → timestamp (unparseable) →
 * transformSpec filter (thrownAway) → granularitySpec intervals: kept when the row's segment
 * bucket overlaps one of them (thrownAway) → dimensions and metrics (a column that cannot be read
 * is null and the row counts as processedWithError instead of processed).
 */
import { bucket, bucketStart, formatInterval, overlaps, type Interval } from "../../../src/shared/intervals.ts";
import { IngestionError, RowParseError } from "./errors.ts";
import { metricInput } from "./aggregators.ts";
import { isDiscoverable, toNumericDimValue, toStringDimValue } from "./dimensions.ts";
import { NULL_ID, type StringDictionary } from "./columns.ts";
import { DimensionRegistry, IncrementalIndex, type EncodedRow } from "./incrementalIndex.ts";
import { inputEntities, type InputSourceIO } from "./inputSource.ts";
import { readLines } from "./lines.ts";
import { loadParquetWriter, writeSegmentParquet, type DictionaryColumn, type SegmentColumns, type SegmentFileMeta } from "./parquet.ts";
import { RowMeters, type ParseExceptionReport, type RowStats } from "./rowStats.ts";
import { planIngestion, type IndexSpecJson, type IngestPlan } from "./spec.ts";

export interface IngestIO extends InputSourceIO {
  /** Clock for parse-exception timestamps. */
  now?: () => number;
  /** Stops ingestion between input chunks. */
  signal?: AbortSignal;
  /**
   * Receives each segment as soon as its file is built (then its bytes can be dropped); when set,
   * the result's segments carry no bytes.
   */
  onSegment?: (segment: BuiltSegment) => void | Promise<void>;
}

export interface SegmentInfo {
  dataSource: string;
  interval: Interval;
  /** Index of this partition within its interval, 0-based, and how many the interval has. */
  partitionNum: number;
  numPartitions: number;
  dimensions: string[];
  metrics: string[];
  numRows: number;
  /** File size in bytes. */
  size: number;
  meta: SegmentFileMeta;
}

export interface BuiltSegment extends SegmentInfo {
  /** The Parquet file. */
  bytes: Uint8Array;
}

export interface IngestionResult {
  segments: (SegmentInfo & { bytes?: Uint8Array })[];
  rowStats: RowStats;
  unparseableEvents: ParseExceptionReport[];
}

/** Runs a Druid index spec (or the whole index task JSON). Throws IngestionError for fatal problems. */
export async function runIngestion(spec: IndexSpecJson | { spec: IndexSpecJson }, io: IngestIO): Promise<IngestionResult> {
  const plan = planIngestion(spec);
  const meters = new RowMeters(plan.maxParseExceptions, plan.maxSavedParseExceptions, io.now);
  try {
    const indexer = new Indexer(plan, meters);
    // compiles in the background while the input is parsed; a failure surfaces when writing
    loadParquetWriter().catch(() => {});
    for await (const entity of inputEntities(plan.inputSource, io)) {
      const parser = plan.parserFactory();
      for await (const lines of readLines(entity.open(), entity.name, (n) => meters.bytes(n))) {
        io.signal?.throwIfAborted();
        for (const line of lines) {
          const parsed = parser.parse(line);
          if (parsed === null) continue;
          if ("error" in parsed) meters.unparseable(parsed.input, parsed.error);
          else indexer.add(parsed.row, parsed.input);
        }
      }
      const last = parser.finish();
      if (last) {
        if ("error" in last) meters.unparseable(last.input, last.error);
        else indexer.add(last.row, last.input);
      }
    }
    const segments: IngestionResult["segments"] = [];
    for await (const built of indexer.build()) {
      if (io.onSegment) {
        await io.onSegment(built);
        const { bytes: _bytes, ...info } = built;
        segments.push(info);
      } else segments.push(built);
    }
    return { segments, rowStats: { ...meters.stats }, unparseableEvents: meters.unparseableEvents };
  } catch (e) {
    if (e instanceof IngestionError) {
      e.rowStats = { ...meters.stats };
      e.unparseableEvents = meters.unparseableEvents;
    }
    throw e;
  }
}

/**
 * Dimension `d` of `rows` as the segment file takes it: a string dimension as ids into the
 * ingestion's dictionary for it (the writer keeps only the values each row group uses), a numeric
 * one as numbers or null. `multi`: some row holds a multi-value list.
 */
function dimensionColumn(index: IncrementalIndex, d: number, dict: StringDictionary | null, rows: Int32Array) {
  const n = rows.length;
  const col = index.column(d);
  const data = col?.data, len = col?.length ?? 0;
  if (dict) {
    const ids = new Int32Array(n);
    let multi = false;
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      const c = r < len ? data![r]! : NULL_ID;
      ids[i] = c;
      if (!multi && c !== NULL_ID && typeof dict.values[c] !== "string") multi = true;
    }
    return { column: { dictionary: dict.values, ids } as DictionaryColumn, multi };
  }
  const values: (number | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const c = r < len ? data![r]! : Number.NaN;
    values[i] = c !== c ? null : c;
  }
  return { column: values, multi: false };
}

/** Turns rows into per-bucket incremental indexes, then into segment files. */
class Indexer {
  private readonly registry: DimensionRegistry;
  private readonly buckets = new Map<number, IncrementalIndex>();
  private readonly bucketKept = new Map<number, boolean>();
  private readonly row: EncodedRow = { time: 0, codes: [], metrics: [] };
  private readonly explicitCount: number;

  constructor(private readonly plan: IngestPlan, private readonly meters: RowMeters) {
    this.registry = new DimensionRegistry(plan.dimensions.explicit);
    this.explicitCount = plan.dimensions.explicit.length;
  }

  add(raw: Record<string, unknown>, input: string): void {
    const plan = this.plan;
    let t: number;
    try {
      t = plan.timestamp(raw);
    } catch (e) {
      if (!(e instanceof RowParseError)) throw e;
      this.meters.unparseable(input, e.message);
      return;
    }
    if (plan.filter && !plan.filter(raw, t)) { this.meters.thrownAway(); return; }
    const segStart = bucketStart(plan.segmentGranularity, t);
    let kept = this.bucketKept.get(segStart);
    if (kept === undefined) {
      const b = bucket(plan.segmentGranularity, t);
      kept = plan.intervals === null || plan.intervals.some((i) => overlaps(i, b));
      this.bucketKept.set(segStart, kept);
    }
    if (!kept) { this.meters.thrownAway(); return; }

    if (plan.dimensions.discover) {
      for (const key in raw) {
        if (this.registry.indexOf(key) === undefined && !plan.dimensions.exclusions.has(key) && isDiscoverable(raw[key])) {
          this.registry.add({ name: key, type: "string", multiValueHandling: "SORTED_ARRAY" });
        }
      }
    }

    const problems: string[] = [];
    const row = this.row;
    row.time = plan.queryGranularity === "none" ? t : bucketStart(plan.queryGranularity, t);
    const { schemas, dictionaries } = this.registry;
    row.codes.length = schemas.length;
    for (let d = 0; d < schemas.length; d++) {
      const s = schemas[d]!;
      const v = raw[s.name];
      const dict = dictionaries[d];
      if (dict) row.codes[d] = dict.idOf(typeof v === "string" ? v : v === null || v === undefined ? null : toStringDimValue(v, s.multiValueHandling));
      else row.codes[d] = toNumericDimValue(v, s.type as "long" | "float" | "double", problems) ?? Number.NaN;
    }
    const aggs = plan.aggregators;
    row.metrics.length = aggs.length;
    for (let m = 0; m < aggs.length; m++) {
      const a = aggs[m]!;
      row.metrics[m] = a.fieldName === null ? null : metricInput(raw[a.fieldName], a, problems);
    }

    let index = this.buckets.get(segStart);
    if (!index) {
      index = new IncrementalIndex(bucket(plan.segmentGranularity, t), this.registry, aggs, plan.rollup);
      this.buckets.set(segStart, index);
    }
    index.add(row);
    if (problems.length > 0) this.meters.processedWithError(input, problems);
    else this.meters.processed();
  }

  /** Segment files in time order; each bucket's memory is released once its files are built. */
  async *build(): AsyncGenerator<BuiltSegment> {
    const plan = this.plan;
    const starts = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const start of starts) {
      const index = this.buckets.get(start)!;
      this.buckets.delete(start);
      const order = index.sortedOrder();
      const numPartitions = Math.max(1, Math.ceil(order.length / plan.maxRowsPerSegment));
      for (let p = 0; p < numPartitions; p++) {
        const rows = order.subarray(p * plan.maxRowsPerSegment, Math.min(order.length, (p + 1) * plan.maxRowsPerSegment));
        yield await this.segmentFile(index, rows, p, numPartitions);
      }
    }
  }

  private async segmentFile(index: IncrementalIndex, rows: Int32Array, partitionNum: number, numPartitions: number): Promise<BuiltSegment> {
    const plan = this.plan;
    const { schemas, dictionaries } = this.registry;
    const dims: number[] = [];
    for (let d = 0; d < schemas.length; d++) if (d < this.explicitCount || index.hasValues(d, rows)) dims.push(d);
    const time = Float64Array.from(rows, (r) => index.times.data[r]!);
    const dimColumns: SegmentColumns["dimensions"] = [];
    const dimMeta: SegmentFileMeta["dimensions"] = [];
    for (const d of dims) {
      const { column, multi } = dimensionColumn(index, d, dictionaries[d] ?? null, rows);
      dimColumns.push(column);
      dimMeta.push({ name: schemas[d]!.name, type: schemas[d]!.type, multiValue: multi });
    }
    const metricValues = plan.aggregators.map((_, m) => Array.from(rows, (r) => index.metric(m, r)));
    const meta: SegmentFileMeta = {
      format: "druid-edge-segment",
      formatVersion: 1,
      dataSource: plan.dataSource,
      interval: formatInterval(index.interval),
      queryGranularity: plan.queryGranularity,
      rollup: plan.rollup,
      numRows: rows.length,
      minTime: rows.length > 0 ? time[0]! : null,
      maxTime: rows.length > 0 ? time[rows.length - 1]! : null,
      dimensions: dimMeta,
      metrics: plan.aggregators.map((a) => ({ name: a.name, kind: a.kind, aggregator: a.json })),
    };
    const bytes = await writeSegmentParquet({ meta, time, dimensions: dimColumns, metrics: metricValues });
    return {
      dataSource: plan.dataSource,
      interval: index.interval,
      partitionNum,
      numPartitions,
      dimensions: dimMeta.map((d) => d.name),
      metrics: meta.metrics.map((m) => m.name),
      numRows: rows.length,
      size: bytes.length,
      meta,
      bytes,
    };
  }
}
