/**
 * A per-worker change log with Druid's ChangeRequestHistory semantics: every change gets a
 * counter (n+1) and a hash; a reader names the last (counter, hash) it applied and gets what
 * came after, or a reset when its position is stale, from the future or unknown. Entries the
 * reader has acknowledged (by naming a later counter) are dropped; at most `maxSize` are kept.
 */
export interface Counter {
  counter: number;
  hash: number;
}

export type WorkerChange =
  | { type: "assign"; taskId: string }
  | { type: "shutdown"; taskId: string }
  | { type: "metadata"; disabled: boolean };

interface Entry {
  counter: number;
  hash: number;
  change: WorkerChange;
}

export type ChangesSince =
  | { reset: false; counter: Counter; changes: WorkerChange[] }
  | { reset: true; cause: string };

export class ChangeLog {
  private entries: Entry[] = [];
  private last: Counter = { counter: 0, hash: 0 };
  /** Counter below which entries were dropped (acknowledged or trimmed). */
  private floor: Counter = { counter: 0, hash: 0 };

  constructor(
    private readonly hashSeed: () => number,
    private readonly maxSize = 1000,
  ) {}

  get lastCounter(): Counter {
    return this.last;
  }

  append(change: WorkerChange): Counter {
    const next = { counter: this.last.counter + 1, hash: this.hashSeed() * 1000 + ((this.last.counter + 1) % 1000) };
    this.entries.push({ ...next, change });
    this.last = next;
    if (this.entries.length > this.maxSize) {
      const dropped = this.entries.splice(0, this.entries.length - this.maxSize);
      const tail = dropped[dropped.length - 1]!;
      this.floor = { counter: tail.counter, hash: tail.hash };
    }
    return next;
  }

  /**
   * The changes after `from`, up to and including counter `limit` (changes past it are not yet
   * durable and must not be handed out). The returned counter is the last change included.
   */
  since(from: Counter, limit = Infinity): ChangesSince {
    if (from.counter === this.last.counter) {
      if (from.hash !== this.last.hash) return { reset: true, cause: `counter[${from.counter}] failed to match with [${this.last.counter}]` };
      return { reset: false, counter: this.last, changes: [] };
    }
    if (from.counter > this.last.counter) return { reset: true, cause: "counter > last counter" };
    if (from.counter < this.floor.counter) return { reset: true, cause: "not enough history is kept" };
    let at: number;
    if (from.counter === this.floor.counter) {
      if (from.hash !== this.floor.hash) return { reset: true, cause: "counter hash mismatch" };
      at = -1;
    } else {
      at = this.entries.findIndex((e) => e.counter === from.counter);
      if (at < 0 || this.entries[at]!.hash !== from.hash) return { reset: true, cause: "counter hash mismatch" };
    }
    const changes: WorkerChange[] = [];
    let counter: Counter = from;
    for (let i = at + 1; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.counter > limit) break;
      changes.push(e.change);
      counter = { counter: e.counter, hash: e.hash };
    }
    return { reset: false, counter, changes };
  }

  /** The position of counter value `n` (the floor or a kept entry), for snapshots limited to `n`. */
  positionAt(n: number): Counter {
    if (n >= this.last.counter) return this.last;
    if (n <= this.floor.counter) return this.floor;
    const e = this.entries.find((x) => x.counter === n);
    return e ? { counter: e.counter, hash: e.hash } : this.floor;
  }

  /** The reader has applied everything up to `upTo`: forget it. */
  acknowledge(upTo: Counter): void {
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.counter <= upTo.counter) n++;
    if (n === 0) return;
    const tail = this.entries[n - 1]!;
    if (tail.counter !== upTo.counter || tail.hash !== upTo.hash) return;
    this.entries.splice(0, n);
    this.floor = { counter: tail.counter, hash: tail.hash };
  }

  /** After a full snapshot the reader is at `last`: nothing older is needed. */
  acknowledgeAll(): void {
    this.entries = [];
    this.floor = { ...this.last };
  }
}
