/**
 * A pooled child process (Druid's peon, reused): runs one task at a time for the agent, which
 * sends `run` / `cancel` over IPC and gets `started` / `done` back. The task's log goes to
 * `<workDir>/task.log` and, as a bounded tail, back to the agent with the outcome.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import { executorFor } from "./executors/registry.ts";
import type { ChildRequest, ChildMessage, Job } from "./pool.ts";

const MAX_LOG_CHARS = 1024 * 1024;
let current: { taskId: string; controller: AbortController } | null = null;

function send(m: ChildMessage): void {
  process.send?.(m);
}

class TaskLog {
  private lines: string[] = [];
  private chars = 0;
  constructor(private readonly file: WriteStream) {}
  line(text: string): void {
    const l = `${new Date().toISOString()} ${text}\n`;
    this.file.write(l);
    this.lines.push(l);
    this.chars += l.length;
    while (this.chars > MAX_LOG_CHARS && this.lines.length > 1) this.chars -= this.lines.shift()!.length;
  }
  async close(): Promise<string> {
    this.file.end();
    await once(this.file, "close").catch(() => undefined);
    return this.lines.join("");
  }
}

async function run(job: Job): Promise<void> {
  const controller = new AbortController();
  current = { taskId: job.taskId, controller };
  await mkdir(job.workDir, { recursive: true });
  const log = new TaskLog(createWriteStream(join(job.workDir, "task.log")));
  send({ type: "started", taskId: job.taskId });
  log.line(`task ${job.taskId} (${String(job.task["type"])}) started in ${job.workDir}`);
  let outcome;
  const executor = executorFor(job.task["type"]);
  if (!executor) {
    outcome = { status: "FAILED" as const, errorMsg: `Task type [${String(job.task["type"])}] is not supported by this agent` };
  } else {
    try {
      outcome = await executor.run({ ...job, log: (l) => log.line(l), signal: controller.signal });
    } catch (err) {
      outcome = { status: "FAILED" as const, errorMsg: err instanceof Error ? err.message : String(err) };
    }
  }
  log.line(`task ${job.taskId} ${outcome.status}${outcome.errorMsg ? `: ${outcome.errorMsg}` : ""}`);
  current = null;
  send({ type: "done", taskId: job.taskId, outcome, log: await log.close() });
}

process.on("message", (m: ChildRequest) => {
  if (m.type === "run") void run(m.job);
  else if (m.type === "cancel" && current?.taskId === m.taskId) current.controller.abort();
});
// The agent going away (IPC closed) ends this child too.
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
