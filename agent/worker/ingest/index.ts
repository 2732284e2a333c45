/**
 * The agent's batch ingestion core: `runIngestion(spec, io)` and the pieces a task needs around
 * it (segment file reader for compaction, spec planning for early validation).
 */
export { runIngestion, type BuiltSegment, type IngestIO, type IngestionResult, type SegmentInfo } from "./runIngestion.ts";
export { planIngestion, type IndexSpecJson, type IngestPlan } from "./spec.ts";
export { readSegmentMeta, readSegmentParquet, writeSegmentParquet, type SegmentFileMeta, type SegmentRow } from "./parquet.ts";
export { IngestionError } from "./errors.ts";
export type { ParseExceptionReport, RowStats } from "./rowStats.ts";
