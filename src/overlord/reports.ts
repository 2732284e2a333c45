/**
 * Applying the task statuses an agent reports, idempotently: RUNNING confirms an assignment
 * (and its location), a final status ends the task and is acknowledged, anything about a task
 * the worker should not hold is answered with a shutdown (running) or an acknowledgement
 * (final). Outcomes feed the worker's blacklist (Druid's maxRetriesBeforeBlacklist).
 */
import type { TaskReport } from "../protocol/agent.ts";
import type { Fleet, WorkerState } from "./fleet.ts";
import type { CoreContext, TaskQueue } from "./taskQueue.ts";

export interface ReportDeps {
  ctx: CoreContext;
  fleet: Fleet;
  queue: TaskQueue;
}

/**
 * Applies one report from worker `w`; ids whose final status is now recorded go to `acks`.
 * A task running there that should not be is told to stop: through the change log, or — for a
 * full poll, whose log is acknowledged wholesale — through `stops`, which its snapshot carries.
 */
export function applyReport({ ctx, fleet, queue }: ReportDeps, w: WorkerState, r: TaskReport, acks: string[], stops?: string[]): void {
  const stop = (id: string) => (stops ? stops.push(id) : fleet.append(w, { type: "shutdown", taskId: id }));
  const e = queue.get(r.id);
  const final = r.status !== "RUNNING";
  if (!e) {
    // Unknown here: nothing to record. A running one must stop.
    if (final) acks.push(r.id);
    else stop(r.id);
    return;
  }
  if (e.status === "RUNNING" && e.worker === null && e.runner === "PENDING") {
    // A ready task (its locks held) that no runner holds (e.g. an assignment lost with a failed
    // commit): adopt it. A waiting one holds no locks and may not run: it falls to the refusal below.
    queue.pending.remove(e.task.id);
    e.worker = w.host;
    e.assignedTerm = ctx.term;
    fleet.occupy(w, e);
  }
  if (e.worker !== w.host) {
    if (final) acks.push(r.id);
    else stop(r.id);
    return;
  }
  if (e.status !== "RUNNING") {
    // Already complete here (shutdown, timeout, or a repeated report).
    if (final) {
      fleet.release(w, r.id);
      acks.push(r.id);
    } else if (!w.slots.has(r.id)) {
      fleet.occupy(w, e);
      fleet.append(w, { type: "shutdown", taskId: r.id });
    }
    return;
  }
  fleet.occupy(w, e);
  if (!final) {
    w.unacked.delete(e.task.id);
    const loc = r.location ?? e.location;
    if (e.runner !== "RUNNING" || e.location.host !== loc.host || e.location.port !== loc.port) {
      e.runner = "RUNNING";
      e.location = loc;
      e.assignedAt = null;
      ctx.writes.updateTask(e);
    }
    return;
  }
  if (r.location) e.location = r.location;
  fleet.end(w, e, r.status as "SUCCESS" | "FAILED", r.errorMsg ?? null, r.duration);
  acks.push(r.id);
  countOutcome(ctx, fleet, w, r.status === "SUCCESS");
}

/** Druid's blacklist: more than maxRetriesBeforeBlacklist failures in a row, within the cap on blacklisted workers. */
function countOutcome(ctx: CoreContext, fleet: Fleet, w: WorkerState, success: boolean): void {
  const now = ctx.now();
  w.lastCompletedTaskTime = now;
  if (success) {
    w.consecutiveFailures = 0;
    w.blacklistedUntil = null;
    return;
  }
  w.consecutiveFailures++;
  if (w.consecutiveFailures > ctx.config.maxRetriesBeforeBlacklist && w.blacklistedUntil === null) {
    const blacklisted = [...fleet.workers.values()].filter((x) => x.blacklistedUntil !== null && x.blacklistedUntil > now).length;
    const limit = (fleet.workers.size * ctx.config.maxPercentageBlacklistWorkers) / 100 - 1;
    if (blacklisted <= limit) w.blacklistedUntil = now + ctx.config.workerBlackListBackoffTimeMs;
  }
}
