/**
 * The Overlord's side of the worker poll (docs/agent-protocol.md): admitting the worker (its
 * key and lease), applying what the poll carries, and deciding how to answer — a reset, an
 * answer after the commit of what it changed, or holding it until its worker has news. The
 * answers themselves hold only changes already durable (`committedCounter`).
 */
import type { Counter, PollRequest } from "../protocol/agent.ts";
import type { WorkerChange } from "../platform/changeLog.ts";
import type { Fleet } from "./fleet.ts";
import { applyReport, type ReportDeps } from "./reports.ts";

/** A poll answer before its assignments are turned into task JSON with credentials. */
export interface PollReply {
  term: number;
  leaseMs: number;
  resetCounter: boolean;
  resetCause: string | null;
  counter: Counter | null;
  requests: WorkerChange[] | null;
  acks: string[];
}

export type PollOutcome =
  | { kind: "reply"; reply: PollReply }
  /** Statuses were applied: answer after the commit, with whatever is news by then. */
  | { kind: "replyAfterCommit"; host: string; counter: Counter | null; acks: string[]; stops?: string[] }
  | { kind: "hold"; host: string; counter: Counter; timeoutMs: number };

export interface PollDeps extends ReportDeps {
  fleet: Fleet;
  assignPending(): void;
}

function resetReply({ ctx }: PollDeps, cause: string): PollReply {
  return { term: ctx.term, leaseMs: ctx.config.workerLeaseMs, resetCounter: true, resetCause: cause, counter: null, requests: null, acks: [] };
}

/** One agent poll, from the agent holding `keyDigest`: lease, news, and what to answer. */
export function poll(d: PollDeps, req: PollRequest, keyDigest: string): PollOutcome {
  const { ctx, fleet, queue } = d;
  const now = ctx.now();
  const w = fleet.admit(req.worker, keyDigest, now);
  const term = ctx.term;
  const isFull = req.full || req.counter === null;
  if (!isFull && (req.term !== term || !w.synced)) {
    return { kind: "reply", reply: resetReply(d, req.term !== term ? `term changed to [${term}]` : "worker not synced in this term") };
  }
  const writesBefore = ctx.writes.size;
  const acks: string[] = [];
  if (isFull) {
    // A full list from the key holding the host names every task its agent started and still
    // holds (its journal vouches): a confirmed-running task it omits has disappeared; an
    // assignment it omits was never started and goes out again in the snapshot.
    const listed = new Set(req.tasks.map((t) => t.id));
    const stops: string[] = [];
    for (const r of req.tasks) applyReport(d, w, r, acks, stops);
    for (const id of [...w.slots.keys()]) {
      if (listed.has(id)) continue;
      const e = queue.active.get(id);
      if (e && e.worker === w.host && e.runner === "RUNNING") fleet.failOn(w, e, "This task disappeared on the worker where it was assigned");
      else if (!e) fleet.release(w, id); // finished earlier (e.g. shutdown): nothing left to stop
    }
    w.log.acknowledgeAll();
    w.synced = true;
    d.assignPending();
    return { kind: "replyAfterCommit", host: w.host, counter: null, acks, stops };
  }
  for (const r of req.tasks) applyReport(d, w, r, acks);
  const counter = req.counter!;
  const since = w.log.since(counter);
  if (since.reset) return { kind: "reply", reply: resetReply(d, since.cause) };
  w.log.acknowledge(counter);
  d.assignPending();
  const durableNews = w.log.since(counter, w.committedCounter);
  const hasDurableNews = !durableNews.reset && durableNews.changes.length > 0;
  if (ctx.writes.size !== writesBefore || acks.length > 0 || req.tasks.length > 0 || hasDurableNews) {
    return { kind: "replyAfterCommit", host: w.host, counter, acks };
  }
  return { kind: "hold", host: w.host, counter, timeoutMs: Math.min(req.timeoutMs, ctx.config.maxPollTimeoutMs) };
}

/** The answer for a worker positioned at `counter` (null: full snapshot); durable changes only. */
export function replyFor(d: PollDeps, host: string, counter: Counter | null, acks: string[], stops: string[] = []): PollReply {
  const { ctx, fleet, queue } = d;
  const w = fleet.workers.get(host);
  if (!w) return resetReply(d, "unknown worker");
  const base = { term: ctx.term, leaseMs: ctx.config.workerLeaseMs, resetCounter: false, resetCause: null, acks };
  if (counter === null) {
    const requests: WorkerChange[] = [{ type: "metadata", disabled: w.disabled }];
    for (const [id, slot] of w.slots) {
      if (slot.assignCounter > w.committedCounter) continue;
      const e = queue.active.get(id);
      if (e && e.worker === host) {
        slot.sent = true;
        requests.push({ type: "assign", taskId: id });
      } else requests.push({ type: "shutdown", taskId: id });
    }
    for (const id of stops) if (!w.slots.has(id)) requests.push({ type: "shutdown", taskId: id });
    return { ...base, counter: w.log.positionAt(w.committedCounter), requests };
  }
  const since = w.log.since(counter, w.committedCounter);
  if (since.reset) return resetReply(d, since.cause);
  for (const c of since.changes) {
    if (c.type !== "assign") continue;
    const slot = w.slots.get(c.taskId);
    if (slot) slot.sent = true;
  }
  return { ...base, counter: since.counter, requests: since.changes };
}

/** Whether a held poll at `counter` now has durable news. */
export function hasNews(fleet: Fleet, host: string, counter: Counter): boolean {
  const w = fleet.workers.get(host);
  if (!w) return true;
  const since = w.log.since(counter, w.committedCounter);
  return since.reset || since.changes.length > 0;
}
