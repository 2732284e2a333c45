/**
 * A pooled child process (Druid's peon, reused): runs one task at a time for the agent, which
 * sends `run` over IPC and gets `started` / `done` back. The task's log goes, line by line and
 * synchronously (so a crash loses nothing), to `<workDir>/task.log`; the agent ships it.
 *
 * SIGTERM: stop the current task gracefully (its executor sees an aborted signal), report its
 * outcome, exit. SIGINT is ignored: a Ctrl-C reaches the whole process group, and the agent
 * decides what happens to its tasks. The agent going away (IPC closed) ends the child at once.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { TASK_LOG_FILE, type FromChild, type Job, type ToChild } from "./childProtocol.ts";
import { taskActions } from "./executors/actions.ts";
import { executorFor, unsupportedTypeMessage } from "./executors/registry.ts";
import type { ExecutorOutcome } from "./executors/types.ts";

let current: { taskId: string; controller: AbortController; finished: Promise<void> } | null = null;

/** Resolves once the message is handed to the IPC channel (so exiting after it loses nothing). */
function send(m: FromChild): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

function openTaskLog(workDir: string): { line(text: string): void; close(): void } {
  const fd = openSync(join(workDir, TASK_LOG_FILE), "a");
  return {
    line(text) {
      writeSync(fd, `${new Date().toISOString()} ${text}\n`);
    },
    close() {
      closeSync(fd);
    },
  };
}

async function execute(job: Job, controller: AbortController): Promise<ExecutorOutcome> {
  mkdirSync(job.workDir, { recursive: true });
  const log = openTaskLog(job.workDir);
  void send({ type: "started", taskId: job.taskId });
  const type = job.task["type"];
  log.line(`task [${job.taskId}] type [${String(type)}] started on [${job.host}] in process ${process.pid}`);
  let outcome: ExecutorOutcome;
  const executor = executorFor(type);
  if (!executor) {
    outcome = { status: "FAILED", errorMsg: unsupportedTypeMessage(type) };
  } else {
    try {
      const actions = taskActions({ ...job, signal: controller.signal });
      outcome = await executor.run({ ...job, log: (l) => log.line(l), signal: controller.signal, actions });
    } catch (err) {
      log.line(`task threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      outcome = { status: "FAILED", errorMsg: err instanceof Error ? err.message : String(err) };
    }
  }
  log.line(`task [${job.taskId}] ${outcome.status}${outcome.errorMsg ? `: ${outcome.errorMsg}` : ""}`);
  log.close();
  return outcome;
}

function run(job: Job): void {
  const controller = new AbortController();
  const finished = execute(job, controller).then(
    (outcome) => send({ type: "done", taskId: job.taskId, outcome }),
    (err: unknown) => send({ type: "done", taskId: job.taskId, outcome: { status: "FAILED", errorMsg: `Task could not start: ${String(err)}` } }),
  );
  current = { taskId: job.taskId, controller, finished };
  void finished.then(() => {
    if (current?.taskId === job.taskId) current = null;
  });
}

process.on("message", (m: ToChild) => {
  if (m.type === "run") run(m.job);
});
process.on("SIGTERM", () => {
  if (!current) process.exit(0);
  current.controller.abort(new Error("Task stopped by the agent"));
  void current.finished.then(() => process.exit(0));
});
process.on("SIGINT", () => {});
process.on("disconnect", () => process.exit(0));
void send({ type: "ready" });
