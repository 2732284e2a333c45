/**
 * Benchmark probe (not a test): CPU per request of each process in the request path, per route,
 * at one concurrency, against wrangler's dev server — the workerd that runs the Worker, the
 * Overlord and local D1 ("worker"), wrangler's proxy workerd ("proxy") and this process's
 * closed-loop clients ("client", undici's Pool as in bench:submit). It explains bench:submit's
 * ratio on a CPU-bound machine: the ratio of two routes' rates is about the ratio of their summed
 * CPU per request.
 *
 *   npx tsx bench/cpu-per-request.ts [--routes noop,status,read,submit] [--rounds 3] [--seconds 3] [--concurrency 64]
 *
 * CPU comes from /proc/<pid>/stat (Linux only); the worker's workerd is told from the proxy's by
 * the local D1 database (.sqlite) it holds open.
 */
import { readdirSync, readlinkSync } from "node:fs";
import { parseArgs } from "node:util";
import { startDruidEdge } from "../test/support/node/cluster.ts";
import { cpuTicks, workerdPids } from "../test/support/node/procs.ts";
import { LoadClient, fmt, runLoad, type Reply } from "./lib/load.ts";
import { SUBMIT_ROUTES, submitRoutes } from "./lib/submitRoutes.ts";

const { values } = parseArgs({
  options: {
    routes: { type: "string", default: "noop,status,read,submit" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "64" },
  },
});
const routes = values.routes.split(",");
const concurrency = Number(values.concurrency);

/** CPU ticks per thread of a process (workerd runs its isolates on one event-loop thread). */
function threadTicks(pid: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, cpuTicks(`${pid}/task/${tid}`));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** The busiest thread's CPU between two samples, in ticks. */
function busiest(before: Map<string, number>, after: Map<string, number>): number {
  let max = 0;
  for (const [tid, t] of after) max = Math.max(max, t - (before.get(tid) ?? 0));
  return max;
}

function holdsSqlite(pid: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).includes(".sqlite");
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

const edge = await startDruidEdge();
const client = new LoadClient(edge.url, concurrency);
try {
  const sends: Record<string, () => Promise<Reply>> = await submitRoutes(edge, client);
  for (const r of routes) if (!sends[r]) throw new Error(`unknown route ${r} (${SUBMIT_ROUTES.join(", ")})`);
  // warm up: the first requests through a fresh workerd run cold code (and the D1 file opens)
  for (const r of routes) await runLoad({ concurrency: 4, durationMs: 1000, send: sends[r]! });
  const pids = workerdPids();
  const worker = pids.find(holdsSqlite);
  const proxy = pids.find((p) => p !== worker);
  if (!worker || !proxy) throw new Error(`expected two workerd processes (worker and proxy), found ${pids.length}`);
  const totals: Record<string, { requests: number; rps: number[]; worker: number; proxy: number; client: number; ms: number; workerThread: number; proxyThread: number }> = {};
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const r of routes) {
      const w0 = cpuTicks(worker), p0 = cpuTicks(proxy), c0 = process.cpuUsage();
      const wt0 = threadTicks(worker), pt0 = threadTicks(proxy), t0 = performance.now();
      const res = await runLoad({ concurrency, durationMs: Number(values.seconds) * 1000, send: sends[r]! });
      const c = process.cpuUsage(c0);
      const t = (totals[r] ??= { requests: 0, rps: [], worker: 0, proxy: 0, client: 0, ms: 0, workerThread: 0, proxyThread: 0 });
      t.ms += performance.now() - t0;
      t.workerThread += busiest(wt0, threadTicks(worker)) * 10;
      t.proxyThread += busiest(pt0, threadTicks(proxy)) * 10;
      t.requests += res.count;
      t.rps.push(res.rps);
      t.worker += (cpuTicks(worker) - w0) * 10;
      t.proxy += (cpuTicks(proxy) - p0) * 10;
      t.client += (c.user + c.system) / 1000;
    }
  }
  console.log(`CPU ms per request at concurrency ${concurrency} (${values.rounds} interleaved rounds of ${values.seconds} s per route)`);
  for (const [r, t] of Object.entries(totals)) {
    const per = (ms: number) => fmt(ms / t.requests, 2);
    console.log(`${r}: req/s ${t.rps.map((x) => fmt(x, 0)).join(" / ")} | worker ${per(t.worker)} proxy ${per(t.proxy)} client ${per(t.client)} | sum ${per(t.worker + t.proxy + t.client)} | busiest thread: worker ${fmt((100 * t.workerThread) / t.ms, 0)} %, proxy ${fmt((100 * t.proxyThread) / t.ms, 0)} % of a core`);
  }
} finally {
  await client.close();
  await edge.dispose();
}
