/**
 * The `index` / `index_parallel` task (run as one process, no subtasks): reads the input with
 * the ingestion core, uploads each segment file as soon as it is built, then publishes the set
 * in one transactional action under the task's locks, and reports Druid's ingestionStatsAndErrors.
 */
import { IngestionError, planIngestion, runIngestion, type IndexSpecJson } from "../ingest/index.ts";
import { taskLockType, type LockContext } from "../../../src/protocol/taskLocks.ts";
import type { IngestTaskContext, IngestTaskOutcome } from "./context.ts";
import { ingestionReport } from "./reports.ts";
import { SegmentPublisher } from "./segmentPublisher.ts";

export async function runIndexTask(ctx: IngestTaskContext): Promise<IngestTaskOutcome> {
  const task = ctx.task as { spec?: IndexSpecJson };
  let published = 0;
  try {
    const plan = planIngestion(task as { spec: IndexSpecJson });
    // the Overlord validated the task (and its context) when it was submitted
    const lockType = taskLockType(String(ctx.task["type"]), (ctx.task["context"] ?? {}) as LockContext, ctx.task);
    const append = (task.spec?.ioConfig as { appendToExisting?: boolean } | undefined)?.appendToExisting === true;
    const publisher = new SegmentPublisher(ctx, {
      dataSource: plan.dataSource,
      append: append || lockType === "APPEND",
      lockType,
      queryGranularity: plan.queryGranularity,
      segmentGranularity: plan.segmentGranularity,
    });
    ctx.log(`ingesting into [${plan.dataSource}] (${append ? "append" : "overwrite"}, ${lockType} locks)`);
    const result = await runIngestion(task as { spec: IndexSpecJson }, {
      dataDir: ctx.dataDir,
      fetch: ctx.fetch,
      signal: ctx.signal,
      now: ctx.now,
      onSegment: (built) => publisher.add(built),
    });
    const s = result.rowStats;
    ctx.log(`rows: processed=${s.processed} processedWithError=${s.processedWithError} thrownAway=${s.thrownAway} unparseable=${s.unparseable}`);
    published = await publisher.publish();
    return {
      status: "SUCCESS",
      errorMsg: null,
      reports: ingestionReport(ctx.taskId, { state: "COMPLETED", rowStats: result.rowStats, unparseableEvents: result.unparseableEvents, segmentsPublished: published }),
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.log(`FAILED: ${message}`);
    const ie = err instanceof IngestionError ? err : null;
    return {
      status: "FAILED",
      errorMsg: message,
      reports: ingestionReport(ctx.taskId, { state: "BUILD_SEGMENTS", rowStats: ie?.rowStats, unparseableEvents: ie?.unparseableEvents, errorMsg: message, segmentsPublished: published }),
    };
  }
}
