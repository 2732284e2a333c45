/**
 * Tasks that are ready (locks held) and wait for a worker slot, in Druid's order: highest
 * priority first, then submission order. Buckets per priority make push O(1) and pop amortised
 * O(1); removal is lazy (a removed id is skipped when reached).
 */
export class PendingQueue {
  private readonly buckets = new Map<number, { ids: string[]; head: number }>();
  private priorities: number[] = [];
  private readonly members = new Set<string>();

  get size(): number {
    return this.members.size;
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  push(id: string, priority: number): void {
    if (this.members.has(id)) return;
    let b = this.buckets.get(priority);
    if (!b) {
      b = { ids: [], head: 0 };
      this.buckets.set(priority, b);
      this.priorities.push(priority);
      this.priorities.sort((a, c) => c - a);
    }
    b.ids.push(id);
    this.members.add(id);
  }

  remove(id: string): void {
    this.members.delete(id);
  }

  /** Iterates live ids in order; the callback returns "stop" to end early. Safe against removal during iteration. */
  forEach(fn: (id: string) => "stop" | void): void {
    for (const p of [...this.priorities]) {
      const b = this.buckets.get(p);
      if (!b) continue;
      // compact the head of the bucket
      while (b.head < b.ids.length && !this.members.has(b.ids[b.head]!)) b.head++;
      if (b.head > 1024 && b.head * 2 > b.ids.length) {
        b.ids = b.ids.slice(b.head);
        b.head = 0;
      }
      for (let i = b.head; i < b.ids.length; i++) {
        const id = b.ids[i]!;
        if (!this.members.has(id)) continue;
        if (fn(id) === "stop") return;
      }
      if (b.head >= b.ids.length) {
        this.buckets.delete(p);
        this.priorities = this.priorities.filter((x) => x !== p);
      }
    }
  }

  ids(): string[] {
    const out: string[] = [];
    this.forEach((id) => {
      out.push(id);
    });
    return out;
  }
}
