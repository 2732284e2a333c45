/**
 * Running one task: its work directory (only for executors that use one: creating and removing a
 * directory costs more than a short task itself), its log (`<workDir>.log`, see openTaskLog; its
 * tail kept in memory for the outcome), its executor, and the clean-up. Shared by pooled child
 * processes (agent/worker/child.ts) and the in-process pool (agent/worker/inProcessPool.ts).
 */
import { closeSync, mkdirSync, openSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { logFileOf, type ChildOutcome, type Job } from "./childProtocol.ts";
import { taskActions } from "./executors/actions.ts";
import { executorFor, unsupportedTypeMessage } from "./executors/registry.ts";
import type { ExecutorOutcome } from "./executors/types.ts";
import { MAX_LOG_BYTES } from "./shipping.ts";

interface TaskLog {
  line(text: string): void;
  /** Writes what is left (creating the file if `keepFile`) and closes it. */
  close(keepFile: boolean): void;
  tail(): string;
  /** Whether the file exists (it is created lazily). */
  readonly created: boolean;
}

/** Logs with lines not yet on disk; one exit listener writes them all (not one listener per task). */
const writeOnExit = new Set<() => void>();
process.on("exit", () => {
  for (const write of writeOnExit) write();
});

/**
 * A task's log: kept in memory (its tail goes back with the outcome) and, unless `path` is null,
 * written to that file once per turn of the event loop. The file is created only when the task
 * outlives the turn it started in: a short task costs no file at all (an open and an unlink
 * cost more than a noop task), while a longer one has every line on disk within a turn of
 * logging it, so the agent can read the log back if the process dies (an exit, even within the
 * first turn, writes what is left; only a kill can lose the current turn's lines).
 */
function openTaskLog(path: string | null): TaskLog {
  let fd: number | null = null;
  let unwritten: string[] = [];
  let scheduled = false;
  let closed = false;
  const lines: string[] = [];
  let chars = 0;
  const write = () => {
    if (path === null || unwritten.length === 0) return;
    fd ??= openSync(path, "a");
    writeSync(fd, unwritten.join(""));
    unwritten = [];
  };
  const flush = () => {
    scheduled = false;
    if (!closed) write();
  };
  // A task that ends its process (process.exit, an uncaught error) still leaves its last lines.
  const onExit = () => write();
  if (path !== null) writeOnExit.add(onExit);
  return {
    line(text) {
      const l = `${new Date().toISOString()} ${text}\n`;
      lines.push(l);
      chars += l.length;
      while (chars > MAX_LOG_BYTES && lines.length > 1) chars -= lines.shift()!.length;
      if (path === null) return;
      unwritten.push(l);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    close(keepFile) {
      closed = true;
      writeOnExit.delete(onExit);
      if (fd !== null || keepFile) write();
      if (fd !== null) closeSync(fd);
    },
    tail: () => lines.join(""),
    get created() {
      return fd !== null;
    },
  };
}

/**
 * Runs `job` to its outcome; `onStarted` fires once the log is open and the executor begins.
 * `logFile: false` keeps the log in memory only (in the agent's own process a file would outlive
 * nothing: whatever kills the task kills the reader too), unless work dirs are kept, in which
 * case the log file is always left beside the work dir.
 */
export async function runTask(job: Job, signal: AbortSignal, onStarted: () => void, where: string, logFile = true): Promise<ChildOutcome> {
  const type = job.task["type"];
  const executor = executorFor(type);
  const withDir = executor?.usesWorkDir !== false;
  if (withDir) mkdirSync(job.workDir, { recursive: true });
  const logPath = logFile || !job.removeWorkDir ? logFileOf(job.workDir) : null;
  const log = openTaskLog(logPath);
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
  log.close(!job.removeWorkDir);
  let workDirRemoved = false;
  if (job.removeWorkDir) {
    try {
      if (withDir) rmSync(job.workDir, { recursive: true, force: true });
      if (log.created) unlinkSync(logPath!);
      workDirRemoved = true;
    } catch {
      // the agent tries again
    }
  }
  return { ...outcome, log: log.tail(), workDirRemoved };
}
