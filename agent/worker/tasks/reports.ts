/** Druid's `ingestionStatsAndErrors` task report (IngestionStatsAndErrorsTaskReport). */
import type { ParseExceptionReport, RowStats } from "../ingest/index.ts";

const ZERO: RowStats = { processed: 0, processedBytes: 0, processedWithError: 0, thrownAway: 0, unparseable: 0 };

export function ingestionReport(
  taskId: string,
  o: { state: "COMPLETED" | "BUILD_SEGMENTS" | "NOT_STARTED"; rowStats?: RowStats; unparseableEvents?: ParseExceptionReport[]; errorMsg?: string | null; segmentsPublished?: number; segmentsRead?: number },
): Record<string, unknown> {
  return {
    ingestionStatsAndErrors: {
      type: "ingestionStatsAndErrors",
      taskId,
      payload: {
        ingestionState: o.state,
        unparseableEvents: { buildSegments: o.unparseableEvents ?? [] },
        rowStats: { determinePartitions: { ...ZERO }, buildSegments: { ...ZERO, ...(o.rowStats ?? {}) } },
        errorMsg: o.errorMsg ?? null,
        segmentAvailabilityConfirmed: false,
        segmentAvailabilityWaitTimeMs: 0,
        recordsProcessed: null,
        segmentsRead: o.segmentsRead ?? null,
        segmentsPublished: o.segmentsPublished ?? null,
      },
    },
  };
}
