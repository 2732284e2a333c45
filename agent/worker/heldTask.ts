/**
 * A task the agent holds: from its assignment until the Overlord acknowledges its final status.
 * Its phase says what the agent is doing with it; `version`/`delivered` say whether the Overlord
 * has seen its latest status (a change bumps `version`; a poll answered 200/204 that carried
 * version v delivered it).
 */
import type { TaskLocation, TaskState, TaskStatusReport } from "../../src/protocol/agent.ts";

export type Phase =
  /** Waiting for free capacity on this agent. */
  | "queued"
  /** Handed to a child, which has not begun it yet. */
  | "dispatched"
  /** Its child runs it (reported RUNNING). */
  | "running"
  /** Finished; its log and reports are being shipped before the final status goes out. */
  | "shipping"
  /** Final status ready; re-sent until acknowledged. */
  | "final";

export interface HeldTask {
  id: string;
  task: Record<string, unknown>;
  credential: string;
  requiredCapacity: number;
  phase: Phase;
  status: TaskState;
  startedAt: number | null;
  duration: number;
  errorMsg: string | null;
  /** Shipped inline with the final status. */
  inlineLog?: string;
  inlineReports?: Record<string, unknown>;
  version: number;
  delivered: number;
  /** A final status sent but not acknowledged goes out again from this time on. */
  resendAt: number | null;
}

export const MAX_ERROR_MSG_CHARS = 1024;

export function newHeldTask(task: Record<string, unknown>, credential: string, capacity: number): HeldTask {
  const resource = task["resource"] as { requiredCapacity?: unknown } | undefined;
  const asked = typeof resource?.requiredCapacity === "number" && resource.requiredCapacity >= 1 ? Math.floor(resource.requiredCapacity) : 1;
  return {
    id: task["id"] as string,
    task,
    credential,
    // A task wider than the whole agent runs alone rather than never.
    requiredCapacity: Math.min(asked, capacity),
    phase: "queued",
    status: "RUNNING",
    startedAt: null,
    duration: -1,
    errorMsg: null,
    version: 0,
    delivered: 0,
    resendAt: null,
  };
}

/**
 * Whether the task goes into a poll. A full poll lists every task the Overlord may know as
 * running here (a task it omits is failed as "disappeared"): those running or shipping (still
 * RUNNING to the Overlord) and the final ones. A delta poll carries only news.
 */
export function isReported(t: HeldTask, full: boolean, now: number): boolean {
  switch (t.phase) {
    case "running":
      return full || t.delivered < t.version;
    case "shipping":
      return full;
    case "final":
      return full || t.delivered < t.version || (t.resendAt !== null && now >= t.resendAt);
    default:
      return false;
  }
}

export function statusReport(t: HeldTask, location: TaskLocation): TaskStatusReport {
  if (t.phase !== "final") return { id: t.id, status: "RUNNING", duration: -1, errorMsg: null, location };
  return {
    id: t.id,
    status: t.status,
    duration: t.duration,
    errorMsg: t.errorMsg,
    location,
    ...(t.inlineLog !== undefined ? { log: t.inlineLog } : {}),
    ...(t.inlineReports !== undefined ? { reports: t.inlineReports } : {}),
  };
}

/**
 * A task an earlier agent on this work directory started and the Overlord never acknowledged
 * (agent/worker/journal.ts): reported at once, in the first (full) poll, and never run again.
 */
export function recoveredHeldTask(id: string, outcome: { status: "SUCCESS" | "FAILED"; errorMsg: string | null; duration: number }, log: string): HeldTask {
  return {
    id,
    task: { id },
    credential: "",
    requiredCapacity: 0,
    phase: "final",
    status: outcome.status,
    startedAt: null,
    duration: outcome.duration,
    errorMsg: outcome.errorMsg,
    inlineLog: log,
    version: 1,
    delivered: 0,
    resendAt: null,
  };
}
