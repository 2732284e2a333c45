/**
 * The Overlord's agent polls on the host side: admitting a poll under its worker key, holding a
 * poll that has no news, and answering it — at once, after the commit of what it changed, or
 * when a commit makes its worker's news durable (`wake`). Poll answers are built by PollAnswers.
 */
import type { OverlordCore } from "../../overlord/overlordCore.ts";
import type { WriteSet } from "../../overlord/writes.ts";
import type { Counter } from "../../platform/changeLog.ts";
import { HeldPolls } from "../../platform/heldPolls.ts";
import type { PollRequest } from "../../protocol/agent.ts";
import type { TaskCredentials } from "../../shared/credentials.ts";
import { WorkerKeyDigests } from "../../shared/workerKey.ts";
import { PollAnswers } from "./pollAnswers.ts";

export interface AgentPollsHost {
  core(): OverlordCore;
  now(): number;
  /** Waits for the group commit (and reschedules the alarm). */
  durable(): Promise<void>;
  reschedule(): Promise<void>;
}

export class AgentPolls {
  readonly workerKeys = new WorkerKeyDigests();
  /** Held polls by worker host; each answers with JSON text, or null for "no news". */
  private readonly held = new HeldPolls<Counter, string>();
  private readonly answers: PollAnswers;

  constructor(
    private readonly host: AgentPollsHost,
    credentials: TaskCredentials,
  ) {
    this.answers = new PollAnswers(() => host.core(), credentials, () => void host.durable().catch(() => undefined));
  }

  isHeld(workerHost: string): boolean {
    return this.held.has(workerHost);
  }

  /** A restart: every held poll is answered "no news" (their positions mean nothing any more). */
  releaseAll(): void {
    this.held.releaseAll();
  }

  /** Credentials of the assignments in a write set are computed while it commits. */
  prepare(ws: WriteSet): void {
    this.answers.prepare(ws);
  }

  /** One agent poll (docs/agent-protocol.md): the answer's JSON text, or null for "no news" (204). */
  async poll(req: PollRequest, workerKey: string): Promise<string | null> {
    const keyDigest = await this.workerKeys.digest(workerKey);
    const core = this.host.core();
    const outcome = core.runner.poll(req, keyDigest);
    core.storeInlineLogs(req, this.host.now());
    const workerHost = req.worker.host;
    this.held.supersede(workerHost);
    if (outcome.kind === "reply") {
      await this.host.reschedule();
      return this.answers.build(outcome.reply);
    }
    if (outcome.kind === "replyAfterCommit") {
      await this.host.durable();
      return this.answers.build(this.host.core().runner.replyFor(outcome.host, outcome.counter, outcome.acks, outcome.stops));
    }
    const answer = this.held.hold(workerHost, outcome.counter, outcome.timeoutMs);
    await this.host.reschedule();
    return answer;
  }

  /** Answers a held poll if its worker has durable news (after a commit). */
  wake(workerHost: string): void {
    const counter = this.held.positionOf(workerHost);
    const runner = this.host.core().runner;
    if (counter === undefined || !runner.hasNews(workerHost, counter)) return;
    const h = this.held.take(workerHost)!;
    const reply = runner.replyFor(workerHost, counter, []);
    // Credentials were prepared while the commit ran: answer synchronously, so the agent's
    // answer leaves before the submitter's (both wait for the same commit).
    const ready = this.answers.buildNow(reply);
    if (ready !== null) h.resolve(ready);
    else void this.answers.build(reply).then(h.resolve, () => h.resolve(null));
  }
}
