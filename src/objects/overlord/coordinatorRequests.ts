/**
 * The Overlord's answers to the Coordinator (protocol/coordinatorRequests.ts), after its term
 * was fenced (and the pending-segment deletion an operator asks for the same way): segment marking and pending-segment deletion are serialised with the data
 * source's publishes and allocations (TaskActions.exclusive), a kill task is submitted like any
 * task, and the reads the kill duties need come from the queue and D1.
 */
import type { MarkRequest } from "../../overlord/segmentMarking.ts";
import { markSegments } from "../../overlord/segmentMarking.ts";
import type { OverlordCore } from "../../overlord/overlordCore.ts";
import type { OverlordConfig } from "../../overlord/config.ts";
import { parseTask, type Task } from "../../overlord/taskSpec.ts";
import type { TaskActions } from "../../overlord/taskActions.ts";
import type { OverlordStore } from "../../metadata/overlordStore.ts";
import type { SegmentStore } from "../../metadata/segmentStore.ts";
import type { CoordinatorRequest } from "../../protocol/coordinatorRequests.ts";
import { COORDINATOR_KILL_PREFIX } from "../../duties/killUnusedSegments.ts";
import { invalidInput } from "../../shared/errors.ts";
import { toIso, type Interval } from "../../shared/intervals.ts";

export interface CoordinatorRequestHost {
  core(): OverlordCore;
  actions(): TaskActions;
  store: OverlordStore;
  segments: SegmentStore;
  config: OverlordConfig;
  now(): number;
  submit(tasks: Task[]): Promise<string[]>;
  /** After segment rows changed (the Coordinator's view catches up). */
  segmentsChanged(n: number): number;
}

/** The answer to `req` (typed by its kind at the caller: CoordinatorAnswer). */
export async function answerCoordinator(host: CoordinatorRequestHost, req: CoordinatorRequest): Promise<unknown> {
  switch (req.kind) {
    case "markSegments":
      return markSegmentsOf(host, req.dataSource, req.request);
    case "submitTask": {
      const { config } = host;
      const task = parseTask(req.task, { now: host.now(), defaultContext: config.defaultContext, maxPayloadBytes: config.maxTaskPayloadBytes, testTaskTypes: config.testTaskTypes });
      if (task.type !== "kill" || !task.id.startsWith(`${COORDINATOR_KILL_PREFIX}_`)) throw invalidInput(`The Coordinator submits only ${COORDINATOR_KILL_PREFIX} kill tasks, not [${task.id}]`);
      const [id] = await host.submit([task]);
      return id;
    }
    case "killSlots": {
      let activeKillTasks = 0;
      for (const e of host.core().queue.active.values()) if (e.task.type === "kill" && e.task.id.startsWith(`${COORDINATOR_KILL_PREFIX}_`)) activeKillTasks++;
      return { totalSlots: host.core().runner.capacity().currentClusterCapacity, activeKillTasks };
    }
    case "taskCreatedTimes": {
      let earliestActiveMs: number | null = null;
      for (const e of host.core().queue.active.values()) {
        if (e.task.dataSource === req.dataSource && (earliestActiveMs === null || e.createdMs < earliestActiveMs)) earliestActiveMs = e.createdMs;
      }
      const [latest] = await host.store.listComplete({ dataSource: req.dataSource, sinceMs: Number.MIN_SAFE_INTEGER, max: 1 });
      return { earliestActiveMs, latestCompletedMs: latest ? latest.created_ms : null };
    }
    case "deletePendingSegments":
      return deletePendingSegments(host, req.dataSource, { start: Number.MIN_SAFE_INTEGER, end: req.createdBeforeMs });
    case "deleteAudit":
      return host.store.deleteAuditBefore(req.beforeMs);
  }
}

/** Marks segments used or unused, serialised with the data source's publishes; the Coordinator hears of any change. */
export async function markSegmentsOf(host: CoordinatorRequestHost, dataSource: string, request: MarkRequest): Promise<number> {
  return host.segmentsChanged(await host.actions().exclusive(dataSource, () => markSegments(host.segments, dataSource, request, host.now())));
}

/**
 * Druid's killPendingSegments: the data source's pending segments created in `createdIn`,
 * serialised with its allocations, and refused while an active task of the data source was
 * created inside the interval (its allocations may still be published).
 */
export function deletePendingSegments(host: CoordinatorRequestHost, dataSource: string, createdIn: Interval): Promise<number> {
  return host.actions().exclusive(dataSource, () => {
    let oldest = Number.POSITIVE_INFINITY;
    for (const e of host.core().queue.active.values()) if (e.task.dataSource === dataSource) oldest = Math.min(oldest, e.createdMs);
    if (createdIn.end > oldest) throw invalidInput(`Cannot delete pendingSegments because there is at least one active task created at ${toIso(oldest)}`);
    return host.segments.deletePendingCreatedIn(dataSource, createdIn.start, createdIn.end);
  });
}
