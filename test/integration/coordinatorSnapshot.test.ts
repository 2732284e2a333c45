/**
 * The segment view's snapshot in the Coordinator's own storage, in the real object over D1: a
 * restart restores it and reads only the changes past it; a deletion the snapshot never saw
 * makes the view rebuild from D1; an unreadable snapshot falls back to D1; the alarm duty
 * rewrites it at most once a period while the view changes.
 *
 * Segments are written straight into D1 as the Overlord's statements write them, so no publish
 * nudges the view behind the test's back; the object's own alarm is stopped (takeControl).
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { SegmentStore } from "../../src/metadata/segmentStore.ts";
import { segmentIdOf } from "../../src/segments/dataSegment.ts";
import { laterClock } from "../../src/platform/clock.ts";
import { api, coordinatorStub, rows, uniqueDs } from "./helpers.ts";
import { segment } from "./taskRuns.ts";

const dayOf = (d: number) => `2024-09-${String(d + 1).padStart(2, "0")}T00:00:00.000Z/2024-09-${String(d + 2).padStart(2, "0")}T00:00:00.000Z`;

async function seed(ds: string, days: number[], version = "v1"): Promise<string[]> {
  const all = days.map((d) => segment(ds, dayOf(d), version, 0, 1));
  await env.DB.batch(new SegmentStore(env.DB).insertStatements(all, null, Date.now()));
  return all.map((s) => segmentIdOf(s));
}

const markUnused = (ds: string, ids: string[]) => new SegmentStore(env.DB).setUsedByIds(ds, ids, false, Date.now());
const usedIds = async () => (await rows<{ id: string }>("SELECT id FROM segments WHERE used = 1 ORDER BY id")).map((r) => r.id);

type Inside = Record<string, any>;
const inCoordinator = <T>(fn: (c: Inside) => T | Promise<T>): Promise<T> => runInDurableObject(coordinatorStub(), (c) => fn(c as Inside));

function viewIds(c: Inside): string[] {
  const v = c.segmentSync.view;
  return (v.dataSources() as string[]).flatMap((ds) => [...(v.slotsOf(ds) as Int32Array)].map((s) => v.idOf(s) as string)).sort();
}

/** This incarnation sets no alarm of its own (the test runs what it needs). */
async function takeControl(c: Inside): Promise<void> {
  await c.ctx.storage.deleteAlarm();
  c.alarms.reschedule = async () => {};
}

/** The next incarnation, started by its first call, with its alarm stopped; its view and status. */
async function restart(): Promise<{ ids: string[]; rebuilds: number; view: any; term: number }> {
  await abortAllDurableObjects();
  const status = await coordinatorStub().status();
  return inCoordinator(async (c) => {
    await takeControl(c);
    return { ids: viewIds(c), rebuilds: c.segmentSync.rebuilds, view: status.view, term: status.term };
  });
}

afterEach(async () => {
  await inCoordinator(takeControl);
});

describe("the Coordinator's segment view snapshot", () => {
  it("is restored by the next incarnation, which reads only the changes made since from D1", async () => {
    const ds = uniqueDs("snap");
    const before = await seed(ds, [0, 1, 2, 3]);
    const taken = await inCoordinator(async (c) => {
      await takeControl(c);
      await c.segmentSync.sync();
      await c.viewPersistence.write();
      return { watermark: c.segmentSync.watermarkSeq as number, status: c.viewPersistence.toJSON() };
    });
    expect(taken.status.snapshot).toMatchObject({ watermark: taken.watermark, segments: 4 });
    const after = await seed(ds, [4, 5]);
    await markUnused(ds, [before[0]!]);

    const next = await restart();
    expect(next.view.loadedFrom).toBe("snapshot");
    expect(next.ids).toEqual(await usedIds());
    expect(next.ids).toEqual([...before.slice(1), ...after].sort());
    expect(next.rebuilds).toBe(0);
    // the delta was read from the snapshot's watermark: the object's sync went on from there
    const reads: number[] = await inCoordinator(async (c) => {
      const store = c.segmentSync.segments;
      const seen: number[] = [];
      const changesSince = store.changesSince.bind(store);
      store.changesSince = async (seq: number, id: string, limit: number) => (seen.push(seq), changesSince(seq, id, limit));
      await c.segmentSync.sync();
      return seen;
    });
    expect(reads[0]).toBeGreaterThan(taken.watermark);
  });

  it("is not trusted past a deletion it never saw: a segment marked unused and killed after it is gone from the restored view", async () => {
    const ds = uniqueDs("killed");
    const ids = await seed(ds, [0, 1, 2]);
    await inCoordinator(async (c) => {
      await takeControl(c);
      await c.segmentSync.sync();
      await c.viewPersistence.write();
    });
    await markUnused(ds, [ids[1]!]);
    expect(await new SegmentStore(env.DB).nuke([ids[1]!])).toBe(1); // no change row is left of it

    const next = await restart();
    expect(next.view.loadedFrom).toBe("snapshot");
    expect(next.rebuilds).toBe(1);
    expect(next.ids).toEqual(await usedIds());
    expect(next.ids).not.toContain(ids[1]);
  });

  it("falls back to D1 when a chunk of it is missing, and the view is still exactly D1's", async () => {
    const ds = uniqueDs("torn");
    await seed(ds, [0, 1, 2]);
    await inCoordinator(async (c) => {
      await takeControl(c);
      await c.segmentSync.sync();
      await c.viewPersistence.write();
      const keys = [...(await c.ctx.storage.list({ prefix: "viewSnapshot/" })).keys()];
      expect(keys.length).toBeGreaterThan(0);
      await c.ctx.storage.delete(keys[0]);
    });
    const next = await restart();
    expect(next.view.loadedFrom).toBe("metadataStore");
    expect(next.ids).toEqual(await usedIds());
  });

  it("is written by the alarm duty at once when there is none, then at most once a period while the view changes", async () => {
    const ds = uniqueDs("duty");
    await seed(ds, [0, 1]);
    await abortAllDurableObjects();
    const status = await coordinatorStub().status(); // no snapshot yet: loaded from D1, the duty due at once
    expect(status.view).toMatchObject({ loadedFrom: "metadataStore", snapshot: null });
    await runDurableObjectAlarm(coordinatorStub()); // (or the runtime already ran it)
    const out = await inCoordinator(async (c) => {
      await takeControl(c);
      const p = c.viewPersistence;
      const first = p.toJSON().snapshot;
      const dueUnchanged = p.nextRunAt();
      await seed(ds, [2]);
      await c.segmentSync.sync();
      const dueChanged = p.nextRunAt();
      await c.alarm(); // not yet a period since the last write: nothing written
      const stillFirst = p.toJSON().snapshot;
      c.clock = laterClock(c.clock, 5 * 60_000 + 1);
      await c.alarm();
      return { first, dueUnchanged, dueChanged, stillFirst, second: p.toJSON().snapshot };
    });
    expect(out.first).toMatchObject({ segments: 2 });
    expect(out.dueUnchanged).toBeNull();
    expect(out.dueChanged).toBe(out.first.takenAt + 5 * 60_000);
    expect(out.stillFirst).toEqual(out.first);
    expect(out.second).toMatchObject({ segments: 3 });
    const restored = await restart();
    expect(restored.view.loadedFrom).toBe("snapshot");
    expect(restored.ids).toEqual(await usedIds());
    // and GET /status shows it
    const shown = (await api("GET", "/status")).json as any;
    expect(shown.coordinator.view).toMatchObject({ loadedFrom: "snapshot", snapshot: { segments: 3, takenAt: new Date(out.second.takenAt).toISOString() }, lastError: null });
  });
});
