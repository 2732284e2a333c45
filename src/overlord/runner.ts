/**
 * The task runner (Druid's HttpRemoteTaskRunner, turned around): worker agents poll, and the
 * runner answers from its fleet. It composes the pieces — the fleet (workers, keys, leases,
 * slots: fleet.ts), assignment (assignment.ts), the poll protocol (pollProtocol.ts), report
 * application (reports.ts) and timeouts (timeouts.ts) — and shows the fleet as Druid's
 * worker JSON. Pure: no I/O, no clock of its own; the Durable Object holds the polls and
 * commits `ctx.writes`.
 */
import type { Counter, PollRequest, WorkerIdentity } from "../protocol/agent.ts";
import { assignPending } from "./assignment.ts";
import { Fleet, type WorkerState } from "./fleet.ts";
import { hasNews, poll, replyFor, type PollDeps, type PollOutcome, type PollReply } from "./pollProtocol.ts";
import type { CoreContext, TaskQueue } from "./taskQueue.ts";
import { applyTimeouts, nextDeadline } from "./timeouts.ts";
import type { TaskEntry } from "./types.ts";
import { DEFAULT_WORKER_CONFIG, type WorkerBehaviorConfig } from "./workerSelect.ts";
import { DEFAULT_WORKER_CATEGORY } from "../protocol/headers.ts";
import { toIso } from "../shared/intervals.ts";

export type { PollOutcome, PollReply, WorkerState };

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

/** What a worker known only from a task row is taken to be until it polls. */
const UNKNOWN_WORKER: Omit<WorkerIdentity, "host"> = { ip: "", capacity: 1, category: DEFAULT_WORKER_CATEGORY, version: "0", prefetch: 0 };

export class Runner {
  readonly fleet: Fleet;
  behavior: WorkerBehaviorConfig = DEFAULT_WORKER_CONFIG;
  private readonly deps: PollDeps;

  constructor(
    private readonly ctx: CoreContext,
    queue: TaskQueue,
    /** Whether a poll of `host` is held open right now (the object holding polls knows). */
    readonly pollHeld: (host: string) => boolean,
  ) {
    this.fleet = new Fleet(ctx, queue);
    this.deps = { ctx, fleet: this.fleet, queue, assignPending: () => this.assignPending() };
  }

  get workers(): ReadonlyMap<string, WorkerState> {
    return this.fleet.workers;
  }

  assignPending(): void {
    assignPending({ ctx: this.ctx, fleet: this.fleet, queue: this.deps.queue, strategy: () => this.behavior.selectStrategy, pollHeld: this.pollHeld });
  }

  /** Queue hook: a task assigned to a worker has ended. */
  taskEnded(e: TaskEntry): void {
    this.fleet.taskEnded(e);
  }

  restoreWorker(id: WorkerIdentity, disabled: boolean, keyDigest: string | null = null): void {
    this.fleet.restoreWorker(id, disabled, keyDigest);
  }

  restoreAssignment(e: TaskEntry): void {
    this.fleet.restoreAssignment(e, UNKNOWN_WORKER);
  }

  /** One agent poll: lease, news, and what to answer (see docs/agent-protocol.md). */
  poll(req: PollRequest, keyDigest: string): PollOutcome {
    return poll(this.deps, req, keyDigest);
  }

  replyFor(host: string, counter: Counter | null, acks: string[], stops: string[] = []): PollReply {
    return replyFor(this.deps, host, counter, acks, stops);
  }

  hasNews(host: string, counter: Counter): boolean {
    return hasNews(this.fleet, host, counter);
  }

  holdsWorker(host: string, keyDigest: string): boolean {
    return this.fleet.holdsWorker(host, keyDigest);
  }

  failUndeliverable(taskId: string, errorMsg: string): void {
    this.fleet.failUndeliverable(taskId, errorMsg);
  }

  markTouched(): Map<string, number> {
    return this.fleet.markTouched();
  }

  committed(marks: Map<string, number>): void {
    this.fleet.committed(marks);
  }

  setDisabled(host: string, disabled: boolean): boolean {
    const known = this.fleet.setDisabled(host, disabled);
    if (known && !disabled) this.assignPending();
    return known;
  }

  /** Applies every timeout that is due, then assigns what they freed. */
  tick(): void {
    applyTimeouts(this.ctx, this.fleet, this.deps.queue);
    this.assignPending();
  }

  nextDeadline(): number | null {
    return nextDeadline(this.ctx, this.fleet);
  }

  /** Druid's ImmutableWorkerInfo list (`GET /druid/indexer/v1/workers`): live workers only. */
  workerInfo(): WorkerInfoJson[] {
    const out: WorkerInfoJson[] = [];
    for (const w of this.fleet.workers.values()) {
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
    for (const w of this.fleet.workers.values()) {
      if (w.lostAt !== null || w.disabled) continue;
      cap += w.capacity;
      used += w.usedCapacity;
    }
    return { currentClusterCapacity: cap, maximumCapacityWithAutoScale: cap, usedClusterCapacity: used };
  }
}
