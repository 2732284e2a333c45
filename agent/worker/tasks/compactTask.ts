/**
 * The `compact` task: reads the visible segments of an interval from deep storage, re-ingests
 * their rows (optionally with a new segmentGranularity / queryGranularity / rollup, dimensions or
 * metrics from the spec) and publishes the result as a new version, under the task's lock on the
 * interval, which overshadows the segments it read. Metrics are re-aggregated with their
 * combining aggregators (a count becomes a longSum of the counts).
 */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { once } from "node:events";
import { readSegmentParquet, type IndexSpecJson } from "../ingest/index.ts";
import type { SegmentFileMeta } from "../ingest/parquet.ts";
import { bucket, contains, parseInterval, type GranularityName } from "../../../src/shared/intervals.ts";
import type { IngestTaskContext, IngestTaskOutcome } from "./context.ts";
import { runIndexTask } from "./indexTask.ts";
import { ingestionReport } from "./reports.ts";

interface CompactTaskJson {
  id: string;
  dataSource: string;
  interval?: string;
  ioConfig?: { inputSpec?: { interval?: string } };
  granularitySpec?: { segmentGranularity?: unknown; queryGranularity?: unknown; rollup?: boolean };
  segmentGranularity?: unknown;
  dimensionsSpec?: Record<string, unknown>;
  metricsSpec?: Array<Record<string, unknown>>;
  tuningConfig?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

interface SegmentJson {
  interval: string;
  version: string;
  loadSpec?: { key?: string };
}

const GUESSES: GranularityName[] = ["hour", "day", "week", "month", "quarter", "year"];

/** The granularity whose buckets the existing segments are (day when they do not agree on one). */
function guessGranularity(intervals: string[]): GranularityName {
  for (const g of GUESSES) {
    if (intervals.every((t) => { const i = parseInterval(t); const b = bucket(g, i.start); return b.start === i.start && b.end === i.end; })) return g;
  }
  return "day";
}

function combining(m: SegmentFileMeta["metrics"][number]): Record<string, unknown> {
  const type = m.aggregator.type === "count" ? "longSum" : m.aggregator.type;
  return { type, name: m.name, fieldName: m.name };
}

export async function runCompactTask(ctx: IngestTaskContext): Promise<IngestTaskOutcome> {
  const t = ctx.task as unknown as CompactTaskJson;
  try {
    const intervalText = t.ioConfig?.inputSpec?.interval ?? t.interval;
    if (!intervalText) throw new Error("compact task needs ioConfig.inputSpec.interval");
    const interval = parseInterval(intervalText);
    const segments = await ctx.client.action<SegmentJson[]>({ type: "retrieveUsedSegments", dataSource: t.dataSource, intervals: [intervalText], visibility: "ONLY_VISIBLE" });
    const outside = segments.find((s) => !contains(interval, parseInterval(s.interval)));
    if (outside) throw new Error(`Segment interval ${outside.interval} is not inside the compaction interval ${intervalText}`);
    if (segments.length === 0) {
      ctx.log(`nothing to compact in ${intervalText}`);
      return { status: "SUCCESS", errorMsg: null, reports: ingestionReport(ctx.taskId, { state: "COMPLETED", segmentsRead: 0, segmentsPublished: 0 }) };
    }

    // Rows of every input segment, as JSON lines in the task's work dir.
    const inputDir = path.join(ctx.workDir, "compact-input");
    await mkdir(inputDir, { recursive: true });
    const out = createWriteStream(path.join(inputDir, "rows.json"));
    const dims = new Map<string, string>();
    const metrics = new Map<string, Record<string, unknown>>();
    let queryGranularity = "none";
    let rollup = false;
    for (const s of segments) {
      if (!s.loadSpec?.key) throw new Error(`Segment of ${s.interval} has no deep-storage key`);
      const { meta, rows } = await readSegmentParquet(await ctx.client.getObject(s.loadSpec.key));
      for (const d of meta.dimensions) if (!dims.has(d.name)) dims.set(d.name, d.type);
      for (const m of meta.metrics) if (!metrics.has(m.name)) metrics.set(m.name, combining(m));
      queryGranularity = meta.queryGranularity;
      rollup = rollup || meta.rollup;
      for (const row of rows) {
        if (!out.write(JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? Number(v) : v)) + "\n")) await once(out, "drain");
      }
    }
    out.end();
    await once(out, "finish");
    ctx.log(`read ${segments.length} segments of ${intervalText}`);

    const g = t.granularitySpec ?? {};
    const spec: IndexSpecJson = {
      dataSchema: {
        dataSource: t.dataSource,
        timestampSpec: { column: "__time", format: "millis" },
        dimensionsSpec: (t.dimensionsSpec as IndexSpecJson["dataSchema"]["dimensionsSpec"]) ?? { dimensions: [...dims].map(([name, type]) => ({ type, name })) as never },
        metricsSpec: (t.metricsSpec as never) ?? ([...metrics.values()] as never),
        granularitySpec: {
          segmentGranularity: g.segmentGranularity ?? t.segmentGranularity ?? guessGranularity(segments.map((s) => s.interval)),
          queryGranularity: g.queryGranularity ?? queryGranularity,
          rollup: g.rollup ?? rollup,
          intervals: [intervalText],
        },
      },
      ioConfig: { type: "index", inputSource: { type: "local", baseDir: inputDir, filter: "rows.json" }, inputFormat: { type: "json" }, appendToExisting: false },
      tuningConfig: (t.tuningConfig ?? {}) as IndexSpecJson["tuningConfig"],
    } as IndexSpecJson;
    const indexTask = { type: "index", id: t.id, dataSource: t.dataSource, context: t.context ?? {}, spec };
    const r = await runIndexTask({ ...ctx, task: indexTask, dataDir: ctx.workDir });
    const payload = (r.reports["ingestionStatsAndErrors"] as { payload: Record<string, unknown> } | undefined)?.payload;
    if (payload) payload["segmentsRead"] = segments.length;
    return r;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.log(`FAILED: ${message}`);
    return { status: "FAILED", errorMsg: message, reports: ingestionReport(ctx.taskId, { state: "NOT_STARTED", errorMsg: message }) };
  }
}
