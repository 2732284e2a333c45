/** TaskActions (Druid's task actions) over an in-memory SegmentPort. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TaskActions } from "../../src/overlord/taskActions.ts";
import { actionSchema } from "../../src/protocol/taskAction.ts";
import type { TaskEntry } from "../../src/overlord/types.ts";
import type { TaskLock } from "../../src/protocol/taskLocks.ts";
import type { SegmentIdWithShardSpec } from "../../src/segments/allocation.ts";
import { segmentIdOf, type DataSegment } from "../../src/segments/dataSegment.ts";
import { DruidError } from "../../src/shared/errors.ts";
import { MemorySegments } from "./support/memorySegments.ts";
import { indexTask, noop, overlord } from "./support/overlordHarness.ts";

const DAY1 = "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z";

function setup() {
  const o = overlord();
  const segments = new MemorySegments();
  let durable = 0;
  const actions = new TaskActions({ locks: o.core.queue, segments, now: o.now, durable: async () => void durable++, segmentsChanged: () => {} });
  return {
    o,
    segments,
    actions,
    durableCalls: () => durable,
    task(id: string, extra: Record<string, unknown> = {}): TaskEntry {
      o.submit(noop(id, { dataSource: "wiki", ...extra }));
      return o.entry(id);
    },
    act: (e: TaskEntry, a: Record<string, unknown>) => actions.perform(e, actionSchema.parse(a)),
  };
}

const seg = (version: string, interval = DAY1, partitionNum = 0): DataSegment => ({
  dataSource: "wiki",
  interval,
  version,
  shardSpec: { type: "numbered", partitionNum, partitions: 1 },
  loadSpec: { type: "r2", key: `k/${version}/${partitionNum}` },
  size: 10,
});

async function rejection(p: Promise<unknown>): Promise<DruidError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DruidError) return err;
    throw err;
  }
  throw new Error("expected a DruidError");
}

/** Lets queued promise callbacks run (no timers involved). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await Promise.resolve();
  if (!cond()) throw new Error("condition never became true");
}

describe("lock actions", () => {
  it("lockTryAcquire grants a free interval, persists it and waits for durability; a conflicting request gets null", async () => {
    const s = setup();
    const a = s.task("a");
    const b = s.task("b");
    const lock = (await s.act(a, { type: "lockTryAcquire", interval: DAY1 })) as TaskLock;
    expect(lock).toMatchObject({ type: "EXCLUSIVE", groupId: "a", interval: DAY1, revoked: false });
    expect(s.durableCalls()).toBe(1);
    expect([...s.o.core.ctx.writes.locks.values()].some((l) => l.taskId === "a" && l.lock?.interval === DAY1)).toBe(true);
    expect(await s.act(b, { type: "lockTryAcquire", interval: "2024-01-01T12:00:00Z/2024-01-03" })).toBeNull();
    expect(await s.act(a, { type: "lockList" })).toEqual([lock]);
  });

  it("refuses KILL locks from tasks", async () => {
    const s = setup();
    expect(await rejection(s.act(s.task("a"), { type: "lockTryAcquire", interval: DAY1, lockType: "KILL" }))).toMatchObject({ category: "INVALID_INPUT" });
  });

  it("lockRelease frees the interval and a task waiting for it becomes pending", async () => {
    const s = setup();
    const a = s.task("a");
    await s.act(a, { type: "lockTryAcquire", interval: DAY1 });
    s.o.submit(indexTask("idx", "2024-01-01/2024-01-02"));
    expect(s.o.entry("idx").runner).toBe("WAITING");
    expect(await s.act(a, { type: "lockRelease", interval: DAY1 })).toBeNull();
    expect(s.o.core.queue.lockbox.locksOf("a")).toEqual([]);
    expect(s.o.entry("idx").runner).toBe("PENDING");
  });

  it("a blocked lockAcquire is granted as soon as the holder releases", async () => {
    const s = setup();
    const a = s.task("a");
    const b = s.task("b");
    await s.act(a, { type: "lockTryAcquire", interval: DAY1 });
    let got: unknown = "not yet";
    const waiting = s.act(b, { type: "lockAcquire", interval: DAY1 }).then((l) => (got = l));
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(got).toBe("not yet");
    await s.act(a, { type: "lockRelease", interval: DAY1 });
    await waiting;
    expect(got).toMatchObject({ groupId: "b", interval: DAY1 });
  });
});

describe("segmentAllocate", () => {
  const allocate = (sequenceName: string, previousSegmentId: string | null) => ({
    type: "segmentAllocate",
    dataSource: "wiki",
    timestamp: "2024-01-01T10:00:00.000Z",
    preferredSegmentGranularity: "day",
    sequenceName,
    previousSegmentId,
  });

  it("is idempotent per sequence name and previous id, and allocates the next partition otherwise", async () => {
    const s = setup();
    const a = s.task("a");
    const first = (await s.act(a, allocate("seq", null))) as SegmentIdWithShardSpec;
    expect(first).toMatchObject({ dataSource: "wiki", interval: DAY1, shardSpec: { type: "numbered", partitionNum: 0 } });
    expect(s.o.core.queue.lockbox.locksOf("a")).toMatchObject([{ interval: DAY1, version: first.version }]);
    expect(await s.act(a, allocate("seq", null))).toEqual(first);
    expect(s.segments.pending).toHaveLength(1);
    const next = (await s.act(a, allocate("seq", segmentIdOf(first)))) as SegmentIdWithShardSpec;
    expect(next).toMatchObject({ version: first.version, shardSpec: { partitionNum: 1 } });
    const other = (await s.act(a, allocate("other-seq", null))) as SegmentIdWithShardSpec;
    expect(other.shardSpec.partitionNum).toBe(2);
    expect(await s.act(a, allocate("seq", segmentIdOf(first)))).toEqual(next);
  });

  it("allocates nothing for a task that cannot lock the interval", async () => {
    const s = setup();
    await s.act(s.task("a"), allocate("seq", null));
    expect(await s.act(s.task("b"), allocate("seq", null))).toBeNull();
  });
});

describe("publishing", () => {
  async function holding() {
    const s = setup();
    const a = s.task("a");
    const lock = (await s.act(a, { type: "lockTryAcquire", interval: DAY1 })) as TaskLock;
    return { ...s, a, lock };
  }

  it("refuses a publish without a covering live lock", async () => {
    const s = setup();
    const err = await rejection(s.act(s.task("a"), { type: "segmentTransactionalInsert", segments: [seg("2026-01-01T00:00:00.000Z")] }));
    expect(err).toMatchObject({ category: "FORBIDDEN", errorCode: "lockNotHeld" });
    expect(s.segments.segments.size).toBe(0);
  });

  it("publishes under a covering lock and refuses the same segments again", async () => {
    const s = await holding();
    const ok = await s.act(s.a, { type: "segmentTransactionalInsert", segments: [seg(s.lock.version)] });
    expect(ok).toMatchObject({ success: true, errorMsg: null });
    expect(s.segments.segments.get(segmentIdOf(seg(s.lock.version)))).toMatchObject({ used: true, taskId: "a" });
    const again = await s.act(s.a, { type: "segmentTransactionalInsert", segments: [seg(s.lock.version)] });
    expect(again).toMatchObject({ success: false, errorMsg: expect.stringContaining("already exists") });
  });

  it("refuses segments outside the lock, newer than its version, of another data source, or duplicated", async () => {
    const s = await holding();
    const insert = (segments: unknown[]) => rejection(s.act(s.a, { type: "segmentTransactionalInsert", segments }));
    expect(await insert([seg(s.lock.version, "2024-01-01T00:00:00.000Z/2024-01-03T00:00:00.000Z")])).toMatchObject({ errorCode: "lockNotHeld" });
    expect(await insert([seg("2099-01-01T00:00:00.000Z")])).toMatchObject({ errorCode: "lockNotHeld" });
    expect(await insert([{ ...seg(s.lock.version), dataSource: "other" }])).toMatchObject({ errorCode: "wrongDataSource" });
    expect(await insert([seg(s.lock.version), seg(s.lock.version)])).toMatchObject({ category: "INVALID_INPUT" });
    expect(s.segments.segments.size).toBe(0);
  });

  it("refuses a publish once a higher-priority task revoked the lock", async () => {
    const s = await holding();
    s.o.submit(indexTask("high", "2024-01-01/2024-01-02", { priority: 90 }));
    expect(s.o.core.queue.lockbox.locksOf("a")).toMatchObject([{ revoked: true }]);
    expect(await rejection(s.act(s.a, { type: "segmentTransactionalInsert", segments: [seg(s.lock.version)] }))).toMatchObject({ errorCode: "lockNotHeld" });
  });

  it("keeps the lock from being revoked while the publish is in flight", async () => {
    const s = await holding();
    const open = s.segments.gate("publish");
    const publishing = s.act(s.a, { type: "segmentTransactionalInsert", segments: [seg(s.lock.version)] });
    await until(() => s.segments.calls.includes("publish"));
    s.o.submit(indexTask("high", "2024-01-01/2024-01-02", { priority: 90 }));
    expect(s.o.entry("high").runner).toBe("WAITING");
    expect(s.o.core.queue.lockbox.locksOf("a")).toMatchObject([{ revoked: false }]);
    open();
    expect(await publishing).toMatchObject({ success: true });
    s.o.core.queue.finish(s.a, "SUCCESS", null);
    expect(s.o.entry("high").runner).toBe("PENDING");
  });

  it("nukes only unused segments", async () => {
    const s = await holding();
    const old = seg("2020-01-01T00:00:00.000Z");
    s.segments.put(old);
    expect(await rejection(s.act(s.a, { type: "segmentNuke", segments: [old] }))).toMatchObject({ category: "INVALID_INPUT", errorCode: "segmentUsed" });
    expect(s.segments.segments.size).toBe(1);
    expect(await s.act(s.a, { type: "markSegmentsAsUnused", dataSource: "wiki", interval: DAY1 })).toBe(1);
    expect(await s.act(s.a, { type: "segmentNuke", segments: [old] })).toBe(1);
    expect(s.segments.segments.size).toBe(0);
  });
});

describe("exclusive sections per data source", () => {
  it("runs sections of one data source one at a time, in order, while another data source proceeds", async () => {
    const { actions } = setup();
    const log: string[] = [];
    let openA!: () => void;
    const a = actions.exclusive("wiki", async () => {
      log.push("a start");
      await new Promise<void>((r) => (openA = r));
      log.push("a end");
      return "a";
    });
    const b = actions.exclusive("wiki", async () => (log.push("b"), "b"));
    const c = actions.exclusive("other", async () => (log.push("c"), "c"));
    await until(() => log.length === 2);
    expect(log).toEqual(["a start", "c"]);
    openA();
    expect(await Promise.all([a, b, c])).toEqual(["a", "b", "c"]);
    expect(log).toEqual(["a start", "c", "a end", "b"]);
  });

  it("makes a publish wait for a section holding its data source", async () => {
    const s = setup();
    const a = s.task("a");
    const lock = (await s.act(a, { type: "lockTryAcquire", interval: DAY1 })) as TaskLock;
    let open!: () => void;
    const section = s.actions.exclusive("wiki", () => new Promise<void>((r) => (open = r)));
    const publishing = s.act(a, { type: "segmentTransactionalInsert", segments: [seg(lock.version)] });
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(s.segments.calls).toEqual([]);
    open();
    await section;
    expect(await publishing).toMatchObject({ success: true });
  });

  it("never interleaves two sections of one data source, whatever they await or throw", async () => {
    const section = fc.record({ ds: fc.constantFrom("a", "b"), yields: fc.integer({ min: 0, max: 4 }), fails: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(section, { minLength: 1, maxLength: 12 }), async (sections) => {
        const { actions } = setup();
        const inside = new Map<string, number>();
        const order: Record<string, number[]> = { a: [], b: [] };
        const runs = sections.map((x, i) =>
          actions.exclusive(x.ds, async () => {
            inside.set(x.ds, (inside.get(x.ds) ?? 0) + 1);
            expect(inside.get(x.ds)).toBe(1);
            order[x.ds]!.push(i);
            for (let k = 0; k < x.yields; k++) await Promise.resolve();
            inside.set(x.ds, inside.get(x.ds)! - 1);
            if (x.fails) throw new Error(`section ${i}`);
            return i;
          }),
        );
        const results = await Promise.allSettled(runs);
        results.forEach((r, i) => expect(r.status).toBe(sections[i]!.fails ? "rejected" : "fulfilled"));
        for (const ds of ["a", "b"]) expect(order[ds]).toEqual(sections.flatMap((x, i) => (x.ds === ds ? [i] : [])));
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
