// BullMQ sandboxed processor (runs in BullMQ's child processes): records the handler start.
import { appendFileSync } from "node:fs";
export default async function (job) {
  appendFileSync(process.env.BENCH_EVENTS_FILE, JSON.stringify({ id: String(job.data.n), at: performance.timeOrigin + performance.now() }) + "\n");
}
