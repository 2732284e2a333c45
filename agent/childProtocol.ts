/**
 * The IPC messages between the agent's pool and a pooled child process (agent/child.ts).
 * The agent sends `run` (one task at a time); the child answers `ready` once at start, then
 * `started` and `done` per task. SIGTERM asks the child to stop its task gracefully.
 */
import type { ExecutorOutcome } from "./executors/types.ts";

/** Everything a child needs to run one task. */
export interface Job {
  taskId: string;
  task: Record<string, unknown>;
  /** The task's own directory; the child creates it and writes `task.log` there. */
  workDir: string;
  dataDir: string;
  overlord: string;
  token: string;
  credential: string;
  host: string;
}

export const TASK_LOG_FILE = "task.log";

export type ToChild = { type: "run"; job: Job };

export type FromChild =
  | { type: "ready" }
  | { type: "started"; taskId: string }
  | { type: "done"; taskId: string; outcome: ExecutorOutcome };
