import { describe, expect, it } from "vitest";
import { DEFAULT_DYNAMIC_CONFIG } from "../../src/coordinator/dynamicConfig.ts";
import { killStalePendingSegments, staleCutoff, type TaskCreatedTimes } from "../../src/duties/killStalePendingSegments.ts";
import { MetadataCleanup } from "../../src/duties/metadataCleanup.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);

describe("KillStalePendingSegments", () => {
  it("keeps pending segments of the day before the earliest of now, the oldest active task and the newest completed task", () => {
    expect(staleCutoff(NOW, { earliestActiveMs: null, latestCompletedMs: null }, DAY)).toBe(NOW - DAY);
    expect(staleCutoff(NOW, { earliestActiveMs: NOW - 5 * DAY, latestCompletedMs: NOW - DAY }, DAY)).toBe(NOW - 6 * DAY);
    expect(staleCutoff(NOW, { earliestActiveMs: null, latestCompletedMs: NOW - 3 * DAY }, DAY)).toBe(NOW - 4 * DAY);
  });

  it("asks the Overlord to delete per data source with used segments, skipping killPendingSegmentsSkipList", async () => {
    const deletes: Array<[string, number]> = [];
    const times: Record<string, TaskCreatedTimes> = { a: { earliestActiveMs: NOW - 2 * DAY, latestCompletedMs: null }, b: { earliestActiveMs: null, latestCompletedMs: null } };
    const stats = await killStalePendingSegments({
      config: { on: true, durationToRetainMs: DAY },
      dynamic: () => ({ ...DEFAULT_DYNAMIC_CONFIG, killPendingSegmentsSkipList: ["c"] }),
      now: () => NOW,
      dataSources: () => ["a", "b", "c"],
      taskCreatedTimes: async (ds) => times[ds]!,
      deletePendingCreatedBefore: async (ds, before) => {
        deletes.push([ds, before]);
        return ds === "a" ? 3 : 0;
      },
    });
    expect(deletes).toEqual([["a", NOW - 3 * DAY], ["b", NOW - DAY]]);
    expect(stats).toEqual({ skipped: null, deleted: { a: 3 } });
  });

  it("does nothing when off or paused", async () => {
    const host = (on: boolean, pause: boolean) => ({
      config: { on, durationToRetainMs: DAY },
      dynamic: () => ({ ...DEFAULT_DYNAMIC_CONFIG, pauseCoordination: pause }),
      now: () => NOW,
      dataSources: () => ["a"],
      taskCreatedTimes: async () => { throw new Error("not asked"); },
      deletePendingCreatedBefore: async () => { throw new Error("not asked"); },
    });
    expect((await killStalePendingSegments(host(false, false))).skipped).toBe("off");
    expect((await killStalePendingSegments(host(true, true))).skipped).toBe("paused");
  });
});

describe("metadata cleanup duties", () => {
  it("clean entries older than durationToRetain at most once per period, and not at all when off", async () => {
    const cutoffs: Array<number | null> = [];
    const duty = new MetadataCleanup("KillAuditLog", { on: true, periodMs: DAY, durationToRetainMs: 90 * DAY }, async (before) => {
      cutoffs.push(before);
      return 2;
    });
    expect(await duty.run(NOW)).toEqual({ skipped: null, deleted: 2 });
    expect(await duty.run(NOW + DAY - 1)).toEqual({ skipped: "notDue", deleted: 0 });
    expect(await duty.run(NOW + DAY)).toEqual({ skipped: null, deleted: 2 });
    expect(cutoffs).toEqual([NOW - 90 * DAY, NOW + DAY - 90 * DAY]);
    const off = new MetadataCleanup("KillRules", { on: false, periodMs: DAY, durationToRetainMs: DAY }, async () => { throw new Error("not run"); });
    expect(await off.run(NOW)).toEqual({ skipped: "off", deleted: 0 });
  });

  it("pass no cutoff when no retention applies (compaction configs)", async () => {
    let seen: number | null | undefined;
    await new MetadataCleanup("KillCompactionConfig", { on: true, periodMs: DAY }, async (before) => ((seen = before), 0)).run(NOW);
    expect(seen).toBeNull();
  });
});
