/**
 * The tasks an agent holds and its task slots: an assignment waits in a local queue (in order)
 * until `--capacity` has room for its `requiredCapacity`, is journaled (flushed to disk, one
 * flush for the tasks started together) before its process gets it, runs in the pool, has its
 * log and reports shipped, and stays held with its final status until the Overlord
 * acknowledges it; then it is forgotten (its id remembered a while, so a stale re-assignment
 * never runs it twice). Stopping a task ends its process, or fails it at once while queued.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../common/logger.ts";
import { logFileOf, type ChildOutcome } from "./childProtocol.ts";
import { safeName, type AgentConfig } from "./config.ts";
import type { EventSink } from "./events.ts";
import type { ExecutorOutcome } from "./executors/types.ts";
import { isReported, MAX_ERROR_MSG_CHARS, newHeldTask, recoveredHeldTask, type HeldTask } from "./heldTask.ts";
import type { AgentState } from "./identity.ts";
import { RESTARTED_WHILE_RUNNING } from "./journal.ts";
import type { TaskPool } from "./pool.ts";
import { readLogTail, shipLogAndReports, UPLOAD_GIVE_UP_MS } from "./shipping.ts";

/** A final status sent but not acknowledged is sent again after this long. */
const RESEND_UNACKED_MS = 5000;
/** Ids of forgotten tasks remembered, so a stale re-assignment never runs a task twice. */
const FORGOTTEN_MEMORY = 10_000;

export interface TaskSlotsDeps {
  cfg: AgentConfig;
  pool: TaskPool;
  state: AgentState;
  events: EventSink;
  logger: Logger;
  fetch: typeof fetch;
  now: () => number;
  /** Backoff jitter of the log and report uploads. */
  random?: () => number;
  /** Held tasks changed in a way a waiter may be waiting for (Waiters.notify). */
  changed(): void;
  /** There is news a poll should carry soon (PollLoop.news). */
  news(): void;
}

export class TaskSlots {
  private readonly tasks = new Map<string, HeldTask>();
  private readonly forgotten = new Set<string>();
  private readonly localQueue: string[] = [];
  private used = 0;
  private accepting = true;

  constructor(private readonly d: TaskSlotsDeps) {}

  /** Capacity in use by running tasks. */
  get usedCapacity(): number {
    return this.used;
  }

  /** False once the agent stops: its polls offer capacity 0 and late assignments fail at once. */
  get acceptsTasks(): boolean {
    return this.accepting;
  }

  stopAccepting(): void {
    this.accepting = false;
  }

  ids(): string[] {
    return [...this.tasks.keys()];
  }

  get size(): number {
    return this.tasks.size;
  }

  /** Tasks a poll reports: every held one the Overlord may know of (full) or only news. */
  reportedIn(full: boolean): HeldTask[] {
    const now = this.d.now();
    return [...this.tasks.values()].filter((t) => isReported(t, full, now));
  }

  /** Whether a delta poll sent now would carry something. */
  hasNews(): boolean {
    const now = this.d.now();
    for (const t of this.tasks.values()) if (isReported(t, false, now)) return true;
    return false;
  }

  /** Whether some task will likely be final within `withinMs`: just handed out, just started, or shipping. */
  finishingSoon(withinMs: number): boolean {
    const now = this.d.now();
    for (const t of this.tasks.values()) {
      if (t.phase === "dispatched" || t.phase === "shipping") return true;
      if (t.phase === "running" && t.startedAt !== null && now - t.startedAt < withinMs) return true;
      if (t.phase === "queued" && this.used + t.requiredCapacity <= this.d.cfg.capacity) return true;
    }
    return false;
  }

  /** Some task's process has it (handed out or running). */
  busy(): boolean {
    return [...this.tasks.values()].some((t) => t.phase === "dispatched" || t.phase === "running");
  }

  shipping(): boolean {
    return [...this.tasks.values()].some((t) => t.phase === "shipping");
  }

  /** What an earlier agent on this work directory started and never had acknowledged: reported, not run. */
  recover(): void {
    const now = new Date().toISOString();
    for (const u of this.d.state.unfinished) {
      const outcome = u.outcome ?? { status: "FAILED" as const, errorMsg: RESTARTED_WHILE_RUNNING, duration: 0 };
      const t = recoveredHeldTask(u.id, outcome, `${now} agent: task [${u.id}] ${outcome.status} (reported after an agent restart): ${outcome.errorMsg ?? ""}\n`);
      this.tasks.set(u.id, t);
      this.d.events.emit("task.recovered", { taskId: u.id, status: outcome.status, host: this.d.cfg.host });
      this.d.logger.warn("reporting a task an earlier run of this agent started", { task: u.id, status: outcome.status });
    }
  }

  /** A poll answered 200/204 delivered the versions it carried; acknowledged finals are forgotten. */
  delivered(versions: Map<string, number>, acks: string[]): void {
    const acked = new Set(acks);
    for (const [id, v] of versions) {
      const t = this.tasks.get(id);
      if (!t || t.version !== v) continue;
      t.delivered = v;
      if (t.phase === "final" && !acked.has(id)) t.resendAt = this.d.now() + RESEND_UNACKED_MS;
    }
    for (const id of acked) {
      const t = this.tasks.get(id);
      if (t?.phase === "final") this.forget(t);
    }
  }

  private forget(t: HeldTask): void {
    this.tasks.delete(t.id);
    this.d.state.journal.acknowledged(t.id);
    this.forgotten.add(t.id);
    if (this.forgotten.size > FORGOTTEN_MEMORY) this.forgotten.delete(this.forgotten.values().next().value!);
    this.d.changed();
  }

  assign(task: Record<string, unknown>, credential: string): void {
    const id = task["id"] as string;
    // Repeated delivery: already held (running or finished) or already acknowledged.
    if (this.tasks.has(id) || this.forgotten.has(id)) return;
    const t = newHeldTask(task, credential, this.d.cfg.capacity);
    this.tasks.set(id, t);
    this.d.events.emit("task.assigned", { taskId: id, host: this.d.cfg.host, type: task["type"] });
    if (!this.accepting) {
      this.finalize(t, { status: "FAILED", errorMsg: "Agent is shutting down" });
      return;
    }
    this.d.logger.info("task assigned", { task: id, type: task["type"] });
    this.localQueue.push(id);
  }

  /**
   * Starts queued tasks while capacity allows (the Overlord already respects it; this enforces
   * it). The tasks started together are journaled with one flush before any of them starts.
   */
  drainQueue(): void {
    const starting: HeldTask[] = [];
    let used = this.used;
    while (this.localQueue.length > 0) {
      const t = this.tasks.get(this.localQueue[0]!);
      if (!t || t.phase !== "queued") {
        this.localQueue.shift();
        continue;
      }
      if (used + t.requiredCapacity > this.d.cfg.capacity) break;
      this.localQueue.shift();
      used += t.requiredCapacity;
      starting.push(t);
    }
    if (starting.length === 0) return;
    this.d.state.journal.started(starting.map((t) => t.id));
    for (const t of starting) this.dispatch(t);
  }

  private dispatch(t: HeldTask): void {
    const { cfg } = this.d;
    this.used += t.requiredCapacity;
    t.phase = "dispatched";
    const workDir = join(cfg.workDir, safeName(t.id));
    const handle = this.d.pool.run({
      taskId: t.id,
      task: t.task,
      workDir,
      dataDir: cfg.dataDir,
      overlord: cfg.overlord,
      token: cfg.token,
      credential: t.credential,
      host: cfg.host,
      removeWorkDir: !cfg.keepWorkDirs,
    });
    void handle.started.then(() => {
      if (t.phase !== "dispatched") return;
      t.phase = "running";
      t.startedAt = this.d.now();
      t.version++;
      this.d.events.emit("task.started", { taskId: t.id, host: cfg.host });
      this.d.logger.info("task started", { task: t.id });
      this.d.news();
    });
    void handle.done.then((outcome) => {
      this.used -= t.requiredCapacity;
      this.drainQueue();
      void this.finish(t, outcome, workDir);
    });
  }

  /** A task's process is done with it: record the outcome, ship log and reports, then report. */
  private async finish(t: HeldTask, outcome: ChildOutcome, workDir: string): Promise<void> {
    const { cfg, logger } = this.d;
    t.phase = "shipping";
    t.status = outcome.status;
    t.errorMsg = outcome.errorMsg ? outcome.errorMsg.slice(0, MAX_ERROR_MSG_CHARS) : null;
    t.duration = t.startedAt === null ? 0 : Math.max(0, Math.round(this.d.now() - t.startedAt));
    this.d.state.journal.finished(t.id, { status: t.status === "SUCCESS" ? "SUCCESS" : "FAILED", errorMsg: t.errorMsg, duration: t.duration });
    this.d.events.emit("task.finished", { taskId: t.id, status: t.status, host: cfg.host });
    logger.log(t.status === "SUCCESS" ? "INFO" : "WARN", `task ${t.status === "SUCCESS" ? "succeeded" : "failed"}`, { task: t.id, durationMs: t.duration, ...(t.errorMsg ? { error: t.errorMsg } : {}) });
    this.d.changed();
    try {
      // The child sends the log's tail with its outcome; a child that died could not: read the file.
      let log = outcome.log ?? (await readLogTail(logFileOf(workDir)));
      if (t.status === "FAILED" && !log.includes(`task [${t.id}] FAILED`)) log += `${new Date().toISOString()} agent: task [${t.id}] FAILED: ${t.errorMsg ?? ""}\n`;
      if (!cfg.keepWorkDirs && !outcome.workDirRemoved) {
        await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
        await rm(logFileOf(workDir), { force: true }).catch(() => undefined);
      }
      const shipped = await shipLogAndReports(
        {
          overlord: cfg.overlord,
          token: cfg.token,
          host: cfg.host,
          workerKey: this.d.state.key,
          fetch: this.d.fetch,
          inlineMaxBytes: cfg.inlineLogBytes,
          giveUpAfterMs: UPLOAD_GIVE_UP_MS,
          now: this.d.now,
          random: this.d.random,
          warn: (m, f) => logger.warn(m, f),
        },
        t.id,
        log,
        outcome.reports ?? null,
      );
      t.inlineLog = shipped.log;
      t.inlineReports = shipped.reports;
    } catch (err) {
      logger.warn("could not ship the task's log; reporting its status without it", { task: t.id, error: String(err) });
    }
    t.phase = "final";
    t.version++;
    this.d.changed();
    this.d.news();
  }

  /** A task that never ran (shut down while queued, or assigned while stopping): final at once. */
  private finalize(t: HeldTask, outcome: ExecutorOutcome): void {
    t.phase = "final";
    t.status = outcome.status;
    t.errorMsg = outcome.errorMsg ?? null;
    t.duration = 0;
    t.inlineLog = `${new Date().toISOString()} agent: task [${t.id}] ${t.status}: ${t.errorMsg ?? ""}\n`;
    t.version++;
    this.d.events.emit("task.finished", { taskId: t.id, status: t.status, host: this.d.cfg.host });
    this.d.logger.info("task failed before it started", { task: t.id, error: t.errorMsg });
    this.d.changed();
    this.d.news();
  }

  /** Stops a task: a queued one fails at once, a running one's process is stopped (it reports how it ended). */
  stopTask(id: string, reason: string): void {
    const t = this.tasks.get(id);
    if (!t) return;
    if (t.phase === "queued") {
      this.finalize(t, { status: "FAILED", errorMsg: reason });
      return;
    }
    if (t.phase !== "dispatched" && t.phase !== "running") return;
    this.d.logger.info("stopping task", { task: id, reason });
    this.d.pool.stop(id, reason);
  }

  /** Fails every task still waiting for a slot. */
  stopQueued(reason: string): void {
    for (const id of [...this.localQueue]) this.stopTask(id, reason);
  }

  stopAll(reason: string): void {
    for (const t of this.tasks.values()) this.stopTask(t.id, reason);
  }
}
