/**
 * Group commit: callers that changed memory ask to be answered once their
 * changes are durable. One flush runs at a time; everything decided while it runs forms the next
 * batch. A failed flush fails its callers *and* the batch collected behind it (those decisions
 * may build on the failed ones), after the owner has rebuilt its memory from storage.
 */
export interface GroupCommitHost<B> {
  /** Swap out the batch decided so far (synchronously). */
  take(): B;
  /** Make it durable. */
  write(batch: B): Promise<void>;
  /** The batch is durable: release what depended on it (runs before callers are resolved). */
  written(batch: B): void;
  /** The write failed: rebuild memory from storage before callers are failed. */
  recover(error: unknown): Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Commit delay, as PostgreSQL's commit_delay / commit_siblings: when at least `siblings` callers
 * are already waiting for a flush (a sign of concurrent load), wait `delayMs` before taking the
 * batch so that more join it: fewer, larger commits, each costing the same fixed overhead. A
 * lone caller is never delayed.
 */
export interface CommitDelay {
  delayMs: number;
  siblings: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export class GroupCommit<B> {
  private waiters: Waiter[] = [];
  private running = false;
  /** Statistics for benchmarks and the status endpoint. */
  flushes = 0;
  largestGroup = 0;
  /** Total time spent in `write` (ms), for the average commit latency. */
  writeMs = 0;

  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly host: GroupCommitHost<B>,
    private readonly delay: CommitDelay = { delayMs: 0, siblings: 2 },
  ) {
    this.sleep = delay.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  }

  /** Resolves when everything decided before this call is durable. */
  sync(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.running) {
        this.running = true;
        // Let every request that is already runnable decide first: they join this batch.
        queueMicrotask(() => void this.loop());
      }
    });
  }

  private async loop(): Promise<void> {
    try {
      while (this.waiters.length > 0) {
        if (this.delay.delayMs > 0 && this.waiters.length >= this.delay.siblings) await this.sleep(this.delay.delayMs);
        const group = this.waiters;
        this.waiters = [];
        const batch = this.host.take();
        this.flushes++;
        this.largestGroup = Math.max(this.largestGroup, group.length);
        const started = Date.now();
        try {
          await this.host.write(batch);
          this.writeMs += Date.now() - started;
        } catch (err) {
          const behind = this.waiters;
          this.waiters = [];
          try {
            await this.host.recover(err);
          } finally {
            for (const w of [...group, ...behind]) w.reject(err);
          }
          continue;
        }
        this.host.written(batch);
        for (const w of group) w.resolve();
      }
    } finally {
      this.running = false;
    }
  }
}
