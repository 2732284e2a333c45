/**
 * Benchmark (not a test) of the ingestion core alone: runs `runIngestion` on Druid's tutorial
 * data (wikiticker-2015-09-12-sampled.json.gz, 39,244 rows) with the tutorial's spec (day
 * segments, no rollup) and prints rows/s and the process's peak RSS.
 *
 *   npx tsx bench/ingest-core.ts [dataDir] [--rollup] [--repeat N]
 *
 * dataDir defaults to ../shared/data (relative to the repository).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runIngestion } from "../agent/worker/ingest/index.ts";
import type { IndexSpecJson } from "../agent/worker/ingest/spec.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const dataDir = path.resolve(args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? path.join(here, "..", "..", "shared", "data"));
const rollup = args.includes("--rollup");
const repeatAt = args.indexOf("--repeat");
const repeat = repeatAt >= 0 ? Number(args[repeatAt + 1]) : 3;

const spec: IndexSpecJson = {
  dataSchema: {
    dataSource: "wikipedia",
    timestampSpec: { column: "time", format: "iso" },
    dimensionsSpec: {
      dimensions: [
        "channel", "cityName", "comment", "countryIsoCode", "countryName", "isAnonymous", "isMinor", "isNew", "isRobot",
        "isUnpatrolled", "metroCode", "namespace", "page", "regionIsoCode", "regionName", "user",
        { name: "added", type: "long" }, { name: "deleted", type: "long" }, { name: "delta", type: "long" },
      ],
    },
    metricsSpec: rollup ? [{ type: "count", name: "count" }, { type: "longSum", name: "sum_added", fieldName: "added" }] : [],
    granularitySpec: { type: "uniform", segmentGranularity: "day", queryGranularity: rollup ? "hour" : "none", intervals: ["2015-09-12/2015-09-13"], rollup },
  },
  ioConfig: {
    type: "index_parallel",
    inputSource: { type: "local", baseDir: ".", filter: "wikiticker-2015-09-12-sampled.json.gz" },
    inputFormat: { type: "json" },
    appendToExisting: false,
  },
  tuningConfig: { type: "index_parallel", partitionsSpec: { type: "dynamic" } },
};

for (let i = 0; i < repeat; i++) {
  const t0 = performance.now();
  const result = await runIngestion(spec, { dataDir });
  const ms = performance.now() - t0;
  const rows = result.rowStats.processed + result.rowStats.processedWithError;
  const bytes = result.segments.reduce((n, s) => n + s.size, 0);
  console.log(
    `run ${i + 1}: ${rows} rows in ${ms.toFixed(0)} ms = ${Math.round((rows / ms) * 1000).toLocaleString("en-US")} rows/s; ` +
      `${result.segments.length} segment(s), ${result.segments.map((s) => s.numRows).join("+")} rows, ${(bytes / 1e6).toFixed(2)} MB parquet; ` +
      `stats ${JSON.stringify(result.rowStats)}`,
  );
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (whole process, ${repeat} run(s))`);
