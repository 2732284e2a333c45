/**
 * The `kill` task: permanently deletes the unused segments of a dataSource and interval —
 * files from deep storage first, then their metadata rows (segmentNuke), in batches. Druid's
 * options: `versions`, `limit`, `batchSize`, `maxUsedStatusLastUpdatedTime`, and the deprecated
 * `markAsUnused` (mark the interval's used segments unused first). Used segments are never
 * touched: the Overlord refuses to nuke them.
 */
import type { IngestTaskContext, IngestTaskOutcome } from "./context.ts";

interface KillTaskJson {
  dataSource: string;
  interval: string;
  versions?: string[] | null;
  limit?: number | null;
  batchSize?: number | null;
  markAsUnused?: boolean;
  maxUsedStatusLastUpdatedTime?: string | null;
}

interface SegmentJson {
  dataSource: string;
  interval: string;
  version: string;
  loadSpec?: { type?: string; key?: string };
  shardSpec: Record<string, unknown>;
}

export async function runKillTask(ctx: IngestTaskContext): Promise<IngestTaskOutcome> {
  const t = ctx.task as unknown as KillTaskJson;
  try {
    if (t.markAsUnused) {
      const n = await ctx.client.action<number>({ type: "markSegmentsAsUnused", dataSource: t.dataSource, interval: t.interval, versions: t.versions ?? null });
      ctx.log(`marked ${n} segments unused`);
    }
    const batchSize = Math.max(1, Math.min(t.batchSize ?? 100, 1000));
    let left = t.limit ?? Number.POSITIVE_INFINITY;
    let killed = 0;
    while (left > 0) {
      ctx.signal.throwIfAborted();
      const batch = await ctx.client.action<SegmentJson[]>({
        type: "retrieveUnusedSegments",
        dataSource: t.dataSource,
        interval: t.interval,
        versions: t.versions ?? null,
        limit: Math.min(batchSize, left),
        maxUsedStatusLastUpdatedTime: t.maxUsedStatusLastUpdatedTime ?? null,
      });
      if (batch.length === 0) break;
      for (const s of batch) if (s.loadSpec?.key) await ctx.client.deleteObject(s.loadSpec.key);
      killed += await ctx.client.action<number>({ type: "segmentNuke", segments: batch });
      left -= batch.length;
      ctx.log(`killed ${killed} segments so far`);
    }
    ctx.log(`killed ${killed} unused segments of [${t.dataSource}] in ${t.interval}`);
    return { status: "SUCCESS", errorMsg: null, reports: { killUnusedSegments: { type: "killUnusedSegments", taskId: ctx.taskId, payload: { numSegmentsKilled: killed } } } };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.log(`FAILED: ${message}`);
    return { status: "FAILED", errorMsg: message, reports: {} };
  }
}
