/**
 * The executor interface: one per task type. An executor runs inside a pooled child process,
 * never in the agent itself, so a crash or a runaway task cannot take the agent down.
 */
import type { Job } from "../childProtocol.ts";

/** Task actions (`POST /druid/indexer/v1/action`) on behalf of the running task. */
export interface TaskActions {
  /** Sends `{task, action}` with the agent token and the task's credential; resolves `result`. */
  submitAction<T = unknown>(action: Record<string, unknown>): Promise<T>;
}

/** What an executor is given: the job the child received (childProtocol.ts), plus its log, stop signal and actions. */
export interface ExecutorContext extends Omit<Job, "removeWorkDir"> {
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
