/**
 * `npm run bench:submit` (issue 2): against wrangler's dev server, in one run —
 *  1. the request ceiling: authenticated no-op routes at concurrency 1, 16, 64 — a Worker-only
 *     GET, a GET that crosses into the Overlord object, and a POST with a JSON body that crosses
 *     into it and is answered from memory (the same shape as a submission, without the commit);
 *  2. durable submissions: noop tasks through POST /druid/indexer/v1/task at the same
 *     concurrencies (each answered only after its D1 group commit);
 *  3. GET /druid/indexer/v1/tasks?state=pending latency with 5,000 pending tasks.
 * Writes the table and the ratio submits/s ÷ ceiling to docs/benchmarks.md.
 */
import { parseArgs } from "node:util";
import { startDruidEdge } from "../test/support/node/cluster.ts";
import { LoadClient, fmt, mergeLoads, percentile, runLoad, type LoadResult } from "./lib/load.ts";
import { SUBMIT_ROUTES, submitRoutes, type SubmitRoute } from "./lib/submitRoutes.ts";
import { machine, writeSection } from "./lib/report.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, rounds: { type: "string", default: "5" }, pending: { type: "string", default: "5000" } } });
const ROUNDS = Number(values.rounds);
/** Each row's time is split over interleaved rounds (no-op, /status, submit, again), so that drift on a noisy machine hits all three alike. */
const roundMs = (Number(values.seconds) * 1000) / ROUNDS;
const CONCURRENCIES = [1, 16, 64];

const edge = await startDruidEdge();
const rows: string[] = [];
const ROUTES = SUBMIT_ROUTES;
const LABELS: Record<SubmitRoute, string> = {
  noop: "GET /druid/indexer/v1/isLeader (Worker only)",
  status: "GET /status (Worker → DO RPC)",
  read: "POST /druid/indexer/v1/taskStatus (JSON body → DO RPC, from memory)",
  submit: "POST /druid/indexer/v1/task (durable)",
};
const results: Record<string, Record<number, LoadResult>> = { noop: {}, status: {}, read: {}, submit: {} };
const client = new LoadClient(edge.url, Math.max(...CONCURRENCIES));
try {
  const sends = await submitRoutes(edge, client);
  // warm up (the first requests through a fresh workerd run cold code)
  for (const name of ROUTES) await runLoad({ concurrency: 4, durationMs: 1000, send: sends[name] });
  for (const c of CONCURRENCIES) {
    const runs: Record<keyof typeof sends, LoadResult[]> = { noop: [], status: [], read: [], submit: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ROUTES) runs[name].push(await runLoad({ concurrency: c, durationMs: roundMs, send: sends[name] }));
    }
    for (const name of ROUTES) results[name]![c] = mergeLoads(runs[name]);
    for (const [name, label] of Object.entries(LABELS)) {
      const r = results[name]![c]!;
      console.log(`${label} c=${c}: ${fmt(r.rps, 0)} req/s p50 ${fmt(r.p50, 2)} ms p99 ${fmt(r.p99, 2)} ms (${r.count} requests, ${r.errors} errors)${r.firstError ? " " + r.firstError : ""}`);
      rows.push(`| ${label} | ${c} | ${r.count} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${r.errors} |`);
    }
  }
} finally {
  await client.close();
  await edge.dispose();
}

// 5,000 pending tasks on a fresh Overlord, then list them.
const pendingN = Number(values.pending);
const fresh = await startDruidEdge();
let listLine = "";
try {
  for (let i = 0; i < pendingN; i += 1000) {
    const n = Math.min(1000, pendingN - i);
    const r = await fresh.api("POST", "/druid/indexer/v1/tasks", { tasks: Array.from({ length: n }, () => ({ type: "noop" })) });
    if (r.status !== 200) throw new Error(`bulk submit failed: ${r.status} ${r.text}`);
  }
  const lat: number[] = [];
  let count = 0;
  // The same client as the load above (Node's fetch adds ~15–20 ms to reading a 2 MB body).
  const listClient = new LoadClient(fresh.url, 1);
  const list = listClient.send("GET", "/druid/indexer/v1/tasks?state=pending", { Authorization: `Bearer ${fresh.adminToken}` });
  for (let i = 0; i < 220; i++) {
    const t0 = performance.now();
    const r = await list();
    const body = JSON.parse(r.body) as unknown[];
    if (i >= 20) lat.push(performance.now() - t0); // first 20 warm up
    count = body.length;
  }
  await listClient.close();
  lat.sort((a, b) => a - b);
  listLine = `| GET /druid/indexer/v1/tasks?state=pending | ${count} pending | 200 sequential | p50 ${fmt(percentile(lat, 50), 1)} ms | p99 ${fmt(percentile(lat, 99), 1)} ms |`;
  console.log(listLine);
} finally {
  await fresh.dispose();
}

const ratio64 = results.submit![64]!.rps / results.noop![64]!.rps;
const ratio64status = results.submit![64]!.rps / results.status![64]!.rps;
const ratio64read = results.submit![64]!.rps / results.read![64]!.rps;
writeSection(
  "submit",
  `## Durable submissions vs the request ceiling (issue 2)

Command: \`npm run bench:submit\` (wrangler's dev server via \`unstable_startWorker\`, local D1;
closed-loop clients in the same Node process on undici's keep-alive \`Pool\`, ${values.seconds} s per row, split into ${ROUNDS} rounds
interleaved with the other routes of the same concurrency, so that drift on this noisy machine hits them all alike).
Machine: ${machine()}.

| route | concurrency | requests | req/s | p50 ms | p99 ms | errors |
|---|---|---|---|---|---|---|
${rows.join("\n")}

**Durable submits/s ÷ no-op ceiling at concurrency 64: ${fmt(ratio64, 2)}×**; ÷ \`GET /status\`, which also
crosses into the Durable Object: **${fmt(ratio64status, 2)}×**; ÷ the \`taskStatus\` POST, the same request shape
without the commit: ${fmt(ratio64read, 2)}×. Target: ≥ 0.8×.

| list | tasks | samples | p50 | p99 |
|---|---|---|---|---|
${listLine}

Target: p99 < 100 ms at 5,000 pending (Druid's Overlord stalls there: apache/druid#15383).`,
);
