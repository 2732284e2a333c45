/**
 * The Overlord Durable Object: one in the world (`getByName("overlord")`), a leader by
 * construction. It is a thin shell: on start it bumps its term and rebuilds the core from D1
 * inside blockConcurrencyWhile; each RPC decides synchronously on the core, then waits for the
 * group commit before answering; held agent polls are answered after the commit that made their
 * news durable; the single alarm drives every timeout.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { configFromEnv, type OverlordConfig } from "../overlord/config.ts";
import type { Counter } from "../platform/changeLog.ts";
import type { LockFilterPolicy } from "../overlord/lockbox.ts";
import { OverlordCore, type StoredState } from "../overlord/overlordCore.ts";
import type { PollReply } from "../overlord/runner.ts";
import type { PollRequest } from "../protocol/agent.ts";
import type { Task } from "../overlord/taskSpec.ts";
import { statusJson, statusPlus, type TaskEntry, type TaskStatusJson, type TaskStatusPlus } from "../overlord/types.ts";
import { workerBehaviorConfigSchema, type WorkerBehaviorConfig } from "../overlord/workerSelect.ts";
import type { WriteSet } from "../overlord/writes.ts";
import { OverlordStore, parseLocation, runnerStateOf, type TaskRow } from "../metadata/overlordStore.ts";
import { SegmentStore } from "../metadata/segmentStore.ts";
import { TaskActions, type TaskAction } from "../overlord/taskActions.ts";
import { TaskCredentials } from "../shared/credentials.ts";
import { DruidError, invalidInput, notFound, rpcResult, type RpcResult } from "../shared/errors.ts";
import { GroupCommit } from "../platform/groupCommit.ts";
import { depthWithin, MAX_JSON_DEPTH } from "../shared/boundedJson.ts";
import { WorkerKeyDigests } from "../shared/workerKey.ts";
import { toIso } from "../shared/intervals.ts";
import { AlarmScheduler } from "../platform/alarms.ts";

export const VERSION = "0.1.0";

export interface AuditInfo {
  author: string;
  comment: string;
  ip: string;
}

export interface TaskListFilter {
  state?: "running" | "complete" | "waiting" | "pending";
  dataSource?: string;
  type?: string;
  /** Look-back for complete tasks in ms (Druid uses createdTimeInterval only as a duration). */
  lookbackMs?: number;
  max?: number;
}

/** A poll answer as JSON text (an AgentPollResponse), or null for "no news". */
type PollAnswer = string | null;

interface HeldPoll {
  counter: Counter;
  resolve(reply: PollAnswer): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A stored payload as the core can restore it: parsed, or marked unreadable with the reason. */
function readStoredPayload(r: TaskRow): { payload: Record<string, unknown>; unreadable?: string } {
  const minimal = { id: r.id, type: r.type, groupId: r.group_id, dataSource: r.datasource };
  try {
    const payload = JSON.parse(r.payload) as unknown;
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return { payload: minimal, unreadable: "it is not a JSON object" };
    if (!depthWithin(payload)) return { payload: minimal, unreadable: `it is nested deeper than [${MAX_JSON_DEPTH}] levels` };
    return { payload: payload as Record<string, unknown> };
  } catch (err) {
    return { payload: minimal, unreadable: err instanceof Error ? err.message : String(err) };
  }
}

function rowToStatusPlus(row: TaskRow): TaskStatusPlus {
  return {
    id: row.id,
    groupId: row.group_id,
    type: row.type,
    createdTime: toIso(row.created_ms),
    queueInsertionTime: "1970-01-01T00:00:00.000Z",
    statusCode: row.status,
    status: row.status,
    runnerStatusCode: runnerStateOf(row),
    duration: row.duration,
    location: parseLocation(row.location),
    dataSource: row.datasource,
    errorMsg: row.error_msg,
  };
}

export class Overlord extends DurableObject<Env> {
  /** Test hook: added to Date.now(), so tests can move time without sleeping. */
  clockOffsetMs = 0;
  readonly config: OverlordConfig;
  store: OverlordStore;
  core!: OverlordCore;
  startedAt = 0;
  private readonly commits: GroupCommit<{ ws: WriteSet; marks: Map<string, number> }>;
  private readonly held = new Map<string, HeldPoll>();
  private readonly credentials: TaskCredentials;
  private readonly workerKeys = new WorkerKeyDigests();
  private readonly alarms: AlarmScheduler;
  private readonly segments: SegmentStore;
  private actions!: TaskActions;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configFromEnv(env);
    this.store = new OverlordStore(env.DB);
    this.segments = new SegmentStore(env.DB);
    this.credentials = new TaskCredentials(`${env.ADMIN_TOKEN ?? ""}|${env.AGENT_TOKEN ?? ""}`);
    this.alarms = new AlarmScheduler(ctx.storage, () => this.now());
    this.alarms.register({ name: "runnerTimeouts", nextRunAt: () => this.core.nextDeadline(), run: () => this.core.runner.tick() });
    this.commits = new GroupCommit({
      take: () => {
        const ws = this.core.takeWrites();
        this.prepareCredentials(ws);
        return { ws, marks: this.core.runner.markTouched() };
      },
      write: ({ ws }) => this.store.commit(ws, this.now()),
      written: ({ marks }) => {
        this.core.runner.committed(marks);
        for (const host of marks.keys()) this.wake(host);
      },
      recover: () => this.ctx.blockConcurrencyWhile(() => this.becomeLeader()),
    }, { delayMs: this.config.commitDelayMs, siblings: Math.max(1, this.config.commitSiblings) });
    void ctx.blockConcurrencyWhile(() => this.becomeLeader());
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Druid's becomeLeader: new term, then lockbox + queue + runner rebuilt from D1. */
  private async becomeLeader(): Promise<void> {
    const term = ((await this.ctx.storage.get<number>("term")) ?? 0) + 1;
    await this.ctx.storage.put("term", term);
    const [rows, locks, workers, workerConfig] = await Promise.all([
      this.store.loadActiveTasks(),
      this.store.loadLocks(),
      this.store.loadWorkers(),
      this.store.loadConfig<WorkerBehaviorConfig>("worker.config"),
    ]);
    const parsedConfig = workerConfig ? workerBehaviorConfigSchema.safeParse(workerConfig) : null;
    const state: StoredState = {
      tasks: rows.map((r) => ({
        ...readStoredPayload(r),
        createdMs: r.created_ms,
        status: r.status,
        errorMsg: r.error_msg,
        duration: r.duration,
        worker: r.worker,
        assignedTerm: r.assigned_term,
        runnerStatus: r.runner_status as StoredState["tasks"][number]["runnerStatus"],
        location: parseLocation(r.location),
      })),
      locks,
      workers: workers.map((w) => ({ host: w.host, ...w.payload, keyDigest: w.payload.keyDigest ?? null, disabled: w.disabled })),
      workerConfig: parsedConfig?.success ? parsedConfig.data : null,
    };
    for (const h of this.held.values()) {
      clearTimeout(h.timer);
      h.resolve(null);
    }
    this.held.clear();
    this.startedAt = this.now();
    const core = new OverlordCore(term, this.config, () => this.now(), (host) => this.held.has(host));
    core.restore(state);
    const ws = core.takeWrites();
    ws.add({ kind: "term", data: { term, startedAt: toIso(this.startedAt) } });
    core.runner.markTouched();
    await this.store.commit(ws, this.now());
    this.core = core;
    this.actions = new TaskActions({ queue: core.queue, segments: this.segments, now: () => this.now(), durable: () => this.durable() });
    await this.alarms.reschedule();
  }

  /** Waits for the group commit, then makes sure the alarm covers the next deadline. */
  private async durable(): Promise<void> {
    await this.commits.sync();
    await this.alarms.reschedule();
  }

  override async alarm(): Promise<void> {
    await this.alarms.runDue();
    await this.durable();
  }

  // ---- status --------------------------------------------------------------------------------

  async status(): Promise<{ version: string; term: number; startedAt: string; flushes: number; largestGroup: number; avgCommitMs: number }> {
    const c = this.commits;
    return { version: VERSION, term: this.core.term, startedAt: toIso(this.startedAt), flushes: c.flushes, largestGroup: c.largestGroup, avgCommitMs: c.flushes ? Math.round((c.writeMs / c.flushes) * 100) / 100 : 0 };
  }

  // ---- tasks ---------------------------------------------------------------------------------

  /** All-or-nothing submission; answers after the tasks (and any assignment) are in D1. */
  async submit(tasks: Task[]): Promise<RpcResult<string[]>> {
    return rpcResult(async () => {
      // Generated ids (timestamp + random part) cannot already exist; only given ids are looked up.
      const userIds = tasks.filter((t) => !t.generatedId).map((t) => t.id).filter((id) => !this.core.queue.get(id));
      const known = userIds.length > 0 ? await this.store.existingIds(userIds) : new Set<string>();
      const entries = this.core.queue.submit(tasks, known);
      await this.durable();
      return entries.map((e) => e.task.id);
    });
  }

  /**
   * The task's JSON as text, as stored: text crosses the RPC boundary whatever the payload's
   * shape (a structured clone of a deeply nested value would overflow the stack).
   */
  async getTaskJson(id: string): Promise<RpcResult<string | null>> {
    return rpcResult(async () => {
      const active = this.core.queue.active.get(id);
      if (active) return JSON.stringify(active.task.payload);
      // A finished task is read as stored (a payload failed as unreadable at restore is kept
      // in memory only in a minimal form).
      const row = await this.store.getTask(id);
      if (row) return row.payload;
      const recent = this.core.queue.get(id);
      return recent ? JSON.stringify(recent.task.payload) : null;
    });
  }

  async taskStatus(id: string): Promise<RpcResult<TaskStatusPlus | null>> {
    return rpcResult(async () => {
      const s = this.core.statusOf(id);
      if (s) return s;
      const row = await this.store.getTask(id);
      return row ? rowToStatusPlus(row) : null;
    });
  }

  async taskStatuses(ids: string[]): Promise<RpcResult<Record<string, TaskStatusJson>>> {
    return rpcResult(async () => {
      const out: Record<string, TaskStatusJson> = {};
      const missing: string[] = [];
      for (const id of ids) {
        const e = this.core.queue.get(id);
        if (e) out[id] = statusJson(e);
        else missing.push(id);
      }
      if (missing.length > 0) {
        for (const row of await this.store.getTasks(missing)) {
          out[row.id] = { id: row.id, status: row.status, duration: row.duration, errorMsg: row.error_msg, location: parseLocation(row.location) };
        }
      }
      return out;
    });
  }

  /** The task list serialised here: one string crosses the RPC boundary instead of thousands of objects. */
  async listTasksJson(filter: TaskListFilter): Promise<RpcResult<string>> {
    return rpcResult(async () => JSON.stringify(await this.tasksMatching(filter)));
  }

  private async tasksMatching(filter: TaskListFilter): Promise<TaskStatusPlus[]> {
    const match = (ds: string, type: string) =>
      (filter.dataSource === undefined || ds === filter.dataSource) && (filter.type === undefined || type === filter.type);
    const active =
      filter.state === "complete"
        ? []
        : this.core
            .activeEntries(filter.state)
            .filter((e) => match(e.task.dataSource, e.task.type))
            .map(statusPlus);
    let complete: TaskStatusPlus[] = [];
    if (filter.state === undefined || filter.state === "complete") {
      const sinceMs = this.now() - (filter.lookbackMs ?? this.config.recentlyFinishedThresholdMs);
      const rows = await this.store.listComplete({ dataSource: filter.dataSource, type: filter.type, sinceMs, max: filter.max });
      const fromRows = rows.map(rowToStatusPlus);
      // Completions decided in memory but maybe not committed yet are shown from memory.
      const seen = new Set(fromRows.map((r) => r.id));
      const recent = [...this.core.queue.recent.values()]
        .filter((e) => !seen.has(e.task.id) && e.createdMs >= sinceMs && match(e.task.dataSource, e.task.type))
        .map(statusPlus);
      complete = [...recent, ...fromRows].sort((a, b) => (a.createdTime < b.createdTime ? 1 : a.createdTime > b.createdTime ? -1 : 0));
      if (filter.max !== undefined) complete = complete.slice(0, filter.max);
    }
    return [...complete, ...active];
  }

  async shutdown(id: string): Promise<RpcResult<void>> {
    return rpcResult(async () => {
      if (this.core.queue.shutdown(id)) await this.durable();
    });
  }

  /** Returns the number of tasks shut down (0 → the route answers 404 as Druid does). */
  async shutdownAll(dataSource: string): Promise<RpcResult<number>> {
    return rpcResult(async () => {
      const n = this.core.queue.shutdownDataSource(dataSource);
      if (n > 0) await this.durable();
      return n;
    });
  }

  async lockedIntervals(filters: LockFilterPolicy[]): Promise<RpcResult<Record<string, string[]>>> {
    return rpcResult(() => this.core.lockedIntervals(filters));
  }

  async activeLocks(filters: LockFilterPolicy[]) {
    return rpcResult(() => this.core.activeLocks(filters));
  }

  // ---- logs and reports ----------------------------------------------------------------------

  /** Refuses unless the agent holding `workerKey` holds worker `host`, to which the task was assigned. */
  private async assertAssignedTo(taskId: string, host: string, workerKey: string): Promise<void> {
    const keyDigest = await this.workerKeys.digest(workerKey);
    if (!this.core.runner.holdsWorker(host, keyDigest)) {
      throw new DruidError("FORBIDDEN", `The worker key does not belong to the agent holding worker [${host}]`, "workerKeyRefused");
    }
    const e = this.core.queue.get(taskId);
    const worker = e ? e.worker : (await this.store.getTask(taskId))?.worker;
    if (worker !== host) throw notFound(`Task [${taskId}] was not assigned to worker [${host}]`);
  }

  async putLog(host: string, workerKey: string, taskId: string, log: string): Promise<RpcResult<void>> {
    return rpcResult(async () => {
      await this.assertAssignedTo(taskId, host, workerKey);
      this.core.ctx.writes.add({ kind: "log", data: { taskId, log, now: this.now() } });
      await this.durable();
    });
  }

  async putReports(host: string, workerKey: string, taskId: string, payload: Record<string, unknown>): Promise<RpcResult<void>> {
    return rpcResult(async () => {
      await this.assertAssignedTo(taskId, host, workerKey);
      this.core.ctx.writes.add({ kind: "report", data: { taskId, payload, now: this.now() } });
      await this.durable();
    });
  }

  async getLog(taskId: string): Promise<RpcResult<string | null>> {
    return rpcResult(() => this.store.getLog(taskId));
  }

  async getReports(taskId: string): Promise<RpcResult<unknown | null>> {
    return rpcResult(() => this.store.getReports(taskId));
  }

  // ---- workers -------------------------------------------------------------------------------

  async workers() {
    return rpcResult(() => this.core.runner.workerInfo());
  }

  async totalWorkerCapacity() {
    return rpcResult(() => this.core.runner.capacity());
  }

  async setWorkerEnabled(host: string, enabled: boolean): Promise<RpcResult<boolean>> {
    return rpcResult(async () => {
      const ok = this.core.runner.setDisabled(host, !enabled);
      if (ok) await this.durable();
      return ok;
    });
  }

  async getWorkerConfig(): Promise<RpcResult<WorkerBehaviorConfig | null>> {
    return rpcResult(() => this.store.loadConfig<WorkerBehaviorConfig>("worker.config"));
  }

  async setWorkerConfig(config: WorkerBehaviorConfig, audit: AuditInfo): Promise<RpcResult<void>> {
    return rpcResult(async () => {
      this.core.runner.behavior = config;
      this.core.ctx.writes.add({ kind: "config", data: { name: "worker.config", payload: config } });
      this.core.ctx.writes.add({
        kind: "audit",
        data: { key: "worker.config", type: "worker.config", author: audit.author, comment: audit.comment, ip: audit.ip, createdMs: this.now(), payload: JSON.stringify(config), request: null },
      });
      this.core.runner.assignPending();
      await this.durable();
    });
  }

  async auditHistory(key: string, filter: { sinceMs?: number; count?: number }) {
    return rpcResult(async () => {
      const rows = await this.store.auditHistory({ key, ...filter });
      return rows.map((r) => ({
        key: r.key,
        type: r.type,
        auditInfo: { author: r.author, comment: r.comment, identity: "", ip: r.ip },
        request: r.request,
        payload: r.payload,
        auditTime: toIso(r.createdMs),
      }));
    });
  }

  // ---- agents --------------------------------------------------------------------------------

  /**
   * One agent poll (docs/agent-protocol.md), from the agent holding `workerKey`. Resolves to
   * the answer's JSON text, or null for "no news" (204).
   */
  async poll(req: PollRequest, workerKey: string): Promise<RpcResult<PollAnswer>> {
    return rpcResult(async () => {
      const keyDigest = await this.workerKeys.digest(workerKey);
      const outcome = this.core.runner.poll(req, keyDigest);
      this.storeInlineLogs(req);
      const host = req.worker.host;
      const previous = this.held.get(host);
      if (previous) {
        // A newer poll from the same worker supersedes the held one.
        clearTimeout(previous.timer);
        this.held.delete(host);
        previous.resolve(null);
      }
      if (outcome.kind === "reply") {
        await this.alarms.reschedule();
        return this.materialize(outcome.reply);
      }
      if (outcome.kind === "replyAfterCommit") {
        await this.durable();
        return this.materialize(this.core.runner.replyFor(outcome.host, outcome.counter, outcome.acks));
      }
      // Register synchronously: a commit landing during any await must find this poll to wake.
      const reply = new Promise<PollAnswer>((resolve) => {
        const timer = setTimeout(() => {
          if (this.held.get(host)?.timer === timer) this.held.delete(host);
          resolve(null);
        }, outcome.timeoutMs);
        this.held.set(host, { counter: outcome.counter, resolve: (r) => resolve(r), timer });
      });
      await this.alarms.reschedule();
      return reply;
    });
  }

  /**
   * Logs and reports sent inline with final statuses go into the same commit as the status, so
   * an operator who sees SUCCESS can read both (and 20,000 tiny logs cost no extra requests).
   * Called after the poll was accepted, so a refused worker key stores nothing.
   */
  private storeInlineLogs(req: PollRequest): void {
    const now = this.now();
    for (const t of req.tasks) {
      if (t.log === undefined && t.reports === undefined) continue;
      const e = this.core.queue.get(t.id);
      if (!e || e.worker !== req.worker.host) continue;
      if (t.log !== undefined) this.core.ctx.writes.add({ kind: "log", data: { taskId: t.id, log: t.log, now } });
      if (t.reports !== undefined) this.core.ctx.writes.add({ kind: "report", data: { taskId: t.id, payload: t.reports, now } });
    }
  }

  /** Answers a held poll if its worker has durable news. */
  private wake(host: string): void {
    const h = this.held.get(host);
    if (!h || !this.core.runner.hasNews(host, h.counter)) return;
    this.held.delete(host);
    clearTimeout(h.timer);
    const reply = this.core.runner.replyFor(host, h.counter, []);
    // Credentials were prepared while the commit ran: answer synchronously, so the agent's
    // answer leaves before the submitter's (both wait for the same commit).
    const ready = this.answerText(reply);
    if (ready !== null) h.resolve(ready);
    else void this.materialize(reply).then(h.resolve, () => h.resolve(null));
  }

  /** Starts computing the credentials of tasks assigned in a write set (they are cached). */
  private prepareCredentials(ws: WriteSet): void {
    for (const { entry: e } of ws.tasks.values()) {
      if (e.worker && e.status === "RUNNING" && e.runner === "PENDING") void this.credentials.issue(credentialSubject(e));
    }
  }

  /** The answer's JSON text, once the credential of every assignment in it is issued. */
  private async materialize(reply: PollReply): Promise<string> {
    for (const r of reply.requests ?? []) {
      const e = r.type === "assign" ? this.core.queue.active.get(r.taskId) : undefined;
      if (e) await this.credentials.issue(credentialSubject(e));
    }
    return this.answerText(reply) ?? this.materialize(reply);
  }

  /**
   * The answer's JSON text, built item by item: an assignment whose task JSON cannot be built
   * fails that task (its neighbours still go out). Null while a credential is not cached yet.
   */
  private answerText(reply: PollReply): string | null {
    const assigned: TaskEntry[] = [];
    for (const r of reply.requests ?? []) {
      if (r.type !== "assign") continue;
      const e = this.core.queue.active.get(r.taskId);
      if (!e || e.status !== "RUNNING") continue;
      if (this.credentials.cached(credentialSubject(e)) === undefined) return null;
      assigned.push(e);
    }
    const items: string[] = [];
    let failed = false;
    let next = 0;
    for (const r of reply.requests ?? []) {
      if (r.type !== "assign") {
        items.push(JSON.stringify(r));
        continue;
      }
      const e = assigned[next];
      if (e?.task.id !== r.taskId) continue;
      next++;
      const item = assignmentJson(e.task.payload, this.credentials.cached(credentialSubject(e))!);
      if (item === null) {
        this.core.runner.failUndeliverable(e.task.id, `Task JSON could not be built for delivery to the worker (nested deeper than [${MAX_JSON_DEPTH}] levels or not serialisable)`);
        failed = true;
        continue;
      }
      items.push(item);
    }
    if (failed) void this.durable().catch(() => undefined);
    const { requests, ...head } = reply;
    const head_ = JSON.stringify(head);
    return `${head_.slice(0, -1)},"requests":${requests === null ? "null" : `[${items.join(",")}]`}}`;
  }

  /**
   * The running task named by a credential, or a 403. The credential binds the task id to the
   * term of its assignment: a finished task, another task's credential or an assignment from an
   * older incarnation is refused (Druid does not check this).
   */
  private async runningTaskFor(taskId: string, credential: string) {
    const e = this.core.queue.active.get(taskId);
    if (!e || e.status !== "RUNNING" || !e.worker || !(await this.credentials.verify(credentialSubject(e), credential))) {
      throw new DruidError("FORBIDDEN", `Task [${taskId}] is not running here with this credential`, "taskCredentialRefused");
    }
    return e;
  }

  /** A task action (POST /druid/indexer/v1/action), answered with Druid's JSON for it. */
  async action(taskId: string, credential: string, action: TaskAction): Promise<RpcResult<unknown>> {
    return rpcResult(async () => {
      const e = await this.runningTaskFor(taskId, credential);
      return this.actions.perform(e, action);
    });
  }

  /** Checks a task credential (deep-storage writes); returns the task's dataSource. */
  async verifyTaskCredential(taskId: string, credential: string): Promise<RpcResult<string>> {
    return rpcResult(async () => (await this.runningTaskFor(taskId, credential)).task.dataSource);
  }
}

/** What a task credential signs: the task, the term of its assignment and the worker it went to. */
function credentialSubject(e: TaskEntry): string {
  return `${e.task.id}|${e.assignedTerm ?? 0}|${e.worker ?? ""}`;
}

/** One assignment's JSON, or null when the task JSON cannot be serialised. */
function assignmentJson(task: Record<string, unknown>, credential: string): string | null {
  if (!depthWithin(task)) return null;
  try {
    return `{"type":"assign","task":${JSON.stringify(task)},"credential":${JSON.stringify(credential)}}`;
  } catch {
    return null;
  }
}

export { DruidError, invalidInput };
