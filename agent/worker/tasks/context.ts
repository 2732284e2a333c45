/**
 * What the ingestion task types (index, index_parallel, kill, compact) get to run with, and what
 * they return. The agent's executor registry adapts its own context to this one.
 */
import type { TaskClient } from "./taskClient.ts";

export interface IngestTaskContext {
  task: Record<string, unknown>;
  taskId: string;
  /** Root for `local` input sources. */
  dataDir: string;
  /** The task's own scratch directory. */
  workDir: string;
  client: TaskClient;
  log(line: string): void;
  signal: AbortSignal;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface IngestTaskOutcome {
  status: "SUCCESS" | "FAILED";
  errorMsg: string | null;
  reports: Record<string, unknown>;
}
