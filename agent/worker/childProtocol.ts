/**
 * The IPC messages between the agent's pool and a pooled child process (agent/worker/child.ts).
 * The agent sends `run` (one task at a time); the child answers `ready` once at start, then
 * `started` and `done` per task. SIGTERM asks the child to stop its task gracefully.
 */
import type { ExecutorOutcome } from "./executors/types.ts";

/** Everything a child needs to run one task. */
export interface Job {
  taskId: string;
  /** The full task JSON, as submitted. */
  task: Record<string, unknown>;
  /** The task's own directory, created for executors that need one (all but noop); its log is `logFileOf(workDir)`. */
  workDir: string;
  /** Root of `local` input sources. */
  dataDir: string;
  overlord: string;
  /** The agent token. */
  token: string;
  /** The per-task credential for task actions and deep-storage writes. */
  credential: string;
  /** The worker id (`name:port`) running the task. */
  host: string;
  /** The child removes `workDir` and its log file once the task is done (the agent then has nothing to clean). */
  removeWorkDir: boolean;
}

/**
 * What a child reports when a task is done: the executor's outcome plus the task log's tail
 * (kept in memory as it is written, so the agent need not read the file back) and whether the
 * child already removed the work directory.
 */
export interface ChildOutcome extends ExecutorOutcome {
  log?: string;
  workDirRemoved?: boolean;
}

/** The default of the agent's --child-retire-mb (see agent/worker/child.ts). */
export const DEFAULT_CHILD_RETIRE_MB = 512;

/** Where a task's log is written: beside its work directory (a noop gets no directory). */
export const logFileOf = (workDir: string): string => `${workDir}.log`;

export type ToChild = { type: "run"; job: Job };

export type FromChild =
  | { type: "ready" }
  | { type: "started"; taskId: string }
  /** `retire`: the child exits right after this message (see agent/worker/child.ts); run nothing more on it. */
  | { type: "done"; taskId: string; outcome: ChildOutcome; retire?: boolean };
