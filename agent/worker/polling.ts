/**
 * The worker's side of the poll loop (agent/common/pollLoop.ts, docs/agent-protocol.md): what
 * each poll carries and what its answer does.
 *
 * - The first poll is full (`counter: null`) and lists every held task; a counter reset asks
 *   for another. Later polls carry the statuses changed since the last answered poll, and the
 *   answer's `counter` and `term` go back in the next one.
 * - News lingers briefly for tasks about to finish: before a delta poll carrying statuses
 *   leaves, it waits up to `lingerMs` while some task was just handed out, just started, or is
 *   shipping, so that a burst of short tasks is reported in one poll (one commit in the Overlord).
 * - The answer's requests are applied in order: `assign` (idempotent), `shutdown`, `metadata`
 *   (enable/disable). Its `acks` let acknowledged finals be forgotten.
 * - A stopping agent offers capacity 0, so the Overlord assigns it nothing more.
 */
import { networkInterfaces } from "node:os";
import type { Logger } from "../common/logger.ts";
import type { Poll, PollProblem } from "../common/pollLoop.ts";
import type { Waiters } from "../common/waiters.ts";
import type { AgentConfig } from "./config.ts";
import { statusReport, type HeldTask } from "./heldTask.ts";
import { sendPoll } from "./pollClient.ts";
import type { TaskSlots } from "./taskSlots.ts";
import type { AgentRequest, Counter, PollAnswer, PollBody, TaskLocation } from "../../src/protocol/agent.ts";

export interface PollingDeps {
  cfg: AgentConfig;
  logger: Logger;
  slots: TaskSlots;
  waiters: Waiters;
  workerKey: string;
  fetch: typeof fetch;
  /** How long news waits for tasks about to finish. */
  lingerMs: number;
  /** The loop is stopping: lingering ends. */
  stopped(): boolean;
}

export class WorkerPolling {
  private term: number | null = null;
  private counter: Counter | null = null;
  private disabled = false;
  private resetsInARow = 0;
  private readonly location: TaskLocation;
  private readonly ip = firstIPv4();

  constructor(private readonly d: PollingDeps) {
    const [name, port] = splitHost(d.cfg.host);
    this.location = { host: name, port, tlsPort: -1 };
  }

  /** The next poll (PollLoopOptions.next). */
  async next(): Promise<Poll<PollAnswer>> {
    const { slots, lingerMs } = this.d;
    if (this.counter !== null && slots.hasNews()) await this.d.waiters.waitUntil(() => this.d.stopped() || !slots.finishingSoon(lingerMs), lingerMs);
    const full = this.counter === null;
    const carried = slots.reportedIn(full);
    const versions = new Map(carried.map((t) => [t.id, t.version] as const));
    const body = this.body(full, carried);
    const target = { overlord: this.d.cfg.overlord, token: this.d.cfg.token, workerKey: this.d.workerKey, fetch: this.d.fetch };
    return {
      // A full poll, or one carrying statuses, is answered at once: never abort it for news.
      answeredAtOnce: full || carried.length > 0,
      send: (controller) => sendPoll(target, body, controller),
      answered: (answer) => this.answered(versions, answer),
    };
  }

  private body(full: boolean, carried: HeldTask[]): PollBody {
    const { cfg, slots } = this.d;
    const open = slots.acceptsTasks;
    return {
      worker: { host: cfg.host, ip: this.ip, capacity: open ? cfg.capacity : 0, prefetch: open ? cfg.prefetch : 0, category: cfg.category, version: cfg.version },
      term: this.term,
      counter: this.counter,
      timeoutMs: cfg.pollTimeoutMs,
      full,
      tasks: carried.map((t) => statusReport(t, this.location)),
    };
  }

  /** A 200 (`answer`) or 204 (null): what the poll carried was delivered. */
  private answered(versions: Map<string, number>, answer: PollAnswer | null): void | "backOff" {
    this.d.slots.delivered(versions, answer?.acks ?? []);
    if (answer === null) return;
    this.term = answer.term;
    if (answer.resetCounter) {
      this.d.logger.info("the Overlord asked for a full resync", { cause: answer.resetCause ?? null });
      this.counter = null;
      // A server that keeps resetting must not make us spin.
      return ++this.resetsInARow > 3 ? "backOff" : undefined;
    }
    this.resetsInARow = 0;
    for (const r of answer.requests ?? []) this.apply(r);
    this.d.slots.drainQueue();
    this.counter = answer.counter;
    this.d.waiters.notify();
  }

  private apply(r: AgentRequest): void {
    if (r.type === "metadata") {
      if (!!r.disabled !== this.disabled) this.d.logger.info(r.disabled ? "worker disabled by the Overlord (no new tasks)" : "worker enabled by the Overlord");
      this.disabled = !!r.disabled;
    } else if (r.type === "shutdown") {
      this.d.slots.stopTask(r.taskId, "Shutdown request from the Overlord");
    } else if (r.type === "assign") {
      if (r.task && typeof r.task["id"] === "string") this.d.slots.assign(r.task, r.credential ?? "");
      else this.d.logger.warn("ignored an assignment without a task id");
    }
  }

  /** A refused or failed poll (PollLoopOptions.failed): said in the log; the loop retries. */
  failed(problem: PollProblem): void {
    const { logger } = this.d;
    if (problem.kind === "failed") {
      logger.warn("the Overlord is unreachable; tasks keep running, retrying", { error: problem.error });
    } else if (problem.status === 409) {
      logger.error("the Overlord refused this agent: another agent holds this worker's host; retrying (it is free once that agent's lease lapses)", { host: this.d.cfg.host, message: problem.message });
    } else if (problem.status === 401 || problem.status === 403) {
      logger.error("the Overlord refused the agent token (check --token / DRUID_AGENT_TOKEN); retrying", { status: problem.status, message: problem.message });
    } else if (problem.status < 500) {
      logger.error("the Overlord refused the poll; retrying", { status: problem.status, message: problem.message });
    } else {
      logger.warn("the Overlord failed the poll; retrying", { status: problem.status, message: problem.message });
    }
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
