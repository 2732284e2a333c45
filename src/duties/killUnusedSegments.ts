/**
 * Druid's KillUnusedSegments: submits `kill` tasks (through the Overlord, with the Coordinator's
 * term) that permanently delete unused segments, within Druid's limits — only segments unused
 * for at least bufferPeriod whose interval ended more than durationToRetain ago, at most
 * maxSegments per task and maxInterval wide, only in killDataSourceWhitelist when it is set, and
 * never more coordinator-issued kill tasks at once than min(killTaskSlotRatio × cluster capacity,
 * maxKillTaskSlots).
 *
 * Each data source remembers where its last kill interval ended, so a run does not submit the
 * same segments again while an earlier kill task is still running; when nothing is left past
 * that mark it is forgotten, so whatever a failed kill left behind is picked up again. A re-run
 * (alarms are at-least-once) only submits tasks for segments still unused: the kill task itself
 * deletes only what is unused when it runs.
 */
import type { CoordinatorDutyConfig } from "../coordinator/dutyConfig.ts";
import type { CoordinatorDynamicConfig } from "../coordinator/dynamicConfig.ts";
import type { Interval } from "../shared/intervals.ts";

/** The prefix of the ids of kill tasks this duty submits (Druid's). */
export const COORDINATOR_KILL_PREFIX = "coordinator-issued";

export interface KillCandidatesQuery {
  /** Only segments starting at or after this (the end of the data source's last kill interval). */
  minStart: number | null;
  /** Only segments ending at or before this. */
  maxEnd: number;
  /** Only segments unused since at or before this. */
  maxUsedStatusLastUpdated: number;
  limit: number;
}

export interface KillTaskSpec {
  dataSource: string;
  interval: Interval;
  /** Segments per batch and in all (Druid's batchSize and limit). */
  limit: number;
  maxUsedStatusLastUpdated: number;
}

export interface KillUnusedHost {
  config: CoordinatorDutyConfig["killUnusedSegments"];
  dynamic(): Readonly<CoordinatorDynamicConfig>;
  now(): number;
  /** Data sources that have unused segments. */
  dataSourcesWithUnused(): Promise<string[]>;
  /** Intervals of unused segments matching the query, by start (one per segment). */
  candidates(dataSource: string, q: KillCandidatesQuery): Promise<Interval[]>;
  /** Cluster task capacity and the coordinator-issued kill tasks still active. */
  killSlots(): Promise<{ totalSlots: number; activeKillTasks: number }>;
  submitKill(spec: KillTaskSpec): Promise<string>;
}

export interface KillUnusedStats {
  skipped: "off" | "paused" | "noTaskSlots" | null;
  maxSlots: number;
  availableSlots: number;
  /** Unused segments eligible for the submitted tasks. */
  eligibleSegments: number;
  submittedTasks: string[];
}

/** Druid's kill-task capacity: a share of the cluster's slots, capped. */
export function killTaskCapacity(totalSlots: number, ratio: number, maxSlots: number): number {
  return Math.min(Math.floor(totalSlots * Math.min(ratio, 1)), maxSlots);
}

/** The interval of a kill task over `intervals` (sorted by start): their umbrella, no wider than maxIntervalMs (0 = any). */
export function killIntervalOf(intervals: Interval[], maxIntervalMs: number): { interval: Interval; segments: number } | null {
  if (intervals.length === 0) return null;
  const start = intervals[0]!.start;
  let end = intervals[0]!.end;
  let n = 0;
  for (const i of intervals) {
    if (maxIntervalMs > 0 && i.end - start > maxIntervalMs && n > 0) break;
    end = Math.max(end, i.end);
    n++;
  }
  return { interval: { start, end }, segments: n };
}

export class KillUnusedSegments {
  /** Per data source, where its last submitted kill interval ended. */
  private readonly lastKillEnd = new Map<string, number>();
  /** Where the last run stopped in the round of data sources (fairness across runs). */
  private lastDataSource: string | null = null;

  constructor(private readonly host: KillUnusedHost) {}

  async run(): Promise<KillUnusedStats> {
    const { config: cfg } = this.host;
    const dyn = this.host.dynamic();
    const stats: KillUnusedStats = { skipped: null, maxSlots: 0, availableSlots: 0, eligibleSegments: 0, submittedTasks: [] };
    if (!cfg.on) return { ...stats, skipped: "off" };
    if (dyn.pauseCoordination) return { ...stats, skipped: "paused" };
    const slots = await this.host.killSlots();
    stats.maxSlots = killTaskCapacity(slots.totalSlots, dyn.killTaskSlotRatio, dyn.maxKillTaskSlots);
    stats.availableSlots = Math.max(0, stats.maxSlots - slots.activeKillTasks);
    if (stats.availableSlots === 0) return { ...stats, skipped: "noTaskSlots" };

    const now = this.host.now();
    const whitelist = dyn.killDataSourceWhitelist;
    const dataSources = this.rotated(whitelist.length > 0 ? [...whitelist].sort() : (await this.host.dataSourcesWithUnused()).sort());
    const query = {
      maxEnd: cfg.ignoreDurationToRetain ? Number.MAX_SAFE_INTEGER : now - cfg.durationToRetainMs,
      maxUsedStatusLastUpdated: now - cfg.bufferPeriodMs,
      limit: cfg.maxSegments,
    };
    for (const ds of dataSources) {
      if (stats.submittedTasks.length >= stats.availableSlots) break;
      const chosen = killIntervalOf(await this.host.candidates(ds, { ...query, minStart: this.lastKillEnd.get(ds) ?? null }), cfg.maxIntervalMs);
      if (!chosen) {
        this.lastKillEnd.delete(ds);
        continue;
      }
      stats.submittedTasks.push(await this.host.submitKill({ dataSource: ds, interval: chosen.interval, limit: cfg.maxSegments, maxUsedStatusLastUpdated: query.maxUsedStatusLastUpdated }));
      stats.eligibleSegments += chosen.segments;
      this.lastKillEnd.set(ds, chosen.interval.end);
      this.lastDataSource = ds;
    }
    return stats;
  }

  /** Data sources in order, starting after the one the last run submitted for. */
  private rotated(sorted: string[]): string[] {
    if (this.lastDataSource === null) return sorted;
    const at = sorted.findIndex((d) => d > this.lastDataSource!);
    return at <= 0 ? sorted : [...sorted.slice(at), ...sorted.slice(0, at)];
  }
}
