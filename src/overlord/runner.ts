/**
 * The task runner (Druid's HttpRemoteTaskRunner, turned around): worker agents poll; the runner
 * keeps each worker's lease, slots and change log, assigns pending tasks with the configured
 * select strategy, applies the statuses agents report (idempotently), and owns every timeout:
 * leases, taskAssignmentTimeout, taskCleanupTimeout and the blacklist. Pure: no I/O, no clock of
 * its own; the Durable Object holds the polls and commits `ctx.writes`.
 */
import type { PollRequest, TaskReport, WorkerIdentity } from "../protocol/agent.ts";
import { ChangeLog, type Counter, type WorkerChange } from "./changeLog.ts";
import type { CoreContext, TaskQueue } from "./taskQueue.ts";
import type { TaskEntry, TaskLocation, TaskState } from "./types.ts";
import { DEFAULT_CATEGORY, DEFAULT_WORKER_CONFIG, selectWorker, type WorkerBehaviorConfig, type WorkerView } from "./workerSelect.ts";
import { DruidError } from "../shared/errors.ts";
import { toIso } from "../shared/intervals.ts";

export type PollRequestItem =
  | { type: "assign"; taskId: string }
  | { type: "shutdown"; taskId: string }
  | { type: "metadata"; disabled: boolean };

export interface PollReply {
  term: number;
  leaseMs: number;
  resetCounter: boolean;
  resetCause: string | null;
  counter: Counter | null;
  requests: PollRequestItem[] | null;
  acks: string[];
}

export type PollOutcome =
  | { kind: "reply"; reply: PollReply }
  /** Statuses were applied: answer after the commit, with whatever is news by then. */
  | { kind: "replyAfterCommit"; host: string; counter: Counter | null; acks: string[] }
  | { kind: "hold"; host: string; counter: Counter; timeoutMs: number };

interface Slot {
  /** Change-log counter of the assignment (0 when restored from storage). */
  assignCounter: number;
  requiredCapacity: number;
  availabilityGroup: string;
  type: string;
  /**
   * The assignment may have reached an agent: it went out in a poll answer, or it was restored
   * from storage (an earlier incarnation may have sent it). Decides what a takeover of the
   * worker by a different agent does with the task (see `takeOver`).
   */
  sent: boolean;
}

export interface WorkerState extends WorkerIdentity {
  /**
   * SHA-256 of the worker key of the agent that holds this host (null: not yet known, e.g. a
   * worker row written before keys existed). The key is the agent's secret identity; see poll.
   */
  keyDigest: string | null;
  disabled: boolean;
  leaseUntil: number;
  lostAt: number | null;
  synced: boolean;
  slots: Map<string, Slot>;
  /** Assigned, not yet reported RUNNING: taskId → assignedAt (insertion order = age order). */
  unacked: Map<string, number>;
  log: ChangeLog;
  consecutiveFailures: number;
  blacklistedUntil: number | null;
  lastCompletedTaskTime: number | null;
  usedCapacity: number;
  /** Change-log counter up to which changes are durable in D1 (may be handed to the agent). */
  committedCounter: number;
}

export interface WorkerInfoJson {
  worker: { scheme: string; host: string; ip: string; capacity: number; version: string; category: string; disabled: boolean };
  currCapacityUsed: number;
  currParallelIndexCapacityUsed: number;
  currCapacityUsedByTaskType: Record<string, number>;
  availabilityGroups: string[];
  runningTasks: string[];
  lastCompletedTaskTime: string | null;
  blacklistedUntil: string | null;
}

const compareVersion = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class Runner {
  readonly workers = new Map<string, WorkerState>();
  /** Workers whose change log grew since the last commit: their held polls are answered after it. */
  readonly touched = new Set<string>();
  behavior: WorkerBehaviorConfig = DEFAULT_WORKER_CONFIG;
  /** Whether a poll of `host` is held open right now (the object holding polls answers). */
  pollHeld: (host: string) => boolean = () => false;
  /** Set while applying a worker's own final report, so taskFinished knows the slot is already free. */
  private reportingTask: string | null = null;

  constructor(
    private readonly ctx: CoreContext,
    private readonly queue: TaskQueue,
  ) {
    queue.runner = { assignPending: () => this.assignPending(), taskFinished: (e) => this.taskFinished(e) };
  }

  private newWorker(id: WorkerIdentity, disabled: boolean, leaseUntil: number, keyDigest: string | null): WorkerState {
    return {
      ...id,
      keyDigest,
      disabled,
      leaseUntil,
      lostAt: null,
      synced: false,
      slots: new Map(),
      unacked: new Map(),
      log: new ChangeLog(() => this.ctx.now()),
      consecutiveFailures: 0,
      blacklistedUntil: null,
      lastCompletedTaskTime: null,
      usedCapacity: 0,
      committedCounter: 0,
    };
  }

  /** Overlord start: a worker known from storage, with its assigned tasks, gets one lease to come back. */
  restoreWorker(id: WorkerIdentity, disabled: boolean, keyDigest: string | null = null): WorkerState {
    const w = this.newWorker(id, disabled, this.ctx.now() + this.ctx.config.workerLeaseMs, keyDigest);
    this.workers.set(id.host, w);
    return w;
  }

  /** Overlord start: re-attach an active task to the worker it was assigned to. */
  restoreAssignment(e: TaskEntry): void {
    let w = this.workers.get(e.worker!);
    if (!w) {
      w = this.restoreWorker({ host: e.worker!, ip: "", capacity: 1, category: DEFAULT_CATEGORY, version: "0", prefetch: 0 }, false);
    }
    this.occupy(w, e, 0, true);
    if (e.runner !== "RUNNING") {
      e.assignedAt = this.ctx.now();
      w.unacked.set(e.task.id, e.assignedAt);
    }
  }

  private occupy(w: WorkerState, e: TaskEntry, assignCounter = 0, sent = true) {
    if (w.slots.has(e.task.id)) return;
    const slot = { assignCounter, requiredCapacity: e.task.resource.requiredCapacity, availabilityGroup: e.task.resource.availabilityGroup, type: e.task.type, sent };
    w.slots.set(e.task.id, slot);
    w.usedCapacity += slot.requiredCapacity;
  }

  private release(w: WorkerState, taskId: string) {
    const slot = w.slots.get(taskId);
    if (!slot) return;
    w.slots.delete(taskId);
    w.unacked.delete(taskId);
    w.usedCapacity -= slot.requiredCapacity;
  }

  private append(w: WorkerState, change: WorkerChange) {
    w.log.append(change);
    this.touched.add(w.host);
  }

  private isEligible(w: WorkerState, now: number): boolean {
    return (
      w.synced &&
      w.lostAt === null &&
      !w.disabled &&
      (w.blacklistedUntil === null || w.blacklistedUntil <= now) &&
      compareVersion(w.version, this.ctx.config.minWorkerVersion) >= 0 &&
      w.usedCapacity < limitOf(w)
    );
  }

  /** Assigns pending tasks to eligible workers, in priority then submission order. */
  assignPending(): void {
    if (this.queue.pending.size === 0) return;
    const now = this.ctx.now();
    const eligible: WorkerState[] = [];
    for (const w of this.workers.values()) if (this.isEligible(w, now)) eligible.push(w);
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
        v = { host: w.host, capacity: limitOf(w), category: w.category, version: w.version, usedCapacity: w.usedCapacity, availabilityGroups: groups, usedByType: byType, waiting: this.pollHeld(w.host) };
        views.set(w, v);
      }
      return v;
    };
    const strategy = this.behavior.selectStrategy;
    this.queue.pending.forEach((id) => {
      const e = this.queue.active.get(id);
      if (!e) {
        this.queue.pending.remove(id);
        return;
      }
      const candidates = eligible.filter((w) => w.usedCapacity < limitOf(w)).map(viewOf);
      const chosen = selectWorker(
        strategy,
        { type: e.task.type, dataSource: e.task.dataSource, requiredCapacity: e.task.resource.requiredCapacity, availabilityGroup: e.task.resource.availabilityGroup },
        candidates,
      );
      if (!chosen) return;
      const w = this.workers.get(chosen.host)!;
      this.assign(e, w, now);
      views.delete(w);
      free -= e.task.resource.requiredCapacity;
      if (free <= 0) return "stop";
    });
  }

  private assign(e: TaskEntry, w: WorkerState, now: number) {
    this.queue.pending.remove(e.task.id);
    e.worker = w.host;
    e.assignedTerm = this.ctx.term;
    e.assignedAt = now;
    e.runner = "PENDING";
    this.ctx.writes.updateTask(e);
    w.unacked.set(e.task.id, now);
    this.append(w, { type: "assign", taskId: e.task.id });
    this.occupy(w, e, w.log.lastCounter.counter, false);
  }

  /** Queue hook: a task assigned to a worker has finished. */
  private taskFinished(e: TaskEntry): void {
    const w = this.workers.get(e.worker!);
    if (!w) return;
    if (this.reportingTask === e.task.id) {
      this.release(w, e.task.id);
      return;
    }
    // Finished by the Overlord (shutdown, timeout): the worker must stop it; its slot stays
    // taken until the worker reports the task done.
    w.unacked.delete(e.task.id);
    if (w.slots.has(e.task.id)) this.append(w, { type: "shutdown", taskId: e.task.id });
  }

  /**
   * The worker `id.host` as the agent holding `keyDigest` may use it. A host belongs to the key
   * that registered it while its lease holds: another key is refused (409), so one agent cannot
   * speak for another's worker. Once the lease has lapsed, a new key takes the host over.
   */
  private upsertWorker(id: WorkerIdentity, keyDigest: string, now: number): WorkerState {
    let w = this.workers.get(id.host);
    let keyChanged = false;
    if (w && w.keyDigest !== keyDigest) {
      if (w.keyDigest !== null && w.lostAt === null && w.leaseUntil > now) {
        throw new DruidError(
          "CONFLICT",
          `Worker [${id.host}] is held by another agent (a different worker key) until its lease lapses at ${toIso(w.leaseUntil)}; two agents cannot share a worker host`,
          "workerHeldByAnotherAgent",
        );
      }
      if (w.keyDigest !== null) this.takeOver(w);
      w.keyDigest = keyDigest;
      keyChanged = true;
    }
    const isNew = !w;
    if (!w) {
      w = this.newWorker(id, false, now, keyDigest);
      this.workers.set(id.host, w);
    }
    const changed = isNew || keyChanged || w.ip !== id.ip || w.capacity !== id.capacity || w.category !== id.category || w.version !== id.version;
    Object.assign(w, { ip: id.ip, capacity: id.capacity, category: id.category, version: id.version, prefetch: id.prefetch ?? 0 });
    if (changed) this.persistWorker(w, now);
    w.leaseUntil = now + this.ctx.config.workerLeaseMs;
    w.lostAt = null;
    return w;
  }

  persistWorker(w: WorkerState, now: number) {
    this.ctx.writes.add({
      kind: "worker",
      data: { host: w.host, payload: { ip: w.ip, capacity: w.capacity, category: w.category, version: w.version, keyDigest: w.keyDigest }, disabled: w.disabled, lastSeenMs: now },
    });
  }

  /**
   * A different agent (new worker key) takes over a host whose lease lapsed. Whatever the old
   * agent may have started is failed, never handed to the new one: a task reported RUNNING, or
   * whose assignment went out (it may have started and crashed before saying so). Only
   * assignments that never left the Overlord stay, for the new agent's snapshot.
   */
  private takeOver(w: WorkerState): void {
    for (const [id, slot] of [...w.slots]) {
      const e = this.queue.active.get(id);
      if (!e || e.worker !== w.host) {
        this.release(w, id);
      } else if (e.runner === "RUNNING" || slot.sent) {
        this.failOn(w, e, `Worker [${w.host}] was taken over by a different agent after this task was sent to it; it may have started there, so it is not run again`);
      }
    }
    w.synced = false;
  }

  /** Fails a task held by `w` and frees its slot at once (nothing is left for the worker to stop). */
  private failOn(w: WorkerState, e: TaskEntry, errorMsg: string): void {
    this.reportingTask = e.task.id;
    try {
      this.queue.finish(e, "FAILED", errorMsg);
    } finally {
      this.reportingTask = null;
    }
    this.release(w, e.task.id);
  }

  /** Whether `keyDigest` is the key of the agent holding worker `host` (log and report uploads). */
  holdsWorker(host: string, keyDigest: string): boolean {
    return this.workers.get(host)?.keyDigest === keyDigest;
  }

  /**
   * An assigned task whose assignment cannot be delivered (its JSON cannot be built) is failed
   * with `errorMsg`, so its neighbours in the same poll answer still go out.
   */
  failUndeliverable(taskId: string, errorMsg: string): void {
    const e = this.queue.active.get(taskId);
    const w = e?.worker ? this.workers.get(e.worker) : undefined;
    if (e && w) this.failOn(w, e, errorMsg);
  }

  /** One agent poll: lease, news, and what to answer (see docs/agent-protocol.md). */
  poll(req: PollRequest, keyDigest: string): PollOutcome {
    const now = this.ctx.now();
    const w = this.upsertWorker(req.worker, keyDigest, now);
    const term = this.ctx.term;
    const isFull = req.full || req.counter === null;
    if (!isFull && (req.term !== term || !w.synced)) {
      return { kind: "reply", reply: this.resetReply(req.term !== term ? `term changed to [${term}]` : "worker not synced in this term") };
    }
    const writesBefore = this.ctx.writes.size;
    const acks: string[] = [];
    if (isFull) {
      const listed = new Set(req.tasks.map((t) => t.id));
      for (const r of req.tasks) this.applyReport(w, r, acks);
      // Tasks the worker had confirmed running but no longer lists have disappeared.
      for (const id of [...w.slots.keys()]) {
        if (listed.has(id)) continue;
        const e = this.queue.active.get(id);
        if (e && e.worker === w.host && e.runner === "RUNNING") {
          this.failOn(w, e, "This task disappeared on the worker where it was assigned");
        } else if (!e) {
          this.release(w, id); // finished earlier (e.g. shutdown): nothing left to stop
        }
      }
      w.log.acknowledgeAll();
      w.synced = true;
      this.assignPending();
      return { kind: "replyAfterCommit", host: w.host, counter: null, acks };
    }
    for (const r of req.tasks) this.applyReport(w, r, acks);
    const counter = req.counter!;
    const since = w.log.since(counter);
    if (since.reset) return { kind: "reply", reply: this.resetReply(since.cause) };
    w.log.acknowledge(counter);
    this.assignPending();
    const durableNews = w.log.since(counter, w.committedCounter);
    const hasDurableNews = !durableNews.reset && durableNews.changes.length > 0;
    if (this.ctx.writes.size !== writesBefore || acks.length > 0 || req.tasks.length > 0 || hasDurableNews) {
      return { kind: "replyAfterCommit", host: w.host, counter, acks };
    }
    return { kind: "hold", host: w.host, counter, timeoutMs: Math.min(req.timeoutMs, this.ctx.config.maxPollTimeoutMs) };
  }

  private resetReply(cause: string): PollReply {
    return { term: this.ctx.term, leaseMs: this.ctx.config.workerLeaseMs, resetCounter: true, resetCause: cause, counter: null, requests: null, acks: [] };
  }

  /** Marks the workers touched since the last call; returns their log positions (see committed). */
  markTouched(): Map<string, number> {
    const marks = new Map<string, number>();
    for (const host of this.touched) {
      const w = this.workers.get(host);
      if (w) marks.set(host, w.log.lastCounter.counter);
    }
    this.touched.clear();
    return marks;
  }

  /** The changes marked before a successful commit are durable: they may be handed out now. */
  committed(marks: Map<string, number>): void {
    for (const [host, n] of marks) {
      const w = this.workers.get(host);
      if (w && n > w.committedCounter) w.committedCounter = n;
    }
  }

  /** The answer for a worker positioned at `counter` (null: full snapshot); durable changes only. */
  replyFor(host: string, counter: Counter | null, acks: string[]): PollReply {
    const w = this.workers.get(host);
    if (!w) return this.resetReply("unknown worker");
    const base = { term: this.ctx.term, leaseMs: this.ctx.config.workerLeaseMs, resetCounter: false, resetCause: null, acks };
    if (counter === null) {
      const requests: PollRequestItem[] = [{ type: "metadata", disabled: w.disabled }];
      for (const [id, slot] of w.slots) {
        if (slot.assignCounter > w.committedCounter) continue;
        const e = this.queue.active.get(id);
        if (e && e.worker === host) {
          slot.sent = true;
          requests.push({ type: "assign", taskId: id });
        } else requests.push({ type: "shutdown", taskId: id });
      }
      return { ...base, counter: w.log.positionAt(w.committedCounter), requests };
    }
    const since = w.log.since(counter, w.committedCounter);
    if (since.reset) return this.resetReply(since.cause);
    for (const c of since.changes) {
      if (c.type !== "assign") continue;
      const slot = w.slots.get(c.taskId);
      if (slot) slot.sent = true;
    }
    return { ...base, counter: since.counter, requests: since.changes };
  }

  /** Whether a held poll at `counter` now has durable news. */
  hasNews(host: string, counter: Counter): boolean {
    const w = this.workers.get(host);
    if (!w) return true;
    const since = w.log.since(counter, w.committedCounter);
    return since.reset || since.changes.length > 0;
  }

  private applyReport(w: WorkerState, r: TaskReport, acks: string[]): void {
    const e = this.queue.get(r.id);
    const final = r.status !== "RUNNING";
    if (!e) {
      // Unknown here: nothing to record. A running one must stop.
      if (final) acks.push(r.id);
      else this.append(w, { type: "shutdown", taskId: r.id });
      return;
    }
    if (e.status === "RUNNING" && e.worker === null) {
      // Known active task that no runner holds (e.g. assignment lost with a failed commit): adopt it.
      this.queue.pending.remove(e.task.id);
      e.worker = w.host;
      e.assignedTerm = this.ctx.term;
      this.occupy(w, e);
    }
    if (e.worker !== w.host) {
      if (final) acks.push(r.id);
      else this.append(w, { type: "shutdown", taskId: r.id });
      return;
    }
    if (e.status !== "RUNNING") {
      // Already complete here (shutdown, timeout, or a repeated report).
      if (final) {
        this.release(w, r.id);
        acks.push(r.id);
      } else if (!w.slots.has(r.id)) {
        this.occupy(w, e);
        this.append(w, { type: "shutdown", taskId: r.id });
      }
      return;
    }
    this.occupy(w, e);
    if (!final) {
      w.unacked.delete(e.task.id);
      const loc = r.location ?? e.location;
      if (e.runner !== "RUNNING" || e.location.host !== loc.host || e.location.port !== loc.port) {
        e.runner = "RUNNING";
        e.location = loc;
        e.assignedAt = null;
        this.ctx.writes.updateTask(e);
      }
      return;
    }
    if (r.location) e.location = r.location;
    this.reportingTask = e.task.id;
    try {
      this.queue.finish(e, r.status as "SUCCESS" | "FAILED", r.errorMsg ?? null, r.duration);
    } finally {
      this.reportingTask = null;
    }
    this.release(w, e.task.id);
    acks.push(r.id);
    this.countOutcome(w, r.status === "SUCCESS");
  }

  private countOutcome(w: WorkerState, success: boolean) {
    const now = this.ctx.now();
    w.lastCompletedTaskTime = now;
    if (success) {
      w.consecutiveFailures = 0;
      w.blacklistedUntil = null;
      return;
    }
    w.consecutiveFailures++;
    if (w.consecutiveFailures > this.ctx.config.maxRetriesBeforeBlacklist && w.blacklistedUntil === null) {
      const blacklisted = [...this.workers.values()].filter((x) => x.blacklistedUntil !== null && x.blacklistedUntil > now).length;
      const limit = (this.workers.size * this.ctx.config.maxPercentageBlacklistWorkers) / 100 - 1;
      if (blacklisted <= limit) w.blacklistedUntil = now + this.ctx.config.workerBlackListBackoffTimeMs;
    }
  }

  setDisabled(host: string, disabled: boolean): boolean {
    const w = this.workers.get(host);
    if (!w) return false;
    if (w.disabled !== disabled) {
      w.disabled = disabled;
      this.persistWorker(w, this.ctx.now());
      this.append(w, { type: "metadata", disabled });
    }
    if (!disabled) this.assignPending();
    return true;
  }

  /** Applies every timeout that is due. */
  tick(): void {
    const now = this.ctx.now();
    const cfg = this.ctx.config;
    for (const w of [...this.workers.values()]) {
      if (w.lostAt === null && w.leaseUntil <= now) w.lostAt = now;
      if (w.lostAt !== null && now >= w.lostAt + cfg.taskCleanupTimeoutMs) {
        for (const id of [...w.slots.keys()]) {
          const e = this.queue.active.get(id);
          if (e && e.worker === w.host) this.failOn(w, e, `The worker [${w.host}] that ran this task disappeared and did not come back within taskCleanupTimeout`);
          else this.release(w, id);
        }
        this.workers.delete(w.host);
        continue;
      }
      for (const [id, at] of w.unacked) {
        if (at + cfg.taskAssignmentTimeoutMs > now) break;
        w.unacked.delete(id);
        const e = this.queue.active.get(id);
        if (e && e.worker === w.host && e.runner !== "RUNNING") {
          this.queue.finish(e, "FAILED", `Task assignment timed out on worker [${w.host}] after taskAssignmentTimeout`);
        }
      }
      if (w.blacklistedUntil !== null && w.blacklistedUntil <= now) w.blacklistedUntil = null;
    }
    this.assignPending();
  }

  /** The earliest time `tick` has something to do, or null. */
  nextDeadline(): number | null {
    const cfg = this.ctx.config;
    let next = Infinity;
    for (const w of this.workers.values()) {
      if (w.lostAt === null) next = Math.min(next, w.leaseUntil);
      else next = Math.min(next, w.lostAt + cfg.taskCleanupTimeoutMs);
      const oldest = w.unacked.values().next();
      if (!oldest.done) next = Math.min(next, oldest.value + cfg.taskAssignmentTimeoutMs);
      if (w.blacklistedUntil !== null) next = Math.min(next, w.blacklistedUntil);
    }
    return next === Infinity ? null : next;
  }

  workerInfo(): WorkerInfoJson[] {
    const out: WorkerInfoJson[] = [];
    for (const w of this.workers.values()) {
      if (w.lostAt !== null) continue;
      const byType: Record<string, number> = {};
      const groups = new Set<string>();
      const running: string[] = [];
      for (const [id, s] of w.slots) {
        byType[s.type] = (byType[s.type] ?? 0) + s.requiredCapacity;
        groups.add(s.availabilityGroup);
        running.push(id);
      }
      out.push({
        worker: { scheme: "http", host: w.host, ip: w.ip, capacity: w.capacity, version: w.version, category: w.category, disabled: w.disabled },
        currCapacityUsed: w.usedCapacity,
        currParallelIndexCapacityUsed: byType["index_parallel"] ?? 0,
        currCapacityUsedByTaskType: byType,
        availabilityGroups: [...groups],
        runningTasks: running,
        lastCompletedTaskTime: w.lastCompletedTaskTime === null ? null : toIso(w.lastCompletedTaskTime),
        blacklistedUntil: w.blacklistedUntil === null ? null : toIso(w.blacklistedUntil),
      });
    }
    return out.sort((a, b) => (a.worker.host < b.worker.host ? -1 : 1));
  }

  capacity(): { currentClusterCapacity: number; maximumCapacityWithAutoScale: number; usedClusterCapacity: number } {
    let cap = 0;
    let used = 0;
    for (const w of this.workers.values()) {
      if (w.lostAt !== null || w.disabled) continue;
      cap += w.capacity;
      used += w.usedCapacity;
    }
    return { currentClusterCapacity: cap, maximumCapacityWithAutoScale: cap, usedClusterCapacity: used };
  }
}

/** Assignment limit of a worker: its slots plus what it agreed to queue locally. */
function limitOf(w: { capacity: number; prefetch?: number }): number {
  return w.capacity + (w.capacity > 0 ? (w.prefetch ?? 0) : 0);
}
