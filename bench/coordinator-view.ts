/**
 * Benchmark (not a test) of the Coordinator's columnar segment view (src/coordinator/segmentView.ts):
 * builds a view of 1,000,000 synthetic segments — 100 data sources × 10,000 segments each: 9,000
 * consecutive day intervals at version v1 (one version per 30 days, as batch re-ingestions write
 * them), and every 9th day (1,000 days) re-ingested at a newer version, which overshadows the v1
 * segment of that day (10 % of all segments) — then prints bytes per segment, build time and the
 * time of one full overshadowed computation over all data sources.
 *
 *   node --expose-gc --import tsx bench/coordinator-view.ts [--dataSources N] [--days N]
 *   npx tsx bench/coordinator-view.ts            (no heap figure: gc not exposed)
 *
 * Targets (issue 14): ≤ 48 bytes/segment, the overshadowed run < 200 ms.
 */
import { SegmentView } from "../src/coordinator/segmentView.ts";

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : dflt;
};
const dataSources = arg("dataSources", 100);
const days = arg("days", 9000);
const DAY = 86_400_000;
const T0 = Date.UTC(2000, 0, 1);
const gc = (globalThis as { gc?: () => void }).gc;
/** JS heap plus ArrayBuffer backing stores (typed arrays live outside heapUsed). */
const heap = () => {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const heapBefore = gc ? heap() : 0;
const t0 = performance.now();
const view = new SegmentView();
for (let d = 0; d < dataSources; d++) {
  const dataSource = `datasource_${d}`;
  for (let day = 0; day < days; day++) {
    const start = T0 + day * DAY;
    const month = Math.floor(day / 30);
    view.upsert({ dataSource, start, end: start + DAY, version: `2024-01-${String(1 + (month % 28)).padStart(2, "0")}T00:00:${String(month % 60).padStart(2, "0")}.${String(month).padStart(3, "0")}Z`, partitionNum: 0, corePartitions: 1, size: 500_000_000 + day, used: true });
    if (day % 9 === 0) {
      view.upsert({ dataSource, start, end: start + DAY, version: `2025-06-01T00:00:00.${String(day % 1000).padStart(3, "0")}Z`, partitionNum: 0, corePartitions: 1, size: 400_000_000, used: true });
    }
  }
}
const buildMs = performance.now() - t0;
const heapDelta = gc ? heap() - heapBefore : NaN;

const n = view.size;
const bytesPerSegment = view.bytesUsed() / n;
view.invalidateAll();
const t1 = performance.now();
const overshadowed = view.overshadowedCount();
const fullMs = performance.now() - t1;
view.invalidateAll();
const t1b = performance.now();
view.overshadowedCount();
const warmMs = performance.now() - t1b;

// one incremental change: a publish in one data source, then the refresh it causes
view.upsert({ dataSource: "datasource_0", start: T0 + DAY, end: T0 + 2 * DAY, version: "2026", partitionNum: 0, corePartitions: 1, size: 1, used: true });
const t2 = performance.now();
const after = view.overshadowedCount();
const incrementalMs = performance.now() - t2;

console.log(`segments                        ${n.toLocaleString("en-US")} (${dataSources} data sources × ${days} days + every 9th day re-ingested)`);
console.log(`bytesUsed()/segment             ${bytesPerSegment.toFixed(1)} B`);
console.log(`heap+arrayBuffers delta/segment ${gc ? `${(heapDelta / n).toFixed(1)} B (after forced GC)` : "skipped (run with node --expose-gc --import tsx)"}`);
console.log(`build                           ${buildMs.toFixed(0)} ms (${((n / buildMs) * 1000).toFixed(0)} upserts/s)`);
console.log(`overshadowed, full run          ${fullMs.toFixed(1)} ms first run, ${warmMs.toFixed(1)} ms second (${overshadowed.toLocaleString("en-US")} overshadowed)`);
console.log(`after one publish               ${incrementalMs.toFixed(1)} ms (one data source recomputed; ${after.toLocaleString("en-US")} overshadowed)`);
