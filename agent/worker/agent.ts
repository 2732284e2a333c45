/**
 * The agent (Druid's MiddleManager, pull-based): one long-poll loop to the Overlord
 * (docs/agent-protocol.md) that registers the worker, carries task statuses and receives
 * assignments, shutdowns and enable/disable; tasks run in a pool of child processes.
 *
 * Delivery is at least once both ways and applying is idempotent: an assignment for a task
 * already held is ignored; a final status is re-sent until the Overlord acknowledges it. When a
 * task starts or ends, a held poll is aborted and a new one sent at once (after a few ms of
 * debounce that batch many events into one poll), so news never waits for the poll timeout.
 *
 * At most once: a task's id is journaled (flushed to disk) before its process gets it; an agent
 * restarted on the same work directory reports what the journal left unfinished instead of
 * running it again, under the same worker key (agent/worker/identity.ts).
 */
import { mkdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { Backoff } from "../common/backoff.ts";
import { logFileOf, type ChildOutcome } from "./childProtocol.ts";
import { safeName, type AgentConfig } from "./config.ts";
import { EventSink, type AgentEvent } from "./events.ts";
import type { ExecutorOutcome } from "./executors/types.ts";
import { isReported, MAX_ERROR_MSG_CHARS, newHeldTask, recoveredHeldTask, statusReport, type HeldTask } from "./heldTask.ts";
import { openAgentState, type AgentState } from "./identity.ts";
import { RESTARTED_WHILE_RUNNING } from "./journal.ts";
import type { Logger } from "../common/logger.ts";
import { sendPoll, type PollResult } from "./pollClient.ts";
import { InProcessPool } from "./inProcessPool.ts";
import { ChildPool, type TaskPool } from "./pool.ts";
import type { AgentRequest, Counter, PollBody, TaskLocation } from "../../src/protocol/agent.ts";
import { readLogTail, shipLogAndReports } from "./shipping.ts";

export interface AgentDeps {
  fetch?: typeof fetch;
  /** Wall clock in ms (durations, upload deadlines, re-send times). */
  now?: () => number;
  /** Backoff jitter. */
  random?: () => number;
  pool?: TaskPool;
  /** Sees every event (also written to --events-file). */
  onEvent?: (e: AgentEvent) => void;
  /** How long news waits for tasks about to finish (default LINGER_MS; tests widen it for slow machines). */
  lingerMs?: number;
}

/** Debounce between news and the poll that carries it. */
const NEWS_DEBOUNCE_MS = 2;
/**
 * How long news may wait for tasks that are about to finish, so that a burst of short tasks is
 * reported in one poll (one commit in the Overlord) instead of one poll for the first to finish
 * and another for the rest. Only tasks started less than this long ago count as about to finish.
 */
const LINGER_MS = 10;
/** A final status sent but not acknowledged is sent again after this long. */
const RESEND_UNACKED_MS = 5000;
/** Log/report uploads give up after this long; the status is reported anyway. */
const UPLOAD_GIVE_UP_MS = 30_000;
/** On stop, how long to wait for the Overlord to acknowledge the last statuses. */
const FINAL_REPORT_WAIT_MS = 15_000;
/** Ids of forgotten tasks remembered, so a stale re-assignment never runs a task twice. */
const FORGOTTEN_MEMORY = 10_000;

/** Abort reasons of our own (not Errors, so the poll client tells them from a lost poll). */
const ABORT_FOR_NEWS = "news";
const ABORT_FOR_STOP = "stop";

export class Agent {
  private readonly tasks = new Map<string, HeldTask>();
  private readonly forgotten = new Set<string>();
  private readonly localQueue: string[] = [];
  private term: number | null = null;
  private counter: Counter | null = null;
  private used = 0;
  private disabled = false;
  private stopping = false;
  private stopped = false;
  private stopPromise: Promise<void> | null = null;
  private inflight: { controller: AbortController; carriesNews: boolean } | null = null;
  private nudgeTimer: ReturnType<typeof setTimeout> | null = null;
  private wakePause: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly waiters = new Set<() => void>();
  private readonly events: EventSink;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly lingerMs: number;
  readonly pool: TaskPool;
  private readonly location: TaskLocation;
  private readonly ip: string;
  private state: AgentState | null = null;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly logger: Logger,
    deps: AgentDeps = {},
  ) {
    this.fetch = deps.fetch ?? globalThis.fetch;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.lingerMs = deps.lingerMs ?? LINGER_MS;
    this.events = new EventSink(cfg.eventsFile, deps.onEvent ?? null);
    this.pool =
      deps.pool ??
      (cfg.isolation === "none"
        ? new InProcessPool()
        : new ChildPool({
        stopGraceMs: cfg.taskStopGraceMs,
        retireRssMb: cfg.childRetireMb,
        onChildExit: (info) => {
          if (info.taskId) logger.warn("task process ended", { task: info.taskId, pid: info.pid, code: info.code, signal: info.signal });
        },
      }));
    const [name, port] = splitHost(cfg.host);
    this.location = { host: name, port, tlsPort: -1 };
    this.ip = firstIPv4();
  }

  /** Starts polling; children start in the background (the first poll does not wait for them). */
  start(): void {
    mkdirSync(this.cfg.workDir, { recursive: true });
    this.state = openAgentState(this.cfg.workDir);
    this.recoverUnfinished();
    this.logger.info("agent started", { host: this.cfg.host, overlord: this.cfg.overlord, capacity: this.cfg.capacity, category: this.cfg.category, workDir: this.cfg.workDir, newWorkerKey: this.state.freshKey });
    this.events.emit("agent.started", { host: this.cfg.host, pid: process.pid });
    this.loopDone = this.loop();
    this.pool.warm(this.cfg.capacity);
    void this.pool.whenWarm().then(() => {
      this.events.emit("agent.ready", { host: this.cfg.host, children: this.cfg.capacity });
      this.logger.info("task processes ready", { children: this.cfg.capacity });
    });
  }

  /** What an earlier agent on this work directory started and never had acknowledged: reported, not run. */
  private recoverUnfinished(): void {
    const now = new Date().toISOString();
    for (const u of this.state!.unfinished) {
      const outcome = u.outcome ?? { status: "FAILED" as const, errorMsg: RESTARTED_WHILE_RUNNING, duration: 0 };
      const t = recoveredHeldTask(u.id, outcome, `${now} agent: task [${u.id}] ${outcome.status} (reported after an agent restart): ${outcome.errorMsg ?? ""}\n`);
      this.tasks.set(u.id, t);
      this.events.emit("task.recovered", { taskId: u.id, status: outcome.status, host: this.cfg.host });
      this.logger.warn("reporting a task an earlier run of this agent started", { task: u.id, status: outcome.status });
    }
  }

  /** Tasks held now (running, queued, or finished and not yet acknowledged), for tests. */
  heldTaskIds(): string[] {
    return [...this.tasks.keys()];
  }

  /** Capacity in use by running tasks. */
  get usedCapacity(): number {
    return this.used;
  }

  // ---- the poll loop ---------------------------------------------------------------------------

  private pollBody(full: boolean, carried: HeldTask[]): PollBody {
    return {
      worker: { host: this.cfg.host, ip: this.ip, capacity: this.stopping ? 0 : this.cfg.capacity, prefetch: this.stopping ? 0 : this.cfg.prefetch, category: this.cfg.category, version: this.cfg.version },
      term: this.term,
      counter: this.counter,
      timeoutMs: this.cfg.pollTimeoutMs,
      full,
      tasks: carried.map((t) => statusReport(t, this.location)),
    };
  }

  private async loop(): Promise<void> {
    const backoff = new Backoff(100, 5000, this.random);
    let resetsInARow = 0;
    while (!this.stopped) {
      if (this.counter !== null && this.hasNews()) await this.waitUntil(() => this.stopped || !this.finishingSoon(), this.lingerMs);
      const full = this.counter === null;
      const now = this.now();
      const carried = [...this.tasks.values()].filter((t) => isReported(t, full, now));
      const versions = new Map(carried.map((t) => [t.id, t.version] as const));
      const controller = new AbortController();
      // A full poll, or one carrying statuses, is answered at once: never abort it for news.
      this.inflight = { controller, carriesNews: full || carried.length > 0 };
      const result = await sendPoll({ overlord: this.cfg.overlord, token: this.cfg.token, workerKey: this.state!.key, fetch: this.fetch }, this.pollBody(full, carried), controller);
      this.inflight = null;
      if (result.kind === "aborted") continue;
      if (result.kind === "failed" || result.kind === "refused") {
        this.logPollProblem(result);
        await this.pause(backoff.next());
        continue;
      }
      backoff.reset();
      this.delivered(versions, result.kind === "reply" ? (result.reply.acks ?? []) : []);
      if (result.kind === "noNews") continue;
      const reply = result.reply;
      this.term = reply.term;
      if (reply.resetCounter) {
        this.logger.info("the Overlord asked for a full resync", { cause: reply.resetCause ?? null });
        this.counter = null;
        // A server that keeps resetting must not make us spin.
        if (++resetsInARow > 3) await this.pause(backoff.next());
        continue;
      }
      resetsInARow = 0;
      for (const r of reply.requests ?? []) this.apply(r);
      this.drainQueue();
      this.counter = reply.counter;
      this.notify();
    }
  }

  /** Whether a delta poll sent now would carry something. */
  private hasNews(): boolean {
    const now = this.now();
    for (const t of this.tasks.values()) if (isReported(t, false, now)) return true;
    return false;
  }

  /** Whether some task will likely be final within the linger: just handed out, just started, or shipping. */
  private finishingSoon(): boolean {
    const now = this.now();
    for (const t of this.tasks.values()) {
      if (t.phase === "dispatched" || t.phase === "shipping") return true;
      if (t.phase === "running" && t.startedAt !== null && now - t.startedAt < this.lingerMs) return true;
      if (t.phase === "queued" && this.used + t.requiredCapacity <= this.cfg.capacity) return true;
    }
    return false;
  }

  private logPollProblem(result: Extract<PollResult, { kind: "failed" | "refused" }>): void {
    if (result.kind === "failed") {
      this.logger.warn("the Overlord is unreachable; tasks keep running, retrying", { error: result.error });
    } else if (result.status === 409) {
      this.logger.error("the Overlord refused this agent: another agent holds this worker's host; retrying (it is free once that agent's lease lapses)", { host: this.cfg.host, message: result.message });
    } else if (result.status === 401 || result.status === 403) {
      this.logger.error("the Overlord refused the agent token (check --token / DRUID_AGENT_TOKEN); retrying", { status: result.status, message: result.message });
    } else if (result.status < 500) {
      this.logger.error("the Overlord refused the poll; retrying", { status: result.status, message: result.message });
    } else {
      this.logger.warn("the Overlord failed the poll; retrying", { status: result.status, message: result.message });
    }
  }

  /** A poll answered 200/204 delivered what it carried; acknowledged finals are forgotten. */
  private delivered(versions: Map<string, number>, acks: string[]): void {
    const acked = new Set(acks);
    for (const [id, v] of versions) {
      const t = this.tasks.get(id);
      if (!t || t.version !== v) continue;
      t.delivered = v;
      if (t.phase === "final" && !acked.has(id)) t.resendAt = this.now() + RESEND_UNACKED_MS;
    }
    for (const id of acked) {
      const t = this.tasks.get(id);
      if (t?.phase === "final") this.forget(t);
    }
  }

  private forget(t: HeldTask): void {
    this.tasks.delete(t.id);
    this.state?.journal.acknowledged(t.id);
    this.forgotten.add(t.id);
    if (this.forgotten.size > FORGOTTEN_MEMORY) this.forgotten.delete(this.forgotten.values().next().value!);
    this.notify();
  }

  /** Sleeps for a backoff; only stopping cuts it short (news waits for the retry). */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakePause = null;
        resolve();
      }, ms);
      this.wakePause = () => {
        clearTimeout(timer);
        this.wakePause = null;
        resolve();
      };
    });
  }

  /** Something changed: make sure a poll carrying it leaves within a few milliseconds. */
  private nudge(force = false): void {
    if (force) {
      this.inflight?.controller.abort(ABORT_FOR_NEWS);
      return;
    }
    if (this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = null;
      if (this.inflight && !this.inflight.carriesNews) this.inflight.controller.abort(ABORT_FOR_NEWS);
    }, NEWS_DEBOUNCE_MS);
  }

  // ---- waiting on state (stop) -------------------------------------------------------------------

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once `cond` holds, false if `timeoutMs` passes first. */
  private waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const check = () => {
        if (!cond()) return;
        finish(true);
      };
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
    });
  }

  // ---- applying the Overlord's requests ---------------------------------------------------------

  private apply(r: AgentRequest): void {
    if (r.type === "metadata") {
      if (!!r.disabled !== this.disabled) this.logger.info(r.disabled ? "worker disabled by the Overlord (no new tasks)" : "worker enabled by the Overlord");
      this.disabled = !!r.disabled;
    } else if (r.type === "shutdown") {
      this.stopTask(r.taskId, "Shutdown request from the Overlord");
    } else if (r.type === "assign") {
      if (r.task && typeof r.task["id"] === "string") this.assign(r.task, r.credential ?? "");
      else this.logger.warn("ignored an assignment without a task id");
    }
  }

  private assign(task: Record<string, unknown>, credential: string): void {
    const id = task["id"] as string;
    // Repeated delivery: already held (running or finished) or already acknowledged.
    if (this.tasks.has(id) || this.forgotten.has(id)) return;
    const t = newHeldTask(task, credential, this.cfg.capacity);
    this.tasks.set(id, t);
    this.events.emit("task.assigned", { taskId: id, host: this.cfg.host, type: task["type"] });
    if (this.stopping) {
      this.finalize(t, { status: "FAILED", errorMsg: "Agent is shutting down" });
      return;
    }
    this.logger.info("task assigned", { task: id, type: task["type"] });
    this.localQueue.push(id);
  }

  /**
   * Starts queued tasks while capacity allows (the Overlord already respects it; this enforces
   * it). The tasks started together are journaled with one flush before any of them starts.
   */
  private drainQueue(): void {
    const starting: HeldTask[] = [];
    let used = this.used;
    while (this.localQueue.length > 0) {
      const t = this.tasks.get(this.localQueue[0]!);
      if (!t || t.phase !== "queued") {
        this.localQueue.shift();
        continue;
      }
      if (used + t.requiredCapacity > this.cfg.capacity) break;
      this.localQueue.shift();
      used += t.requiredCapacity;
      starting.push(t);
    }
    if (starting.length === 0) return;
    this.state!.journal.started(starting.map((t) => t.id));
    for (const t of starting) this.dispatch(t);
  }

  private dispatch(t: HeldTask): void {
    this.used += t.requiredCapacity;
    t.phase = "dispatched";
    const workDir = join(this.cfg.workDir, safeName(t.id));
    const handle = this.pool.run({
      taskId: t.id,
      task: t.task,
      workDir,
      dataDir: this.cfg.dataDir,
      overlord: this.cfg.overlord,
      token: this.cfg.token,
      credential: t.credential,
      host: this.cfg.host,
      removeWorkDir: !this.cfg.keepWorkDirs,
    });
    void handle.started.then(() => {
      if (t.phase !== "dispatched") return;
      t.phase = "running";
      t.startedAt = this.now();
      t.version++;
      this.events.emit("task.started", { taskId: t.id, host: this.cfg.host });
      this.logger.info("task started", { task: t.id });
      this.nudge();
    });
    void handle.done.then((outcome) => {
      this.used -= t.requiredCapacity;
      this.drainQueue();
      void this.finish(t, outcome, workDir);
    });
  }

  /** A task's child is done with it: record the outcome, ship log and reports, then report. */
  private async finish(t: HeldTask, outcome: ChildOutcome, workDir: string): Promise<void> {
    t.phase = "shipping";
    t.status = outcome.status;
    t.errorMsg = outcome.errorMsg ? outcome.errorMsg.slice(0, MAX_ERROR_MSG_CHARS) : null;
    t.duration = t.startedAt === null ? 0 : Math.max(0, Math.round(this.now() - t.startedAt));
    this.state?.journal.finished(t.id, { status: t.status === "SUCCESS" ? "SUCCESS" : "FAILED", errorMsg: t.errorMsg, duration: t.duration });
    this.events.emit("task.finished", { taskId: t.id, status: t.status, host: this.cfg.host });
    this.logger.log(t.status === "SUCCESS" ? "INFO" : "WARN", `task ${t.status === "SUCCESS" ? "succeeded" : "failed"}`, { task: t.id, durationMs: t.duration, ...(t.errorMsg ? { error: t.errorMsg } : {}) });
    this.notify();
    try {
      // The child sends the log's tail with its outcome; a child that died could not: read the file.
      let log = outcome.log ?? (await readLogTail(logFileOf(workDir)));
      if (t.status === "FAILED" && !log.includes(`task [${t.id}] FAILED`)) log += `${new Date().toISOString()} agent: task [${t.id}] FAILED: ${t.errorMsg ?? ""}\n`;
      if (!this.cfg.keepWorkDirs && !outcome.workDirRemoved) {
        await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
        await rm(logFileOf(workDir), { force: true }).catch(() => undefined);
      }
      const shipped = await shipLogAndReports(
        {
          overlord: this.cfg.overlord,
          token: this.cfg.token,
          host: this.cfg.host,
          workerKey: this.state!.key,
          fetch: this.fetch,
          inlineMaxBytes: this.cfg.inlineLogBytes,
          giveUpAfterMs: UPLOAD_GIVE_UP_MS,
          now: this.now,
          warn: (m, f) => this.logger.warn(m, f),
        },
        t.id,
        log,
        outcome.reports ?? null,
      );
      t.inlineLog = shipped.log;
      t.inlineReports = shipped.reports;
    } catch (err) {
      this.logger.warn("could not ship the task's log; reporting its status without it", { task: t.id, error: String(err) });
    }
    t.phase = "final";
    t.version++;
    this.notify();
    this.nudge();
  }

  /** A task that never ran (shut down while queued, or assigned while stopping): final at once. */
  private finalize(t: HeldTask, outcome: ExecutorOutcome): void {
    t.phase = "final";
    t.status = outcome.status;
    t.errorMsg = outcome.errorMsg ?? null;
    t.duration = 0;
    t.inlineLog = `${new Date().toISOString()} agent: task [${t.id}] ${t.status}: ${t.errorMsg ?? ""}\n`;
    t.version++;
    this.events.emit("task.finished", { taskId: t.id, status: t.status, host: this.cfg.host });
    this.logger.info("task failed before it started", { task: t.id, error: t.errorMsg });
    this.notify();
    this.nudge();
  }

  private stopTask(id: string, reason: string): void {
    const t = this.tasks.get(id);
    if (!t) return;
    if (t.phase === "queued") {
      this.finalize(t, { status: "FAILED", errorMsg: reason });
      return;
    }
    if (t.phase !== "dispatched" && t.phase !== "running") return;
    this.logger.info("stopping task", { task: id, reason });
    this.pool.stop(id, reason);
  }

  // ---- stopping ----------------------------------------------------------------------------------

  /**
   * SIGTERM/SIGINT: report capacity 0 (the Overlord assigns nothing more; an assignment already
   * on its way fails with "Agent is shutting down"), let running tasks finish for up to
   * --shutdown-grace-ms, stop the rest ("Agent shut down"), ship their logs, report every final
   * status (waiting up to 15 s for acknowledgements), then end the poll loop and the pool.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    this.logger.info("stopping: taking no new tasks, waiting for running ones", { graceMs: this.cfg.shutdownGraceMs, running: this.used });
    this.nudge(true); // capacity 0 goes out now
    for (const id of [...this.localQueue]) this.stopTask(id, "Agent is shutting down");
    const busy = () => [...this.tasks.values()].some((t) => t.phase === "dispatched" || t.phase === "running");
    if (!(await this.waitUntil(() => !busy(), this.cfg.shutdownGraceMs))) {
      for (const t of this.tasks.values()) this.stopTask(t.id, "Agent shut down");
      await this.waitUntil(() => !busy(), this.cfg.taskStopGraceMs + 10_000);
    }
    await this.waitUntil(() => ![...this.tasks.values()].some((t) => t.phase === "shipping"), UPLOAD_GIVE_UP_MS + 5000);
    const reported = await this.waitUntil(() => this.tasks.size === 0, FINAL_REPORT_WAIT_MS);
    if (!reported) this.logger.warn("stopping without acknowledgement of some statuses", { tasks: [...this.tasks.keys()] });
    this.stopped = true;
    this.inflight?.controller.abort(ABORT_FOR_STOP);
    this.wakePause?.();
    await this.loopDone;
    await this.pool.close();
    this.state?.release();
    this.events.emit("agent.stopped", { host: this.cfg.host });
    this.events.close();
    this.logger.info("agent stopped");
  }
}

function splitHost(host: string): [string, number] {
  const i = host.lastIndexOf(":");
  if (i <= 0) return [host, -1];
  const port = Number(host.slice(i + 1));
  return [host.slice(0, i), Number.isInteger(port) ? port : -1];
}

function firstIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
