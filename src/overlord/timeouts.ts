/**
 * Every timeout of the runner, applied when due (the Overlord's alarm runs `applyTimeouts` at
 * `nextDeadline`): a lapsed lease makes a worker lost; a worker lost for taskCleanupTimeout has
 * its tasks failed and is forgotten; an assignment not confirmed RUNNING within
 * taskAssignmentTimeout fails; a blacklisting ends (and its failure count starts again).
 */
import type { Fleet } from "./fleet.ts";
import type { CoreContext, TaskQueue } from "./taskQueue.ts";

export function applyTimeouts(ctx: CoreContext, fleet: Fleet, queue: TaskQueue): void {
  const now = ctx.now();
  const cfg = ctx.config;
  for (const w of [...fleet.workers.values()]) {
    if (w.lostAt === null && w.leaseUntil <= now) w.lostAt = now;
    if (w.lostAt !== null && now >= w.lostAt + cfg.taskCleanupTimeoutMs) {
      for (const id of [...w.slots.keys()]) {
        const e = queue.active.get(id);
        if (e && e.worker === w.host) fleet.failOn(w, e, `The worker [${w.host}] that ran this task disappeared and did not come back within taskCleanupTimeout`);
        else fleet.release(w, id);
      }
      fleet.workers.delete(w.host);
      continue;
    }
    for (const [id, at] of w.unacked) {
      if (at + cfg.taskAssignmentTimeoutMs > now) break;
      w.unacked.delete(id);
      const e = queue.active.get(id);
      if (e && e.worker === w.host && e.runner !== "RUNNING") {
        queue.finish(e, "FAILED", `Task assignment timed out on worker [${w.host}] after taskAssignmentTimeout`);
      }
    }
    if (w.blacklistedUntil !== null && w.blacklistedUntil <= now) {
      // Druid's checkAndRemoveWorkersFromBlackList resets the count too: the worker starts afresh
      w.blacklistedUntil = null;
      w.consecutiveFailures = 0;
    }
  }
}

/** The earliest time `applyTimeouts` has something to do, or null. */
export function nextDeadline(ctx: CoreContext, fleet: Fleet): number | null {
  const cfg = ctx.config;
  let next = Infinity;
  for (const w of fleet.workers.values()) {
    if (w.lostAt === null) next = Math.min(next, w.leaseUntil);
    else next = Math.min(next, w.lostAt + cfg.taskCleanupTimeoutMs);
    const oldest = w.unacked.values().next();
    if (!oldest.done) next = Math.min(next, oldest.value + cfg.taskAssignmentTimeoutMs);
    if (w.blacklistedUntil !== null) next = Math.min(next, w.blacklistedUntil);
  }
  return next === Infinity ? null : next;
}
