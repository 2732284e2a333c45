/**
 * The executor interface: one per task type. An executor runs inside a pooled child process,
 * never in the agent itself, so a crash or a runaway task cannot take the agent down.
 */

/** Task actions (`POST /druid/indexer/v1/action`) on behalf of the running task. */
export interface TaskActions {
  /** Sends `{task, action}` with the agent token and the task's credential; resolves `result`. */
  submitAction<T = unknown>(action: Record<string, unknown>): Promise<T>;
}

export interface ExecutorContext {
  /** The full task JSON, as submitted. */
  task: Record<string, unknown>;
  taskId: string;
  /** The task's own working directory (created before, removed after unless kept). */
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
  /** Appends a line to the task's log. */
  log(line: string): void;
  /** Aborted when the task is to stop (shutdown, agent stopping). */
  signal: AbortSignal;
  actions: TaskActions;
}

export type FinalStatus = "SUCCESS" | "FAILED";

export interface ExecutorOutcome {
  status: FinalStatus;
  errorMsg?: string | null;
  reports?: Record<string, unknown>;
}

export interface Executor {
  /** The task `type` it runs. */
  readonly type: string;
  /** false: the task needs no work directory (none is created); default true. */
  readonly usesWorkDir?: boolean;
  run(ctx: ExecutorContext): Promise<ExecutorOutcome>;
}
