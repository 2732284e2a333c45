/**
 * Held long-polls, one per key (a worker's host, later a data node's): a poll with no news is
 * held until its key has news or its timeout passes (answered null: "no news", 204). A newer
 * poll for the same key supersedes the held one; a restart answers them all null. The object
 * decides when a key has news; this registry only keeps the promises and their timers.
 */
export interface HeldPoll<C, A> {
  /** Where the held poll is positioned (e.g. the change-log counter it named). */
  readonly position: C;
  resolve(answer: A | null): void;
}

export class HeldPolls<C, A> {
  private readonly held = new Map<string, { poll: HeldPoll<C, A>; timer: ReturnType<typeof setTimeout> }>();

  has(key: string): boolean {
    return this.held.has(key);
  }

  /** The position of the poll held for `key`, if any. */
  positionOf(key: string): C | undefined {
    return this.held.get(key)?.poll.position;
  }

  /** Holds a poll for `key` (registered synchronously: a commit landing during any await finds it). */
  hold(key: string, position: C, timeoutMs: number): Promise<A | null> {
    this.supersede(key);
    return new Promise<A | null>((resolve) => {
      const timer = setTimeout(() => {
        if (this.held.get(key)?.timer === timer) this.held.delete(key);
        resolve(null);
      }, timeoutMs);
      this.held.set(key, { poll: { position, resolve }, timer });
    });
  }

  /** A newer poll for `key` arrived: the held one is answered "no news". */
  supersede(key: string): void {
    this.take(key)?.resolve(null);
  }

  /** Removes and returns the poll held for `key`, to be answered by the caller. */
  take(key: string): HeldPoll<C, A> | undefined {
    const h = this.held.get(key);
    if (!h) return undefined;
    clearTimeout(h.timer);
    this.held.delete(key);
    return h.poll;
  }

  /** Answers every held poll "no news" (a restart: their positions mean nothing any more). */
  releaseAll(): void {
    for (const key of [...this.held.keys()]) this.supersede(key);
  }
}
