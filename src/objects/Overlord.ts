/**
 * The Overlord Durable Object: one in the world (`getByName("overlord")`), a leader by
 * construction. A thin shell: on start it takes the next term and rebuilds the core from D1
 * inside blockConcurrencyWhile; each RPC decides synchronously on the core, then waits for the
 * group commit before answering; held agent polls are answered after the commit that made their
 * news durable; the single alarm drives the duties. The start-up state, task reads, agent polls
 * and their answers, upload checks and the link to the Coordinator live beside it in
 * objects/overlord/.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { runnerTimeoutsDuty } from "../duties/runnerTimeouts.ts";
import { auditEntryJson, type AuditInfo } from "../metadata/auditLog.ts";
import { OverlordStore } from "../metadata/overlordStore.ts";
import { SegmentStore } from "../metadata/segmentStore.ts";
import { configOf, type OverlordConfig } from "../overlord/config.ts";
import type { LockFilterPolicy } from "../overlord/lockbox.ts";
import { OverlordCore } from "../overlord/overlordCore.ts";
import type { MarkRequest } from "../overlord/segmentMarking.ts";
import { TaskActions } from "../overlord/taskActions.ts";
import type { TaskAction } from "../protocol/taskAction.ts";
import type { Task } from "../overlord/taskSpec.ts";
import type { TaskStatusJson, TaskStatusPlus } from "../overlord/types.ts";
import type { WorkerBehaviorConfig } from "../overlord/workerSelect.ts";
import type { WriteSet } from "../overlord/writes.ts";
import { AlarmScheduler } from "../platform/alarms.ts";
import { systemClock, type Clock } from "../platform/clock.ts";
import { GroupCommit } from "../platform/groupCommit.ts";
import { nextTerm } from "../platform/leadership.ts";
import { Lifecycle } from "../platform/lifecycle.ts";
import { rpcResult, type RpcResult } from "../platform/rpc.ts";
import type { PollRequest } from "../protocol/agent.ts";
import { TaskCredentials } from "../shared/credentials.ts";
import { DruidError } from "../shared/errors.ts";
import { toIso, type Interval } from "../shared/intervals.ts";
import { AgentPolls } from "./overlord/agentPolls.ts";
import { assertUploadAllowed } from "./overlord/agentUploads.ts";
import { CoordinatorLink } from "./overlord/coordinatorLink.ts";
import { answerCoordinator, deletePendingSegments, markSegmentsOf, type CoordinatorRequestHost } from "./overlord/coordinatorRequests.ts";
import type { CoordinatorAnswer, CoordinatorRequest, CoordinatorRequestKind } from "../protocol/coordinatorRequests.ts";
import { credentialSubject } from "./overlord/pollAnswers.ts";
import { loadStoredState } from "./overlord/storedState.ts";
import { TaskReads, type TaskListFilter } from "./overlord/taskReads.ts";

export type { TaskListFilter };
export const VERSION = "0.1.0";

/** Druid's Overlord lifecycle, in this object's terms. */
export const OVERLORD_STAGES = ["starting", "termTaken", "metadataSynced", "serving"] as const;


export class Overlord extends DurableObject<Env> {
  /** The object's time (tests give it a moved clock instead of sleeping). */
  clock: Clock = systemClock;
  readonly config: OverlordConfig;
  readonly store: OverlordStore;
  core!: OverlordCore;
  startedAt = 0;
  private readonly commits: GroupCommit<{ ws: WriteSet; marks: Map<string, number> }>;
  private readonly polls: AgentPolls;
  private readonly credentials: TaskCredentials;
  private readonly alarms: AlarmScheduler;
  private readonly segments: SegmentStore;
  private readonly reads: TaskReads;
  private actions!: TaskActions;
  lifecycle: Lifecycle<(typeof OVERLORD_STAGES)[number]>;
  private readonly coordinator: CoordinatorLink;
  private readonly coordinatorRequests: CoordinatorRequestHost;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.lifecycle = new Lifecycle(OVERLORD_STAGES, () => this.now());
    this.config = configOf(env);
    this.coordinator = new CoordinatorLink(ctx.storage, env, ctx.id.name);
    this.store = new OverlordStore(env.DB);
    this.segments = new SegmentStore(env.DB);
    this.credentials = new TaskCredentials(`${env.ADMIN_TOKEN ?? ""}|${env.AGENT_TOKEN ?? ""}`);
    this.reads = new TaskReads(() => this.core, this.store, () => this.now(), this.config.recentlyFinishedThresholdMs);
    this.polls = new AgentPolls({ core: () => this.core, now: () => this.now(), durable: () => this.durable(), reschedule: () => this.alarms.reschedule() }, this.credentials);
    this.coordinatorRequests = {
      core: () => this.core,
      actions: () => this.actions,
      store: this.store,
      segments: this.segments,
      config: this.config,
      now: () => this.now(),
      submit: (tasks) => this.submitNow(tasks),
      segmentsChanged: (n) => this.marked(n),
    };
    this.alarms = new AlarmScheduler(ctx.storage, () => this.now());
    this.alarms.register(runnerTimeoutsDuty(() => this.core));
    this.commits = new GroupCommit(
      {
        take: () => {
          const ws = this.core.takeWrites();
          this.polls.prepare(ws);
          return { ws, marks: this.core.runner.markTouched() };
        },
        write: ({ ws }) => this.store.commit(ws, this.now()),
        written: ({ marks }) => {
          this.core.runner.committed(marks);
          for (const host of marks.keys()) this.polls.wake(host);
        },
        recover: () => this.ctx.blockConcurrencyWhile(() => this.becomeLeader()),
      },
      { delayMs: this.config.commitDelayMs, siblings: Math.max(1, this.config.commitSiblings) },
    );
    void ctx.blockConcurrencyWhile(() => this.becomeLeader());
  }

  now(): number {
    return this.clock.now();
  }

  /** Druid's becomeLeader: new term, then lockbox + queue + runner rebuilt from D1. */
  private async becomeLeader(): Promise<void> {
    this.lifecycle = new Lifecycle(OVERLORD_STAGES, () => this.now());
    const term = await nextTerm(this.ctx.storage);
    await this.coordinator.load();
    this.lifecycle.reach("termTaken");
    const state = await loadStoredState(this.store);
    this.polls.releaseAll();
    this.startedAt = this.now();
    const core = new OverlordCore(term, this.config, () => this.now(), (host) => this.polls.isHeld(host));
    core.restore(state);
    const ws = core.takeWrites();
    ws.add({ kind: "term", data: { term, startedAt: toIso(this.startedAt) } });
    core.runner.markTouched();
    await this.store.commit(ws, this.now());
    this.core = core;
    this.actions = new TaskActions({ locks: core.queue, segments: this.segments, now: () => this.now(), durable: () => this.durable(), segmentsChanged: () => this.coordinator.nudge() });
    this.lifecycle.reach("metadataSynced");
    await this.alarms.reschedule();
    this.lifecycle.reach("serving");
  }

  /** Waits for the group commit, then makes sure the alarm covers the next deadline. */
  private async durable(): Promise<void> {
    await this.commits.sync();
    await this.alarms.reschedule();
  }

  /** Runs a decision on the core and answers once its consequences are committed. */
  private decide<T>(fn: (core: OverlordCore) => T): Promise<RpcResult<T>> {
    return rpcResult(async () => {
      const value = fn(this.core);
      await this.durable();
      return value;
    });
  }

  override async alarm(): Promise<void> {
    await this.alarms.runDue();
    await this.durable();
  }

  // ---- status --------------------------------------------------------------------------------

  async status() {
    const c = this.commits;
    return {
      version: VERSION,
      term: this.core.term,
      ...this.lifecycle.toJSON(toIso),
      startedAt: toIso(this.startedAt),
      flushes: c.flushes,
      largestGroup: c.largestGroup,
      avgCommitMs: c.flushes ? Math.round((c.writeMs / c.flushes) * 100) / 100 : 0,
    };
  }

  // ---- tasks ---------------------------------------------------------------------------------

  /** All-or-nothing submission; answers after the tasks (and any assignment) are in D1. */
  async submit(tasks: Task[]): Promise<RpcResult<string[]>> {
    return rpcResult(() => this.submitNow(tasks));
  }

  private async submitNow(tasks: Task[]): Promise<string[]> {
    // Generated ids (timestamp + random part) cannot already exist; only given ids are looked up.
    const userIds = tasks.filter((t) => !t.generatedId).map((t) => t.id).filter((id) => !this.core.queue.get(id));
    const known = userIds.length > 0 ? await this.store.existingIds(userIds) : new Set<string>();
    const entries = this.core.queue.submit(tasks, known);
    await this.durable();
    return entries.map((e) => e.task.id);
  }

  getTaskJson(id: string): Promise<RpcResult<string | null>> {
    return rpcResult(() => this.reads.taskJson(id));
  }
  taskStatus(id: string): Promise<RpcResult<TaskStatusPlus | null>> {
    return rpcResult(() => this.reads.status(id));
  }
  taskStatuses(ids: string[]): Promise<RpcResult<Record<string, TaskStatusJson>>> {
    return rpcResult(() => this.reads.statuses(ids));
  }
  async listTasksJson(filter: TaskListFilter): Promise<RpcResult<string>> {
    return rpcResult(async () => JSON.stringify(await this.reads.list(filter)));
  }
  getLog(taskId: string): Promise<RpcResult<string | null>> {
    return rpcResult(() => this.store.getLog(taskId));
  }
  getReports(taskId: string): Promise<RpcResult<unknown | null>> {
    return rpcResult(() => this.store.getReports(taskId));
  }

  shutdown(id: string): Promise<RpcResult<void>> {
    return this.decide((core) => void core.queue.shutdown(id));
  }
  /** The number of tasks shut down (0 → the route answers 404 as Druid does). */
  shutdownAll(dataSource: string): Promise<RpcResult<number>> {
    return this.decide((core) => core.queue.shutdownDataSource(dataSource));
  }
  lockedIntervals(filters: LockFilterPolicy[]) {
    return rpcResult(() => this.core.lockedIntervals(filters));
  }
  activeLocks(filters: LockFilterPolicy[]) {
    return rpcResult(() => this.core.activeLocks(filters));
  }

  // ---- workers -------------------------------------------------------------------------------

  workers() {
    return rpcResult(() => this.core.runner.workerInfo());
  }
  totalWorkerCapacity() {
    return rpcResult(() => this.core.runner.capacity());
  }
  setWorkerEnabled(host: string, enabled: boolean): Promise<RpcResult<boolean>> {
    return this.decide((core) => core.runner.setDisabled(host, !enabled));
  }
  getWorkerConfig(): Promise<RpcResult<WorkerBehaviorConfig | null>> {
    return rpcResult(() => this.store.loadConfig<WorkerBehaviorConfig>("worker.config"));
  }
  setWorkerConfig(config: WorkerBehaviorConfig, audit: AuditInfo): Promise<RpcResult<void>> {
    return this.decide((core) => core.setWorkerConfig(config, { ...audit, createdMs: this.now() }));
  }

  async auditHistory(key: string, filter: { sinceMs?: number; count?: number }) {
    return rpcResult(async () => (await this.store.auditHistory({ key, ...filter })).map((r) => auditEntryJson(r, toIso)));
  }

  // ---- agents --------------------------------------------------------------------------------

  /**
   * One agent poll (docs/agent-protocol.md), from the agent holding `workerKey`. Resolves to
   * the answer's JSON text, or null for "no news" (204).
   */
  async poll(req: PollRequest, workerKey: string): Promise<RpcResult<string | null>> {
    return rpcResult(() => this.polls.poll(req, workerKey));
  }

  /** A task's log or reports from the agent holding its worker (objects/overlord/agentUploads.ts). */
  async upload(host: string, workerKey: string, taskId: string, upload: { log: string } | { reports: Record<string, unknown> }): Promise<RpcResult<void>> {
    return rpcResult(async () => {
      await assertUploadAllowed({ core: this.core, store: this.store, workerKeys: this.polls.workerKeys }, taskId, host, workerKey);
      const now = this.now();
      this.core.ctx.writes.add("log" in upload ? { kind: "log", data: { taskId, log: upload.log, now } } : { kind: "report", data: { taskId, payload: upload.reports, now } });
      await this.durable();
    });
  }

  // ---- segments ------------------------------------------------------------------------------

  /**
   * What the Coordinator asks (protocol/coordinatorRequests.ts), fenced by its term
   * (overlord/coordinatorLink.ts): a superseded Coordinator still finishing a duty cannot write.
   */
  async forCoordinator<K extends CoordinatorRequestKind>(coordinatorTerm: number, req: CoordinatorRequest & { kind: K }): Promise<RpcResult<CoordinatorAnswer<K>>> {
    return rpcResult(async () => {
      await this.coordinator.fence(coordinatorTerm);
      return (await answerCoordinator(this.coordinatorRequests, req)) as CoordinatorAnswer<K>;
    });
  }

  /** Druid's killPendingSegments: a data source's pending segments created in the interval. */
  deletePendingSegments(dataSource: string, createdIn: Interval): Promise<RpcResult<number>> {
    return rpcResult(() => deletePendingSegments(this.coordinatorRequests, dataSource, createdIn));
  }

  private marked(n: number): number {
    if (n > 0) this.coordinator.nudge();
    return n;
  }

  /** An operator's marking of segments used or unused, serialised with the data source's publishes. */
  async markSegments(dataSource: string, request: MarkRequest): Promise<RpcResult<number>> {
    return rpcResult(() => markSegmentsOf(this.coordinatorRequests, dataSource, request));
  }

  // ---- task actions --------------------------------------------------------------------------

  /**
   * The running task named by a credential, or a 403. The credential binds the task id to the
   * term of its assignment and its worker: a finished task, another task's credential or an
   * assignment from an older incarnation is refused (Druid does not check this).
   */
  private async runningTaskFor(taskId: string, credential: string) {
    const e = this.core.queue.active.get(taskId);
    if (!e || e.status !== "RUNNING" || !e.worker || !(await this.credentials.verify(credentialSubject(e), credential))) {
      throw new DruidError("FORBIDDEN", `Task [${taskId}] is not running here with this credential`, "taskCredentialRefused");
    }
    return e;
  }

  /** A task action (POST /druid/indexer/v1/action), answered with Druid's JSON for it. */
  action(taskId: string, credential: string, action: TaskAction): Promise<RpcResult<unknown>> {
    return rpcResult(async () => this.actions.perform(await this.runningTaskFor(taskId, credential), action));
  }

  /** Checks a task credential (deep-storage writes); returns the task's dataSource. */
  verifyTaskCredential(taskId: string, credential: string): Promise<RpcResult<string>> {
    return rpcResult(async () => (await this.runningTaskFor(taskId, credential)).task.dataSource);
  }
}
