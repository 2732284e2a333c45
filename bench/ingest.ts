/**
 * `npm run bench:ingest` (issue 4): Druid's tutorial data (wikiticker-2015-09-12-sampled.json.gz,
 * 39,244 Wikipedia edits) ingested end to end — druid-edge under wrangler's dev server, one real
 * agent, a spec like Druid's tutorial (day segments, no rollup) — reporting rows/s and the peak
 * memory (RSS) of the agent's processes, sampled from /proc while the task runs.
 *
 *   npm run bench:ingest [-- --data-dir ../shared/data --repeat 5]
 *
 * Run 1 is the first task in a fresh task process (it loads the ingestion code and runs it before
 * V8 has optimised it); the headline is the median of the later runs, an agent's steady state.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startAgent, startDruidEdge, waitFor, ROOT } from "../test/support/node/cluster.ts";
import { processTree } from "../test/support/node/procs.ts";
import { fmt } from "./lib/load.ts";
import { machine, writeSection } from "./lib/report.ts";

const { values } = parseArgs({ options: { "data-dir": { type: "string", default: resolve(ROOT, "../shared/data") }, repeat: { type: "string", default: "5" } } });
const dataDir = resolve(values["data-dir"]!);
const FILE = "wikiticker-2015-09-12-sampled.json.gz";
if (!existsSync(resolve(dataDir, FILE))) {
  console.error(`${FILE} not found in ${dataDir} (pass --data-dir)`);
  process.exit(2);
}

function spec(dataSource: string) {
  return {
    type: "index_parallel",
    spec: {
      dataSchema: {
        dataSource,
        timestampSpec: { column: "time", format: "iso" },
        dimensionsSpec: {
          dimensions: [
            "channel", "cityName", "comment", "countryIsoCode", "countryName", "isAnonymous", "isMinor", "isNew", "isRobot",
            "isUnpatrolled", "metroCode", "namespace", "page", "regionIsoCode", "regionName", "user",
            { name: "added", type: "long" }, { name: "deleted", type: "long" }, { name: "delta", type: "long" },
          ],
        },
        metricsSpec: [],
        granularitySpec: { type: "uniform", segmentGranularity: "day", queryGranularity: "none", intervals: ["2015-09-12/2015-09-13"], rollup: false },
      },
      ioConfig: { type: "index_parallel", inputSource: { type: "local", baseDir: ".", filter: FILE }, inputFormat: { type: "json" }, appendToExisting: false },
      tuningConfig: { type: "index_parallel", partitionsSpec: { type: "dynamic" } },
    },
  };
}

/** RSS in bytes of each of `pids` (/proc/<pid>/statm: one small read per process, so sampling every 20 ms stays cheap). */
function rssOf(pids: number[]): { total: number; perPid: Map<number, number> } {
  const perPid = new Map<number, number>();
  let total = 0;
  for (const pid of pids) {
    try {
      const bytes = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * 4096;
      perPid.set(pid, bytes);
      total += bytes;
    } catch {
      // exited meanwhile
    }
  }
  return { total, perPid };
}

const edge = await startDruidEdge();
const agent = startAgent(edge, { host: "bench-ingest:8091", capacity: 1, extraArgs: ["--data-dir", dataDir] });
const rows: string[] = [];
const rates: number[] = [];
let peakTree = 0;
let peakProcess = 0;
try {
  await waitFor(async () => (await edge.api("GET", "/druid/indexer/v1/workers")).json?.length === 1, "agent registration");
  const repeat = Number(values.repeat);
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const id = (await edge.api("POST", "/druid/indexer/v1/task", spec(`wikipedia_${i}`))).json.task as string;
    let sampler = true;
    const sampling = (async () => {
      let tree: number[] = [];
      let treeAt = 0;
      while (sampler) {
        if (performance.now() - treeAt > 500) {
          // a full scan of /proc: every 500 ms, not per sample
          tree = processTree(agent.child.pid!);
          treeAt = performance.now();
        }
        const { total, perPid } = rssOf(tree);
        peakTree = Math.max(peakTree, total);
        for (const b of perPid.values()) peakProcess = Math.max(peakProcess, b);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const status = await waitFor(async () => {
      const s = (await edge.api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status;
      return s.statusCode !== "RUNNING" ? s : null;
    }, "the ingestion task", 300_000, 50).catch((err) => {
      console.error(agent.output().slice(-3000));
      throw err;
    });
    const wallMs = performance.now() - t0;
    sampler = false;
    await sampling;
    if (status.statusCode !== "SUCCESS") throw new Error(`ingestion failed: ${status.errorMsg}`);
    const report = (await edge.api("GET", `/druid/indexer/v1/task/${id}/reports`)).json.ingestionStatsAndErrors.payload;
    const processed = report.rowStats.buildSegments.processed as number;
    const rate = processed / (status.duration / 1000);
    rates.push(rate);
    console.log(`run ${i + 1}: ${processed} rows, task ${status.duration} ms (${fmt(rate, 0)} rows/s), submit → SUCCESS ${fmt(wallMs, 0)} ms, ${report.segmentsPublished} segment(s)`);
    rows.push(`| ${i + 1} | ${processed} | ${status.duration} | ${fmt(rate, 0)} | ${fmt(wallMs, 0)} |`);
  }
} finally {
  agent.kill("SIGKILL");
  await edge.dispose();
}
const first = rates[0]!;
const later = rates.slice(1).sort((a, b) => a - b);
const median = later.length > 0 ? later[Math.floor(later.length / 2)]! : first;
const mb = (b: number) => fmt(b / 2 ** 20, 0);
console.log(`median of runs 2+ ${fmt(median, 0)} rows/s (run 1, fresh task process: ${fmt(first, 0)}); peak RSS: largest agent process ${mb(peakProcess)} MB, whole agent tree ${mb(peakTree)} MB`);
writeSection(
  "ingest",
  `## Ingestion end to end (issue 4)

Command: \`npm run bench:ingest\` — druid-edge (wrangler's dev server via \`unstable_startWorker\`, local D1 and R2) and one
real agent (capacity 1); Druid's tutorial data \`${FILE}\` (39,244 edits, gzipped JSON), spec like Druid's tutorial
(day segments, no rollup, 19 dimensions). The task reads the file, builds the Parquet segment, uploads it through the
Worker to R2 and publishes it with \`segmentTransactionalInsert\`. rows/s = rows processed ÷ the task's run time as the
agent reports it; RSS sampled every 20 ms from /proc/<pid>/statm over the agent's process tree (the agent and its
pooled task processes; the tree itself re-read every 500 ms).
Machine: ${machine()}.

| run | rows | task ms | rows/s | submit → SUCCESS ms |
|---|---|---|---|---|
${rows.join("\n")}

**${fmt(median, 0)} rows/s: median of runs 2–${rates.length}, tasks in an agent's warm task process (run 1, the first task in a fresh one: ${fmt(first, 0)} rows/s). Peak RSS over all runs: ${mb(peakProcess)} MB for the largest single process (the task's child), ${mb(peakTree)} MB for the whole agent tree.**
Targets: ≥ 50,000 rows/s, < 300 MB.`,
);
