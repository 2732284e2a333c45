/**
 * The worker's poll: `POST /druid-internal/v1/agent/poll` with the agent token and the worker
 * key (docs/agent-protocol.md), sent as a long poll (agent/common/longPoll.ts); a 200 must be a
 * change-log snapshot.
 */
import { sendLongPoll } from "../common/longPoll.ts";
import type { PollResult } from "../common/pollLoop.ts";
import { WORKER_KEY_HEADER } from "../../src/protocol/headers.ts";
import type { PollAnswer, PollBody } from "../../src/protocol/agent.ts";

export interface PollTarget {
  overlord: string;
  token: string;
  /** The agent's secret identity (agent/worker/identity.ts). */
  workerKey: string;
  fetch: typeof fetch;
}

export function sendPoll(target: PollTarget, body: PollBody, controller: AbortController): Promise<PollResult<PollAnswer>> {
  return sendLongPoll(
    {
      url: `${target.overlord}/druid-internal/v1/agent/poll`,
      headers: { Authorization: `Bearer ${target.token}`, [WORKER_KEY_HEADER]: target.workerKey },
      body,
      holdMs: body.timeoutMs,
      fetch: target.fetch,
      parse: parsePollReply,
    },
    controller,
  );
}

/** Throws when a 200 body is not a poll answer (the loop then backs off and retries). */
function parsePollReply(body: unknown): PollAnswer {
  const r = body as Partial<PollAnswer> | null;
  if (!r || typeof r !== "object" || typeof r.term !== "number" || typeof r.resetCounter !== "boolean") {
    throw new Error("The poll answer is not a change-log snapshot");
  }
  if (!r.resetCounter && (r.counter === null || typeof r.counter !== "object" || !Array.isArray(r.requests))) {
    throw new Error("The poll answer has no counter or requests");
  }
  if (r.acks !== undefined && !Array.isArray(r.acks)) throw new Error("The poll answer's acks is not a list");
  return { ...r, acks: r.acks ?? [] } as PollAnswer;
}
