/**
 * `npm run bench:dispatch` (issue 3), in one run:
 *  1. latency: 500 sequential samples of (agent holds the task) − (submit response arrived at
 *     the client), next to a bare authenticated round trip measured in the same run;
 *  2. throughput: 20,000 noop tasks (runTime 0) submitted in bulk to 4 agents of capacity 8,
 *     submit → all SUCCESS (every state change durable in D1), tasks/s.
 * Clocks: `performance.timeOrigin + performance.now()` in the client and in the agents.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { startAgent, startDruidEdge, waitFor, type AgentProcess } from "../test/support/node/cluster.ts";
import { fmt, percentile } from "./lib/load.ts";
import { machine, writeSection } from "./lib/report.ts";

const { values } = parseArgs({
  options: {
    samples: { type: "string", default: "500" },
    tasks: { type: "string", default: "20000" },
    agents: { type: "string", default: "4" },
    capacity: { type: "string", default: "8" },
    prefetch: { type: "string", default: "120" },
    warmup: { type: "string", default: "2000" },
    isolation: { type: "string", default: "process" },
  },
});
const PREFETCH = Number(values.prefetch);
const WARMUP = Number(values.warmup);
const ISOLATION = ["--isolation", values.isolation!];
const SAMPLES = Number(values.samples);
const TASKS = Number(values.tasks);
const AGENTS = Number(values.agents);
const CAPACITY = Number(values.capacity);
const wall = () => performance.timeOrigin + performance.now();

async function successCount(edge: Awaited<ReturnType<typeof startDruidEdge>>, ids: string[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < ids.length; i += 5000) {
    const r = await edge.api("POST", "/druid/indexer/v1/taskStatus", ids.slice(i, i + 5000));
    for (const s of Object.values(r.json as Record<string, { status: string }>)) if (s.status === "SUCCESS") n++;
  }
  return n;
}

/** Counts `task.finished` lines appended to an agent's events file, reading only new bytes. */
function finishedCounter(file: string) {
  let offset = 0;
  let count = 0;
  let rest = "";
  return () => {
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      return count;
    }
    if (size <= offset) return count;
    const fd = openSync(file, "r");
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    offset = size;
    const text = rest + buf.toString("utf8");
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) if (l.includes('"task.finished"')) count++;
    return count;
  };
}

const ready = (a: AgentProcess) => a.events().some((e) => e.event === "agent.ready");

// ---- 1. latency ------------------------------------------------------------------------------
const edge = await startDruidEdge();
const auth = { Authorization: `Bearer ${edge.adminToken}`, "content-type": "application/json" };
const agent = startAgent(edge, { host: "bench-latency:8091", capacity: 8, extraArgs: ISOLATION });
let latencyMd = "";
try {
  await waitFor(async () => (await edge.api("GET", "/druid/indexer/v1/workers")).json?.length === 1, "agent registration");
  await waitFor(() => ready(agent), "the agent's task processes", 60_000);
  const responseAt = new Map<string, number>();
  const rtt: number[] = [];
  for (let i = 0; i < SAMPLES + 20; i++) {
    if (i === 20) {
      // warmed up: the bare round trip, measured in the same conditions
      for (let j = 0; j < SAMPLES; j++) {
        const t0 = performance.now();
        await (await fetch(`${edge.url}/druid/indexer/v1/isLeader`, { headers: auth })).arrayBuffer();
        rtt.push(performance.now() - t0);
      }
    }
    const r = await fetch(`${edge.url}/druid/indexer/v1/task`, { method: "POST", headers: auth, body: '{"type":"noop","runTime":0}' });
    const body = (await r.json()) as { task: string };
    const at = wall();
    if (i >= 20) responseAt.set(body.task, at);
    // next sample once this one is SUCCESS in D1: the agent's report has been answered and its
    // next poll is held again (submitting while that report is in flight measures a collision)
    await waitFor(async () => (await edge.api("GET", `/druid/indexer/v1/task/${encodeURIComponent(body.task)}/status`)).json?.status?.status === "SUCCESS", "sample to finish", 10_000, 1);
  }
  const assigned = new Map(agent.events().filter((e) => e.event === "task.assigned").map((e) => [e.taskId!, e.at!]));
  const deltas = [...responseAt].map(([id, at]) => assigned.get(id)! - at).sort((a, b) => a - b);
  rtt.sort((a, b) => a - b);
  const before = deltas.filter((d) => d < 0).length / deltas.length;
  const p50 = percentile(deltas, 50);
  const rtt50 = percentile(rtt, 50);
  console.log(`dispatch latency p50 ${fmt(p50, 2)} ms p99 ${fmt(percentile(deltas, 99), 2)} ms; bare round trip p50 ${fmt(rtt50, 2)} ms p99 ${fmt(percentile(rtt, 99), 2)} ms; agent ahead of the client in ${fmt(before * 100, 0)}%`);
  latencyMd = `| submit response → agent holds the task | ${deltas.length} | ${fmt(p50, 2)} | ${fmt(percentile(deltas, 99), 2)} |
| bare authenticated round trip (\`GET /druid/indexer/v1/isLeader\`) | ${rtt.length} | ${fmt(rtt50, 2)} | ${fmt(percentile(rtt, 99), 2)} |

**Dispatch p50 ÷ bare round-trip p50: ${fmt(p50 / rtt50, 2)}×** (target ≤ 0.5×; negative means the agent had
the task before the client had its answer, which happened in ${fmt(before * 100, 0)} % of samples).`;
} finally {
  agent.kill("SIGTERM");
  await agent.exited;
  await edge.dispose();
}

// ---- 2. throughput ---------------------------------------------------------------------------
const edge2 = await startDruidEdge();
const agents: AgentProcess[] = [];
let throughputMd = "";
try {
  for (let i = 0; i < AGENTS; i++) agents.push(startAgent(edge2, { host: `bench-${i}:8091`, capacity: CAPACITY, extraArgs: ["--prefetch", String(PREFETCH), ...ISOLATION] }));
  await waitFor(async () => (await edge2.api("GET", "/druid/indexer/v1/workers")).json?.length === AGENTS, "agents registration");
  await waitFor(() => agents.every(ready), "the agents' task processes", 120_000, 200);
  // Warm-up (not timed): the first tasks through a fresh workerd and fresh agents run cold code.
  if (WARMUP > 0) {
    const r = await edge2.api("POST", "/druid/indexer/v1/tasks", { tasks: Array.from({ length: WARMUP }, () => ({ type: "noop", runTime: 0 })) });
    if (r.status !== 200) throw new Error(`warm-up submit failed: ${r.status} ${r.text.slice(0, 300)}`);
    const warmIds = r.json.tasks as string[];
    await waitFor(async () => (await successCount(edge2, warmIds)) === WARMUP, "the warm-up tasks", 300_000, 100);
  }
  const counters = agents.map((a) => finishedCounter(a.eventsFile));
  const warmFinished = counters.reduce((n, c) => n + c(), 0);
  const t0 = performance.now();
  const ids: string[] = [];
  const submits: Promise<void>[] = [];
  for (let i = 0; i < TASKS; i += 10_000) {
    const n = Math.min(10_000, TASKS - i);
    submits.push(
      edge2.api("POST", "/druid/indexer/v1/tasks", { tasks: Array.from({ length: n }, () => ({ type: "noop", runTime: 0 })) }).then((r) => {
        if (r.status !== 200) throw new Error(`bulk submit failed: ${r.status} ${r.text.slice(0, 300)}`);
        ids.push(...(r.json.tasks as string[]));
      }),
    );
  }
  await Promise.all(submits);
  const submitted = performance.now();
  await waitFor(() => counters.reduce((n, c) => n + c(), 0) - warmFinished >= TASKS, "agents to finish", 600_000, 20);
  await waitFor(async () => (await successCount(edge2, ids)) === TASKS, "all SUCCESS in D1", 120_000, 100);
  const seconds = (performance.now() - t0) / 1000;
  const started = agents.flatMap((a) => a.events().filter((e) => e.event === "task.started").map((e) => e.taskId));
  // (warm-up tasks included: none may have run twice either)
  const twice = started.length - new Set(started).size;
  console.log(`throughput: ${TASKS} tasks in ${fmt(seconds, 2)} s = ${fmt(TASKS / seconds, 0)} tasks/s (submit took ${fmt((submitted - t0) / 1000, 2)} s; ran twice: ${twice})`);
  throughputMd = `| ${TASKS} noop tasks (runTime 0), bulk submit → all SUCCESS | ${AGENTS} × ${CAPACITY} (prefetch ${PREFETCH}) | ${fmt(seconds, 2)} s | **${fmt(TASKS / seconds, 0)} tasks/s** | ${twice} |`;
} finally {
  for (const a of agents) a.kill("SIGTERM");
  await Promise.all(agents.map((a) => a.exited));
  await edge2.dispose();
}

const inProcess = values.isolation === "none";
writeSection(
  inProcess ? "dispatch-isolation-none" : "dispatch",
  `## Dispatch latency and throughput (issue 3)${inProcess ? ", agents with `--isolation none`" : ", agents with child processes (default)"}

Command: \`npm run bench:dispatch${inProcess ? " -- --isolation none" : ""}\` (wrangler's dev server via \`unstable_startWorker\`, local D1,
real agent processes over loopback; ${WARMUP} untimed warm-up tasks first). Machine: ${machine()}.

| measure | samples | p50 ms | p99 ms |
|---|---|---|---|
${latencyMd}

| workload | agents × capacity | time | throughput | ran twice |
|---|---|---|---|---|
${throughputMd}

Target: ≥ 3,000 tasks/s with every state change (submit, assignment, RUNNING, SUCCESS) durable in D1.`,
);
