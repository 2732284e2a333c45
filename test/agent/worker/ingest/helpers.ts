/** Helpers for the ingestion-core tests: build a spec around inline data, run it, read the segments back. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { readSegmentParquet, runIngestion, type IndexSpecJson, type SegmentRow } from "../../../../agent/worker/ingest/index.ts";
import type { DataSchemaJson, TuningConfigJson } from "../../../../agent/worker/ingest/spec.ts";
import type { InputFormatJson } from "../../../../agent/worker/ingest/inputFormat.ts";
import type { InputSourceJson } from "../../../../agent/worker/ingest/inputSource.ts";

export interface SpecParts {
  dataSchema?: Partial<DataSchemaJson>;
  inputFormat?: InputFormatJson;
  inputSource?: InputSourceJson;
  tuningConfig?: TuningConfigJson;
}

export function makeSpec(data: string, parts: SpecParts = {}): IndexSpecJson {
  return {
    dataSchema: { dataSource: "test", granularitySpec: { rollup: false }, ...parts.dataSchema },
    ioConfig: { type: "index", inputSource: parts.inputSource ?? { type: "inline", data }, inputFormat: parts.inputFormat ?? { type: "json" } },
    tuningConfig: { type: "index", ...parts.tuningConfig },
  };
}

/** JSON lines from objects. */
export const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n");

export const iso = (ms: number) => new Date(ms).toISOString();

/** Runs an ingestion and returns the result plus every segment's rows, read back from Parquet. */
export async function ingest(data: string, parts: SpecParts = {}, dataDir = tmpdir()) {
  const result = await runIngestion(makeSpec(data, parts), { dataDir, now: () => 42 });
  const segments = await Promise.all(
    result.segments.map(async (s) => ({ ...s, rows: (await readSegmentParquet(s.bytes!)).rows })),
  );
  const rows: SegmentRow[] = segments.flatMap((s) => s.rows);
  return { ...result, segments, rows };
}

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "druid-edge-ingest-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Rows without __time, for comparisons that do not care about time. */
export const withoutTime = (rows: SegmentRow[]) => rows.map(({ __time: _t, ...rest }) => rest);
