/**
 * The worker fleet: every worker the Overlord knows, with its identity (worker key), lease,
 * task slots, change log and failure record. Owns the rules for who may use a host (one worker
 * key while the lease holds; a takeover fails what the old agent may have started) and the
 * bookkeeping of slots as tasks are assigned and end. Pure: durable consequences go to
 * `ctx.writes`.
 */
import type { TaskQueue } from "./taskQueue.ts";
import type { CoreContext } from "./taskQueue.ts";
import type { TaskEntry } from "./types.ts";
import type { WorkerIdentity } from "../protocol/agent.ts";
import { ChangeLog, type WorkerChange } from "../platform/changeLog.ts";
import { DruidError } from "../shared/errors.ts";
import { toIso } from "../shared/intervals.ts";

export interface Slot {
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
   * worker row written before keys existed). The key is the agent's secret identity.
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

/** Assignment limit of a worker: its slots plus what it agreed to queue locally. */
export function limitOf(w: { capacity: number; prefetch?: number }): number {
  return w.capacity + (w.capacity > 0 ? (w.prefetch ?? 0) : 0);
}

export class Fleet {
  readonly workers = new Map<string, WorkerState>();
  /** Workers whose change log grew since the last commit: their held polls are answered after it. */
  readonly touched = new Set<string>();
  /** Set while a task's end is caused here or by its own worker, so `taskEnded` frees its slot. */
  private endingTask: string | null = null;

  constructor(
    private readonly ctx: CoreContext,
    private readonly queue: TaskQueue,
  ) {}

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
  restoreAssignment(e: TaskEntry, defaults: Omit<WorkerIdentity, "host">): void {
    const w = this.workers.get(e.worker!) ?? this.restoreWorker({ host: e.worker!, ...defaults }, false);
    this.occupy(w, e, 0, true);
    if (e.runner !== "RUNNING") {
      e.assignedAt = this.ctx.now();
      w.unacked.set(e.task.id, e.assignedAt);
    }
  }

  occupy(w: WorkerState, e: TaskEntry, assignCounter = 0, sent = true): void {
    if (w.slots.has(e.task.id)) return;
    const slot = { assignCounter, requiredCapacity: e.task.resource.requiredCapacity, availabilityGroup: e.task.resource.availabilityGroup, type: e.task.type, sent };
    w.slots.set(e.task.id, slot);
    w.usedCapacity += slot.requiredCapacity;
  }

  release(w: WorkerState, taskId: string): void {
    const slot = w.slots.get(taskId);
    if (!slot) return;
    w.slots.delete(taskId);
    w.unacked.delete(taskId);
    w.usedCapacity -= slot.requiredCapacity;
  }

  append(w: WorkerState, change: WorkerChange): void {
    w.log.append(change);
    this.touched.add(w.host);
  }

  /** Ends an active task held by `w` as its worker said (or as decided here), freeing its slot at once. */
  end(w: WorkerState, e: TaskEntry, status: "SUCCESS" | "FAILED", errorMsg: string | null, duration?: number): void {
    this.endingTask = e.task.id;
    try {
      this.queue.finish(e, status, errorMsg, duration);
    } finally {
      this.endingTask = null;
    }
    this.release(w, e.task.id);
  }

  /** Fails a task held by `w` and frees its slot at once (nothing is left for the worker to stop). */
  failOn(w: WorkerState, e: TaskEntry, errorMsg: string): void {
    this.end(w, e, "FAILED", errorMsg);
  }

  /** Queue hook: a task assigned to a worker has ended. */
  taskEnded(e: TaskEntry): void {
    const w = this.workers.get(e.worker!);
    if (!w) return;
    if (this.endingTask === e.task.id) {
      this.release(w, e.task.id);
      return;
    }
    // Ended by the Overlord (shutdown, timeout): the worker must stop it; its slot stays
    // taken until the worker reports the task done.
    w.unacked.delete(e.task.id);
    if (w.slots.has(e.task.id)) this.append(w, { type: "shutdown", taskId: e.task.id });
  }

  /**
   * The worker `id.host` as the agent holding `keyDigest` may use it, its lease renewed. A host
   * belongs to the key that registered it while its lease holds: another key is refused (409),
   * so one agent cannot speak for another's worker. Once the lease has lapsed, a new key takes
   * the host over.
   */
  admit(id: WorkerIdentity, keyDigest: string, now: number): WorkerState {
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
    if (changed) this.persist(w, now);
    w.leaseUntil = now + this.ctx.config.workerLeaseMs;
    w.lostAt = null;
    return w;
  }

  persist(w: WorkerState, now: number): void {
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

  setDisabled(host: string, disabled: boolean): boolean {
    const w = this.workers.get(host);
    if (!w) return false;
    if (w.disabled !== disabled) {
      w.disabled = disabled;
      this.persist(w, this.ctx.now());
      this.append(w, { type: "metadata", disabled });
    }
    return true;
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
}
