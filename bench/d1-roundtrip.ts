/**
 * Benchmark probe (not a test): the CPU one local D1 `batch()` costs the workerd process that
 * runs it — the D1 simulator behind `wrangler dev` (Miniflare's D1 object: an HTTP hop into a
 * SQLite-backed Durable Object, a JSON request and answer, the SQLite transaction). A Worker with
 * a D1 binding runs `n` sequential batches per request; the process's CPU (/proc/<pid>/stat) is
 * divided by the batches. Shapes: `select` (SELECT 1), and INSERT … SELECT … FROM json_each(?)
 * of k rows as druid-edge's group commit writes them (`rows:k`, time-ordered ids like Druid's).
 *
 *   npx tsx bench/d1-roundtrip.ts [--batches 300] [--rounds 2]
 */
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { cpuTicks, workerdPids } from "../test/support/node/procs.ts";

const { values } = parseArgs({ options: { batches: { type: "string", default: "300" }, rounds: { type: "string", default: "2" } } });

const script = `
export default {
  async fetch(request, env) {
    const q = new URL(request.url).searchParams;
    const n = Number(q.get("n")), rows = Number(q.get("rows"));
    await env.DB.exec("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, created_ms INTEGER, payload TEXT)");
    let seq = 0;
    for (let i = 0; i < n; i++) {
      if (rows === 0) { await env.DB.batch([env.DB.prepare("SELECT 1")]); continue; }
      const now = Date.now();
      const data = JSON.stringify(Array.from({ length: rows }, () => {
        const id = "noop_" + new Date(now).toISOString() + "_" + String(seq++).padStart(8, "0") + "_" + crypto.randomUUID();
        return [id, now, JSON.stringify({ type: "noop", id, groupId: id, dataSource: "none", context: { forceTimeChunkLock: true } })];
      }));
      await env.DB.batch([env.DB.prepare("INSERT INTO t (id, created_ms, payload) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?)").bind(data)]);
    }
    return new Response("ok");
  },
};`;

const before = new Set(workerdPids());
const mf = new Miniflare({ modules: true, script, d1Databases: ["DB"], compatibilityDate: "2026-04-01" });
try {
  await mf.ready;
  const pid = workerdPids().find((p) => !before.has(p));
  if (!pid) throw new Error("workerd process not found");
  const run = async (rows: number, n: number) => {
    const r = await mf.dispatchFetch(`http://localhost/?n=${n}&rows=${rows}`);
    if (r.status !== 200) throw new Error(await r.text());
    await r.text();
  };
  for (const rows of [0, 1, 12, 50]) await run(rows, 30); // warm up
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const rows of [0, 1, 12, 50]) {
      const n = Number(values.batches);
      const c0 = cpuTicks(pid);
      const t0 = performance.now();
      await run(rows, n);
      const wall = (performance.now() - t0) / n;
      const cpu = ((cpuTicks(pid) - c0) * 10) / n;
      const label = rows === 0 ? "select" : `rows:${rows}`;
      console.log(`${label}: ${wall.toFixed(2)} ms wall, ${cpu.toFixed(2)} ms workerd CPU per batch${rows > 1 ? `, ${(cpu / rows).toFixed(3)} ms per row` : ""}`);
    }
  }
} finally {
  await mf.dispose();
}
