/**
 * A long-poll loop, as Druid's ChangeRequestHttpSyncer runs it with the direction reversed (the
 * agent asks, the server holds the request until it has something to say). Each turn sends the
 * poll the caller built; an answer (200, or 204 "no news") goes to that poll's own handler and
 * the next poll leaves at once; a refusal or a network failure is reported and retried after a
 * jittered exponential backoff (100 ms doubling to 5 s) that only stopping cuts short.
 *
 * News of the agent's own never waits for a held poll: `news()` aborts a poll the server may be
 * holding (after a short debounce, so that a burst of events shares one poll) and the next one
 * leaves at once; `pollNow()` aborts whatever poll is out. What a poll carries and what an
 * answer does are the caller's, so one loop serves every kind of agent.
 */
import { Backoff } from "./backoff.ts";
import { waitOrAbort, type Sleep } from "./waiters.ts";

/** One poll, reduced to what the loop decides on. */
export type PollResult<A> =
  | { kind: "reply"; reply: A }
  | { kind: "noNews" }
  | { kind: "refused"; status: number; message: string }
  | { kind: "failed"; error: string }
  /** Aborted by the agent itself (news to send, or stopping): not a failure. */
  | { kind: "aborted"; reason: unknown };

export type PollProblem = Extract<PollResult<unknown>, { kind: "refused" | "failed" }>;

export interface Poll<A> {
  /** The server answers this poll at once (it carries news itself): more news never aborts it. */
  readonly answeredAtOnce: boolean;
  /**
   * Sends it. The loop aborts `controller` with a non-Error reason (news, stop), which must come
   * back as `aborted`; the sender may abort it with an Error of its own (a guard timer): `failed`.
   */
  send(controller: AbortController): Promise<PollResult<A>>;
  /**
   * The server answered: `answer` for a 200, null for a 204. "backOff" waits one backoff step
   * before the next poll (a server that keeps answering the same way must not make us spin).
   */
  answered(answer: A | null): void | "backOff";
}

export interface PollLoopOptions<A> {
  /** The next poll, built at the top of each turn (it may wait first, e.g. for news about to happen). */
  next(): Poll<A> | Promise<Poll<A>>;
  /** A poll was refused or failed; the loop backs off, then polls again (it never gives up). */
  failed(problem: PollProblem): void;
  /** Backoff jitter (default Math.random). */
  random?: () => number;
  /** The wait between retries; must resolve early once `signal` aborts (default waitOrAbort). */
  sleep?: Sleep;
  /** Debounce between `news()` and the abort of a held poll (default 2 ms). */
  newsDebounceMs?: number;
}

/** Abort reasons of the loop's own (not Errors, so a sender tells them from a lost poll). */
export const ABORT_FOR_NEWS = "news";
export const ABORT_FOR_STOP = "stop";

export class PollLoop<A> {
  private readonly stopping = new AbortController();
  private readonly backoff: Backoff;
  private readonly sleep: Sleep;
  private readonly newsDebounceMs: number;
  private inflight: { controller: AbortController; answeredAtOnce: boolean } | null = null;
  private newsTimer: ReturnType<typeof setTimeout> | null = null;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PollLoopOptions<A>) {
    this.backoff = new Backoff(100, 5000, opts.random ?? Math.random);
    this.sleep = opts.sleep ?? waitOrAbort;
    this.newsDebounceMs = opts.newsDebounceMs ?? 2;
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  start(): void {
    this.done = this.run();
  }

  /** Something to tell: a poll the server may be holding is aborted within the debounce, and the next leaves at once. */
  news(): void {
    if (this.newsTimer) return;
    this.newsTimer = setTimeout(() => {
      this.newsTimer = null;
      if (this.inflight && !this.inflight.answeredAtOnce) this.inflight.controller.abort(ABORT_FOR_NEWS);
    }, this.newsDebounceMs);
  }

  /** Aborts whatever poll is out, now, so that the next one (built afresh) leaves at once. */
  pollNow(): void {
    this.inflight?.controller.abort(ABORT_FOR_NEWS);
  }

  /** Ends the loop: the poll out and a backoff wait are cut short; resolves once the loop has returned. */
  async stop(): Promise<void> {
    this.stopping.abort(ABORT_FOR_STOP);
    this.inflight?.controller.abort(ABORT_FOR_STOP);
    if (this.newsTimer) clearTimeout(this.newsTimer);
    this.newsTimer = null;
    await this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const poll = await this.opts.next();
      if (this.stopped) break;
      const controller = new AbortController();
      this.inflight = { controller, answeredAtOnce: poll.answeredAtOnce };
      const result = await poll.send(controller);
      this.inflight = null;
      if (result.kind === "aborted") continue;
      if (result.kind === "failed" || result.kind === "refused") {
        this.opts.failed(result);
        await this.sleep(this.backoff.next(), this.stopping.signal);
        continue;
      }
      this.backoff.reset();
      if (poll.answered(result.kind === "reply" ? result.reply : null) === "backOff") await this.sleep(this.backoff.next(), this.stopping.signal);
    }
  }
}
