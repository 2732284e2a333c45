/**
 * Druid's KillStalePendingSegments: pending segments (allocated ids never published) pile up
 * when tasks die; for each data source with used segments (not in killPendingSegmentsSkipList)
 * the Overlord deletes those created more than durationToRetain (P1D) before the earliest of
 * now, the oldest active task's creation and the newest completed task's creation, so no task
 * that may still publish loses its allocations. Deleting is the Overlord's (it owns
 * pending_segments), with the Coordinator's term; a re-run deletes nothing more.
 */
import type { CoordinatorDynamicConfig } from "../coordinator/dynamicConfig.ts";

export interface TaskCreatedTimes {
  /** Creation of the data source's oldest active task, if any. */
  earliestActiveMs: number | null;
  /** Creation of its newest completed task, if any. */
  latestCompletedMs: number | null;
}

export interface KillPendingHost {
  config: { on: boolean; durationToRetainMs: number };
  dynamic(): Readonly<CoordinatorDynamicConfig>;
  now(): number;
  /** Data sources with used segments (the Coordinator's view). */
  dataSources(): string[];
  taskCreatedTimes(dataSource: string): Promise<TaskCreatedTimes>;
  /** Deletes the data source's pending segments created before `beforeMs`; resolves how many. */
  deletePendingCreatedBefore(dataSource: string, beforeMs: number): Promise<number>;
}

export interface KillPendingStats {
  skipped: "off" | "paused" | null;
  deleted: Record<string, number>;
}

/** The creation time before which a data source's pending segments are stale. */
export function staleCutoff(now: number, t: TaskCreatedTimes, retainMs: number): number {
  return Math.min(now, t.earliestActiveMs ?? now, t.latestCompletedMs ?? now) - retainMs;
}

export async function killStalePendingSegments(host: KillPendingHost): Promise<KillPendingStats> {
  if (!host.config.on) return { skipped: "off", deleted: {} };
  const dyn = host.dynamic();
  if (dyn.pauseCoordination) return { skipped: "paused", deleted: {} };
  const skip = new Set(dyn.killPendingSegmentsSkipList);
  const deleted: Record<string, number> = {};
  for (const ds of host.dataSources()) {
    if (skip.has(ds)) continue;
    const cutoff = staleCutoff(host.now(), await host.taskCreatedTimes(ds), host.config.durationToRetainMs);
    const n = await host.deletePendingCreatedBefore(ds, cutoff);
    if (n > 0) deleted[ds] = n;
  }
  return { skipped: null, deleted };
}
