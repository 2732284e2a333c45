/**
 * bench:coordinator's prototype of the alternative cold start, "a snapshot in the object's own
 * storage", against the cold start's D1 pages (bench/lib/snapshotProbeWorker.js, bundled with
 * esbuild, under Miniflare — the same workerd that `wrangler dev` runs). Every timed operation
 * is the first request to a Durable Object in a fresh Miniflare instance, so the object is
 * cold and has nothing in memory; each round restarts Miniflare. The D1 database is the
 * benchmark's seeded local D1 (its persist directory), read where it lies.
 */
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export interface SnapshotProbeResult {
  /** The view as built inside workerd from D1 (segmentSync.ts's cold start): size and bytesUsed(). */
  segments: number;
  viewBytes: number;
  /** Cold wake of an empty object in a warm isolate (request round trip included), per round. */
  wakeMs: number[];
  /** Cold D1 pages of narrow rows, rows dropped, per round (request wall time). */
  d1PagesMs: number[];
  /** The same pages with the keyset as one index range (the fix), per round. */
  d1PagesRangeMs: number[];
  /** One incremental read of the last 1,000 rows, ms (5 warm reads each), as changesSince has it and as one range. */
  tailStoreMs: number[];
  tailRangeMs: number[];
  /** EXPLAIN QUERY PLAN of changesSince's keyset and of the range form. */
  plans: { store: string; range: string };
  /** Cold D1 pages applied to a SegmentView (the Coordinator's cold sync), per round. */
  d1SyncMs: number[];
  /** Cold read-back of `viewBytes` from the object's storage, per round and layout. */
  kvReadMs: number[];
  sqlReadMs: number[];
  kvWriteMs: number;
  sqlWriteMs: number;
  kvChunks: number;
  sqlChunks: number;
}

async function bundle(): Promise<string> {
  const out = await build({
    entryPoints: [join(ROOT, "bench/lib/snapshotProbeWorker.js")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:*", "node:*"],
    write: false,
    logLevel: "silent",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "import"],
  });
  return out.outputFiles[0]!.text;
}

export async function runSnapshotProbe(opts: { d1PersistDir: string; rounds: number; log: (line: string) => void }): Promise<SnapshotProbeResult> {
  const script = await bundle();
  const doDir = mkdtempSync(join(tmpdir(), "druid-edge-snapshot-probe-"));
  const start = () =>
    new Miniflare({
      modules: true,
      script,
      compatibilityDate: "2026-04-20",
      compatibilityFlags: ["nodejs_compat"],
      durableObjects: { PROBE: { className: "Probe", useSQLite: true } },
      durableObjectsPersist: doDir,
      // the same binding and id as wrangler.jsonc, so Miniflare opens the seeded database file
      d1Databases: { DB: "00000000-0000-0000-0000-000000000000" },
      d1Persist: opts.d1PersistDir,
    });
  const call = async (mf: Miniflare, path: string) => {
    const t0 = performance.now();
    const res = await mf.dispatchFetch(`http://probe${path}`);
    const text = await res.text();
    const ms = performance.now() - t0;
    if (!res.ok) throw new Error(`snapshot probe ${path}: ${res.status} ${text.slice(0, 500)}`);
    return { ms, value: JSON.parse(text) };
  };
  const r: SnapshotProbeResult = { segments: 0, viewBytes: 0, wakeMs: [], d1PagesMs: [], d1PagesRangeMs: [], tailStoreMs: [], tailRangeMs: [], plans: { store: "", range: "" }, d1SyncMs: [], kvReadMs: [], sqlReadMs: [], kvWriteMs: 0, sqlWriteMs: 0, kvChunks: 0, sqlChunks: 0 };
  try {
    // setup: the view's real size in workerd, then a snapshot of that size in both layouts
    let mf = start();
    try {
      await call(mf, "/ping?object=setup");
      const built = await call(mf, "/d1Sync?object=setup-sync");
      r.segments = built.value.segments;
      r.viewBytes = built.value.bytesUsed;
      const kv = await call(mf, `/snapshotWrite?layout=kv&bytes=${r.viewBytes}&object=snap-kv`);
      r.kvWriteMs = kv.ms;
      r.kvChunks = kv.value.chunks;
      const sql = await call(mf, `/snapshotWrite?layout=sql&bytes=${r.viewBytes}&object=snap-sql`);
      r.sqlWriteMs = sql.ms;
      r.sqlChunks = sql.value.chunks;
      r.plans = (await call(mf, "/plans?object=setup-tail")).value;
      opts.log(`snapshot probe: plans ${JSON.stringify(r.plans)}`);
      r.tailStoreMs = (await call(mf, "/d1Tail?form=store&object=setup-tail")).value.times;
      r.tailRangeMs = (await call(mf, "/d1Tail?form=range&object=setup-tail")).value.times;
      opts.log(`snapshot probe: the last 1,000 rows as changesSince reads them ${r.tailStoreMs.join(", ")} ms; as one range ${r.tailRangeMs.join(", ")} ms`);
      opts.log(`snapshot probe: view ${r.segments} segments, ${(r.viewBytes / 1e6).toFixed(1)} MB; snapshot written: KV ${r.kvChunks} × 128 KiB in ${kv.ms.toFixed(0)} ms, SQL ${r.sqlChunks} × 1 MiB in ${sql.ms.toFixed(0)} ms`);
    } finally {
      await mf.dispose();
    }
    for (let round = 0; round < opts.rounds; round++) {
      mf = start();
      try {
        await call(mf, `/ping?object=warm-${round}`); // the instance's first request loads the isolate
        r.wakeMs.push((await call(mf, `/ping?object=empty-${round}`)).ms);
        // alternate the order so that neither variant always runs first in an instance
        const ops: Array<[keyof SnapshotProbeResult, string]> = [
          ["kvReadMs", `/snapshotRead?layout=kv&object=snap-kv`],
          ["sqlReadMs", `/snapshotRead?layout=sql&object=snap-sql`],
          ["d1PagesMs", `/d1Pages?object=pages-${round}`],
          ["d1PagesRangeMs", `/d1PagesRange?object=range-${round}`],
          ["d1SyncMs", `/d1Sync?object=sync-${round}`],
        ];
        if (round % 2 === 1) ops.reverse();
        for (const [key, path] of ops) {
          const got = await call(mf, path);
          if (key === "kvReadMs" || key === "sqlReadMs") {
            if (got.value.bytes !== r.viewBytes) throw new Error(`snapshot read back ${got.value.bytes} bytes, wrote ${r.viewBytes}`);
          }
          (r[key] as number[]).push(got.ms);
        }
        opts.log(`snapshot probe round ${round + 1}: wake ${r.wakeMs.at(-1)!.toFixed(0)} ms, KV read ${r.kvReadMs.at(-1)!.toFixed(0)} ms, SQL read ${r.sqlReadMs.at(-1)!.toFixed(0)} ms, D1 pages ${r.d1PagesMs.at(-1)!.toFixed(0)} ms, as one range ${r.d1PagesRangeMs.at(-1)!.toFixed(0)} ms, D1 pages + view ${r.d1SyncMs.at(-1)!.toFixed(0)} ms`);
      } finally {
        await mf.dispose();
      }
    }
  } finally {
    rmSync(doDir, { recursive: true, force: true });
  }
  return r;
}
