/**
 * The Coordinator Durable Object: one in the world (`getByName("coordinator")`), a leader by
 * construction like the Overlord. Each incarnation takes the next term and goes through named
 * stages before it serves. It decides from segment metadata (read from D1; the Overlord stays
 * the one writer of `segments`) and asks the Overlord for every change, with its term, so a
 * superseded incarnation cannot write.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { DEFAULT_DYNAMIC_CONFIG, DYNAMIC_CONFIG_KEY, dynamicConfigFromStored, mergeDynamicConfig, type CoordinatorDynamicConfig } from "../coordinator/dynamicConfig.ts";
import { coordinatorConfigOf } from "../coordinator/dutyConfig.ts";
import { DEFAULT_RULES, DEFAULT_RULES_KEY, effectiveRules, parseRules, type Rule } from "../coordinator/rules.ts";
import { SegmentStore } from "../metadata/segmentStore.ts";
import { AlarmScheduler } from "../platform/alarms.ts";
import { CoordinatorDuties, DUTY_GROUPS } from "./coordinator/coordinatorDuties.ts";
import { SegmentSync } from "./coordinator/segmentSync.ts";
import { ViewPersistence, type ViewPersistenceStatus } from "./coordinator/viewPersistence.ts";
import { ViewSnapshotStore } from "./coordinator/viewSnapshotStore.ts";
import type { SegmentKey } from "../coordinator/segmentView.ts";
import { overlordOf } from "./names.ts";
import { auditEntryJson, type AuditInfo } from "../metadata/auditLog.ts";
import { CoordinatorStore } from "../metadata/coordinatorStore.ts";
import { systemClock, type Clock } from "../platform/clock.ts";
import { GroupCommit } from "../platform/groupCommit.ts";
import { nextTerm } from "../platform/leadership.ts";
import { Lifecycle } from "../platform/lifecycle.ts";
import { rpcResult, unwrapRpcResult, type RpcResult } from "../platform/rpc.ts";
import { toIso } from "../shared/intervals.ts";



/** Druid's Coordinator lifecycle (INIT → NORMAL → SERVER → ANNOUNCEMENTS), in this object's terms. */
export const COORDINATOR_STAGES = ["starting", "termTaken", "metadataSynced", "serving", "dutiesStarted"] as const;
export type CoordinatorStage = (typeof COORDINATOR_STAGES)[number];

/** Storage key of the duty groups' last run times (they outlive an incarnation). */
const DUTY_RUNS_KEY = "dutyGroupRuns";

export interface ObjectStatus {
  term: number;
  stage: string;
  startedAt: string;
  stages: Array<{ stage: string; at: string }>;
  /** Used segments in the view. */
  segments: number;
  /** Where the view was loaded from at this start, and its snapshot in the object's storage. */
  view: Omit<ViewPersistenceStatus, "snapshot"> & { snapshot: (Omit<NonNullable<ViewPersistenceStatus["snapshot"]>, "takenAt"> & { takenAt: string }) | null };
}

export class Coordinator extends DurableObject<Env> {
  /** The object's time (tests give it a moved clock instead of sleeping). */
  clock: Clock = systemClock;
  term = 0;
  lifecycle: Lifecycle<CoordinatorStage>;
  private readonly store: CoordinatorStore;
  /** Retention rules by data source, `_default` included (Druid's rule manager, in memory). */
  private rules = new Map<string, Rule[]>();
  /** When each data source's rules were last set (KillRules keeps rules set again since its query). */
  private rulesSetAt = new Map<string, number>();
  private dynamicConfig: CoordinatorDynamicConfig = { ...DEFAULT_DYNAMIC_CONFIG };
  /** Statements decided since the last commit (decide in memory, commit in groups, answer after). */
  private pending: D1PreparedStatement[] = [];
  private readonly commits: GroupCommit<D1PreparedStatement[]>;
  /** Every used segment, columnar (coordinator/segmentView.ts), kept current from the change sequence. */
  private segmentSync!: SegmentSync;
  private readonly segments: SegmentStore;
  private readonly alarms: AlarmScheduler;
  /** The duty groups (objects/coordinator/coordinatorDuties.ts), made anew by each incarnation. */
  private dutyGroups: CoordinatorDuties | undefined;
  private leaderSince = 0;
  /** The view's snapshot in this object's storage: read at a cold start, rewritten by an alarm duty. */
  readonly viewPersistence: ViewPersistence;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.lifecycle = new Lifecycle(COORDINATOR_STAGES, () => this.clock.now());
    this.store = new CoordinatorStore(env.DB);
    this.segments = new SegmentStore(env.DB);
    const dutyConfig = coordinatorConfigOf(env);
    const pollMs = dutyConfig.segmentsPollDurationMs;
    this.alarms = new AlarmScheduler(ctx.storage, () => this.now());
    // the safety net: publishes nudge the view at once (segmentsChanged); this catches anything missed
    this.alarms.register({ name: "segmentPoll", nextRunAt: () => this.segmentSync.lastSyncAt + pollMs, run: () => this.segmentSync.sync() });
    for (const group of DUTY_GROUPS) this.alarms.register({ name: group, nextRunAt: () => this.dutyGroups?.dueAt(group) ?? null, run: () => this.dutyGroups!.run(group) });
    this.viewPersistence = new ViewPersistence({
      store: new ViewSnapshotStore(ctx.storage),
      sync: () => this.segmentSync,
      now: () => this.now(),
      periodMs: dutyConfig.viewSnapshotPeriodMs,
      exclusively: (fn) => this.ctx.blockConcurrencyWhile(fn),
    });
    // after the duty groups: when both are due (a cold start from D1), the duties run first
    this.alarms.register({ name: "viewSnapshot", nextRunAt: () => this.viewPersistence.nextRunAt(), run: () => this.viewPersistence.write() });
    this.commits = new GroupCommit(
      {
        take: () => {
          const batch = this.pending;
          this.pending = [];
          return batch;
        },
        write: (batch) => this.store.commit(batch),
        written: () => {},
        recover: () => this.ctx.blockConcurrencyWhile(() => this.becomeLeader()),
      },
      { delayMs: 0, siblings: 1 },
    );
    void ctx.blockConcurrencyWhile(() => this.becomeLeader());
  }

  private now(): number {
    return this.clock.now();
  }

  /** Druid's becomeLeader: next term, then the metadata it decides from, then serving. */
  private async becomeLeader(): Promise<void> {
    this.lifecycle = new Lifecycle(COORDINATOR_STAGES, () => this.clock.now());
    this.term = await nextTerm(this.ctx.storage);
    this.leaderSince = this.now();
    this.lifecycle.reach("termTaken");
    const [rules, config] = await Promise.all([this.store.loadRules(), this.store.loadConfig(DYNAMIC_CONFIG_KEY)]);
    this.rules = new Map();
    this.rulesSetAt = new Map(rules.map((r) => [r.dataSource, r.updatedMs]));
    for (const r of rules) {
      try {
        this.rules.set(r.dataSource, parseRules(JSON.parse(r.payload), r.dataSource));
      } catch (err) {
        console.error(`stored rules of [${r.dataSource}] no longer validate; they are ignored until replaced:`, err);
      }
    }
    if (!this.rules.has(DEFAULT_RULES_KEY)) this.rules.set(DEFAULT_RULES_KEY, [...DEFAULT_RULES]);
    try {
      this.dynamicConfig = config === null ? { ...DEFAULT_DYNAMIC_CONFIG } : dynamicConfigFromStored(JSON.parse(config));
    } catch (err) {
      console.error("the stored Coordinator dynamic config no longer validates; Druid's defaults are in force until it is replaced:", err);
      this.dynamicConfig = { ...DEFAULT_DYNAMIC_CONFIG };
    }
    this.dutyGroups = undefined;
    this.segmentSync = new SegmentSync(this.segments, () => this.now(), () => this.afterSync());
    await this.viewPersistence.load(); // the snapshot, when there is one
    await this.segmentSync.once(); // the changes past it, or the whole view, in pages
    this.lifecycle.reach("metadataSynced");
    this.lifecycle.reach("serving");
    this.dutyGroups = this.newDutyGroups(this.term, (await this.ctx.storage.get<Record<string, number>>(DUTY_RUNS_KEY)) ?? {});
    await this.alarms.reschedule();
    this.lifecycle.reach("dutiesStarted");
  }

  override async alarm(): Promise<void> {
    await this.alarms.runDue();
    await this.alarms.reschedule();
  }

  // ---- the segment view ----------------------------------------------------------------------

  /** The Overlord committed segment changes: bring the view up to date (coalesced, one run at a time). */
  async segmentsChanged(): Promise<void> {
    await this.segmentSync.sync();
  }

  /** Syncs now and answers the view's size and watermark (operators, tests). */
  async syncSegments(): Promise<RpcResult<{ segments: number; overshadowed: number; watermark: number }>> {
    return rpcResult(async () => {
      await this.segmentSync.sync();
      return { segments: this.view.size, overshadowed: this.view.overshadowedCount(), watermark: this.segmentSync.watermarkSeq };
    });
  }

  /**
   * Whether each of these segments (by key: no id is parsed) is an overshadowed used segment,
   * after a sync (`syncFirst`): the metadata
   * endpoints ask this page by page, so neither side ever holds every overshadowed id at once,
   * and sync only for their first page (one answer, one state of the view).
   */
  async overshadowedAmong(keys: SegmentKey[], syncFirst = true): Promise<RpcResult<boolean[]>> {
    return rpcResult(async () => {
      if (syncFirst) await this.segmentSync.sync();
      return keys.map((k) => this.view.isOvershadowed(this.view.slotOf(k)));
    });
  }

  /** News in the view brings duties forward (the periods are only ceilings). */
  private async afterSync(): Promise<void> {
    this.dutyGroups?.synced();
    await this.alarms.reschedule();
  }

  private get view() {
    return this.segmentSync.view;
  }

  private newDutyGroups(term: number, lastRuns: Record<string, number>): CoordinatorDuties {
    return new CoordinatorDuties({
      lastRuns,
      ranAt: async (group, at) => {
        lastRuns[group] = at;
        await this.ctx.storage.put(DUTY_RUNS_KEY, lastRuns);
      },
      env: this.env,
      overlordName: overlordOf(this.env, this.ctx.id.name),
      config: coordinatorConfigOf(this.env),
      view: () => this.view,
      dynamic: () => this.dynamicConfig,
      now: () => this.now(),
      term: () => term,
      leaderSince: () => this.leaderSince,
      segments: this.segments,
      store: this.store,
      resync: () => this.segmentSync.sync(),
      dropRules: (dataSources, beforeMs) => this.dropRules(dataSources, beforeMs),
    });
  }

  /** Druid's DutyGroupStatus list, each with its last run's stats (druid-edge). */
  async duties() {
    return rpcResult(() => ({ dutyGroups: this.dutyGroups?.toJSON() ?? [] }));
  }

  /** Runs a decision, then answers once its statements are committed. */
  private decide<T>(fn: () => T): Promise<RpcResult<T>> {
    return rpcResult(async () => {
      const value = fn();
      await this.commits.sync();
      return value;
    });
  }

  private audited(key: string, type: string, payload: unknown, audit: AuditInfo): D1PreparedStatement {
    return this.store.putAudit({ key, type, ...audit, createdMs: this.now(), payload: JSON.stringify(payload), request: null });
  }

  // ---- retention rules (Druid's RulesResource) ----------------------------------------------

  /** Every data source's rules, `_default` included: `{ds: [rule...]}`. */
  async allRules(): Promise<RpcResult<Record<string, Rule[]>>> {
    return rpcResult(() => Object.fromEntries(this.rules));
  }

  /** A data source's rules (`full`: followed by the default rules); [] for one with none. */
  async rulesOf(dataSource: string, full: boolean): Promise<RpcResult<Rule[]>> {
    return rpcResult(() => (full ? effectiveRules(Object.fromEntries(this.rules), dataSource) : (this.rules.get(dataSource) ?? [])));
  }

  /** Replaces a data source's rules (validated again here: the object never stores what it cannot read back). */
  async setRules(dataSource: string, rules: unknown, audit: AuditInfo): Promise<RpcResult<void>> {
    return this.decide(() => {
      const parsed = parseRules(rules, dataSource);
      this.rules.set(dataSource, parsed);
      this.rulesSetAt.set(dataSource, this.now());
      this.dutyGroups?.rulesChanged();
      this.pending.push(this.store.putRules(dataSource, parsed, this.now()), this.audited(dataSource, "rules", parsed, audit));
    });
  }

  /** Rule changes, of one data source or of all (type "rules"). */
  async rulesHistory(dataSource: string | null, filter: { sinceMs?: number; count?: number }) {
    return rpcResult(async () => (await this.store.history({ ...(dataSource === null ? {} : { key: dataSource }), type: "rules", ...filter })).map((r) => auditEntryJson(r, toIso)));
  }

  /** KillRules: forgets rules not set again since `beforeMs`, and deletes them in the same group commit. */
  private async dropRules(dataSources: string[], beforeMs: number): Promise<void> {
    await this.decide(() => {
      for (const ds of dataSources) {
        if ((this.rulesSetAt.get(ds) ?? 0) >= beforeMs) continue;
        this.rules.delete(ds);
        this.rulesSetAt.delete(ds);
        this.pending.push(this.store.deleteRules(ds, beforeMs));
      }
    }).then(unwrapRpcResult);
  }

  // ---- dynamic config (Druid's CoordinatorDynamicConfigsResource) ----------------------------

  async getDynamicConfig(): Promise<RpcResult<CoordinatorDynamicConfig>> {
    return rpcResult(() => this.dynamicConfig);
  }

  /** Merges `patch` over the current config (Druid's POST semantics) and stores it with an audit entry. */
  async setDynamicConfig(patch: unknown, audit: AuditInfo): Promise<RpcResult<void>> {
    return this.decide(() => {
      const next = mergeDynamicConfig(this.dynamicConfig, patch);
      this.dynamicConfig = next;
      this.pending.push(this.store.putConfig(DYNAMIC_CONFIG_KEY, next), this.audited(DYNAMIC_CONFIG_KEY, DYNAMIC_CONFIG_KEY, next, audit));
    });
  }

  async dynamicConfigHistory(filter: { sinceMs?: number; count?: number }) {
    return rpcResult(async () => (await this.store.history({ key: DYNAMIC_CONFIG_KEY, ...filter })).map((r) => auditEntryJson(r, toIso)));
  }

  async status(): Promise<ObjectStatus> {
    const v = this.viewPersistence.toJSON();
    const view = { ...v, snapshot: v.snapshot ? { ...v.snapshot, takenAt: toIso(v.snapshot.takenAt) } : null };
    return { term: this.term, ...this.lifecycle.toJSON(toIso), startedAt: toIso(this.lifecycle.history()[0]!.at), segments: this.view.size, view };
  }
}
