/**
 * The executor interface: one per task type. An executor runs inside a pooled child process,
 * never in the agent itself, so a crash or a runaway task cannot take the agent down.
 */
export interface ExecutorContext {
  task: Record<string, unknown>;
  taskId: string;
  /** The task's own working directory (created before, removed after unless kept). */
  workDir: string;
  /** Root of `local` input sources. */
  dataDir: string;
  overlord: string;
  token: string;
  /** The per-task credential for task actions and deep-storage writes. */
  credential: string;
  log(line: string): void;
  /** Aborted when the task is to stop (shutdown, agent stopping). */
  signal: AbortSignal;
}

export interface ExecutorOutcome {
  status: "SUCCESS" | "FAILED";
  errorMsg: string | null;
  reports?: Record<string, unknown>;
}

export interface Executor {
  run(ctx: ExecutorContext): Promise<ExecutorOutcome>;
}
