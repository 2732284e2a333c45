import { describe, expect, it } from "vitest";
import { DEFAULT_COORDINATOR_CONFIG } from "../../src/coordinator/dutyConfig.ts";
import { DEFAULT_DYNAMIC_CONFIG, type CoordinatorDynamicConfig } from "../../src/coordinator/dynamicConfig.ts";
import { KillUnusedSegments, killIntervalOf, killTaskCapacity, type KillCandidatesQuery, type KillTaskSpec } from "../../src/duties/killUnusedSegments.ts";
import type { Interval } from "../../src/shared/intervals.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 1);
const day = (n: number): Interval => ({ start: Date.UTC(2025, 0, 1) + n * DAY, end: Date.UTC(2025, 0, 1) + (n + 1) * DAY });

/** Unused segments by data source, each with the time it became unused; kill tasks "run" by deleting what they cover. */
function cluster(opts: { slots?: number; active?: number; dynamic?: Partial<CoordinatorDynamicConfig>; config?: Partial<typeof DEFAULT_COORDINATOR_CONFIG.killUnusedSegments> } = {}) {
  const unused = new Map<string, Array<Interval & { unusedSince: number }>>();
  const submitted: KillTaskSpec[] = [];
  const queries: Array<KillCandidatesQuery & { ds: string }> = [];
  const duty = new KillUnusedSegments({
    config: { ...DEFAULT_COORDINATOR_CONFIG.killUnusedSegments, on: true, bufferPeriodMs: 0, durationToRetainMs: 0, ...opts.config },
    dynamic: () => ({ ...DEFAULT_DYNAMIC_CONFIG, killTaskSlotRatio: 1, ...opts.dynamic }),
    now: () => NOW,
    dataSourcesWithUnused: async () => [...unused].filter(([, s]) => s.length > 0).map(([ds]) => ds),
    candidates: async (ds, q) => {
      queries.push({ ds, ...q });
      return (unused.get(ds) ?? [])
        .filter((s) => (q.minStart === null || s.start >= q.minStart) && s.end <= q.maxEnd && s.unusedSince <= q.maxUsedStatusLastUpdated)
        .sort((a, b) => a.start - b.start)
        .slice(0, q.limit)
        .map(({ start, end }) => ({ start, end }));
    },
    killSlots: async () => ({ totalSlots: opts.slots ?? 10, activeKillTasks: opts.active ?? 0 }),
    submitKill: async (spec) => {
      submitted.push(spec);
      return `coordinator-issued_kill_${spec.dataSource}_${submitted.length}`;
    },
  });
  const add = (ds: string, days: number[], unusedSince = NOW - DAY) => unused.set(ds, [...(unused.get(ds) ?? []), ...days.map((d) => ({ ...day(d), unusedSince }))]);
  /** The kill tasks ran: what they covered is gone. */
  const runKills = () => {
    for (const k of submitted.splice(0)) unused.set(k.dataSource, unused.get(k.dataSource)!.filter((s) => !(s.start >= k.interval.start && s.end <= k.interval.end)).slice(0));
  };
  return { duty, add, submitted, queries, runKills, unused };
}

describe("KillUnusedSegments", () => {
  it("computes Druid's kill capacity: a share of the cluster's slots, capped, the ratio at most 1", () => {
    expect(killTaskCapacity(100, 0.1, Number.MAX_SAFE_INTEGER)).toBe(10);
    expect(killTaskCapacity(9, 0.1, 5)).toBe(0);
    expect(killTaskCapacity(100, 0.5, 3)).toBe(3);
    expect(killTaskCapacity(4, 2, 100)).toBe(4);
  });

  it("takes the umbrella of the candidates, no wider than maxInterval, and always at least the first", () => {
    expect(killIntervalOf([], 0)).toBeNull();
    expect(killIntervalOf([day(0), day(1), day(5)], 0)).toEqual({ interval: { start: day(0).start, end: day(5).end }, segments: 3 });
    expect(killIntervalOf([day(0), day(1), day(5)], 2 * DAY)).toEqual({ interval: { start: day(0).start, end: day(1).end }, segments: 2 });
    expect(killIntervalOf([{ start: day(0).start, end: day(9).end }, day(3)], DAY)).toEqual({ interval: { start: day(0).start, end: day(9).end }, segments: 1 });
  });

  it("does nothing when kill is off, coordination is paused, or no kill slot is free", async () => {
    for (const [opts, skipped] of [
      [{ config: { on: false } }, "off"],
      [{ dynamic: { pauseCoordination: true } }, "paused"],
      [{ slots: 2, active: 2 }, "noTaskSlots"],
      [{ slots: 9, dynamic: { killTaskSlotRatio: 0.1 } }, "noTaskSlots"],
    ] as const) {
      const c = cluster(opts);
      c.add("wiki", [0, 1]);
      expect((await c.duty.run()).skipped).toBe(skipped);
      expect(c.submitted).toEqual([]);
    }
  });

  it("submits one task per data source within the free slots, with Druid's limits as the task's own", async () => {
    const c = cluster({ slots: 3, active: 1, config: { maxSegments: 2, maxIntervalMs: 0 } });
    c.add("a", [0, 1, 2]);
    c.add("b", [4]);
    c.add("c", [7]);
    const stats = await c.duty.run();
    expect(stats).toMatchObject({ skipped: null, maxSlots: 3, availableSlots: 2, eligibleSegments: 3 });
    expect(c.submitted).toEqual([
      { dataSource: "a", interval: { start: day(0).start, end: day(1).end }, limit: 2, maxUsedStatusLastUpdated: NOW },
      { dataSource: "b", interval: day(4), limit: 2, maxUsedStatusLastUpdated: NOW },
    ]);
  });

  it("keeps segments unused for less than bufferPeriod and those ending within durationToRetain, unless told to ignore it", async () => {
    const c = cluster({ config: { bufferPeriodMs: 30 * DAY, durationToRetainMs: 300 * DAY } });
    c.add("wiki", [0], NOW - 40 * DAY); // unused long enough, old enough
    c.add("wiki", [100], NOW - 40 * DAY); // ends within the retention window
    c.add("wiki", [1], NOW - DAY); // unused too recently
    await c.duty.run();
    expect(c.submitted.map((k) => k.interval)).toEqual([day(0)]);

    const ignoring = cluster({ config: { bufferPeriodMs: 30 * DAY, durationToRetainMs: 300 * DAY, ignoreDurationToRetain: true, maxIntervalMs: 0 } });
    ignoring.add("wiki", [0, 100], NOW - 40 * DAY);
    await ignoring.duty.run();
    expect(ignoring.submitted.map((k) => k.interval)).toEqual([{ start: day(0).start, end: day(100).end }]);
  });

  it("kills only in killDataSourceWhitelist when it is set", async () => {
    const c = cluster({ dynamic: { killDataSourceWhitelist: ["b"] } });
    c.add("a", [0]);
    c.add("b", [1]);
    await c.duty.run();
    expect(c.submitted.map((k) => k.dataSource)).toEqual(["b"]);
  });

  it("does not submit the same segments again while the last kill may still run, and starts over when nothing is left past it", async () => {
    const c = cluster({ config: { maxSegments: 1 } });
    c.add("wiki", [0, 1]);
    await c.duty.run();
    await c.duty.run(); // the first kill has not run yet: the next run goes on past it
    expect(c.submitted.map((k) => k.interval)).toEqual([day(0), day(1)]);
    c.submitted.splice(0); // both tasks failed: nothing was deleted
    await c.duty.run(); // nothing past day 1: the mark is forgotten
    await c.duty.run();
    expect(c.submitted.map((k) => k.interval)).toEqual([day(0)]);
    expect(c.queries.at(-1)!.minStart).toBeNull();
  });

  it("takes turns among data sources when slots are short", async () => {
    const c = cluster({ slots: 1, config: { maxSegments: 1 } });
    for (const ds of ["a", "b", "c"]) c.add(ds, [0, 1, 2]);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      await c.duty.run();
      order.push(...c.submitted.map((k) => k.dataSource));
      c.runKills();
    }
    expect(order).toEqual(["a", "b", "c", "a"]);
  });

  it("converges when run again after its kills ran: nothing left, nothing submitted", async () => {
    const c = cluster();
    c.add("wiki", [0, 1, 2]);
    await c.duty.run();
    c.runKills();
    await c.duty.run();
    await c.duty.run();
    expect(c.submitted).toEqual([]);
    expect(c.unused.get("wiki")).toEqual([]);
  });
});
