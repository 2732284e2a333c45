/**
 * The subset of Druid's native batch index spec (`index` / `index_parallel`: dataSchema,
 * ioConfig, tuningConfig) this ingestion core reads, validated once into an `IngestPlan` with
 * Druid's defaults: timestamp column "timestamp" / format auto, segmentGranularity DAY,
 * queryGranularity NONE, rollup true, maxRowsPerSegment 5,000,000 (dynamic partitions),
 * maxParseExceptions Integer.MAX_VALUE, maxSavedParseExceptions 0.
 */
import { bucket, parseGranularity, parseInterval, type GranularityName, type Interval } from "../../../src/shared/intervals.ts";
import { planAggregators, type AggregatorJson, type AggregatorSpec } from "./aggregators.ts";
import { planDimensions, type DimensionsPlan, type DimensionsSpecJson } from "./dimensions.ts";
import { invalidSpec, unsupported } from "./errors.ts";
import { compileFilter, type FilterJson, type RowFilter } from "./filter.ts";
import { planInputFormat, type InputFormatJson, type LineParserFactory } from "./inputFormat.ts";
import type { InputSourceJson } from "./inputSource.ts";
import { createTimestampExtractor, parseIsoTimestamp, type TimestampExtractor, type TimestampSpecJson } from "./timestamp.ts";

export interface GranularitySpecJson {
  type?: string;
  segmentGranularity?: unknown;
  queryGranularity?: unknown;
  rollup?: boolean;
  intervals?: string[] | null;
}

export interface DataSchemaJson {
  dataSource: string;
  timestampSpec?: TimestampSpecJson;
  dimensionsSpec?: DimensionsSpecJson;
  metricsSpec?: AggregatorJson[];
  granularitySpec?: GranularitySpecJson;
  transformSpec?: { filter?: FilterJson | null; transforms?: unknown[] };
  parser?: unknown;
}

export interface PartitionsSpecJson {
  type: string;
  maxRowsPerSegment?: number | null;
  maxTotalRows?: number | null;
  [field: string]: unknown;
}

export interface TuningConfigJson {
  type?: string;
  maxRowsPerSegment?: number | null;
  partitionsSpec?: PartitionsSpecJson | null;
  maxParseExceptions?: number | null;
  maxSavedParseExceptions?: number | null;
  reportParseExceptions?: boolean;
  [field: string]: unknown;
}

export interface IndexSpecJson {
  dataSchema: DataSchemaJson;
  ioConfig: { type?: string; inputSource: InputSourceJson; inputFormat?: InputFormatJson; appendToExisting?: boolean; dropExisting?: boolean; [field: string]: unknown };
  tuningConfig?: TuningConfigJson | null;
}

export interface IngestPlan {
  dataSource: string;
  timestamp: TimestampExtractor;
  dimensions: DimensionsPlan;
  aggregators: AggregatorSpec[];
  segmentGranularity: GranularityName;
  queryGranularity: GranularityName;
  rollup: boolean;
  /** Rows whose segment bucket overlaps none of these are thrown away; null = keep all. */
  intervals: Interval[] | null;
  filter: RowFilter | null;
  maxRowsPerSegment: number;
  maxParseExceptions: number;
  maxSavedParseExceptions: number;
  inputSource: InputSourceJson;
  parserFactory: LineParserFactory;
}

export const DEFAULT_MAX_ROWS_PER_SEGMENT = 5_000_000;
export const DEFAULT_MAX_PARSE_EXCEPTIONS = 2_147_483_647;
export const DEFAULT_MAX_SAVED_PARSE_EXCEPTIONS = 0;

function granularity(value: unknown, fallback: GranularityName, field: string): GranularityName {
  if (value === undefined || value === null) return fallback;
  try {
    return parseGranularity(value, field);
  } catch {
    throw invalidSpec(`Invalid ${field} [${JSON.stringify(value)}]`);
  }
}

function count(value: unknown, field: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw invalidSpec(`${field} must be a non-negative integer`);
  return value;
}

/** Accepts the `spec` of an index task, or the whole task JSON (`{type, spec}`). */
export function planIngestion(input: IndexSpecJson | { spec: IndexSpecJson }): IngestPlan {
  const spec = "spec" in input && input.spec ? input.spec : (input as IndexSpecJson);
  const ds = spec?.dataSchema;
  if (!ds || typeof ds !== "object") throw invalidSpec("spec.dataSchema is required");
  if (typeof ds.dataSource !== "string" || ds.dataSource === "") throw invalidSpec("dataSchema.dataSource is required");
  if (ds.parser !== undefined) throw unsupported("dataSchema.parser (legacy parseSpec) is not supported; use ioConfig.inputFormat");
  if (!spec.ioConfig || typeof spec.ioConfig !== "object") throw invalidSpec("spec.ioConfig is required");

  const tsColumn = ds.timestampSpec?.column ?? "timestamp";
  const aggregators = planAggregators(ds.metricsSpec);
  const excluded = [tsColumn, ...aggregators.flatMap((a) => (a.fieldName ? [a.name, a.fieldName] : [a.name]))];
  const dimensions = planDimensions(ds.dimensionsSpec, excluded);
  for (const d of dimensions.explicit) {
    if (aggregators.some((a) => a.name === d.name)) throw invalidSpec(`Cannot specify a column more than once: [${d.name}] is both a dimension and a metric`);
  }

  const gs = ds.granularitySpec ?? {};
  if (gs.type !== undefined && gs.type !== "uniform") throw unsupported(`granularitySpec type [${gs.type}] is not supported; use uniform`);
  const intervals = gs.intervals === undefined || gs.intervals === null || gs.intervals.length === 0
    ? null
    : gs.intervals.map((i) => {
        const [a, b, extra] = typeof i === "string" ? i.split("/") : [];
        const start = a && extra === undefined ? parseIsoTimestamp(a, false) : null;
        const end = b ? parseIsoTimestamp(b, false) : null;
        if (start !== null && end !== null && start <= end) return { start, end }; // plain instants: no luxon (its first use costs ~20 ms)
        try { return parseInterval(i, "granularitySpec.intervals"); } catch { throw invalidSpec(`Invalid interval [${i}] in granularitySpec.intervals`); }
      });
  if (gs.rollup !== undefined && typeof gs.rollup !== "boolean") throw invalidSpec("granularitySpec.rollup must be true or false");

  const segmentGranularity = granularity(gs.segmentGranularity, "day", "segmentGranularity");
  const queryGranularity = granularity(gs.queryGranularity, "none", "queryGranularity");
  if (segmentGranularity === "none") throw invalidSpec("segmentGranularity cannot be [none]");
  const width = (g: GranularityName) => (g === "all" ? Infinity : bucket(g, 0).end - bucket(g, 0).start);
  if (width(queryGranularity) > width(segmentGranularity)) {
    throw invalidSpec(`queryGranularity [${queryGranularity}] must not be coarser than segmentGranularity [${segmentGranularity}]`);
  }

  const tc = spec.tuningConfig ?? {};
  let maxRowsPerSegment = count(tc.maxRowsPerSegment, "tuningConfig.maxRowsPerSegment", DEFAULT_MAX_ROWS_PER_SEGMENT);
  if (tc.partitionsSpec) {
    if (tc.partitionsSpec.type !== "dynamic") throw unsupported(`partitionsSpec type [${tc.partitionsSpec.type}] is not supported; use dynamic`);
    maxRowsPerSegment = count(tc.partitionsSpec.maxRowsPerSegment, "partitionsSpec.maxRowsPerSegment", DEFAULT_MAX_ROWS_PER_SEGMENT);
  }
  if (maxRowsPerSegment < 1) throw invalidSpec("maxRowsPerSegment must be at least 1");
  let maxParseExceptions = count(tc.maxParseExceptions, "tuningConfig.maxParseExceptions", DEFAULT_MAX_PARSE_EXCEPTIONS);
  let maxSavedParseExceptions = count(tc.maxSavedParseExceptions, "tuningConfig.maxSavedParseExceptions", DEFAULT_MAX_SAVED_PARSE_EXCEPTIONS);
  if (tc.reportParseExceptions === true) {
    maxParseExceptions = 0;
    maxSavedParseExceptions = Math.min(1, maxSavedParseExceptions);
  }

  const filterJson = ds.transformSpec?.filter;
  if (ds.transformSpec?.transforms && ds.transformSpec.transforms.length > 0) throw unsupported("transformSpec.transforms (expressions) are not supported");

  return {
    dataSource: ds.dataSource,
    timestamp: createTimestampExtractor(ds.timestampSpec),
    dimensions,
    aggregators,
    segmentGranularity,
    queryGranularity,
    rollup: gs.rollup ?? true,
    intervals,
    filter: filterJson ? compileFilter(filterJson) : null,
    maxRowsPerSegment,
    maxParseExceptions,
    maxSavedParseExceptions,
    inputSource: spec.ioConfig.inputSource,
    parserFactory: planInputFormat(spec.ioConfig.inputFormat),
  };
}
