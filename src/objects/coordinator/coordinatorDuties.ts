/**
 * The Coordinator's duty groups on its one alarm: HistoricalManagementDuties
 * (druid.coordinator.period), IndexingServiceDuties (…period.indexingPeriod) and
 * MetadataStoreManagementDuties (…period.metadataStoreManagementPeriod). Each group's period is
 * the longest gap between its runs, not the only trigger: news brings a group forward — a sync
 * that saw overshadowed segments or a rule change runs the historical duties at once, segments
 * turning unused run the kill duties at once (when kill is on). A group never runs twice at
 * once (the alarm handler runs one duty at a time); news during a run makes one more run.
 *
 * Every Overlord call of a run carries the term the run started in, so the run of a superseded
 * incarnation is refused at the Overlord even if this object has since started over.
 */
import type { Env } from "../../env.ts";
import type { CoordinatorDutyConfig } from "../../coordinator/dutyConfig.ts";
import type { CoordinatorDynamicConfig } from "../../coordinator/dynamicConfig.ts";
import type { SegmentView } from "../../coordinator/segmentView.ts";
import { collectSegmentStats } from "../../duties/collectSegmentStats.ts";
import { killAuditLog } from "../../duties/killAuditLog.ts";
import { killRules } from "../../duties/killRules.ts";
import { killStalePendingSegments } from "../../duties/killStalePendingSegments.ts";
import { COORDINATOR_KILL_PREFIX, KillUnusedSegments } from "../../duties/killUnusedSegments.ts";
import { markOvershadowedUnused } from "../../duties/markOvershadowedUnused.ts";
import type { MetadataCleanup } from "../../duties/metadataCleanup.ts";
import type { CoordinatorStore } from "../../metadata/coordinatorStore.ts";
import type { SegmentStore } from "../../metadata/segmentStore.ts";
import { DutyGroupStats } from "../../platform/dutyGroups.ts";
import { issuedKillTaskId } from "../../shared/ids.ts";
import { toIso } from "../../shared/intervals.ts";
import { OverlordClient } from "./overlordClient.ts";

export interface CoordinatorDutyHost {
  env: Env;
  /** The Overlord object this Coordinator asks. */
  overlordName: string;
  config: CoordinatorDutyConfig;
  view(): SegmentView;
  dynamic(): Readonly<CoordinatorDynamicConfig>;
  now(): number;
  term(): number;
  leaderSince(): number;
  segments: SegmentStore;
  store: CoordinatorStore;
  /** Brings the view up to date with D1 (after the duties changed segments). */
  resync(): Promise<void>;
  /** When each group last ran, as recorded by earlier incarnations (ranAt). */
  lastRuns: Partial<Record<DutyGroupName, number>>;
  /** Records a group's run start, for the next incarnation. */
  ranAt(group: DutyGroupName, at: number): Promise<void>;
  /** Removes data sources' rules: in memory, and in D1 unless set again since `beforeMs`. */
  dropRules(dataSources: string[], beforeMs: number): Promise<void>;
}

type RunStats = Record<string, unknown>;

/** How soon a failed group run is tried again (or its period, if shorter). */
const RETRY_MS = 30_000;

/** Druid's duty groups, in the order they run when due together. */
export const DUTY_GROUPS = ["HistoricalManagementDuties", "IndexingServiceDuties", "MetadataStoreManagementDuties"] as const;
export type DutyGroupName = (typeof DUTY_GROUPS)[number];

interface Group {
  stats: DutyGroupStats;
  periodMs: number;
  dueAt: number;
  lastRunStats: RunStats | null;
  run(client: OverlordClient): Promise<RunStats>;
}

export class CoordinatorDuties {
  private readonly groups: Group[];
  private readonly kill: KillUnusedSegments;
  private readonly cleanups: MetadataCleanup[];
  /** The kill duty's own period (druid.coordinator.kill.period), brought forward by news of unused segments. */
  private killDueAt = 0;
  private client: OverlordClient | null = null;
  private additionsSeen = 0;
  private removalsSeen = 0;
  /** The last stats line logged: a line is logged when it changes (an empty cluster's never is). */
  private lastStatsLine = "Found [0] used segments in [0] data sources ([0] overshadowed, [0] bytes).";

  constructor(private readonly host: CoordinatorDutyHost) {
    const cfg = host.config;
    const now = host.now();
    // what the view held when this incarnation's duties began is not news
    this.additionsSeen = host.view().additions;
    this.removalsSeen = host.view().removals;
    this.kill = new KillUnusedSegments({
      config: cfg.killUnusedSegments,
      dynamic: host.dynamic,
      now: host.now,
      dataSourcesWithUnused: () => host.segments.dataSourcesWithUnused(),
      candidates: (ds, q) => host.segments.unusedIntervalsForKill(ds, q),
      killSlots: () => this.overlord().ask({ kind: "killSlots" }),
      submitKill: (spec) => {
        const interval = `${toIso(spec.interval.start)}/${toIso(spec.interval.end)}`;
        const task = {
          type: "kill",
          id: issuedKillTaskId(COORDINATOR_KILL_PREFIX, spec.dataSource, interval, host.now()),
          dataSource: spec.dataSource,
          interval,
          batchSize: spec.limit,
          limit: spec.limit,
          maxUsedStatusLastUpdatedTime: toIso(spec.maxUsedStatusLastUpdated),
        };
        return this.overlord().ask({ kind: "submitTask", task });
      },
    });
    this.cleanups = [
      killAuditLog(cfg.killAuditLog, {
        deleteOwnAuditBefore: (ms) => host.store.deleteAuditBefore(ms),
        deleteOverlordAuditBefore: (beforeMs) => this.overlord().ask({ kind: "deleteAudit", beforeMs }),
      }),
      killRules(cfg.killRules, {
        deleteRulesOfEmptyDataSourcesBefore: async (ms) => {
          const gone = await host.store.rulesOfEmptyDataSources(ms);
          await host.dropRules(gone, ms);
          return gone;
        },
      }),
    ];
    // The historical duties run at once (the view is complete before duties start); the others
    // a period after their last run, which outlives incarnations (an object restarts far more
    // often than once an hour), or a period after the first start (Druid's startDelay).
    const after = (group: DutyGroupName, periodMs: number) => (host.lastRuns[group] ?? now) + periodMs;
    this.groups = [
      this.group("HistoricalManagementDuties", cfg.periodMs, ["MarkOvershadowedSegmentsAsUnused", "CollectSegmentStats"], now, () => this.runHistorical()),
      this.group("IndexingServiceDuties", cfg.indexingPeriodMs, ["KillUnusedSegments", "KillStalePendingSegments"], after("IndexingServiceDuties", cfg.indexingPeriodMs), () => this.runIndexing()),
      this.group("MetadataStoreManagementDuties", cfg.metadataStoreManagementPeriodMs, this.cleanups.map((c) => c.name), after("MetadataStoreManagementDuties", cfg.metadataStoreManagementPeriodMs), () =>
        this.runMetadata(),
      ),
    ];
  }

  private groupNamed(name: DutyGroupName): Group {
    return this.groups.find((g) => g.stats.name === name)!;
  }

  private group(name: DutyGroupName, periodMs: number, duties: string[], firstAt: number, run: () => Promise<RunStats>): Group {
    return { stats: new DutyGroupStats(name, periodMs, duties), periodMs, dueAt: firstAt, lastRunStats: null, run };
  }

  /** The Overlord, as the running duty's incarnation (its term) speaks to it. */
  private overlord(): OverlordClient {
    return this.client ?? new OverlordClient(this.host.env, this.host.overlordName, this.host.term());
  }

  /** When the group next runs. */
  dueAt(group: DutyGroupName): number {
    return this.groupNamed(group).dueAt;
  }

  /**
   * One run of the group (the object's alarm calls it when due). A failed run (D1, or the
   * Overlord refusing) is logged and retried soon; it never keeps the other groups from running.
   */
  async run(group: DutyGroupName): Promise<void> {
    const g = this.groupNamed(group);
    const start = this.host.now();
    g.dueAt = start + g.periodMs;
    this.client = new OverlordClient(this.host.env, this.host.overlordName, this.host.term());
    try {
      g.lastRunStats = await g.run(this.client);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      console.error(`Coordinator duty group ${group} failed; retrying in ${RETRY_MS / 1000} s:`, message);
      g.lastRunStats = { error: message };
      g.dueAt = Math.min(g.dueAt, start + RETRY_MS);
    } finally {
      this.client = null;
      g.stats.ran(start, this.host.now());
    }
    await this.host.ranAt(group, start);
  }

  /**
   * After a sync: new segments (publishes) and overshadowed ones bring the historical duties
   * forward, segments turning unused the kill duties (when kill is on).
   */
  synced(): void {
    const view = this.host.view();
    const now = this.host.now();
    if (view.additions !== this.additionsSeen || view.overshadowedCount() > 0) this.bringForward(0, now);
    if (view.removals !== this.removalsSeen && this.host.config.killUnusedSegments.on) {
      this.killDueAt = Math.min(this.killDueAt, now);
      this.bringForward(1, now);
    }
    this.additionsSeen = view.additions;
    this.removalsSeen = view.removals;
  }

  /** A rule change: the historical duties run at once. */
  rulesChanged(): void {
    this.bringForward(0, this.host.now());
  }

  private bringForward(group: number, now: number): void {
    const g = this.groups[group]!;
    g.dueAt = Math.min(g.dueAt, now);
  }

  private async runHistorical(): Promise<RunStats> {
    const h = this.host;
    const marked = await markOvershadowedUnused({
      view: h.view(),
      config: h.dynamic,
      now: h.now,
      leaderSince: h.leaderSince,
      markUnused: (dataSource, ids) => this.overlord().ask({ kind: "markSegments", dataSource, request: { kind: "ids", used: false, ids } }),
    });
    // what was marked leaves the view at the next sync (the Overlord's nudge); sync now to converge
    if (marked.marked > 0) await h.resync();
    const stats = collectSegmentStats(h.view(), (line) => {
      if (line !== this.lastStatsLine) console.log(line);
      this.lastStatsLine = line;
    });
    return { MarkOvershadowedSegmentsAsUnused: marked, CollectSegmentStats: { usedSegments: stats.usedSegments, bytes: stats.bytes, overshadowed: stats.overshadowed, dataSources: Object.keys(stats.dataSources).length } };
  }

  private async runIndexing(): Promise<RunStats> {
    const h = this.host;
    const now = h.now();
    let kill: unknown = { skipped: "notDue" };
    if (now >= this.killDueAt) {
      this.killDueAt = now + h.config.killUnusedSegments.periodMs;
      kill = await this.kill.run();
    }
    const pending = await killStalePendingSegments({
      config: h.config.killPendingSegments,
      dynamic: h.dynamic,
      now: h.now,
      dataSources: () => h.view().dataSources(),
      taskCreatedTimes: (dataSource) => this.overlord().ask({ kind: "taskCreatedTimes", dataSource }),
      deletePendingCreatedBefore: (dataSource, createdBeforeMs) => this.overlord().ask({ kind: "deletePendingSegments", dataSource, createdBeforeMs }),
    });
    return { KillUnusedSegments: kill, KillStalePendingSegments: pending };
  }

  private async runMetadata(): Promise<RunStats> {
    const out: RunStats = {};
    for (const c of this.cleanups) out[c.name] = await c.run(this.host.now());
    return out;
  }

  /** Druid's DutyGroupStatus list, each with its last run's stats (druid-edge). */
  toJSON() {
    return this.groups.map((g) => ({ ...g.stats.toJSON(toIso), lastRunStats: g.lastRunStats }));
  }
}
