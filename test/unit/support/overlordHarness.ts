/**
 * Test harness for the Overlord's pure core: an OverlordCore on an injected clock, tasks built
 * by the real parser, a "group commit" that makes everything decided so far durable at once,
 * and a minimal agent that polls as docs/agent-protocol.md describes (it remembers the term
 * and counter of the last answer; the statuses it reports are given by each test).
 */
import { DEFAULT_CONFIG, type OverlordConfig } from "../../../src/overlord/config.ts";
import { OverlordCore } from "../../../src/overlord/overlordCore.ts";
import type { PollOutcome, PollReply } from "../../../src/overlord/runner.ts";
import { parseTask, type Task } from "../../../src/overlord/taskSpec.ts";
import type { WriteSet } from "../../../src/overlord/writes.ts";
import type { Counter, PollRequest, TaskReport, WorkerIdentity } from "../../../src/protocol/agent.ts";
import { DruidError } from "../../../src/shared/errors.ts";

export const T0 = Date.UTC(2026, 0, 1);

const parseOpts = { now: T0, maxPayloadBytes: 1 << 20 };

export function noop(id: string, extra: Record<string, unknown> = {}): Task {
  return parseTask({ type: "noop", id, ...extra }, parseOpts);
}

/** An index task locking `interval` of `dataSource` (day granularity). */
export function indexTask(id: string, interval: string, opts: { priority?: number; dataSource?: string; groupId?: string; context?: Record<string, unknown> } = {}): Task {
  const dataSource = opts.dataSource ?? "wiki";
  return parseTask(
    {
      type: "index",
      id,
      ...(opts.groupId ? { groupId: opts.groupId } : {}),
      context: { ...(opts.context ?? {}), ...(opts.priority !== undefined ? { priority: opts.priority } : {}) },
      spec: { dataSchema: { dataSource, granularitySpec: { segmentGranularity: "day", intervals: [interval] } } },
    },
    parseOpts,
  );
}

export type Harness = ReturnType<typeof overlord>;

export function overlord(config: Partial<OverlordConfig> = {}, opts: { term?: number; now?: number; held?: Set<string> } = {}) {
  let now = opts.now ?? T0;
  const held = opts.held ?? new Set<string>();
  const core = new OverlordCore(opts.term ?? 1, { ...DEFAULT_CONFIG, ...config }, () => now, (h) => held.has(h));
  return {
    core,
    held,
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    setNow(ms: number) {
      now = ms;
    },
    submit(...tasks: Task[]) {
      return core.queue.submit(tasks, new Set());
    },
    /** A successful group commit: what was decided so far is durable and may be handed out. */
    commit(): WriteSet {
      const ws = core.takeWrites();
      core.runner.committed(core.runner.markTouched());
      return ws;
    },
    entry(id: string) {
      const e = core.queue.get(id);
      if (!e) throw new Error(`no task ${id}`);
      return e;
    },
    agent(host: string, identity: Partial<WorkerIdentity> = {}, key = `key-of-${host}`) {
      return new Agent(this, host, key, identity);
    },
  };
}

export interface PollOptions {
  tasks?: TaskReport[];
  full?: boolean;
  counter?: Counter | null;
  term?: number | null;
  timeoutMs?: number;
}

export class Agent {
  term: number | null = null;
  counter: Counter | null = null;
  lastOutcome: PollOutcome | null = null;

  constructor(
    readonly o: { core: OverlordCore; commit(): WriteSet },
    readonly host: string,
    public key: string,
    readonly identity: Partial<WorkerIdentity> = {},
  ) {}

  request(p: PollOptions = {}): PollRequest {
    const counter = p.counter !== undefined ? p.counter : this.counter;
    return {
      worker: { host: this.host, ip: "10.0.0.1", capacity: 1, category: "_default_worker_category", version: "0", prefetch: 0, ...this.identity },
      term: p.term !== undefined ? p.term : this.term,
      counter,
      timeoutMs: p.timeoutMs ?? 20_000,
      full: p.full ?? counter === null,
      tasks: p.tasks ?? [],
    };
  }

  /** One poll as the Overlord object runs it: a reply (after the commit when asked), or "held". */
  poll(p: PollOptions = {}): PollReply | "held" {
    const out = this.o.core.runner.poll(this.request(p), this.key);
    this.lastOutcome = out;
    let reply: PollReply;
    if (out.kind === "reply") reply = out.reply;
    else if (out.kind === "replyAfterCommit") {
      this.o.commit();
      reply = this.o.core.runner.replyFor(out.host, out.counter, out.acks);
    } else return "held";
    this.apply(reply);
    return reply;
  }

  /** Takes a reply's position (as an agent applies it). */
  apply(reply: PollReply): void {
    this.term = reply.term;
    this.counter = reply.resetCounter ? null : reply.counter;
  }

  /** A poll that must be answered (not held). */
  answer(p: PollOptions = {}): PollReply {
    const r = this.poll(p);
    if (r === "held") throw new Error(`poll of ${this.host} was held`);
    return r;
  }
}

export const assigned = (r: PollReply | "held"): string[] =>
  r === "held" ? [] : (r.requests ?? []).flatMap((c) => (c.type === "assign" ? [c.taskId] : []));
export const shutdowns = (r: PollReply | "held"): string[] =>
  r === "held" ? [] : (r.requests ?? []).flatMap((c) => (c.type === "shutdown" ? [c.taskId] : []));

const LOC = { host: "10.0.0.1", port: 8100, tlsPort: -1 };
export const running = (id: string): TaskReport => ({ id, status: "RUNNING", duration: -1, errorMsg: null, location: LOC });
export const succeeded = (id: string, duration = 10): TaskReport => ({ id, status: "SUCCESS", duration, errorMsg: null, location: LOC });
export const failed = (id: string, errorMsg = "boom"): TaskReport => ({ id, status: "FAILED", duration: 10, errorMsg, location: LOC });

/** The DruidError `fn` throws (fails the test when it throws nothing or something else). */
export function druidError(fn: () => unknown): DruidError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DruidError) return err;
    throw err;
  }
  throw new Error("expected a DruidError");
}
