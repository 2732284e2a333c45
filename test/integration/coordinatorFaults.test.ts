/**
 * Faults around the Coordinator's segment view and its historical duty, in the real objects over
 * D1: D1 reads failing in the middle of a multi-page sync, the Coordinator restarted between two
 * data sources of a markOvershadowedUnused run, a mark the Overlord fails half way, and the duty
 * run again (alarms are at-least-once).
 *
 * Determinism: segments are seeded straight into D1 (no publish nudges the view behind the
 * test's back), and the Coordinator runs its duties only when the test calls its alarm: each
 * test moves the object's clock past millisToWaitBeforeDeleting and stops it setting its own
 * alarm (with overshadowed segments in view every sync brings the duty forward, and the runtime
 * would run it at a moment of its choosing). The marks are observed where they are written: the
 * Overlord's segment store (setUsedByIds).
 */
import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { SegmentStore } from "../../src/metadata/segmentStore.ts";
import { OverlordClient } from "../../src/objects/coordinator/overlordClient.ts";
import { segmentIdOf } from "../../src/segments/dataSegment.ts";
import { laterClock, systemClock } from "../../src/platform/clock.ts";
import { coordinatorStub, overlordStub, rows, uniqueDs } from "./helpers.ts";
import { segment } from "./taskRuns.ts";

const MINUTE = 60_000;
/** Past Druid's default millisToWaitBeforeDeleting (15 min) and the historical period (60 s). */
const LEADER_OLD_ENOUGH = 16 * MINUTE;

const dayOf = (d: number) => `2024-08-${String(d + 1).padStart(2, "0")}T00:00:00.000Z/2024-08-${String(d + 2).padStart(2, "0")}T00:00:00.000Z`;

type Seed = [dataSource: string, day: number, version: string, partitionNum: number, partitions: number];

/** Inserts used segments as the Overlord publishes them (one statement, hence one change_seq, each); returns their ids. */
async function seed(...segs: Seed[]): Promise<string[]> {
  const all = segs.map(([ds, day, version, p, n]) => segment(ds, dayOf(day), version, p, n));
  await env.DB.batch(new SegmentStore(env.DB).insertStatements(all, null, Date.now()));
  return all.map((s) => segmentIdOf(s));
}

/** Marks rows unused as the Overlord's statements do (the next change sequence), straight in D1. */
async function markUnusedInD1(...ids: string[]): Promise<void> {
  for (const id of ids) {
    await env.DB.prepare(`UPDATE segments SET used = 0, change_seq = (SELECT COALESCE(MAX(change_seq), 0) + 1 FROM segments) WHERE id = ?`).bind(id).run();
  }
}

const sorted = (ids: readonly (string | undefined)[]) => [...(ids as string[])].sort();
const usedIds = async (ds?: string) =>
  (await rows<{ id: string }>(`SELECT id FROM segments WHERE used = 1 ${ds ? "AND datasource = ?" : ""} ORDER BY id`, ...(ds ? [ds] : []))).map((r) => r.id);
const maxSeq = async () => (await rows<{ m: number }>("SELECT COALESCE(MAX(change_seq), 0) AS m FROM segments"))[0]!.m;
/** Every row's marking state: what any marking would change. */
const markingState = () => rows("SELECT id, used, used_status_last_updated, change_seq FROM segments ORDER BY id");

/** The objects' private parts, as tests reach them. */
type Inside = Record<string, any>;
const inCoordinator = <T>(fn: (c: Inside) => T | Promise<T>): Promise<T> => runInDurableObject(coordinatorStub(), (c) => fn(c as Inside));
const inOverlord = <T>(fn: (o: Inside) => T | Promise<T>): Promise<T> => runInDurableObject(overlordStub(), (o) => fn(o as Inside));

function viewIdsOf(c: Inside): string[] {
  const v = c.segmentSync.view;
  return sorted((v.dataSources() as string[]).flatMap((ds) => [...(v.slotsOf(ds) as Int32Array)].map((s) => v.idOf(s) as string)));
}

/** The last historical run's MarkOvershadowedSegmentsAsUnused stats (or its `{error}`), as GET /druid/coordinator/v1/duties shows them. */
async function lastMarkStats(): Promise<unknown> {
  const r = (await coordinatorStub().duties()) as any;
  const stats = r.value.dutyGroups.find((g: any) => g.name === "HistoricalManagementDuties").lastRunStats;
  return stats?.MarkOvershadowedSegmentsAsUnused ?? stats;
}

/** This incarnation runs its duties only when the test calls its alarm, and has led long enough to mark. */
async function takeControl(c: Inside): Promise<void> {
  await c.ctx.storage.deleteAlarm();
  c.alarms.reschedule = async () => {};
  c.clock = laterClock(systemClock, LEADER_OLD_ENOUGH);
}

// A test's Coordinator must not run its alarm after the test: its duties would start its Overlord
// over the next test's emptied tables (overlord_terms is one table for every Overlord object).
afterEach(async () => {
  await inCoordinator(async (c) => {
    c.alarms.reschedule = async () => {};
    await c.ctx.storage.deleteAlarm();
  });
});

/** Moves the object's clock on by a historical period: the segment poll and the duty are due again. */
const nextPeriod = (c: Inside) => (c.clock = laterClock(c.clock, MINUTE + 1));

interface Mark {
  dataSource: string;
  ids: string[];
  used: boolean;
  /** Rows changed (undefined when the write failed). */
  changed?: number;
}

/** Records every marking the Overlord writes (its segment store's setUsedByIds). */
function recordMarks(o: Inside, marks: Mark[]): void {
  const store = o.segments;
  const setUsedByIds = store.setUsedByIds.bind(store);
  store.setUsedByIds = async (dataSource: string, ids: string[], used: boolean, nowMs: number) => {
    const m: Mark = { dataSource, ids: sorted(ids), used };
    marks.push(m);
    m.changed = await setUsedByIds(dataSource, ids, used, nowMs);
    return m.changed;
  };
}

describe("the Coordinator's segment view when D1 reads fail during a multi-page sync", () => {
  it("keeps the pages applied before the failed read, leaves the watermark there, and the next sync converges to exactly D1", async () => {
    const ds = uniqueDs("pages");
    const initial = await seed([ds, 0, "v1", 0, 2], [ds, 0, "v1", 1, 2], [ds, 1, "v1", 0, 2], [ds, 1, "v1", 1, 2]);
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 4, overshadowed: 0 } });
    const fresh = await seed([ds, 0, "v2", 0, 1], [ds, 2, "v1", 0, 1], [ds, 3, "v1", 0, 1], [ds, 4, "v1", 0, 1], [ds, 1, "v2", 0, 1]);
    const reads: Array<[number, string]> = [];
    const lastSyncAt = await inCoordinator((c) => {
      c.segmentSync.pageSize = 2; // five new rows: pages of 2, 2, 1
      const store = c.segmentSync.segments;
      const changesSince = store.changesSince.bind(store);
      store.changesSince = async (seq: number, id: string, limit: number) => {
        reads.push([seq, id]);
        if (reads.length === 2) throw new Error("D1_ERROR: Network connection lost.");
        return changesSince(seq, id, limit);
      };
      return c.segmentSync.lastSyncAt as number;
    });

    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: false, error: { status: 500 } });
    const firstPageEnd = (await rows<{ change_seq: number }>("SELECT change_seq FROM segments WHERE id = ?", fresh[1]))[0]!.change_seq;
    // the first page of news (v2 of day 0, day 2) is in; nothing of the failed page or after it
    expect(await inCoordinator((c) => ({ ids: viewIdsOf(c), watermark: c.segmentSync.watermarkSeq, lastSyncAt: c.segmentSync.lastSyncAt }))).toEqual({
      ids: sorted([...initial, fresh[0], fresh[1]]),
      watermark: firstPageEnd,
      lastSyncAt,
    });

    // D1 moves on before the retry: a row of the applied page and one of the unread pages go unused
    await markUnusedInD1(fresh[1]!, fresh[3]!);
    const retried = await coordinatorStub().syncSegments();
    expect(reads[2]).toEqual(reads[1]); // the retry starts where the failed read did
    const used = await usedIds();
    expect(retried).toEqual({ rpcResult: 1, ok: true, value: { segments: used.length, overshadowed: 4, watermark: await maxSeq() } });
    expect(await inCoordinator((c) => viewIdsOf(c))).toEqual(used);
    expect((await coordinatorStub().status()).segments).toBe(used.length);
  });

  it("a sync failing inside segmentsChanged() and in the alarm leaves nothing running: the next nudge reads D1 afresh, converges and sets the alarm again", async () => {
    const ds = uniqueDs("stuck");
    await seed([ds, 0, "v1", 0, 1]);
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 1 } });
    await seed([ds, 0, "v2", 0, 1], [ds, 1, "v1", 0, 1]);
    const outcome = await inCoordinator(async (c) => {
      // the object's own alarm does not sync beside the test while D1 is down
      const reschedule = c.alarms.reschedule;
      c.alarms.reschedule = async () => {};
      await c.ctx.storage.deleteAlarm();
      const store = c.segmentSync.segments;
      const changesSince = store.changesSince.bind(store);
      let down = true;
      let reads = 0;
      store.changesSince = async (seq: number, id: string, limit: number) => {
        reads++;
        if (down) throw new Error("D1_ERROR: D1 is overloaded.");
        return changesSince(seq, id, limit);
      };
      const nudge = await c.segmentsChanged().then(() => "resolved", (e: Error) => e.message);
      c.clock = laterClock(c.clock, MINUTE + 1); // the segment poll is due
      const alarm = await c.alarm().then(() => "resolved", (e: Error) => e.message);
      const readsWhileDown = reads;
      const sizeWhileDown = c.segmentSync.view.size as number;
      c.alarms.reschedule = reschedule;
      down = false;
      await c.segmentsChanged();
      return { nudge, alarm, readsWhileDown, sizeWhileDown, readsAfter: reads - readsWhileDown, alarmAt: await c.ctx.storage.getAlarm(), view: viewIdsOf(c) };
    });
    expect(outcome.nudge).toMatch(/D1 is overloaded/);
    expect(outcome.alarm).toMatch(/D1 is overloaded/);
    expect(outcome.readsWhileDown).toBe(2); // the alarm's sync read D1 itself (it did not join the failed run)
    expect(outcome.sizeWhileDown).toBe(1);
    expect(outcome.readsAfter).toBeGreaterThanOrEqual(1);
    expect(outcome.view).toEqual(await usedIds());
    expect(outcome.alarmAt).not.toBeNull();
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 3, overshadowed: 1 } });
  });
});

describe("markOvershadowedUnused when the Coordinator restarts in the middle of a run", () => {
  it("a run cut off after the first data source's mark: the next incarnation's first run marks exactly the rest, once, and the old term is refused", async () => {
    const a = uniqueDs("a");
    const b = uniqueDs("b");
    const aOld = await seed([a, 0, "v1", 0, 2], [a, 0, "v1", 1, 2], [a, 1, "v1", 0, 1]);
    const bOld = await seed([b, 0, "v1", 0, 1], [b, 1, "v1", 0, 1]);
    const news = await seed([a, 0, "v2", 0, 1], [a, 1, "v2", 0, 1], [b, 0, "v2", 0, 1], [b, 1, "v2", 0, 1]);
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 9, overshadowed: 5 } });
    const oldTerm = (await coordinatorStub().status()).term;

    // the run: a's mark is written; b's is held in the Coordinator before it is sent, and the Coordinator dies
    const oldMarks: Mark[] = [];
    await inOverlord((o) => recordMarks(o, oldMarks));
    let holding: (() => void) | null = null;
    const ask = OverlordClient.prototype.ask;
    OverlordClient.prototype.ask = function (this: OverlordClient, req: Parameters<typeof ask>[0]) {
      if (req.kind === "markSegments" && req.dataSource === b) {
        holding?.();
        return new Promise<never>(() => {});
      }
      return ask.call(this, req);
    } as typeof ask;
    try {
      await inCoordinator(async (c) => {
        await takeControl(c);
        // waited for here, in the object's own context: a test awaiting a promise the object
        // resolves would go on in the object's I/O context, which the abort below ends
        const atB = new Promise<void>((r) => (holding = r));
        void c.alarm().catch(() => {});
        await atB;
      });
      expect(oldMarks).toEqual([{ dataSource: a, ids: sorted(aOld), used: false, changed: 3 }]);
      await abortAllDurableObjects();
    } finally {
      OverlordClient.prototype.ask = ask;
    }

    // nothing half-applied: a's overshadowed segments are all unused, b's all still used
    expect(await usedIds(a)).toEqual(sorted([news[0], news[1]]));
    expect(await usedIds(b)).toEqual(sorted([...bOld, news[2], news[3]]));
    const afterCrash = await markingState();

    // the next incarnation loads the view as D1 has it; its first run marks b's, and only b's
    const status = await coordinatorStub().status();
    expect(status.term).toBe(oldTerm + 1);
    expect(status.segments).toBe(6);
    const newMarks: Mark[] = [];
    await inOverlord((o) => recordMarks(o, newMarks));
    await inCoordinator(async (c) => {
      await takeControl(c);
      await c.alarm();
    });
    expect(newMarks).toEqual([{ dataSource: b, ids: sorted(bOld), used: false, changed: 2 }]);
    expect(await lastMarkStats()).toEqual({ skipped: null, overshadowed: 2, marked: 2 });
    expect(await usedIds()).toEqual(sorted(news));
    // a's rows were not written again
    const now = await markingState();
    for (const id of aOld) expect(now.find((r) => r["id"] === id)).toEqual(afterCrash.find((r) => r["id"] === id));
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 4, overshadowed: 0 } });

    // the old incarnation's mark, arriving late, is refused and writes nothing
    const late = await overlordStub().forCoordinator(oldTerm, { kind: "markSegments", dataSource: b, request: { kind: "ids", used: false, ids: [news[2]!, news[3]!] } });
    expect(late).toMatchObject({ ok: false, error: { errorCode: "staleCoordinatorTerm" } });
    expect(newMarks).toHaveLength(1);
    expect(await usedIds()).toEqual(sorted(news));
  });

  it("a mark the Overlord fails half way (D1 failing at its second statement) changes nothing, and the next run marks it all", async () => {
    const ds = uniqueDs("chunks");
    const PARTS = 100; // more ids than one D1 statement binds (80): the Overlord writes them in two
    await seed(...Array.from({ length: PARTS }, (_, p): Seed => [ds, 0, "v1", p, PARTS]));
    const [fresh] = await seed([ds, 0, "v2", 0, 1]);
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: PARTS + 1, overshadowed: PARTS } });

    // the Overlord's D1 fails at the second UPDATE of segments in its batch (a statement that
    // cannot run takes its place): D1 rolls the whole batch back
    const marks: Mark[] = [];
    await inOverlord((o) => {
      recordMarks(o, marks);
      const store = o.segments;
      const db: D1Database = store.db;
      store.realDb = db;
      const updates = new WeakSet<object>();
      let failed = false;
      store.db = {
        prepare: (sql: string) => {
          const stmt = db.prepare(sql);
          if (!sql.trimStart().startsWith("UPDATE segments")) return stmt;
          return new Proxy(stmt, {
            get: (t, k) => (k === "bind" ? (...params: unknown[]) => { const b = t.bind(...params); updates.add(b); return b; } : Reflect.get(t, k, t)),
          });
        },
        batch: (stmts: D1PreparedStatement[]) => {
          const at = stmts.map((x, i) => (updates.has(x) ? i : -1)).filter((i) => i >= 0);
          if (failed || at.length < 2) return db.batch(stmts);
          failed = true;
          const broken = [...stmts];
          broken[at[1]!] = db.prepare("UPDATE no_such_table SET x = 1");
          return db.batch(broken);
        },
      };
    });
    await inCoordinator(async (c) => {
      await takeControl(c);
      await c.alarm();
    });
    expect(await lastMarkStats()).toEqual({ error: expect.stringMatching(/no such table/) }); // the run failed (retried in 30 s)
    expect(marks.map((m) => [m.ids.length, m.changed])).toEqual([[PARTS, undefined]]);
    // nothing of the failed call was kept; the view is as D1 is
    expect((await usedIds(ds)).length).toBe(PARTS + 1);
    await inCoordinator(async (c) => {
      await c.segmentsChanged();
      expect(viewIdsOf(c)).toEqual(await usedIds());
      expect(c.segmentSync.view.overshadowedCount()).toBe(PARTS);
    });

    await inOverlord((o) => {
      o.segments.db = o.segments.realDb;
    });
    await inCoordinator(async (c) => {
      nextPeriod(c);
      await c.alarm();
    });
    const overshadowed = (await rows<{ id: string }>("SELECT id FROM segments WHERE datasource = ? AND id != ? ORDER BY id", ds, fresh)).map((r) => r.id);
    expect(marks).toHaveLength(2);
    expect(marks[1]).toEqual({ dataSource: ds, ids: sorted(overshadowed), used: false, changed: PARTS });
    expect(await lastMarkStats()).toEqual({ skipped: null, overshadowed: PARTS, marked: PARTS });
    expect(await usedIds(ds)).toEqual([fresh]);
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 1, overshadowed: 0 } });
  });

  it("a publish after a kill of the most recently changed segments is seen: the change sequence never goes back", async () => {
    const ds = uniqueDs("floor");
    const [a, b] = await seed([ds, 0, "v1", 0, 1], [ds, 1, "v1", 0, 1]);
    const store = new SegmentStore(env.DB);
    await store.setUsedByIds(ds, [b!], false, Date.now());
    const before = await coordinatorStub().syncSegments();
    expect(before).toMatchObject({ ok: true, value: { segments: 1 } });
    expect(await store.nuke([b!])).toBe(1);
    const [c] = await seed([ds, 2, "v1", 0, 1]);
    const after = await coordinatorStub().syncSegments();
    expect(after).toMatchObject({ ok: true, value: { segments: 2 } });
    expect((after as { value: { watermark: number } }).value.watermark).toBeGreaterThan((before as { value: { watermark: number } }).value.watermark);
    expect(await usedIds(ds)).toEqual(sorted([a, c]));
  });
});

describe("markOvershadowedUnused run again (alarms are at-least-once)", () => {
  async function overshadowedFixture() {
    const ds = uniqueDs("again");
    const old = await seed([ds, 0, "v1", 0, 2], [ds, 0, "v1", 1, 2], [ds, 1, "v1", 0, 1]);
    const news = await seed([ds, 0, "v2", 0, 1], [ds, 1, "v2", 0, 1]);
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 5, overshadowed: 3 } });
    return { old, news };
  }

  it("a second run right after the first (and the same alarm delivered twice) marks nothing and changes no row and no view", async () => {
    const { news } = await overshadowedFixture();
    const marks: Mark[] = [];
    await inOverlord((o) => recordMarks(o, marks));
    await inCoordinator(async (c) => {
      await takeControl(c);
      await c.alarm();
    });
    expect(marks.map((m) => m.changed)).toEqual([3]);
    expect(await lastMarkStats()).toEqual({ skipped: null, overshadowed: 3, marked: 3 });
    const rowsAfterFirst = await markingState();
    const viewAfterFirst = await inCoordinator((c) => ({ ids: viewIdsOf(c), watermark: c.segmentSync.watermarkSeq as number }));

    const second = await inCoordinator(async (c) => {
      nextPeriod(c); // the poll and the duty are due again
      await c.alarm();
      await c.alarm(); // and the same alarm delivered twice
      return { ids: viewIdsOf(c), watermark: c.segmentSync.watermarkSeq as number };
    });
    expect(await lastMarkStats()).toEqual({ skipped: null, overshadowed: 0, marked: 0 });
    expect(marks).toHaveLength(1);
    expect(await markingState()).toEqual(rowsAfterFirst);
    expect(second).toEqual(viewAfterFirst);
    expect(second.ids).toEqual(sorted(news));
  });

  it("a run again before the view saw the first run's marks sends the same ids, and the Overlord changes nothing", async () => {
    const { old, news } = await overshadowedFixture();
    const marks: Mark[] = [];
    await inOverlord((o) => {
      recordMarks(o, marks);
      o.coordinator.nudge = () => {}; // the Overlord's nudge after the mark is lost
    });
    await inCoordinator(async (c) => {
      await takeControl(c);
      // the first run's mark lands, but the view's reads after it fail: the run fails (it is retried)
      const store = c.segmentSync.segments;
      const changesSince = store.changesSince.bind(store);
      store.failAfterMark = true;
      store.changesSince = async (seq: number, id: string, limit: number) => {
        if (store.failAfterMark && marks.length > 0) throw new Error("D1_ERROR: Network connection lost.");
        return changesSince(seq, id, limit);
      };
      await c.alarm();
    });
    expect(await lastMarkStats()).toEqual({ error: expect.stringMatching(/Network connection lost/) });
    expect(marks.map((m) => m.changed)).toEqual([3]);
    const rowsAfterFirst = await markingState();

    // the historical duties run again on the view that still shows the three as overshadowed
    // (the alarm runs the group without a sync first when news brought it forward)
    await inCoordinator((c) => c.dutyGroups.run("HistoricalManagementDuties"));
    expect(marks).toEqual([
      { dataSource: marks[0]!.dataSource, ids: sorted(old), used: false, changed: 3 },
      { dataSource: marks[0]!.dataSource, ids: sorted(old), used: false, changed: 0 },
    ]);
    expect(await lastMarkStats()).toEqual({ skipped: null, overshadowed: 3, marked: 0 });
    expect(await markingState()).toEqual(rowsAfterFirst);

    await inCoordinator((c) => {
      c.segmentSync.segments.failAfterMark = false;
    });
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 2, overshadowed: 0 } });
    expect(await inCoordinator((c) => viewIdsOf(c))).toEqual(sorted(news));
  });
});
