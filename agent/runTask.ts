/**
 * Running one task: its work directory, its log (each line written to `<workDir>/task.log` at
 * once, so a crash loses nothing, and its tail kept in memory for the outcome), its executor,
 * and the clean-up. Shared by pooled child processes (agent/child.ts) and the in-process pool
 * (agent/inProcessPool.ts).
 */
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { TASK_LOG_FILE, type ChildOutcome, type Job } from "./childProtocol.ts";
import { taskActions } from "./executors/actions.ts";
import { executorFor, unsupportedTypeMessage } from "./executors/registry.ts";
import type { ExecutorOutcome } from "./executors/types.ts";

/** Same cap as the agent's shipping (agent/shipping.ts MAX_LOG_BYTES). */
const MAX_LOG_TAIL_CHARS = 1024 * 1024;

interface TaskLog {
  line(text: string): void;
  close(): void;
  tail(): string;
}

function openTaskLog(workDir: string): TaskLog {
  const fd = openSync(join(workDir, TASK_LOG_FILE), "a");
  const lines: string[] = [];
  let chars = 0;
  return {
    line(text) {
      const l = `${new Date().toISOString()} ${text}\n`;
      writeSync(fd, l);
      lines.push(l);
      chars += l.length;
      while (chars > MAX_LOG_TAIL_CHARS && lines.length > 1) chars -= lines.shift()!.length;
    },
    close() {
      closeSync(fd);
    },
    tail: () => lines.join(""),
  };
}

/** Runs `job` to its outcome; `onStarted` fires once the log is open and the executor begins. */
export async function runTask(job: Job, signal: AbortSignal, onStarted: () => void, where: string): Promise<ChildOutcome> {
  mkdirSync(job.workDir, { recursive: true });
  const log = openTaskLog(job.workDir);
  onStarted();
  const type = job.task["type"];
  log.line(`task [${job.taskId}] type [${String(type)}] started on [${job.host}] ${where}`);
  let outcome: ExecutorOutcome;
  const executor = executorFor(type);
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
      rmSync(job.workDir, { recursive: true, force: true });
      workDirRemoved = true;
    } catch {
      // the agent tries again
    }
  }
  return { ...outcome, log: log.tail(), workDirRemoved };
}
