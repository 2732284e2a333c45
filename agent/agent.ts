/**
 * The agent (Druid's MiddleManager, pull-based): one long-poll loop to the Overlord
 * (docs/agent-protocol.md) that registers the worker, carries task statuses and receives
 * assignments, shutdowns and enable/disable; tasks run in a pool of child processes.
 *
 * Delivery is at least once on both sides and applying is idempotent: an assignment for a task
 * already held is ignored; a final status is re-sent until the Overlord acknowledges it. When
 * something happens (a task starts or ends), a held poll is aborted and a new one sent at once,
 * so news never waits for the poll timeout; a few milliseconds of debounce batch many events
 * into one poll.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { AgentConfig } from "./config.ts";
import { EventsFile } from "./events.ts";
import type { ExecutorOutcome } from "./executors/types.ts";
import type { Logger } from "./logger.ts";
import { ChildPool } from "./pool.ts";

type Counter = { counter: number; hash: number };
type TaskState = "RUNNING" | "SUCCESS" | "FAILED";

interface HeldTask {
  id: string;
  task: Record<string, unknown>;
  credential: string;
  requiredCapacity: number;
  status: TaskState;
  /** Has a child begun running it (it is only reported once started). */
  started: boolean;
  queued: boolean;
  startedAt: number;
  duration: number;
  errorMsg: string | null;
  log: string | null;
  reports: Record<string, unknown> | null;
  /** Bumped on each change; a poll that carried version v delivered it. */
  version: number;
  delivered: number;
  /** Log/report upload in progress: the final status waits for it. */
  uploading: boolean;
}

interface PollRequestItem {
  type: "assign" | "shutdown" | "metadata";
  task?: Record<string, unknown>;
  credential?: string;
  taskId?: string;
  disabled?: boolean;
}

interface PollResponse {
  term: number;
  leaseMs: number;
  resetCounter: boolean;
  resetCause: string | null;
  counter: Counter | null;
  requests: PollRequestItem[] | null;
  acks?: string[];
}

const INLINE_LOG_LIMIT = 64 * 1024;
const NEWS_DEBOUNCE_MS = 2;
/** Abort reason of a held poll cut short because there is news to send. */
const FOR_NEWS = "druid-edge:news";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Agent {
  readonly tasks = new Map<string, HeldTask>();
  private term: number | null = null;
  private counter: Counter | null = null;
  private used = 0;
  private readonly localQueue: string[] = [];
  private disabled = false;
  private stopping = false;
  private stopped = false;
  private inflight: { controller: AbortController; hasNews: boolean } | null = null;
  private nudgeTimer: ReturnType<typeof setTimeout> | null = null;
  private wakeLoop: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private readonly events: EventsFile;
  readonly pool: ChildPool;
  private readonly location: { host: string; port: number; tlsPort: number };

  constructor(private readonly cfg: AgentConfig, private readonly logger: Logger, private readonly fetchImpl: typeof fetch = globalThis.fetch) {
    this.events = new EventsFile(cfg.eventsFile);
    this.pool = new ChildPool((info) => {
      if (info.taskId) logger.warn("task process exited", { task: info.taskId, pid: info.pid, code: info.code, signal: info.signal });
    });
    const [name, port] = splitHost(cfg.host);
    this.location = { host: name, port, tlsPort: -1 };
  }

  async start(): Promise<void> {
    await this.pool.prestart(this.cfg.capacity);
    this.logger.info("agent started", { host: this.cfg.host, overlord: this.cfg.overlord, capacity: this.cfg.capacity, category: this.cfg.category });
    this.events.emit("agent.started", { host: this.cfg.host, pid: process.pid });
    this.loopDone = this.loop();
  }

  // ---- the poll loop ---------------------------------------------------------------------------

  private pending(): HeldTask[] {
    const out: HeldTask[] = [];
    for (const t of this.tasks.values()) if (!t.uploading && (t.started || t.status !== "RUNNING") && t.delivered < t.version) out.push(t);
    return out;
  }

  private report(t: HeldTask) {
    const final = t.status !== "RUNNING";
    return {
      id: t.id,
      status: t.status,
      duration: final ? t.duration : -1,
      errorMsg: t.errorMsg,
      location: this.location,
      ...(final && t.log !== null ? { log: t.log } : {}),
      ...(final && t.reports !== null ? { reports: t.reports } : {}),
    };
  }

  private async loop(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      const full = this.counter === null;
      const carried = full ? [...this.tasks.values()].filter((t) => !t.uploading && (t.started || t.status !== "RUNNING")) : this.pending();
      const versions = new Map(carried.map((t) => [t.id, t.version]));
      const hasNews = carried.length > 0;
      const body = {
        worker: { host: this.cfg.host, ip: "", capacity: this.stopping ? 0 : this.cfg.capacity, category: this.cfg.category, version: this.cfg.version },
        term: this.term,
        counter: this.counter,
        timeoutMs: this.stopping ? 1000 : this.cfg.pollTimeoutMs,
        full,
        tasks: carried.map((t) => this.report(t)),
      };
      const controller = new AbortController();
      this.inflight = { controller, hasNews };
      const guard = setTimeout(() => controller.abort(new Error("poll timed out")), this.cfg.pollTimeoutMs + 15_000);
      let res: Response;
      try {
        res = await this.fetchImpl(`${this.cfg.overlord}/druid-internal/v1/agent/poll`, {
          method: "POST",
          headers: { Authorization: `Bearer ${this.cfg.token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (err) {
        clearTimeout(guard);
        this.inflight = null;
        if (this.stopped) break;
        if (controller.signal.reason === FOR_NEWS) continue; // aborted to send news
        this.logger.warn("overlord unreachable, retrying", { error: (err as Error).message, retryInMs: Math.round(backoff) });
        await this.pause(backoff * (0.5 + Math.random()));
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      let reply: PollResponse | null = null;
      try {
        if (res.status === 200) reply = (await res.json()) as PollResponse;
        else await res.body?.cancel();
      } catch (err) {
        clearTimeout(guard);
        this.inflight = null;
        if (controller.signal.reason === FOR_NEWS) continue;
        this.logger.warn("poll answer lost, retrying", { error: (err as Error).message });
        continue;
      }
      clearTimeout(guard);
      this.inflight = null;
      if (res.status !== 200 && res.status !== 204) {
        const level = res.status >= 500 ? "WARN" : "ERROR";
        this.logger.log(level, "poll refused", { status: res.status, retryInMs: Math.round(backoff) });
        await this.pause(backoff * (0.5 + Math.random()));
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      backoff = 100;
      for (const [id, v] of versions) {
        const t = this.tasks.get(id);
        if (t && t.delivered < v) t.delivered = v;
      }
      if (!reply) continue; // 204: nothing new
      this.term = reply.term;
      if (reply.resetCounter) {
        this.logger.info("overlord asked for a full resync", { cause: reply.resetCause });
        this.counter = null;
        continue;
      }
      this.counter = reply.counter;
      for (const r of reply.requests ?? []) this.apply(r);
      for (const id of reply.acks ?? []) {
        const t = this.tasks.get(id);
        if (t && t.status !== "RUNNING" && t.delivered >= t.version) this.tasks.delete(id);
      }
    }
  }

  /** Sleeps, but wakes early when there is news to send. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wakeLoop = null;
        resolve();
      }, ms);
      this.wakeLoop = () => {
        clearTimeout(t);
        this.wakeLoop = null;
        resolve();
      };
    });
  }

  /** Something changed: make sure a poll carrying it leaves within a few milliseconds. */
  private nudge(): void {
    if (this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = null;
      if (this.inflight && !this.inflight.hasNews) this.inflight.controller.abort(FOR_NEWS);
      else this.wakeLoop?.();
    }, NEWS_DEBOUNCE_MS);
  }

  // ---- applying the Overlord's requests ---------------------------------------------------------

  private apply(r: PollRequestItem): void {
    if (r.type === "metadata") {
      if (r.disabled !== this.disabled) this.logger.info(r.disabled ? "worker disabled by the overlord" : "worker enabled by the overlord");
      this.disabled = !!r.disabled;
    } else if (r.type === "shutdown" && r.taskId) {
      this.stopTask(r.taskId, "Shutdown request from the Overlord");
    } else if (r.type === "assign" && r.task && typeof r.task["id"] === "string") {
      this.assign(r.task, r.credential ?? "");
    }
  }

  private assign(task: Record<string, unknown>, credential: string): void {
    const id = task["id"] as string;
    if (this.tasks.has(id)) return; // repeated delivery: already held (running or finished)
    const resource = task["resource"] as { requiredCapacity?: number } | undefined;
    const t: HeldTask = {
      id,
      task,
      credential,
      requiredCapacity: Math.max(1, Math.min(resource?.requiredCapacity ?? 1, this.cfg.capacity)),
      status: "RUNNING",
      started: false,
      queued: false,
      startedAt: 0,
      duration: -1,
      errorMsg: null,
      log: null,
      reports: null,
      version: 0,
      delivered: 0,
      uploading: false,
    };
    this.tasks.set(id, t);
    this.events.emit("task.assigned", { taskId: id, host: this.cfg.host });
    if (this.stopping) {
      this.complete(t, { status: "FAILED", errorMsg: "Agent is shutting down" }, "");
      return;
    }
    this.logger.info("task assigned", { task: id, type: task["type"] });
    this.localQueue.push(id);
    this.drainQueue();
  }

  /** Starts queued tasks while capacity allows (the Overlord already respects it; this enforces it). */
  private drainQueue(): void {
    while (this.localQueue.length > 0) {
      const t = this.tasks.get(this.localQueue[0]!);
      if (!t || t.status !== "RUNNING") {
        this.localQueue.shift();
        continue;
      }
      if (this.used + t.requiredCapacity > this.cfg.capacity) return;
      this.localQueue.shift();
      this.run(t);
    }
  }

  private run(t: HeldTask): void {
    this.used += t.requiredCapacity;
    const workDir = join(this.cfg.workDir, safeDirName(t.id));
    const handle = this.pool.run({ taskId: t.id, task: t.task, workDir, dataDir: this.cfg.dataDir, overlord: this.cfg.overlord, token: this.cfg.token, credential: t.credential });
    void handle.started.then(() => {
      if (t.status !== "RUNNING") return;
      t.started = true;
      t.startedAt = Date.now();
      t.version++;
      this.events.emit("task.started", { taskId: t.id, host: this.cfg.host });
      this.logger.info("task started", { task: t.id });
      this.nudge();
    });
    void handle.done.then(async ({ outcome, log }) => {
      this.used -= t.requiredCapacity;
      if (!this.cfg.keepWorkDirs) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      this.complete(t, outcome, log);
      this.drainQueue();
    });
  }

  private complete(t: HeldTask, outcome: ExecutorOutcome, log: string): void {
    if (t.status !== "RUNNING") return;
    t.status = outcome.status;
    t.errorMsg = outcome.errorMsg ? outcome.errorMsg.slice(0, 1024) : null;
    t.duration = t.startedAt ? Date.now() - t.startedAt : 0;
    t.started = true;
    t.reports = outcome.reports ?? null;
    t.version++;
    this.events.emit("task.finished", { taskId: t.id, status: t.status, host: this.cfg.host });
    this.logger.info(`task ${t.status === "SUCCESS" ? "succeeded" : "failed"}`, { task: t.id, durationMs: t.duration, ...(t.errorMsg ? { error: t.errorMsg } : {}) });
    if (log.length <= INLINE_LOG_LIMIT && JSON.stringify(t.reports ?? {}).length <= INLINE_LOG_LIMIT) {
      t.log = log;
      this.nudge();
      return;
    }
    // Large logs or reports go through their own endpoints before the final status is sent.
    t.uploading = true;
    void this.upload(t, log).finally(() => {
      t.uploading = false;
      this.nudge();
    });
  }

  private async upload(t: HeldTask, log: string): Promise<void> {
    const headers = { Authorization: `Bearer ${this.cfg.token}`, "X-Druid-Worker": this.cfg.host };
    const base = `${this.cfg.overlord}/druid-internal/v1/agent/tasks/${encodeURIComponent(t.id)}`;
    const deadline = Date.now() + 30_000;
    const send = async (path: string, body: string, type: string) => {
      for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
        try {
          const r = await this.fetchImpl(`${base}/${path}`, { method: "POST", headers: { ...headers, "content-type": type }, body });
          await r.body?.cancel();
          if (r.status < 500) return;
        } catch {
          // retry below
        }
        if (Date.now() > deadline) {
          this.logger.warn(`could not upload the task's ${path}; reporting its status anyway`, { task: t.id });
          return;
        }
        await sleep(delay);
      }
    };
    await send("log", log.length > 1024 * 1024 ? log.slice(log.length - 1024 * 1024) : log, "text/plain; charset=utf-8");
    if (t.reports) await send("reports", JSON.stringify(t.reports), "application/json");
    t.reports = null;
  }

  private stopTask(id: string, reason: string): void {
    const t = this.tasks.get(id);
    if (!t || t.status !== "RUNNING") return;
    this.logger.info("stopping task", { task: id, reason });
    if (!this.pool.kill(id, reason)) this.complete(t, { status: "FAILED", errorMsg: reason }, ""); // still queued here
  }

  // ---- stopping ----------------------------------------------------------------------------------

  /** SIGTERM: take no new work, let running tasks finish up to the grace period, report, stop. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info("stopping: no new tasks; waiting for running ones", { graceMs: this.cfg.shutdownGraceMs });
    this.nudge();
    for (const id of [...this.localQueue]) this.stopTask(id, "Agent shut down before the task started");
    const graceEnd = Date.now() + this.cfg.shutdownGraceMs;
    while (this.used > 0 && Date.now() < graceEnd) await sleep(50);
    for (const t of this.tasks.values()) if (t.status === "RUNNING") this.stopTask(t.id, "Agent shut down before the task finished");
    const reportEnd = Date.now() + 15_000;
    while ([...this.tasks.values()].some((t) => t.status === "RUNNING" || t.delivered < t.version) && Date.now() < reportEnd) await sleep(50);
    this.stopped = true;
    this.inflight?.controller.abort(FOR_NEWS);
    this.wakeLoop?.();
    await this.loopDone;
    this.pool.close();
    this.events.emit("agent.stopped", { host: this.cfg.host });
    this.logger.info("agent stopped");
  }
}

function splitHost(host: string): [string, number] {
  const i = host.lastIndexOf(":");
  if (i <= 0) return [host, -1];
  const port = Number(host.slice(i + 1));
  return [host.slice(0, i), Number.isInteger(port) ? port : -1];
}

/** Task ids may hold characters a file system dislikes; the directory name keeps them readable. */
function safeDirName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 200);
}
