/**
 * SegmentSync (objects/coordinator/segmentSync.ts) against a fake `segments` table: D1 reads that
 * fail in the middle of a multi-page sync, the coalescing of syncs after a failure, and a pass
 * whose read answers after another pass already applied newer rows.
 */
import { describe, expect, it } from "vitest";
import { SegmentView } from "../../src/coordinator/segmentView.ts";
import type { SegmentChangeRow, SegmentStore } from "../../src/metadata/segmentStore.ts";
import { SegmentSync } from "../../src/objects/coordinator/segmentSync.ts";
import { formatSegmentId } from "../../src/segments/segmentId.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

interface Seg { dataSource: string; day: number; version: string; partitionNum: number; partitions: number }

/**
 * The `segments` table as SegmentStore.changesSince reads it: each write takes the next change
 * sequence, reads are keyset pages in (change_seq, id) order. `failReads` makes the numbered
 * reads (1-based, counted over the store's life) throw; `holdNextRead` answers the next read with
 * the rows as they are now, but only once the test releases it.
 */
class FakeSegments {
  readonly rows = new Map<string, SegmentChangeRow>();
  readonly reads: Array<[number, string, number]> = [];
  private seq = 0;
  private readonly failing = new Set<number>();
  private held: Promise<void> | null = null;

  publish(...segs: Seg[]): string[] {
    const seq = ++this.seq; // one statement per publish: its rows share a sequence
    return segs.map((s) => {
      const id = formatSegmentId({ dataSource: s.dataSource, interval: { start: T0 + s.day * DAY, end: T0 + (s.day + 1) * DAY }, version: s.version, partitionNum: s.partitionNum });
      this.rows.set(id, {
        id, datasource: s.dataSource, start_ms: T0 + s.day * DAY, end_ms: T0 + (s.day + 1) * DAY, version: s.version, partition_num: s.partitionNum,
        used: 1, change_seq: seq, size: 10, core_partitions: s.partitions,
      });
      return id;
    });
  }

  markUnused(...ids: string[]): void {
    const seq = ++this.seq;
    for (const id of ids) {
      const r = this.rows.get(id)!;
      if (r.used === 1) this.rows.set(id, { ...r, used: 0, change_seq: seq });
    }
  }

  /** Deletes rows (a kill), raising the floor to the highest change sequence among them, as SegmentStore.nuke does. */
  kill(...ids: string[]): void {
    for (const id of ids) {
      const r = this.rows.get(id);
      if (!r) continue;
      this.floor = Math.max(this.floor, r.change_seq);
      this.rows.delete(id);
    }
  }

  /** Resolves once a read has been taken since the store was made (reads start after a floor read). */
  async readTaken(): Promise<void> {
    while (this.reads.length === 0) await Promise.resolve();
  }

  floor = 0;
  async deletedThrough(): Promise<number> {
    return this.floor;
  }

  failReads(...numbers: number[]): void {
    for (const n of numbers) this.failing.add(n);
  }

  /** The next read takes its rows at once and answers when the returned function is called. */
  holdNextRead(): () => void {
    let release!: () => void;
    this.held = new Promise<void>((r) => (release = r));
    return release;
  }

  async changesSince(afterSeq: number, afterId: string, limit: number): Promise<SegmentChangeRow[]> {
    this.reads.push([afterSeq, afterId, limit]);
    const n = this.reads.length;
    const page = [...this.rows.values()]
      .filter((r) => r.change_seq > afterSeq || (r.change_seq === afterSeq && r.id > afterId))
      .sort((a, b) => a.change_seq - b.change_seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit);
    const held = this.held;
    this.held = null;
    if (held) await held;
    else await Promise.resolve();
    if (this.failing.has(n)) throw new Error(`D1_ERROR: read ${n} failed`);
    return page;
  }

  usedIds(): string[] {
    return [...this.rows.values()].filter((r) => r.used === 1).map((r) => r.id).sort();
  }

  /** Overshadowed segments among the used rows, by a view built from scratch. */
  overshadowedCount(): number {
    const v = new SegmentView();
    for (const r of this.rows.values()) {
      if (r.used === 1) v.upsert({ dataSource: r.datasource, start: r.start_ms, end: r.end_ms, version: r.version, partitionNum: r.partition_num, corePartitions: r.core_partitions, size: 10, used: true });
    }
    return v.overshadowedCount();
  }

  maxSeq(): number {
    return this.seq;
  }
}

function viewIds(v: SegmentView): string[] {
  return v.dataSources().flatMap((ds) => [...v.slotsOf(ds)].map((s) => v.idOf(s))).sort();
}

function syncOver(store: FakeSegments, pageSize: number) {
  let clock = 1_000;
  const synced: number[] = [];
  const sync = new SegmentSync(store as unknown as SegmentStore, () => clock, async () => void synced.push(clock), { pageSize });
  return { sync, synced, tick: () => ++clock };
}

/** Seven rows in seven statements, so a page of 3 ends inside the data: pages of 3, 3, 1. */
function sevenSegments(store: FakeSegments): string[] {
  const ids: string[] = [];
  for (let day = 0; day < 3; day++) ids.push(...store.publish({ dataSource: "wiki", day, version: "v1", partitionNum: 0, partitions: 2 }), ...store.publish({ dataSource: "wiki", day, version: "v1", partitionNum: 1, partitions: 2 }));
  ids.push(...store.publish({ dataSource: "wiki", day: 0, version: "v2", partitionNum: 0, partitions: 1 }));
  return ids;
}

describe("SegmentSync when a D1 read fails in the middle of a multi-page sync", () => {
  it("keeps the view at the last whole page applied, does not move the watermark past it, and reports no sync", async () => {
    const store = new FakeSegments();
    const ids = sevenSegments(store);
    const { sync, synced } = syncOver(store, 3);
    store.failReads(2);
    await expect(sync.sync()).rejects.toThrow(/read 2 failed/);
    expect(viewIds(sync.view)).toEqual(ids.slice(0, 3).sort());
    expect(sync.watermarkSeq).toBe(store.rows.get(ids[2]!)!.change_seq);
    expect(sync.lastSyncAt).toBe(0);
    expect(synced).toEqual([]);
  });

  it("retries from the failed page on the next sync and converges to exactly the table, changes made meanwhile included", async () => {
    const store = new FakeSegments();
    const ids = sevenSegments(store);
    const { sync, synced, tick } = syncOver(store, 3);
    store.failReads(2);
    await expect(sync.sync()).rejects.toThrow();
    const failedRead = store.reads[1]!;
    // meanwhile: a row of the applied page goes unused, one of the unread pages too, and a new version lands
    store.markUnused(ids[0]!, ids[4]!);
    const [v3] = store.publish({ dataSource: "wiki", day: 1, version: "v3", partitionNum: 0, partitions: 1 });
    tick();
    await sync.sync();
    expect(store.reads[2]).toEqual(failedRead); // the retry reads from where the failed read did
    expect(viewIds(sync.view)).toEqual(store.usedIds());
    expect(viewIds(sync.view)).toContain(v3);
    expect(sync.view.overshadowedCount()).toBe(store.overshadowedCount());
    expect(sync.view.overshadowedCount()).toBe(3); // day 0: v1 p1 under v2 (p0 went unused); day 1: v1 p0 and p1 under v3
    expect(sync.watermarkSeq).toBe(store.maxSeq());
    expect(synced).toEqual([1_001]);
  });

  it("converges whichever page fails: every read of a nine-page sync failing once in turn", async () => {
    for (let failing = 1; failing <= 9; failing++) {
      const store = new FakeSegments();
      for (let day = 0; day < 8; day++) {
        store.publish({ dataSource: "a", day, version: "v1", partitionNum: 0, partitions: 1 });
        store.publish({ dataSource: "b", day, version: day % 2 ? "v1" : "v2", partitionNum: 0, partitions: 1 });
      }
      store.publish({ dataSource: "a", day: 3, version: "v2", partitionNum: 0, partitions: 1 });
      const { sync } = syncOver(store, 2); // 17 rows: pages of 2, the ninth of 1
      store.failReads(failing);
      await expect(sync.sync(), `read ${failing}`).rejects.toThrow();
      const applied = viewIds(sync.view);
      expect(applied, `read ${failing}`).toHaveLength(2 * (failing - 1));
      await sync.sync();
      expect(viewIds(sync.view), `read ${failing}`).toEqual(store.usedIds());
      expect(sync.view.overshadowedCount(), `read ${failing}`).toBe(1);
      expect(store.reads, `read ${failing}`).toHaveLength(10);
    }
  });
});

describe("SegmentSync's coalescing after a failed sync", () => {
  it("fails every caller that joined the failed run and runs a fresh pass on the next request (nothing stays running)", async () => {
    const store = new FakeSegments();
    sevenSegments(store);
    const { sync, synced } = syncOver(store, 3);
    const release = store.holdNextRead();
    store.failReads(1);
    const first = sync.sync();
    const joined = sync.sync(); // arrives while the first run waits on D1: coalesced into it
    release();
    await expect(first).rejects.toThrow(/read 1 failed/);
    await expect(joined).rejects.toThrow(/read 1 failed/);
    expect(store.reads).toHaveLength(1);
    await sync.sync();
    expect(viewIds(sync.view)).toEqual(store.usedIds());
    expect(synced).toHaveLength(1);
    expect(store.reads.slice(1).map((r) => r[0])).toEqual([-1, 3, 6]); // the next request started over from the unmoved watermark
  });

  it("makes exactly one more pass for requests that arrive during a run, and a failure in that pass frees the next one", async () => {
    const store = new FakeSegments();
    sevenSegments(store);
    const { sync } = syncOver(store, 10);
    const release = store.holdNextRead();
    const first = sync.sync();
    await store.readTaken(); // the run's first page is read (the deletion floor is read before it)
    store.publish({ dataSource: "wiki", day: 5, version: "v1", partitionNum: 0, partitions: 1 });
    const again = sync.sync();
    store.failReads(2); // the extra pass's read
    release();
    await expect(first).rejects.toThrow(/read 2 failed/);
    await expect(again).rejects.toThrow(/read 2 failed/);
    expect(sync.view.size).toBe(7); // the first pass's page stands
    await sync.sync();
    expect(viewIds(sync.view)).toEqual(store.usedIds());
    expect(sync.view.size).toBe(8);
  });
});

describe("SegmentSync with passes that overlap", () => {
  it("does not apply a page read before another pass applied newer rows (once() beside a running sync())", async () => {
    // the Coordinator's duty calls once() after marking while a nudge's sync() may be running
    const store = new FakeSegments();
    const [x] = store.publish({ dataSource: "wiki", day: 0, version: "v1", partitionNum: 0, partitions: 1 });
    const { sync } = syncOver(store, 10);
    await sync.sync();
    const [y] = store.publish({ dataSource: "wiki", day: 1, version: "v1", partitionNum: 0, partitions: 1 });
    const release = store.holdNextRead();
    const stale = sync.once(); // reads y (used) now, answers later
    store.markUnused(y!);
    await sync.sync(); // reads y unused, removes it, moves the watermark past it
    expect(viewIds(sync.view)).toEqual([x]);
    release();
    await stale;
    expect(viewIds(sync.view)).toEqual(store.usedIds());
    expect(sync.watermarkSeq).toBe(store.maxSeq());
  });
});

describe("SegmentSync when segment rows are deleted (a kill leaves no change row)", () => {
  it("rebuilds the view when a segment marked unused was deleted before the view read that change", async () => {
    const store = new FakeSegments();
    const ids = sevenSegments(store);
    const { sync } = syncOver(store, 3);
    await sync.sync();
    store.markUnused(ids[1]!);
    store.kill(ids[1]!); // marked and deleted between two syncs: its unused state is never read
    await sync.sync();
    expect(viewIds(sync.view)).toEqual(store.usedIds());
    expect(viewIds(sync.view)).not.toContain(ids[1]);
    expect(sync.rebuilds).toBe(1);
  });

  it("does not rebuild when the view had read every deleted row's last change", async () => {
    const store = new FakeSegments();
    const ids = sevenSegments(store);
    const { sync } = syncOver(store, 3);
    await sync.sync();
    store.markUnused(ids[1]!, ids[2]!);
    await sync.sync();
    store.kill(ids[1]!, ids[2]!);
    store.publish({ dataSource: "wiki", day: 5, version: "v1", partitionNum: 0, partitions: 1 });
    await sync.sync();
    expect(viewIds(sync.view)).toEqual(store.usedIds());
    expect(sync.rebuilds).toBe(0);
  });

  it("rebuilds when a deletion happened during the cold load, so a row read as used and then deleted does not stay", async () => {
    const store = new FakeSegments();
    const ids = sevenSegments(store);
    const { sync } = syncOver(store, 3);
    const release = store.holdNextRead(); // the first page (ids 0–2 as used) is taken, then answered late
    const pass = sync.sync();
    await Promise.resolve();
    store.markUnused(ids[0]!);
    store.kill(ids[0]!); // gone before the pages reach its new sequence
    release();
    await pass;
    expect(viewIds(sync.view)).toEqual(store.usedIds());
    expect(sync.rebuilds).toBe(1);
  });

  it("goes on from a restored position: a deletion of a row whose change it had read needs no rebuild, one past it does", async () => {
    const store = new FakeSegments();
    const ids = sevenSegments(store);
    const saved = syncOver(store, 3).sync;
    await saved.sync();
    store.markUnused(ids[3]!);
    await saved.sync(); // the saved view read ids[3]'s unused change
    store.kill(ids[3]!);
    const fine = syncOver(store, 3).sync;
    fine.restore(saved.view, saved.position());
    await fine.sync();
    expect(fine.rebuilds).toBe(0);
    expect(viewIds(fine.view)).toEqual(store.usedIds());

    const at = fine.position(); // taken before ids[5] changes
    const snapshotView = fine.view;
    store.markUnused(ids[5]!);
    store.kill(ids[5]!);
    const restored = syncOver(store, 3).sync;
    restored.restore(snapshotView, at);
    await restored.sync();
    expect(restored.rebuilds).toBe(1);
    expect(viewIds(restored.view)).toEqual(store.usedIds());
    expect(viewIds(restored.view)).not.toContain(ids[5]);
  });
});
