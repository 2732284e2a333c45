/**
 * `npm run bench:coordinator` (issue 14; a benchmark, not a test): the Coordinator object at
 * 1,000,000 used segments in local D1, under wrangler's dev server —
 *
 *  1. cold start to the first complete duty cycle: from the first request that wakes the
 *     Coordinator (`GET /status`) until its lifecycle reached `dutiesStarted` and the first
 *     HistoricalManagementDuties run ended (`GET /druid/coordinator/v1/duties`), with the paged
 *     D1 sync (`termTaken` → `metadataSynced`) apart; and the alternative, a snapshot in the
 *     object's own storage, measured by a stand-alone prototype under Miniflare
 *     (bench/lib/snapshotProbe.ts) against the same D1 pages, both cold;
 *  2. memory of the view: bytes per segment (bytesUsed() in Node by bench/coordinator-view.ts and
 *     inside workerd by the prototype), and the worker workerd's RSS before and after the cold start;
 *  3. incremental sync: 1,000 segments marked unused (then used again) through
 *     `POST /druid/coordinator/v1/datasources/{ds}/markUnused|markUsed`, from the answer (sent
 *     after the Overlord's commit) to the view's count reflecting it (`GET /status`);
 *  4. markOvershadowedUnused: the full overshadowed computation in Node (coordinator-view.ts), the
 *     in-object one (the first sync after the cold start computes it for every data source), and
 *     the duty marking every overshadowed segment once millisToWaitBeforeDeleting is 0;
 *  5. `GET /druid/coordinator/v1/metadata/segments` over every used segment: bytes, time, and the
 *     workerd processes' RSS while it streams.
 *
 * Seeds local D1 directly (bench/lib/coordinatorSeed.ts, ~1 min once; cached under bench/.out/).
 *
 *   npm run bench:coordinator [-- --dataSources 100 --days 9000 --rounds 7 --probeRounds 3 --skip metadata,marking,probe --write]
 *
 * The section in docs/benchmarks.md is written only at the default shape (or with --write).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { startDruidEdge, waitFor } from "../test/support/node/cluster.ts";
import { cpuTicks } from "../test/support/node/procs.ts";
import { copySeed, dataSourceName, seededState, v1SegmentId } from "./lib/coordinatorSeed.ts";
import { machine, writeSection } from "./lib/report.ts";
import { runSnapshotProbe, type SnapshotProbeResult } from "./lib/snapshotProbe.ts";
import { listeningUrlOf, memoryOf, ownWorkerdPids, ownWorkerds, sampleRss } from "./lib/workerdProcs.ts";

const ROOT = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    dataSources: { type: "string", default: "100" },
    days: { type: "string", default: "9000" },
    rounds: { type: "string", default: "7" },
    probeRounds: { type: "string", default: "2" },
    skip: { type: "string", default: "" },
    write: { type: "boolean", default: false },
  },
});
const shape = { dataSources: Number(values.dataSources), days: Number(values.days) };
const ROUNDS = Number(values.rounds);
const skip = new Set(values.skip.split(",").filter(Boolean));
const isDefaultShape = shape.dataSources === 100 && shape.days === 9000;
const log = (line: string) => console.log(line);
const MB = (b: number) => (b / 2 ** 20).toFixed(0);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "–");
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "–");
const range = (xs: number[], f = f0) => (xs.length === 0 ? "–" : Math.min(...xs) === Math.max(...xs) ? f(xs[0]!) : `${f(Math.min(...xs))}–${f(Math.max(...xs))}`);
const TICK_MS = 10; // /proc clock ticks

// ---- 2 & 4, the core in plain Node (bench/coordinator-view.ts, the same shape) ----------------
interface CoreRun { bytesUsed: number; heap: number; buildMs: number; firstMs: number; secondMs: number; overshadowed: number }
function coreRun(): CoreRun {
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", "bench/coordinator-view.ts", "--dataSources", String(shape.dataSources), "--days", String(shape.days)], { cwd: ROOT, encoding: "utf8" });
  const num = (re: RegExp) => Number(re.exec(out)?.[1]?.replace(/,/g, "") ?? NaN);
  return {
    bytesUsed: num(/bytesUsed\(\)\/segment\s+([\d.]+) B/),
    heap: num(/heap\+arrayBuffers delta\/segment\s+([\d.]+) B/),
    buildMs: num(/build\s+(\d+) ms/),
    firstMs: num(/full run\s+([\d.]+) ms first run/),
    secondMs: num(/first run, ([\d.]+) ms second/),
    overshadowed: num(/ms second \(([\d,]+) overshadowed\)/),
  };
}
log(`core in Node: bench/coordinator-view.ts × 3 (${shape.dataSources} data sources × ${shape.days} days)…`);
const core: CoreRun[] = [];
for (let i = 0; i < 3; i++) {
  core.push(coreRun());
  log(`  ${JSON.stringify(core.at(-1))}`);
}

// ---- the seeded state and a working copy of it -------------------------------------------------
const { dir: seedDir, info: seed } = seededState(shape, log);
const runDir = mkdtempSync(join(tmpdir(), "druid-edge-bench-coordinator-"));
const copyMs = copySeed(seedDir, runDir);
log(`working copy of the seed in ${(copyMs / 1000).toFixed(1)} s: ${runDir}`);

interface Status { coordinator: { term: number; stage: string; stages: Array<{ stage: string; at: string }>; segments: number; view: { loadedFrom: string | null; snapshot: { takenAt: string; watermark: number; segments: number; bytes: number | null } | null; lastWriteMs: number | null; lastError: string | null } } }
interface MarkStats { skipped: string | null; overshadowed: number; marked: number }
interface DutyGroup { name: string; lastRunStart: string | null; lastRunEnd: string | null; avgRuntimeMillis: number; lastRunStats: ({ MarkOvershadowedSegmentsAsUnused?: MarkStats; CollectSegmentStats?: { overshadowed: number } } & Partial<MarkStats>) | null }
/** markOvershadowedUnused's stats in a historical run (keyed by duty since the groups have several). */
const markStats = (g: DutyGroup): MarkStats | null => (g.lastRunStats ? (g.lastRunStats.MarkOvershadowedSegmentsAsUnused ?? (g.lastRunStats as MarkStats)) : null);

const results: {
  wakeToAnswerMs?: number; wakeToDutiesStartedMs?: number; wakeToFirstDutyEndMs?: number; termToSyncedMs?: number; syncedToDutiesStartedMs?: number; wakeToTermMs?: number;
  coldSegments?: number; firstDuty?: DutyGroup; observedFirstDutyMs?: number; firstDutyRunMs?: number; coldWorkerCpuMs?: number; allGroups?: Array<{ name: string; runMs: number; endMs: number }>; rssBefore?: number; rssAfter?: number; hwmAfter?: number; proxyRssAfter?: number;
  unusedMs: number[]; usedMs: number[]; commitMs: number[]; workerCpuMs: number[];
  metadata: Array<{ path: string; bytes: number; ms: number; firstByteMs: number; segments: number; status: number; workerPeak: number; proxyPeak: number; workerBase: number; proxyBase: number; error?: string }>;
  marking?: { ms: number; runtimeMs: number; overshadowed: number; marked: number; convergedMs: number; segmentsAfter: number; error?: string };
  probe?: SnapshotProbeResult;
  snapshotWrite?: { ms: number; bytes: number; segments: number };
  metadataVia?: string;
  restart?: { wakeToAnswerMs: number; termToSyncedMs: number; wakeToFirstDutyEndMs: number; firstDutyRunMs: number; loadedFrom: string | null; segments: number; deltaRows: number };
} = { unusedMs: [], usedMs: [], commitMs: [], workerCpuMs: [], metadata: [] };

// the safety-net poll (PT1M) would otherwise run the first full overshadowed computation at a
// random point of the run; publishes and marking reach the view by the Overlord's nudge anyway
const startEdge = () => startDruidEdge({ persistDir: runDir, vars: { DRUID_MANAGER_SEGMENTS_POLL_DURATION: "PT1H" } });
let edge = await startEdge();
let pool = new Pool(edge.url, { connections: 4, pipelining: 1 });
/**
 * Every request goes straight to the Worker's workerd, not through wrangler's dev proxy: through
 * the proxy, requests now and then never reached the Worker (it logged none; no answer in
 * minutes), after a 650 MB answer and without one. Once wrangler's two workerd processes are up.
 */
let via = "wrangler's dev proxy";
let origin = edge.url;
async function goDirect(): Promise<void> {
  await waitFor(() => ownWorkerdPids().length >= 2, "wrangler's two workerd processes", 30_000, 50);
  // the Worker's workerd listens a moment after it exists
  const direct = await waitFor(() => ownWorkerdPids().map((p) => listeningUrlOf(p, edge.url)).find((u) => u !== null) ?? null, "the Worker's workerd listening", 30_000, 50).catch(() => null);
  await pool.close();
  origin = direct ?? edge.url;
  pool = new Pool(origin, { connections: 4, pipelining: 1 });
  via = direct ? "the Worker's workerd directly" : "wrangler's dev proxy";
}
const auth = { authorization: `Bearer ${edge.adminToken}` };
/** Every call the bench makes is idempotent, so one whose kept-alive connection the server had closed is sent again once. */
async function call<T = any>(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; json: T }> {
  try {
    return await callOnce<T>(method, path, body);
  } catch (err) {
    if (!String(err).includes("other side closed")) throw err;
    return callOnce<T>(method, path, body);
  }
}
async function callOnce<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const r = await pool.request({ method, path, headers: body === undefined ? auth : { ...auth, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.body.text();
  if (r.statusCode >= 300) throw new Error(`${method} ${path}: ${r.statusCode} ${text.slice(0, 300)}`);
  return { status: r.statusCode, json: (text ? JSON.parse(text) : undefined) as T };
}
/** wrangler's proxy answers a POST 503 when it reloaded the Worker meanwhile; such reloads are counted and the POST sent again. */
let reloads = 0;
async function post<T = any>(path: string, body: unknown): Promise<{ status: number; json: T }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call<T>("POST", path, body);
    } catch (err) {
      if (attempt < 3 && String(err).includes("restarted mid-request")) {
        reloads++;
        log(`wrangler reloaded the Worker during the run (${String(err).slice(0, 120)}); sending ${path} again`);
        continue;
      }
      throw err;
    }
  }
}
const viewSize = async () => (await call<Status>("GET", "/status")).json.coordinator.segments;
const historical = async () => (await call<{ dutyGroups: DutyGroup[] }>("GET", "/druid/coordinator/v1/duties")).json.dutyGroups.find((g) => g.name === "HistoricalManagementDuties");

try {
  // ---- 1. cold start ------------------------------------------------------------------------
  // wrangler answers `ready` before its second workerd (the one running the Worker) is up; a
  // Worker-only request loads the Worker, and neither object exists until a request reaches it
  await goDirect();
  await call("GET", "/druid/indexer/v1/isLeader");
  const rssBefore = new Map(ownWorkerdPids().map((p) => [p, memoryOf(p).rss]));
  const cpuBefore = new Map(ownWorkerdPids().map((p) => [p, cpuTicks(p)]));
  const wake = Date.now();
  const first = await call<Status>("GET", "/status"); // answered once the Coordinator's blockConcurrencyWhile(becomeLeader) is done
  results.wakeToAnswerMs = Date.now() - wake;
  let { worker, proxy } = ownWorkerds(runDir); // D1's file is open only after the first query
  results.rssBefore = rssBefore.get(worker) ?? NaN;
  log(`workerd (Worker, objects, local D1): pid ${worker}, RSS ${MB(results.rssBefore)} MB before the first request; proxy ${proxy ?? "none"}`);
  const stageAt = (s: string) => Date.parse(first.json.coordinator.stages.find((x) => x.stage === s)?.at ?? "");
  results.coldSegments = first.json.coordinator.segments;
  results.wakeToTermMs = stageAt("termTaken") - wake;
  results.termToSyncedMs = stageAt("metadataSynced") - stageAt("termTaken");
  results.syncedToDutiesStartedMs = stageAt("dutiesStarted") - stageAt("metadataSynced");
  results.wakeToDutiesStartedMs = stageAt("dutiesStarted") - wake;
  const duty = await waitFor(async () => {
    const g = await historical();
    return g?.lastRunEnd ? g : null;
  }, "the first HistoricalManagementDuties run", 120_000, 100); // gently: the object's own timestamps give the times
  results.observedFirstDutyMs = Date.now() - wake;
  results.firstDuty = duty;
  results.wakeToFirstDutyEndMs = Date.parse(duty.lastRunEnd!) - wake;
  results.firstDutyRunMs = Date.parse(duty.lastRunEnd!) - Date.parse(duty.lastRunStart!);
  results.coldWorkerCpuMs = (cpuTicks(worker) - (cpuBefore.get(worker) ?? NaN)) * TICK_MS;
  const after = memoryOf(worker);
  results.rssAfter = after.rss;
  results.hwmAfter = after.hwm;
  results.proxyRssAfter = proxy ? memoryOf(proxy).rss : NaN;
  results.allGroups = (await call<{ dutyGroups: DutyGroup[] }>("GET", "/druid/coordinator/v1/duties")).json.dutyGroups.map((g) => ({ name: g.name, runMs: g.lastRunEnd ? Date.parse(g.lastRunEnd) - Date.parse(g.lastRunStart!) : NaN, endMs: g.lastRunEnd ? Date.parse(g.lastRunEnd) - wake : NaN }));
  log(`cold start: /status answered after ${results.wakeToAnswerMs} ms with ${results.coldSegments} segments (stage ${first.json.coordinator.stage}); term at +${results.wakeToTermMs} ms, D1 sync ${results.termToSyncedMs} ms, dutiesStarted at +${results.wakeToDutiesStartedMs} ms, first historical run ${results.firstDutyRunMs} ms, ended at +${results.wakeToFirstDutyEndMs} ms (seen at +${results.observedFirstDutyMs} ms): ${JSON.stringify(duty.lastRunStats)}`);
  log(`duty groups' first runs: ${JSON.stringify(results.allGroups)}; workerd CPU wake → first duty run ${results.coldWorkerCpuMs} ms`);
  log(`workerd RSS ${MB(results.rssBefore)} → ${MB(results.rssAfter)} MB (peak ${MB(results.hwmAfter)} MB)`);
  if (results.coldSegments !== seed.segments) throw new Error(`the view holds ${results.coldSegments} segments, the seed ${seed.segments}`);

  // the view came from D1, so the snapshot duty writes the first snapshot right after the first duty run
  const written = await waitFor(async () => {
    const v = (await call<Status>("GET", "/status")).json.coordinator.view;
    return v.snapshot ? v : null;
  }, "the first snapshot of the view", 120_000, 100);
  results.snapshotWrite = { ms: written.lastWriteMs ?? NaN, bytes: written.snapshot!.bytes ?? NaN, segments: written.snapshot!.segments };
  log(`snapshot of the view written in ${written.lastWriteMs} ms: ${MB(written.snapshot!.bytes ?? NaN)} MB, ${written.snapshot!.segments} segments`);

  // ---- 3. incremental sync: 1,000 segments unused, then used again -----------------------------
  const waitView = async (n: number, since: number) => {
    for (;;) {
      if ((await viewSize()) === n) return Date.now() - since;
      if (Date.now() - since > 60_000) throw new Error(`the view did not reach ${n} segments in 60 s`);
    }
  };
  let size = seed.segments;
  for (let round = 0; round < ROUNDS; round++) {
    const d = round % shape.dataSources;
    const ds = dataSourceName(d);
    const ids: string[] = [];
    for (let day = 1; day < shape.days && ids.length < 1000; day++) if (day % 9 !== 0) ids.push(v1SegmentId(d, day)); // not overshadowed
    for (const [used, kind] of [[false, "markUnused"], [true, "markUsed"]] as const) {
      const cpu0 = cpuTicks(worker);
      const t0 = Date.now();
      const r = await call<{ numChangedSegments: number }>("POST", `/druid/coordinator/v1/datasources/${ds}/${kind}`, { segmentIds: ids });
      const answered = Date.now();
      if (r.json.numChangedSegments !== ids.length) throw new Error(`${kind} changed ${r.json.numChangedSegments} of ${ids.length}`);
      size += used ? ids.length : -ids.length;
      const ms = await waitView(size, answered);
      const cpuMs = (cpuTicks(worker) - cpu0) * TICK_MS;
      results.commitMs.push(answered - t0);
      (used ? results.usedMs : results.unusedMs).push(ms);
      results.workerCpuMs.push(cpuMs);
      log(`round ${round + 1} ${kind} ${ids.length} of ${ds}: answered in ${answered - t0} ms, in the view ${ms} ms later (workerd CPU ${cpuMs} ms over the round)`);
    }
  }

  // ---- 5. GET /druid/coordinator/v1/metadata/segments over every used segment -------------------
  results.metadataVia = via;
  if (!skip.has("metadata")) {
    for (const path of ["/druid/coordinator/v1/metadata/segments", "/druid/coordinator/v1/metadata/segments?includeOvershadowedStatus"]) {
      const pids = proxy ? [worker, proxy] : [worker];
      const base = pids.map((p) => memoryOf(p).rss);
      const sampler = sampleRss(pids);
      const t0 = performance.now();
      let bytes = 0;
      let count = 0;
      let firstByteMs = NaN;
      let status = 0;
      let error: string | undefined;
      const needle = Buffer.from('"binaryVersion"');
      let tail = Buffer.alloc(0);
      const ac = new AbortController();
      // each answer on a connection of its own
      const own = new Pool(origin, { connections: 1, pipelining: 1 });
      const guard = setInterval(() => {
        // a non-streaming answer builds every segment in memory at once: stop before the machine does
        if (memoryOf(worker).rss > 6 * 2 ** 30) ac.abort(new Error("the worker workerd passed 6 GiB of RSS"));
        if (performance.now() - t0 > 240_000) ac.abort(new Error("no complete answer in 240 s"));
      }, 200);
      try {
        const r = await own.request({ method: "GET", path, headers: auth, signal: ac.signal, headersTimeout: 300_000, bodyTimeout: 300_000 });
        status = r.statusCode;
        for await (const chunk of r.body as AsyncIterable<Buffer>) {
          if (Number.isNaN(firstByteMs)) firstByteMs = performance.now() - t0;
          bytes += chunk.length;
          const hay = Buffer.concat([tail, chunk]);
          for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + needle.length)) count++;
          tail = hay.subarray(Math.max(0, hay.length - needle.length + 1));
        }
        if (status !== 200) error = `status ${status}`;
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      } finally {
        clearInterval(guard);
        await own.close().catch(() => {});
      }
      const ms = performance.now() - t0;
      const peaks = sampler.stop();
      results.metadata.push({ path, bytes, ms, firstByteMs, segments: count, status, workerPeak: peaks[0]!, proxyPeak: peaks[1] ?? NaN, workerBase: base[0]!, proxyBase: base[1] ?? NaN, ...(error ? { error } : {}) });
      log(`GET ${path}: ${status} ${MB(bytes)} MB, ${count} segments in ${(ms / 1000).toFixed(1)} s (first byte ${f0(firstByteMs)} ms); workerd RSS ${MB(base[0]!)} → peak ${MB(peaks[0]!)} MB, proxy ${MB(base[1] ?? NaN)} → ${MB(peaks[1] ?? NaN)} MB${error ? `; ${error}` : ""}`);
      if (error) break;
    }
  }

  // ---- 1b. cold start from the snapshot: wrangler restarted over the same storage ----------------
  // after the metadata answers (measured in the warm process): the rounds' markings came after
  // the snapshot, so the restart restores it and reads them from D1
  const deltaRows = results.commitMs.length * 1000;
  await pool.close();
  await edge.dispose();
  edge = await startEdge();
  pool = new Pool(edge.url, { connections: 4, pipelining: 1 });
  await goDirect();
  await call("GET", "/druid/indexer/v1/isLeader");
  {
    const wake2 = Date.now();
    const st = await call<Status>("GET", "/status");
    const answered = Date.now() - wake2;
    const at = (x: string) => Date.parse(st.json.coordinator.stages.find((y) => y.stage === x)?.at ?? "");
    const duty2 = await waitFor(async () => {
      const g = await historical();
      return g?.lastRunEnd ? g : null;
    }, "the first HistoricalManagementDuties run after the restart", 120_000, 50);
    // the restarted Coordinator may be woken by its own overdue alarm before the first request:
    // its times are taken from its own start (the `starting` stage), not from the request
    const start2 = at("starting");
    results.restart = {
      wakeToAnswerMs: answered,
      termToSyncedMs: at("metadataSynced") - at("termTaken"),
      wakeToFirstDutyEndMs: Date.parse(duty2.lastRunEnd!) - start2,
      firstDutyRunMs: Date.parse(duty2.lastRunEnd!) - Date.parse(duty2.lastRunStart!),
      loadedFrom: st.json.coordinator.view.loadedFrom,
      segments: st.json.coordinator.segments,
      deltaRows,
    };
    log(`restart: view loaded from ${results.restart.loadedFrom}; /status answered after ${answered} ms, termTaken → metadataSynced ${results.restart.termToSyncedMs} ms (snapshot + ${deltaRows} changed rows from D1), first historical run ended ${results.restart.wakeToFirstDutyEndMs} ms after the object's start (${results.restart.firstDutyRunMs} ms)`);
    if (results.restart.segments !== size) throw new Error(`after the restart the view holds ${results.restart.segments} segments, D1 ${size}`);
    ({ worker, proxy } = ownWorkerds(runDir));
  }
  // ---- 4. the duty marking every overshadowed segment (millisToWaitBeforeDeleting 0) ------------
  if (!skip.has("marking")) {
    try {
      await post("/druid/coordinator/v1/config", { millisToWaitBeforeDeleting: 0 });
      // any sync that sees overshadowed segments brings the duties forward: mark one segment unused
      const t0 = Date.now();
      await post(`/druid/coordinator/v1/datasources/${dataSourceName(0)}/markUnused`, { segmentIds: [v1SegmentId(0, 1)] });
      const expect = seed.segments - 1 - seed.overshadowed;
      // the marking run's stats last only until the next run (which its own sync brings forward), so watch both
      let markingRun: DutyGroup | null = null;
      let convergedAt = 0;
      while (Date.now() - t0 < 600_000) {
        const g = await historical();
        if (g && (markStats(g)?.marked ?? 0) > 0 && !markingRun) markingRun = g;
        if ((await viewSize()) === expect) {
          convergedAt = Date.now();
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!convergedAt) throw new Error(`the view did not reach ${expect} segments in 600 s`);
      const m = markingRun ? markStats(markingRun)! : { overshadowed: NaN, marked: seed.overshadowed };
      results.marking = {
        ms: NaN,
        runtimeMs: markingRun ? Date.parse(markingRun.lastRunEnd!) - Date.parse(markingRun.lastRunStart!) : NaN,
        overshadowed: m.overshadowed,
        marked: m.marked,
        convergedMs: convergedAt - t0,
        segmentsAfter: expect,
      };
      log(`markOvershadowedUnused in the object: ${JSON.stringify(results.marking)}`);
    } catch (err) {
      results.marking = { ms: NaN, runtimeMs: NaN, overshadowed: NaN, marked: NaN, convergedMs: NaN, segmentsAfter: NaN, error: err instanceof Error ? err.message : String(err) };
      log(`markOvershadowedUnused in the object failed: ${results.marking.error}`);
    }
  }
} finally {
  await pool.close();
  await edge.dispose();
}

// ---- 1 (alternative). a snapshot in the object's own storage vs D1 pages, cold, under Miniflare --
if (!skip.has("probe")) {
  // the seeded database as cached (the probe only reads it), not the run's marked copy
  results.probe = await runSnapshotProbe({ d1PersistDir: join(seedDir, "v3", "d1"), rounds: Number(values.probeRounds), log });
}
rmSync(runDir, { recursive: true, force: true });

console.log(JSON.stringify({ shape, seed, core, results }, null, 2));

// ---- the section -----------------------------------------------------------------------------
const n = seed.segments;
const bytesUsed = core.map((c) => c.bytesUsed);
const heapPer = core.map((c) => c.heap);
const firstRun = core.map((c) => c.firstMs);
const secondRun = core.map((c) => c.secondMs);
const p = results.probe;
const rssGrowth = results.rssAfter! - results.rssBefore!;
const verdict = (ok: boolean) => (ok ? "**met**" : "**missed**");
const incremental = [...results.unusedMs, ...results.usedMs];
const metaRows = results.metadata.map(
  (m) =>
    `| \`GET ${m.path}\` | ${m.error ? `did not complete: ${m.error}` : `${m.segments.toLocaleString("en-US")} segments, ${MB(m.bytes)} MiB in ${f1(m.ms / 1000)} s (${f0(m.bytes / 2 ** 20 / (m.ms / 1000))} MiB/s, first byte after ${f0(m.firstByteMs)} ms)`}; RSS while it streamed: worker workerd ${MB(m.workerBase)} → peak ${MB(m.workerPeak)} MiB (+${MB(m.workerPeak - m.workerBase)}), proxy ${MB(m.proxyBase)} → ${MB(m.proxyPeak)} MiB | streams, the Worker and both objects < 128 MB — ${m.error ? "**missed**" : verdict(m.workerPeak - m.workerBase < 128 * 2 ** 20 && m.proxyPeak - m.proxyBase < 128 * 2 ** 20)} (growth of the whole process, D1's simulator included) |`,
);
const markingLine = results.marking
  ? results.marking.error
    ? `| the duty with \`millisToWaitBeforeDeleting\` 0, in the object | failed: ${results.marking.error} | – |`
    : `| the duty with \`millisToWaitBeforeDeleting\` 0, in the object: decision + marking ${results.marking.marked.toLocaleString("en-US")} segments through the Overlord | the marking run ${f0(results.marking.runtimeMs)} ms (\`/duties\` lastRunStart → lastRunEnd); trigger → the view without them ${f0(results.marking.convergedMs)} ms | not a target (the Overlord's writes) |`
  : "";

const section = `## The Coordinator at 1,000,000 segments (issue 14): \`npm run bench:coordinator\`

Command: \`npm run bench:coordinator\` (wrangler's dev server via \`unstable_startWorker\` over a local D1
seeded with ${n.toLocaleString("en-US")} used segments — ${shape.dataSources} data sources × ${shape.days.toLocaleString("en-US")} day intervals, every 9th day re-ingested
at a newer version, so ${seed.overshadowed.toLocaleString("en-US")} (${((seed.overshadowed / n) * 100).toFixed(0)} %) are overshadowed; Druid DataSegment payloads of ${seed.payloadBytes} B.
The rows are generated by SQL inside SQLite through \`wrangler d1 execute --local\`
(${f0(seed.seededMs / 1000)} s once, then cached under bench/.out/; a run copies the cache, ${f1(copyMs / 1000)} s here).
\`DRUID_MANAGER_SEGMENTS_POLL_DURATION=PT1H\` so the safety-net poll stays out of the timings.
Machine: ${machine()}.

| figure | result | target (issue 14) |
|---|---|---|
| cold start: first request → \`/status\` answered (the Coordinator's \`becomeLeader\` done) | ${f0(results.wakeToAnswerMs!)} ms, ${results.coldSegments!.toLocaleString("en-US")} segments in the view | – |
| cold start: first request → \`dutiesStarted\` | ${f0(results.wakeToDutiesStartedMs!)} ms | – |
| cold start: first request → first HistoricalManagementDuties run ended | **${f0(results.wakeToFirstDutyEndMs!)} ms** (seen by polling \`/duties\` at ${f0(results.observedFirstDutyMs!)} ms; markOvershadowedUnused ${markStats(results.firstDuty!)?.skipped ?? "ran"}, as Druid waits millisToWaitBeforeDeleting) | < 10 s (Druid: ~1 min at 600k) — ${verdict(results.wakeToFirstDutyEndMs! < 10_000)} |
| … of which the paged D1 sync (\`termTaken\` → \`metadataSynced\`: ${Math.ceil(n / 5000)} pages of 5,000 narrow rows, applied to the view) | ${f0(results.termToSyncedMs!)} ms | – |
| … the rest (wake and term: ${f0(results.wakeToTermMs!)} ms; \`metadataSynced\` → \`dutiesStarted\`: ${f0(results.syncedToDutiesStartedMs!)} ms; then the duty's alarm) | ${f0(results.wakeToFirstDutyEndMs! - results.termToSyncedMs!)} ms | – |
${
  results.restart
    ? `| cold start from the view's snapshot (wrangler restarted over the same storage after the incremental rounds; view loaded from: ${results.restart.loadedFrom}): \`termTaken\` → \`metadataSynced\` (read back the snapshot, then the ${results.restart.deltaRows.toLocaleString("en-US")} rows changed since it from D1) | ${f0(results.restart.termToSyncedMs)} ms | – |
| … the object's start (\`starting\`; its overdue alarm may wake it before the first request) → first HistoricalManagementDuties run ended | **${f0(results.restart.wakeToFirstDutyEndMs)} ms** (the run ${f0(results.restart.firstDutyRunMs)} ms) | < 10 s — ${verdict(results.restart.wakeToFirstDutyEndMs < 10_000)} |
`
    : ""
}${results.snapshotWrite ? `| the snapshot's write (the alarm duty right after the cold start from D1, inside blockConcurrencyWhile) | ${f0(results.snapshotWrite.ms)} ms, ${f1(results.snapshotWrite.bytes / 2 ** 20)} MiB of ${results.snapshotWrite.segments.toLocaleString("en-US")} segments in chunks of 128 KiB | – |\n` : ""}${
  p
    ? `| prototype, cold object under Miniflare: D1 pages alone (same query, rows dropped) | ${range(p.d1PagesMs)} ms (${p.d1PagesMs.length} rounds) | – |
| prototype: D1 pages applied to a SegmentView (segmentSync.ts's cold start) | ${range(p.d1SyncMs)} ms | – |
| prototype: D1 pages alone with the keyset as one index range (\`change_seq >= ? AND (change_seq > ? OR id > ?)\`, same rows) | ${range(p.d1PagesRangeMs)} ms | – |
| prototype: one incremental read (the last 1,000 rows) as changesSince has it / as one range, 5 warm reads | ${range(p.tailStoreMs)} ms / ${range(p.tailRangeMs)} ms | – |
| prototype: snapshot read-back, ${f1(p.viewBytes / 1e6)} MB (the view's bytesUsed()) from the object's storage, KV API (${p.kvChunks} ArrayBuffers of 128 KiB, one \`list()\`) | ${range(p.kvReadMs)} ms (written in ${f0(p.kvWriteMs)} ms) | – |
| prototype: the same from \`ctx.storage.sql\` (${p.sqlChunks} BLOBs of 1 MiB) | ${range(p.sqlReadMs)} ms (written in ${f0(p.sqlWriteMs)} ms) | – |
| prototype: waking an empty object in a warm isolate (request round trip included; part of every figure above) | ${range(p.wakeMs)} ms | – |
`
    : ""
}| bytes per segment, \`bytesUsed() / size\` (Node, bench/coordinator-view.ts) | ${range(bytesUsed, f1)} B | ≤ 48 B — ${verdict(Math.max(...bytesUsed) <= 48)} |
| bytes per segment, heapUsed + arrayBuffers after a forced GC (Node) | ${range(heapPer, f1)} B | ≤ 48 B |
${p ? `| bytes per segment, \`bytesUsed() / size\` inside workerd (the prototype's view) | ${f1(p.viewBytes / p.segments)} B | ≤ 48 B |\n` : ""}| worker workerd RSS (Worker + both objects + local D1), before the first request → after the first duty run | ${MB(results.rssBefore!)} → ${MB(results.rssAfter!)} MB (+${MB(rssGrowth)} MB = ${f0(rssGrowth / n)} B per segment; peak ${MB(results.hwmAfter!)} MB) | (an upper bound: D1's simulator and uncollected garbage) |
| incremental sync: 1,000 segments marked unused or used, answer → in the view (\`/status\`) | median **${f1(median(incremental))} ms** (${range(incremental)} ms over ${incremental.length} markings; unused ${f1(median(results.unusedMs))}, used ${f1(median(results.usedMs))}) | < 50 ms — ${verdict(median(incremental) < 50)} |
| … the marking's own round trip (HTTP → Overlord commit → answer) | median ${f1(median(results.commitMs))} ms | – |
| … workerd CPU (Worker, both objects, D1) per marking, commit and sync together | ${range(results.workerCpuMs)} ms (10 ms ticks) | – |
| markOvershadowedUnused decision: full overshadowed computation, ${shape.dataSources} data sources (Node), first run | ${range(firstRun)} ms (${core[0]!.overshadowed.toLocaleString("en-US")} overshadowed) | < 200 ms CPU — ${verdict(Math.max(...firstRun) < 200)} |
| … second run (Node) | ${range(secondRun)} ms | |
| … in the object: the first HistoricalManagementDuties run after the cold start (CollectSegmentStats computes overshadowing for every data source; \`/duties\` lastRunStart → lastRunEnd) | ${f0(results.firstDutyRunMs!)} ms (${(results.firstDuty?.lastRunStats?.CollectSegmentStats?.overshadowed ?? NaN).toLocaleString("en-US")} overshadowed) | < 200 ms CPU — ${verdict(results.firstDutyRunMs! < 200)} |
${markingLine}
${metaRows.join("\n")}${results.metadataVia ? `\n\nEvery request went to ${results.metadataVia}: through wrangler's dev proxy, requests now and then never reached the Worker (it logged none; no answer in minutes), after a 650 MB answer and without one — a hang of the dev tooling, not of the Worker.` : ""}${reloads > 0 ? `\n\nwrangler reloaded the Worker ${reloads} time(s) during the run (a POST answered 503 "restarted mid-request" and was sent again).` : ""}`;

// ---- the reading: each claim from this run's own figures ---------------------------------------
const coldMs = results.wakeToFirstDutyEndMs!;
const reading = `**Reading.**

- **Cold start: ${verdict(coldMs < 10_000)}, ${f1(coldMs / 1000)} s to the first complete duty cycle, ${f1(results.termToSyncedMs! / 1000)} s of it the paged D1 sync.**${
  p
    ? ` The prototype reads the same ${Math.ceil(n / 5000)} pages in a cold object in ${range(p.d1PagesMs.map((x) => x / 1000), f1)} s with the rows dropped,
  so the time is D1's, not the view's (building the view adds ${f0(median(p.d1SyncMs) - median(p.d1PagesMs))} ms). \`SegmentStore.changesSince\`
  (src/metadata/segmentStore.ts) pages with a row-value keyset, \`(change_seq, id) > (?, ?)\`, planned as \`${p.plans.store}\`;
  the earlier \`change_seq > ? OR (change_seq = ? AND id > ?)\` walked the index from its start on every page (20 s here), and the
  alternative range form \`change_seq >= ? AND (change_seq > ? OR id > ?)\` (\`${p.plans.range}\`) takes
  ${range(p.d1PagesRangeMs.map((x) => x / 1000), f1)} s. What is left is local D1's cost per row returned (~${f0(median(p.d1PagesMs) / Math.ceil(n / 5000))} ms a page of 5,000).`
    : ""
}
- **D1 pages or a snapshot in the object's storage: both.** A cold start with no snapshot reads D1 pages; the view's snapshot is then written${results.snapshotWrite ? ` (${f0(results.snapshotWrite.ms)} ms here)` : ""} and rewritten at most every
  \`DRUID_COORDINATOR_VIEW_SNAPSHOT_PERIOD\` (PT5M) while the view changes; every later cold start (an eviction, a deploy, a reset) restores it and reads only the rows changed since from D1${
    results.restart ? `: ${f0(results.restart.termToSyncedMs)} ms here against ${f0(results.termToSyncedMs!)} ms of D1 pages, ${f1(results.termToSyncedMs! / Math.max(1, results.restart.termToSyncedMs))}× faster` : ""
  }.${p ? ` The prototype's read-back alone: ${range(p.kvReadMs)} ms through the KV API (the layout used), ${range(p.sqlReadMs)} ms from \`ctx.storage.sql\` BLOBs.` : ""}
  Deletions leave no change row, so a restored view whose snapshot predates a kill of a segment it still holds is rebuilt from D1 (the deletion floor decides; see docs/architecture.md).
- **Memory: ${verdict(Math.max(...bytesUsed) <= 48)}**, ${range(bytesUsed, f1)} B per segment in Node${p ? ` and ${f1(p.viewBytes / p.segments)} B inside workerd` : ""} (\`bytesUsed()\`). The workerd
  process grew by ${MB(rssGrowth)} MiB over the cold start, but that process also runs local D1 and holds the garbage of ${Math.ceil(n / 5000)} pages of rows,
  so it bounds the view from above only; no RPC reports the object's \`bytesUsed()\`.
- **Incremental sync: ${verdict(median(incremental) < 50)}, median ${f0(median(incremental))} ms** from the Overlord's answer to the view. The sync that
  the Overlord's nudge starts reads \`changesSince\` from a watermark near the end of the index${p ? `: ${range(p.tailStoreMs)} ms for the last 1,000 rows (${range(p.tailRangeMs)} ms in the range form)` : ""}.
- **markOvershadowedUnused: ${verdict(Math.max(...firstRun) < 200 && results.firstDutyRunMs! < 200)}** — ${range(firstRun)} ms for the full computation in Node (first run),
  ${f0(results.firstDutyRunMs!)} ms for the whole first HistoricalManagementDuties run in the object (Date.now() in local workerd advances
  during computation, so the duty's own timestamps time it).${results.marking && !results.marking.error ? ` Marking all ${results.marking.marked.toLocaleString("en-US")} overshadowed segments through the Overlord then took ${f1(results.marking.convergedMs / 1000)} s from the trigger to the view without them (the Overlord's writes and the syncs, not the decision).` : ""}
${results.metadata
  .map((m) =>
    m.error
      ? `- **\`GET ${m.path}\`: did not complete** (${m.error}).`
      : `- **\`GET ${m.path}\` streams**: ${m.segments.toLocaleString("en-US")} segments, ${MB(m.bytes)} MiB in ${f1(m.ms / 1000)} s, and the workerd process grew by ${MB(m.workerPeak - m.workerBase)} MiB while it did.`,
  )
  .join("\n")}`;

if (isDefaultShape || values.write) writeSection("coordinator", `${section}\n\n${reading}`);
else log(`(not written to docs/benchmarks.md: not the default shape; pass --write to write it)\n\n${section}\n\n${reading}`);
