/**
 * The agent protocol's wire types (docs/agent-protocol.md; the server's zod schema is in
 * src/routes/agent.ts), and a light check of the poll answer.
 */

export { WORKER_HEADER, WORKER_HOST_PATTERN, WORKER_KEY_HEADER } from "../src/shared/workerKey.ts";

export type Counter = { counter: number; hash: number };
export type TaskState = "RUNNING" | "SUCCESS" | "FAILED";
export type TaskLocation = { host: string | null; port: number; tlsPort: number };

export interface TaskStatusReport {
  id: string;
  status: TaskState;
  /** ms; -1 while running. */
  duration: number;
  errorMsg: string | null;
  location: TaskLocation;
  /** The task's log, inline with a final status (small logs only; see agent/shipping.ts). */
  log?: string;
  /** The task's reports, inline with a final status. */
  reports?: Record<string, unknown>;
}

export interface PollBody {
  worker: { host: string; ip: string; capacity: number; prefetch: number; category: string; version: string };
  term: number | null;
  counter: Counter | null;
  timeoutMs: number;
  full: boolean;
  tasks: TaskStatusReport[];
}

export type PollRequestItem =
  | { type: "assign"; task: Record<string, unknown>; credential?: string }
  | { type: "shutdown"; taskId: string }
  | { type: "metadata"; disabled: boolean };

export interface PollReply {
  term: number;
  leaseMs?: number;
  resetCounter: boolean;
  resetCause?: string | null;
  counter: Counter | null;
  requests: PollRequestItem[] | null;
  acks?: string[];
}

/** Throws when a 200 body is not a poll answer (the loop then backs off and retries). */
export function parsePollReply(body: unknown): PollReply {
  const r = body as Partial<PollReply> | null;
  if (!r || typeof r !== "object" || typeof r.term !== "number" || typeof r.resetCounter !== "boolean") {
    throw new Error("The poll answer is not a change-log snapshot");
  }
  if (!r.resetCounter && (r.counter === null || typeof r.counter !== "object" || !Array.isArray(r.requests))) {
    throw new Error("The poll answer has no counter or requests");
  }
  if (r.acks !== undefined && !Array.isArray(r.acks)) throw new Error("The poll answer's acks is not a list");
  return r as PollReply;
}
