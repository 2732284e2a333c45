/**
 * `npm run bench:peers` (issue 5): the same workloads, in one run, on BullMQ (Redis; in-process
 * handlers and sandboxed processors), graphile-worker (PostgreSQL; default and batched settings)
 * and druid-edge (wrangler dev + real agents):
 *   1. dispatch latency — one job at a time, enqueue call returned → handler starts, p50/p99;
 *   2. throughput — N no-op jobs enqueued in bulk, 4 worker processes × concurrency 8, jobs/s;
 *   3. crash — the same with one worker process SIGKILLed at 50 %: jobs lost, run twice, failed.
 * Prints one table with druid-edge's ratios and writes it to docs/benchmarks.md.
 *
 *   npm run bench:peers [-- --jobs 20000 --samples 500 --only bullmq,graphile,druid]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAgent, startDruidEdge, waitFor, ROOT, type AgentProcess, type DruidEdge } from "../../test/support/node/cluster.ts";
import { fmt, percentile } from "../lib/load.ts";
import { machine, writeSection } from "../lib/report.ts";
import { ensureInstalled, startPostgres, startRedis, type Service } from "./services.ts";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "20000" },
    samples: { type: "string", default: "500" },
    only: { type: "string", default: "bullmq,bullmq-sandboxed,graphile,graphile-batched,druid,druid-inprocess" },
    processes: { type: "string", default: "4" },
    concurrency: { type: "string", default: "8" },
    /** druid-edge agents' --prefetch (as bench:dispatch). */
    prefetch: { type: "string", default: "120" },
    "crash-settle-s": { type: "string", default: "90" },
  },
});
const JOBS = Number(values.jobs);
const SAMPLES = Number(values.samples);
const PROCS = Number(values.processes);
const CONC = Number(values.concurrency);
const PREFETCH = Number(values.prefetch);
const ONLY = new Set(values.only!.split(","));
const wall = () => performance.timeOrigin + performance.now();

/** Reads `{id, at}` lines appended to a file, incrementally. */
class EventTail {
  private offset = 0;
  private rest = "";
  readonly starts = new Map<string, number>();
  runs = 0;
  twice = 0;
  constructor(readonly file: string, private readonly parse: (line: string) => { id: string; at: number } | null) {
    writeFileSync(file, "", { flag: "a" });
  }
  poll(): void {
    const size = statSync(this.file).size;
    if (size <= this.offset) return;
    const fd = openSync(this.file, "r");
    const buf = Buffer.alloc(size - this.offset);
    readSync(fd, buf, 0, buf.length, this.offset);
    closeSync(fd);
    this.offset = size;
    const lines = (this.rest + buf.toString("utf8")).split("\n");
    this.rest = lines.pop() ?? "";
    for (const l of lines) {
      const e = l ? this.parse(l) : null;
      if (!e) continue;
      this.runs++;
      if (this.starts.has(e.id)) this.twice++;
      else this.starts.set(e.id, e.at);
    }
  }
}

interface Result {
  name: string;
  p50: number;
  p99: number;
  throughput: number;
  lost: number;
  twice: number;
  failed: number;
  note: string;
}

interface Peer {
  name: string;
  start(dir: string, crashSafe: boolean): Promise<void>;
  /** Enqueues job `n`; resolves when the enqueue call returns. */
  enqueue(n: number): Promise<void>;
  enqueueBulk(ns: number[]): Promise<void>;
  /** Jobs the system reports finished (completed or failed). */
  finished(): Promise<{ completed: number; failed: number }>;
  tails(): EventTail[];
  /** SIGKILLs one worker process. */
  killOne(): void;
  stop(): Promise<void>;
}

const allStarts = (p: Peer) => {
  const m = new Map<string, number>();
  let twice = 0;
  for (const t of p.tails()) {
    t.poll();
    twice += t.twice;
    for (const [id, at] of t.starts) {
      if (m.has(id)) twice++;
      else m.set(id, at);
    }
  }
  return { starts: m, twice };
};

// ---- peers ---------------------------------------------------------------------------------------

function workerProcesses(system: string, url: string, dir: string) {
  const procs: ChildProcess[] = [];
  const tails: EventTail[] = [];
  const start = async () => {
    for (let i = 0; i < PROCS; i++) {
      const file = join(dir, `${system}-${i}-${Date.now()}.jsonl`);
      tails.push(new EventTail(file, (l) => JSON.parse(l)));
      // node --import tsx (not the tsx binary): the pid we SIGKILL must be the worker itself, not a launcher
      const child = spawn(process.execPath, ["--import", "tsx", "bench/peers/worker.ts", system, url, String(CONC), file], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
      procs.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (d) => String(d).includes("ready") && resolve());
        child.once("exit", (code) => reject(new Error(`${system} worker exited (${code})`)));
      });
    }
  };
  return {
    procs,
    tails,
    start,
    killOne: () => procs[0]?.kill("SIGKILL"),
    stop: async () => {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => p.once("exit", r)))));
    },
  };
}

function bullmqPeer(redis: Service, sandboxed: boolean): Peer {
  let queue: import("bullmq").Queue;
  let w: ReturnType<typeof workerProcesses>;
  const system = sandboxed ? "bullmq-sandboxed" : "bullmq";
  return {
    name: sandboxed ? "BullMQ (sandboxed processors)" : "BullMQ (in-process handlers)",
    async start(dir) {
      const { Queue } = await import("bullmq");
      const u = new URL(redis.url);
      queue = new Queue("bench", { connection: { host: u.hostname, port: Number(u.port) } });
      await queue.obliterate({ force: true });
      w = workerProcesses(system, redis.url, dir);
      await w.start();
    },
    // removeOnComplete keeps Redis small; BullMQ's defaults otherwise (attempts 1, stalled check 30 s)
    enqueue: async (n) => void (await queue.add("noop", { n }, { removeOnComplete: true, removeOnFail: true })),
    enqueueBulk: async (ns) => void (await queue.addBulk(ns.map((n) => ({ name: "noop", data: { n }, opts: { removeOnComplete: true, removeOnFail: true } })))),
    async finished() {
      const c = await queue.getJobCounts("waiting", "active", "delayed", "prioritized");
      return { completed: Math.max(0, counted - Object.values(c).reduce((a, b) => a + b, 0)), failed: 0 };
    },
    tails: () => w.tails,
    killOne: () => w.killOne(),
    async stop() {
      await w.stop();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    },
  };
}
let counted = 0; // jobs enqueued in the current workload (for "finished" of systems that delete done jobs)

function graphilePeer(pg: Service, batched: boolean): Peer {
  let utils: import("graphile-worker").WorkerUtils;
  let client: import("pg").Client;
  let w: ReturnType<typeof workerProcesses>;
  return {
    name: batched ? "graphile-worker (batched)" : "graphile-worker (default)",
    async start(dir) {
      const { makeWorkerUtils } = await import("graphile-worker");
      utils = await makeWorkerUtils({ connectionString: pg.url });
      await utils.migrate();
      const { Client } = (await import("pg")).default;
      client = new Client({ connectionString: pg.url });
      await client.connect();
      await client.query("DELETE FROM graphile_worker._private_jobs");
      w = workerProcesses(batched ? "graphile-batched" : "graphile", pg.url, dir);
      await w.start();
    },
    enqueue: async (n) => void (await utils.addJob("noop", { n })),
    enqueueBulk: async (ns) => void (await utils.addJobs(ns.map((n) => ({ identifier: "noop", payload: { n } })))),
    async finished() {
      // graphile-worker deletes a job when it completes; a permanently failed one stays.
      const r = await client.query("SELECT count(*)::int AS left, count(*) FILTER (WHERE attempts >= max_attempts)::int AS failed FROM graphile_worker._private_jobs");
      return { completed: counted - r.rows[0].left, failed: r.rows[0].failed };
    },
    tails: () => w.tails,
    killOne: () => w.killOne(),
    async stop() {
      await w.stop();
      await client.end();
      await utils.release();
    },
  };
}

function druidPeer(inProcess: boolean): Peer {
  let edge: DruidEdge;
  const agents: AgentProcess[] = [];
  const tails: EventTail[] = [];
  let ids: string[] = [];
  const idOf = new Map<string, string>();
  // Asking D1-backed status for 20,000 ids costs the Overlord CPU the peers' count queries do not:
  // ask at most every 250 ms (≤ 1 % of a run) and answer from the last reading in between.
  let last = { completed: 0, failed: 0 };
  let lastAt = 0;
  const auth = () => ({ Authorization: `Bearer ${edge.adminToken}`, "content-type": "application/json" });
  return {
    name: inProcess ? "druid-edge (agents, --isolation none)" : "druid-edge (agents, child processes)",
    async start(_dir, crashSafe) {
      // lease 5 s + cleanup 10 s: a lost agent's tasks end FAILED ~15 s later (Druid: PT15M cleanup)
      edge = await startDruidEdge({ vars: crashSafe ? { DRUID_WORKER_LEASE: "5000", DRUID_TASK_CLEANUP_TIMEOUT: "10000" } : {} });
      for (let i = 0; i < PROCS; i++) {
        const a = startAgent(edge, { host: `peer-${i}:8091`, capacity: CONC, extraArgs: ["--prefetch", String(PREFETCH), ...(inProcess ? ["--isolation", "none"] : [])] });
        agents.push(a);
        tails.push(
          new EventTail(a.eventsFile, (l) => {
            const e = JSON.parse(l) as { event: string; taskId?: string; at: number };
            return e.event === "task.started" && e.taskId ? { id: idOf.get(e.taskId) ?? e.taskId, at: e.at } : null;
          }),
        );
      }
      await waitFor(() => agents.every((a) => a.events().some((e) => e.event === "agent.ready")), "agents ready", 120_000, 200);
    },
    async enqueue(n) {
      const r = await fetch(`${edge.url}/druid/indexer/v1/task`, { method: "POST", headers: auth(), body: JSON.stringify({ type: "noop", runTime: 0, dataSource: "bench" }) });
      const id = ((await r.json()) as { task: string }).task;
      idOf.set(id, String(n));
      ids.push(id);
    },
    async enqueueBulk(ns) {
      for (let i = 0; i < ns.length; i += 10_000) {
        const part = ns.slice(i, i + 10_000);
        const r = await fetch(`${edge.url}/druid/indexer/v1/tasks`, { method: "POST", headers: auth(), body: JSON.stringify(part.map(() => ({ type: "noop", runTime: 0, dataSource: "bench" }))) });
        const got = ((await r.json()) as { tasks: string[] }).tasks;
        got.forEach((id, j) => idOf.set(id, String(part[j])));
        ids.push(...got);
      }
    },
    async finished() {
      if (Date.now() - lastAt < 250) return last;
      lastAt = Date.now();
      let completed = 0, failed = 0;
      for (let i = 0; i < ids.length; i += 5000) {
        const r = await fetch(`${edge.url}/druid/indexer/v1/taskStatus`, { method: "POST", headers: auth(), body: JSON.stringify(ids.slice(i, i + 5000)) });
        for (const s of Object.values((await r.json()) as Record<string, { status: string }>)) {
          if (s.status === "SUCCESS") completed++;
          else if (s.status === "FAILED") failed++;
        }
      }
      last = { completed, failed };
      return last;
    },
    tails: () => tails,
    killOne: () => agents[0]?.kill("SIGKILL"),
    async stop() {
      for (const a of agents) a.kill("SIGKILL");
      await Promise.all(agents.map((a) => a.exited));
      await edge.dispose();
      ids = [];
      last = { completed: 0, failed: 0 };
      lastAt = 0;
    },
  };
}

// ---- workloads -----------------------------------------------------------------------------------

async function latency(p: Peer): Promise<{ p50: number; p99: number }> {
  const deltas: number[] = [];
  for (let n = 0; n < SAMPLES + 20; n++) {
    const id = `L${n}`;
    const num = -(n + 1);
    await p.enqueue(num);
    const at = wall();
    const start = await waitFor(() => allStarts(p).starts.get(String(num)), `latency sample ${id}`, 30_000, 1);
    if (n >= 20) deltas.push(start - at);
  }
  deltas.sort((a, b) => a - b);
  return { p50: percentile(deltas, 50), p99: percentile(deltas, 99) };
}

async function throughput(p: Peer, crash: boolean): Promise<{ rate: number; lost: number; twice: number; failed: number }> {
  const base = 1_000_000 * (crash ? 2 : 1);
  const ns = Array.from({ length: JOBS }, (_, i) => base + i);
  counted = JOBS;
  const t0 = performance.now();
  await p.enqueueBulk(ns);
  let killed = false;
  const deadline = Date.now() + (crash ? Number(values["crash-settle-s"]) * 1000 : 600_000);
  let done = { completed: 0, failed: 0 };
  for (;;) {
    if (crash && !killed) {
      const { starts } = allStarts(p);
      let started = 0;
      for (const k of starts.keys()) if (Number(k) >= base && Number(k) < base + JOBS) started++;
      if (started >= JOBS / 2) {
        p.killOne();
        killed = true;
      }
    }
    done = await p.finished();
    if (done.completed + done.failed >= JOBS || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, crash ? 200 : 20));
  }
  const seconds = (performance.now() - t0) / 1000;
  const { twice } = allStarts(p);
  const lost = JOBS - done.completed - done.failed;
  return { rate: done.completed / seconds, lost, twice, failed: done.failed };
}

// ---- main ----------------------------------------------------------------------------------------

ensureInstalled();
const services: Service[] = [];
const cleanup = () => services.forEach((s) => s.stop());
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});
const results: Result[] = [];
const dir = mkdtempSync(join(tmpdir(), "bench-peers-"));
const versions: string[] = [];
try {
  const redis = ONLY.has("bullmq") || ONLY.has("bullmq-sandboxed") ? await startRedis() : null;
  if (redis) services.push(redis), versions.push(`Redis ${redis.version}`);
  const pg = ONLY.has("graphile") || ONLY.has("graphile-batched") ? await startPostgres() : null;
  if (pg) services.push(pg), versions.push(`PostgreSQL ${pg.version}`);
  const peers: Array<[string, () => Peer, string]> = [
    ["bullmq", () => bullmqPeer(redis!, false), "Redis, no fsync (in memory; RDB/AOF off as configured here) · in-process handlers"],
    ["bullmq-sandboxed", () => bullmqPeer(redis!, true), "Redis, no fsync · child process per concurrency slot"],
    ["graphile", () => graphilePeer(pg!, false), "PostgreSQL commit (fsync) per job state change · in-process"],
    ["graphile-batched", () => graphilePeer(pg!, true), "PostgreSQL commits, batched · in-process"],
    ["druid", () => druidPeer(false), "D1 (SQLite) commit per group of state changes, answered after commit · pooled child process per slot"],
    ["druid-inprocess", () => druidPeer(true), "D1 (SQLite) commit per group of state changes, answered after commit · in the agent's process"],
  ];
  for (const [key, make, note] of peers) {
    if (!ONLY.has(key)) continue;
    const p = make();
    console.log(`--- ${p.name}`);
    await p.start(dir, false);
    const lat = await latency(p);
    console.log(`latency p50 ${fmt(lat.p50, 2)} ms p99 ${fmt(lat.p99, 2)} ms`);
    const thr = await throughput(p, false);
    console.log(`throughput ${fmt(thr.rate, 0)} jobs/s`);
    await p.stop();
    const q = make();
    await q.start(dir, true);
    const crash = await throughput(q, true);
    console.log(`crash: lost ${crash.lost}, ran twice ${crash.twice}, failed ${crash.failed}`);
    await q.stop();
    results.push({ name: p.name, p50: lat.p50, p99: lat.p99, throughput: thr.rate, lost: crash.lost, twice: crash.twice, failed: crash.failed, note });
  }
} finally {
  cleanup();
}

const druidChild = results.find((r) => r.name.startsWith("druid-edge (agents, child"));
const druidInline = results.find((r) => r.name.startsWith("druid-edge (agents, --isolation none"));
const ratio = (d: Result | undefined, r: Result) => (d && d !== r ? `${fmt(d.p50 / r.p50, 2)}× / ${fmt(d.throughput / r.throughput, 2)}×` : "–");
const rows = results.map(
  (r) =>
    `| ${r.name} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.throughput, 0)} | ${r.lost} | ${r.twice} | ${r.failed} | ${ratio(druidChild, r)} | ${ratio(druidInline, r)} | ${r.note} |`,
);
const table = `| system | dispatch p50 ms | p99 ms | throughput jobs/s | crash: lost | crash: ran twice | crash: failed | druid-edge child processes ÷ this (p50 / throughput) | druid-edge --isolation none ÷ this (p50 / throughput) | durability · isolation |
|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}`;
console.log(table);
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
writeSection(
  "peers",
  `## Side by side: BullMQ and graphile-worker (issue 5)

Command: \`npm run bench:peers -- --jobs ${JOBS} --samples ${SAMPLES}\` (starts Redis and PostgreSQL from Debian's packages —
apt-get installs them if missing, which needs root — on loopback with data in a temporary directory).
Machine: ${machine()}. Versions: bullmq ${pkg.devDependencies.bullmq}, graphile-worker ${pkg.devDependencies["graphile-worker"]}, ${versions.join(", ")}.

Workloads: dispatch latency = enqueue call returned → handler started (${SAMPLES} sequential samples); throughput =
${JOBS} no-op jobs enqueued in bulk (BullMQ \`addBulk\`, graphile-worker \`addJobs\`, druid-edge \`POST /druid/indexer/v1/tasks\`)
to ${PROCS} worker processes × concurrency ${CONC} (druid-edge: ${PROCS} agents × capacity ${CONC}, prefetch ${PREFETCH}), enqueue → all complete;
crash = the same with one worker process SIGKILLed at 50 % (lost = neither completed nor failed after ${values["crash-settle-s"]} s;
druid-edge runs with a 5 s lease and 10 s cleanup timeout here, BullMQ with its default 30 s stalled check, graphile-worker
with its default 4 h lock timeout).

${table}`,
);
