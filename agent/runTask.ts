/**
 * Running one task: its work directory (only for executors that use one: creating and removing a
 * directory costs more than a short task itself), its log (each line written to `<workDir>.log`
 * at once, so a crash loses nothing, and its tail kept in memory for the outcome), its executor,
 * and the clean-up. Shared by pooled child processes (agent/child.ts) and the in-process pool
 * (agent/inProcessPool.ts).
 */
import { closeSync, mkdirSync, openSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { logFileOf, type ChildOutcome, type Job } from "./childProtocol.ts";
import { taskActions } from "./executors/actions.ts";
import { executorFor, unsupportedTypeMessage } from "./executors/registry.ts";
import type { ExecutorOutcome } from "./executors/types.ts";
import { MAX_LOG_BYTES } from "./shipping.ts";

interface TaskLog {
  line(text: string): void;
  close(): void;
  tail(): string;
}

function openTaskLog(path: string): TaskLog {
  const fd = openSync(path, "a");
  const lines: string[] = [];
  let chars = 0;
  return {
    line(text) {
      const l = `${new Date().toISOString()} ${text}\n`;
      writeSync(fd, l);
      lines.push(l);
      chars += l.length;
      while (chars > MAX_LOG_BYTES && lines.length > 1) chars -= lines.shift()!.length;
    },
    close() {
      closeSync(fd);
    },
    tail: () => lines.join(""),
  };
}

/** Runs `job` to its outcome; `onStarted` fires once the log is open and the executor begins. */
export async function runTask(job: Job, signal: AbortSignal, onStarted: () => void, where: string): Promise<ChildOutcome> {
  const type = job.task["type"];
  const executor = executorFor(type);
  const withDir = executor?.usesWorkDir !== false;
  if (withDir) mkdirSync(job.workDir, { recursive: true });
  const logFile = logFileOf(job.workDir);
  const log = openTaskLog(logFile);
  onStarted();
  log.line(`task [${job.taskId}] type [${String(type)}] started on [${job.host}] ${where}`);
  let outcome: ExecutorOutcome;
  if (!executor) {
    outcome = { status: "FAILED", errorMsg: unsupportedTypeMessage(type) };
  } else {
    try {
      const actions = taskActions({ ...job, signal });
      outcome = await executor.run({ ...job, log: (l) => log.line(l), signal, actions });
    } catch (err) {
      log.line(`task threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      outcome = { status: "FAILED", errorMsg: err instanceof Error ? err.message : String(err) };
    }
  }
  log.line(`task [${job.taskId}] ${outcome.status}${outcome.errorMsg ? `: ${outcome.errorMsg}` : ""}`);
  log.close();
  let workDirRemoved = false;
  if (job.removeWorkDir) {
    try {
      if (withDir) rmSync(job.workDir, { recursive: true, force: true });
      unlinkSync(logFile);
      workDirRemoved = true;
    } catch {
      // the agent tries again
    }
  }
  return { ...outcome, log: log.tail(), workDirRemoved };
}
