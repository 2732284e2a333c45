/**
 * One worker process of a peer system for bench/peers (spawned with tsx, SIGKILLed in the crash
 * workload): handlers record `{id, at}` when they start, `at` on the shared wall clock
 * (performance.timeOrigin + performance.now()), so the runner can time dispatch and count runs.
 *
 *   tsx bench/peers/worker.ts <bullmq|bullmq-sandboxed|graphile|graphile-batched> <url> <concurrency> <eventsFile>
 */
import { appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const [system, url, concurrencyText, eventsFile] = process.argv.slice(2) as [string, string, string, string];
const concurrency = Number(concurrencyText);
process.env.BENCH_EVENTS_FILE = eventsFile;
const record = (id: string) => appendFileSync(eventsFile, JSON.stringify({ id, at: performance.timeOrigin + performance.now() }) + "\n");

if (system === "bullmq" || system === "bullmq-sandboxed") {
  const { Worker } = await import("bullmq");
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
  const processor = system === "bullmq" ? async (job: { data: { n: number } }) => record(String(job.data.n)) : fileURLToPath(new URL("./processor.mjs", import.meta.url));
  const worker = new Worker("bench", processor as never, { connection, concurrency, useWorkerThreads: false });
  await worker.waitUntilReady();
} else {
  const { run } = await import("graphile-worker");
  const batched = system === "graphile-batched";
  await run({
    connectionString: url,
    concurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    taskList: { noop: async (payload: unknown) => record(String((payload as { n: number }).n)) },
    // graphile-worker's documented throughput settings: a local queue of pre-locked jobs and
    // batched completion (README "Performance" / worker options localQueue, completeJobBatchDelay).
    ...(batched ? { preset: { worker: { localQueue: { size: concurrency * 4 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } } : {}),
  } as never);
}
process.send?.("ready");
console.log("ready");
