/**
 * The agent (Druid's MiddleManager, pull-based): one long-poll loop to the Overlord
 * (docs/agent-protocol.md) that registers the worker, carries task statuses and receives
 * assignments, shutdowns and enable/disable; tasks run in a pool of child processes. This file
 * wires the pieces: the poll loop (agent/common/pollLoop.ts) driven by the worker's polls
 * (polling.ts), the held tasks and slots (taskSlots.ts), and the graceful stop (stopping.ts).
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
import type { Logger } from "../common/logger.ts";
import { PollLoop } from "../common/pollLoop.ts";
import { Waiters } from "../common/waiters.ts";
import type { AgentConfig } from "./config.ts";
import { EventSink, type AgentEvent } from "./events.ts";
import { openAgentState } from "./identity.ts";
import { InProcessPool } from "./inProcessPool.ts";
import { WorkerPolling } from "./polling.ts";
import { ChildPool, type TaskPool } from "./pool.ts";
import { stopGracefully } from "./stopping.ts";
import { TaskSlots } from "./taskSlots.ts";
import type { PollAnswer } from "../../src/protocol/agent.ts";

export interface AgentDeps {
  fetch?: typeof fetch;
  /** Wall clock in ms (durations, upload deadlines, re-send times). */
  now?: () => number;
  /** Backoff jitter (polls, uploads). */
  random?: () => number;
  pool?: TaskPool;
  /** Sees every event (also written to --events-file). */
  onEvent?: (e: AgentEvent) => void;
  /** How long news waits for tasks about to finish (default LINGER_MS; tests widen it for slow machines). */
  lingerMs?: number;
}

/**
 * How long news may wait for tasks that are about to finish, so that a burst of short tasks is
 * reported in one poll (one commit in the Overlord) instead of one poll for the first to finish
 * and another for the rest. Only tasks started less than this long ago count as about to finish.
 */
const LINGER_MS = 10;

/** What runs once the agent has started. */
interface Running {
  slots: TaskSlots;
  /** The graceful stop, started once. */
  stop(): Promise<void>;
}

export class Agent {
  readonly pool: TaskPool;
  private readonly events: EventSink;
  private readonly waiters = new Waiters();
  private running: Running | null = null;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly logger: Logger,
    private readonly deps: AgentDeps = {},
  ) {
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
  }

  /** Starts polling; children start in the background (the first poll does not wait for them). */
  start(): void {
    const { cfg, logger, events, waiters } = this;
    mkdirSync(cfg.workDir, { recursive: true });
    const state = openAgentState(cfg.workDir);
    const fetch = this.deps.fetch ?? globalThis.fetch;
    const now = this.deps.now ?? Date.now;
    const lingerMs = this.deps.lingerMs ?? LINGER_MS;
    const slots: TaskSlots = new TaskSlots({ cfg, pool: this.pool, state, events, logger, fetch, now, random: this.deps.random, changed: () => waiters.notify(), news: () => loop.news() });
    const polling: WorkerPolling = new WorkerPolling({ cfg, logger, slots, waiters, workerKey: state.key, fetch, lingerMs, stopped: () => loop.stopped });
    const loop: PollLoop<PollAnswer> = new PollLoop({ next: () => polling.next(), failed: (p) => polling.failed(p), random: this.deps.random });
    let stopping: Promise<void> | null = null;
    this.running = { slots, stop: () => (stopping ??= stopGracefully({ cfg, logger, slots, waiters, loop, pool: this.pool, state, events })) };
    slots.recover();
    logger.info("agent started", { host: cfg.host, overlord: cfg.overlord, capacity: cfg.capacity, category: cfg.category, workDir: cfg.workDir, newWorkerKey: state.freshKey });
    events.emit("agent.started", { host: cfg.host, pid: process.pid });
    loop.start();
    this.pool.warm(cfg.capacity);
    void this.pool.whenWarm().then(() => {
      events.emit("agent.ready", { host: cfg.host, children: cfg.capacity });
      logger.info("task processes ready", { children: cfg.capacity });
    });
  }

  /** Tasks held now (running, queued, or finished and not yet acknowledged), for tests. */
  heldTaskIds(): string[] {
    return this.running?.slots.ids() ?? [];
  }

  /** Capacity in use by running tasks. */
  get usedCapacity(): number {
    return this.running?.slots.usedCapacity ?? 0;
  }

  /** SIGTERM/SIGINT: the graceful stop (agent/worker/stopping.ts); called again, the same promise. */
  stop(): Promise<void> {
    if (this.running) return this.running.stop();
    this.events.close();
    return this.pool.close();
  }
}
