/**
 * Assignment (Druid's TaskRunner.run + WorkerSelectStrategy): pending tasks, in priority then
 * submission order, go to eligible workers chosen by the configured select strategy. Each
 * assignment is written to the task, appended to the worker's change log and takes a slot;
 * it reaches the agent with the commit that makes it durable.
 */
import { limitOf, type Fleet, type WorkerState } from "./fleet.ts";
import type { CoreContext, TaskQueue } from "./taskQueue.ts";
import type { TaskEntry } from "./types.ts";
import { selectWorker, type SelectStrategy, type WorkerView } from "./workerSelect.ts";

const compareVersion = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface AssignmentDeps {
  ctx: CoreContext;
  fleet: Fleet;
  queue: TaskQueue;
  strategy(): SelectStrategy;
  /** Whether a poll of `host` is held open right now (such a worker hears of an assignment at once). */
  pollHeld(host: string): boolean;
}

function isEligible(d: AssignmentDeps, w: WorkerState, now: number): boolean {
  return (
    w.synced &&
    w.lostAt === null &&
    w.leaseUntil > now && // lapsed, even if no alarm has marked it lost yet
    !w.disabled &&
    (w.blacklistedUntil === null || w.blacklistedUntil <= now) &&
    compareVersion(w.version, d.ctx.config.minWorkerVersion) >= 0 &&
    w.usedCapacity < limitOf(w)
  );
}

/** Assigns pending tasks to eligible workers, in priority then submission order. */
export function assignPending(d: AssignmentDeps): void {
  const { ctx, fleet, queue } = d;
  if (queue.pending.size === 0) return;
  const now = ctx.now();
  const eligible: WorkerState[] = [];
  for (const w of fleet.workers.values()) if (isEligible(d, w, now)) eligible.push(w);
  if (eligible.length === 0) return;
  let free = eligible.reduce((n, w) => n + (limitOf(w) - w.usedCapacity), 0);
  const views = new Map<WorkerState, WorkerView>();
  const viewOf = (w: WorkerState): WorkerView => {
    let v = views.get(w);
    if (!v) {
      const groups = new Set<string>();
      const byType = new Map<string, number>();
      for (const s of w.slots.values()) {
        groups.add(s.availabilityGroup);
        byType.set(s.type, (byType.get(s.type) ?? 0) + s.requiredCapacity);
      }
      v = { host: w.host, capacity: limitOf(w), category: w.category, version: w.version, usedCapacity: w.usedCapacity, availabilityGroups: groups, usedByType: byType, waiting: d.pollHeld(w.host) };
      views.set(w, v);
    }
    return v;
  };
  const strategy = d.strategy();
  queue.pending.forEach((id) => {
    const e = queue.active.get(id);
    if (!e) {
      queue.pending.remove(id);
      return;
    }
    const candidates = eligible.filter((w) => w.usedCapacity < limitOf(w)).map(viewOf);
    const chosen = selectWorker(
      strategy,
      { type: e.task.type, dataSource: e.task.dataSource, requiredCapacity: e.task.resource.requiredCapacity, availabilityGroup: e.task.resource.availabilityGroup },
      candidates,
    );
    if (!chosen) return;
    const w = fleet.workers.get(chosen.host)!;
    assign(d, e, w, now);
    views.delete(w);
    free -= e.task.resource.requiredCapacity;
    if (free <= 0) return "stop";
  });
}

function assign({ ctx, fleet, queue }: AssignmentDeps, e: TaskEntry, w: WorkerState, now: number): void {
  queue.pending.remove(e.task.id);
  e.worker = w.host;
  e.assignedTerm = ctx.term;
  e.assignedAt = now;
  e.runner = "PENDING";
  ctx.writes.updateTask(e);
  w.unacked.set(e.task.id, now);
  fleet.append(w, { type: "assign", taskId: e.task.id });
  fleet.occupy(w, e, w.log.lastCounter.counter, false);
}
