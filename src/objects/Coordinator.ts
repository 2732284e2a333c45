/**
 * The Coordinator Durable Object: one in the world (`getByName("coordinator")`), a leader by
 * construction like the Overlord. Each incarnation takes the next term and goes through named
 * stages before it serves. It decides from segment metadata (read from D1; the Overlord stays
 * the one writer of `segments`) and asks the Overlord for every change, with its term, so a
 * superseded incarnation cannot write.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { systemClock, type Clock } from "../platform/clock.ts";
import { nextTerm } from "../platform/leadership.ts";
import { Lifecycle } from "../platform/lifecycle.ts";
import { toIso } from "../shared/intervals.ts";

/** Druid's Coordinator lifecycle (INIT → NORMAL → SERVER → ANNOUNCEMENTS), in this object's terms. */
export const COORDINATOR_STAGES = ["starting", "termTaken", "metadataSynced", "serving", "dutiesStarted"] as const;
export type CoordinatorStage = (typeof COORDINATOR_STAGES)[number];

export interface ObjectStatus {
  term: number;
  stage: string;
  startedAt: string;
  stages: Array<{ stage: string; at: string }>;
}

export class Coordinator extends DurableObject<Env> {
  /** The object's time (tests give it a moved clock instead of sleeping). */
  clock: Clock = systemClock;
  term = 0;
  lifecycle: Lifecycle<CoordinatorStage>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.lifecycle = new Lifecycle(COORDINATOR_STAGES, () => this.clock.now());
    void ctx.blockConcurrencyWhile(() => this.becomeLeader());
  }

  /** Druid's becomeLeader: next term, then the metadata it decides from, then serving. */
  private async becomeLeader(): Promise<void> {
    this.lifecycle = new Lifecycle(COORDINATOR_STAGES, () => this.clock.now());
    this.term = await nextTerm(this.ctx.storage);
    this.lifecycle.reach("termTaken");
    // The segment view, rules and dynamic config are rebuilt here (issue 14's next steps).
    this.lifecycle.reach("metadataSynced");
    this.lifecycle.reach("serving");
    this.lifecycle.reach("dutiesStarted");
  }

  async status(): Promise<ObjectStatus> {
    const history = this.lifecycle.history();
    return { term: this.term, stage: this.lifecycle.stage, startedAt: toIso(history[0]!.at), stages: history.map((h) => ({ stage: h.stage, at: toIso(h.at) })) };
  }
}
