/**
 * The Coordinator's duty groups with a fake Overlord: when each group runs (its period is a
 * ceiling; news brings it forward), the term every request carries, and what a refused run leaves.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_COORDINATOR_CONFIG, type CoordinatorDutyConfig } from "../../src/coordinator/dutyConfig.ts";
import { DEFAULT_DYNAMIC_CONFIG } from "../../src/coordinator/dynamicConfig.ts";
import { SegmentView } from "../../src/coordinator/segmentView.ts";
import { CoordinatorDuties } from "../../src/objects/coordinator/coordinatorDuties.ts";
import type { CoordinatorRequest } from "../../src/protocol/coordinatorRequests.ts";
import type { Env } from "../../src/env.ts";

const DAY = 86_400_000;
const seg = (ds: string, version: string, used = true) => ({ dataSource: ds, start: 0, end: DAY, version, partitionNum: 0, corePartitions: 1, size: 5, used });

function setup(opts: { kill?: boolean; refuse?: boolean; lastRuns?: Record<string, number> } = {}) {
  let now = 1_000_000;
  const lastRuns: Record<string, number> = { ...opts.lastRuns };
  const view = new SegmentView();
  const asked: Array<{ term: number; overlord: string; req: CoordinatorRequest }> = [];
  const config: CoordinatorDutyConfig = { ...DEFAULT_COORDINATOR_CONFIG, killUnusedSegments: { ...DEFAULT_COORDINATOR_CONFIG.killUnusedSegments, on: opts.kill ?? false } };
  const env = {
    OVERLORD: {
      getByName: (overlord: string) => ({
        forCoordinator: async (term: number, req: CoordinatorRequest) => {
          asked.push({ term, overlord, req });
          if (opts.refuse) return { rpcResult: 1, ok: false, error: { error: "Conflict", errorCode: "staleCoordinatorTerm", persona: "USER", category: "CONFLICT", errorMessage: "older term", context: {}, status: 409 } };
          const value = req.kind === "markSegments" ? (req.request as { ids: string[] }).ids.length : req.kind === "killSlots" ? { totalSlots: 0, activeKillTasks: 0 } : req.kind === "taskCreatedTimes" ? { earliestActiveMs: null, latestCompletedMs: null } : 0;
          return { rpcResult: 1, ok: true, value };
        },
      }),
    },
  } as unknown as Env;
  const duties = new CoordinatorDuties({
    env,
    overlordName: "overlord-pair",
    config,
    view: () => view,
    dynamic: () => ({ ...DEFAULT_DYNAMIC_CONFIG, millisToWaitBeforeDeleting: 0 }),
    now: () => now,
    term: () => 7,
    leaderSince: () => 0,
    segments: { dataSourcesWithUnused: async () => [], unusedIntervalsForKill: async () => [] } as never,
    store: { deleteAuditBefore: async () => 0, rulesOfEmptyDataSources: async () => [] } as never,
    resync: async () => {
      // the Overlord marked them: the sync removes them
      for (const ds of view.dataSources()) for (const id of view.overshadowedIds(ds)) view.remove(id);
    },
    dropRules: async () => {},
    lastRuns,
    ranAt: async (g, at) => void (lastRuns[g] = at),
  });
  return { duties, view, asked, advance: (ms: number) => (now += ms), now: () => now };
}

describe("the Coordinator's duty groups", () => {
  it("the historical duties run at once at start, the others a period after their last run (kept across incarnations) or after the first start", async () => {
    const { duties, now, advance } = setup();
    const start = now();
    expect(duties.dueAt("HistoricalManagementDuties")).toBe(start);
    expect(duties.dueAt("IndexingServiceDuties")).toBe(start + 1_800_000);
    expect(duties.dueAt("MetadataStoreManagementDuties")).toBe(start + 3_600_000);
    advance(5_000);
    for (const g of ["HistoricalManagementDuties", "IndexingServiceDuties", "MetadataStoreManagementDuties"] as const) await duties.run(g);
    expect(duties.dueAt("HistoricalManagementDuties")).toBe(start + 5_000 + 60_000);
    expect(duties.dueAt("IndexingServiceDuties")).toBe(start + 5_000 + 1_800_000);
    const next = setup({ lastRuns: { IndexingServiceDuties: start - 1_000_000, MetadataStoreManagementDuties: start - 3_000_000 } });
    expect(next.duties.dueAt("IndexingServiceDuties")).toBe(start + 800_000);
    expect(next.duties.dueAt("MetadataStoreManagementDuties")).toBe(start + 600_000);
  });

  it("a publish, overshadowing or a rule change brings the historical duties forward; segments turning unused bring the kill duties forward only with kill on", async () => {
    for (const kill of [false, true]) {
      const { duties, view, advance, now } = setup({ kill });
      for (const g of ["HistoricalManagementDuties", "IndexingServiceDuties"] as const) await duties.run(g);
      advance(1_000);
      duties.synced(); // nothing new
      expect(duties.dueAt("HistoricalManagementDuties")).toBeGreaterThan(now());
      view.upsert(seg("wiki", "v1"));
      duties.synced();
      expect(duties.dueAt("HistoricalManagementDuties")).toBe(now());
      await duties.run("HistoricalManagementDuties");
      advance(1_000);
      duties.rulesChanged();
      expect(duties.dueAt("HistoricalManagementDuties")).toBe(now());
      view.upsert(seg("wiki", "v1", false));
      duties.synced();
      expect(duties.dueAt("IndexingServiceDuties") === now()).toBe(kill);
    }
  });

  it("news during a run makes exactly one more run, not a lost one", async () => {
    const { duties, view, now } = setup();
    view.upsert(seg("wiki", "v1"));
    view.upsert(seg("wiki", "v2"));
    const run = duties.run("HistoricalManagementDuties");
    view.upsert(seg("wiki", "v3")); // published while the run is in flight
    duties.synced();
    await run;
    expect(duties.dueAt("HistoricalManagementDuties")).toBe(now());
  });

  it("asks the paired Overlord with this incarnation's term, marks what is overshadowed, and records its stats", async () => {
    const { duties, view, asked } = setup();
    view.upsert(seg("wiki", "v1"));
    view.upsert(seg("wiki", "v2"));
    await duties.run("HistoricalManagementDuties");
    expect(asked.map((a) => [a.overlord, a.term, a.req.kind])).toEqual([["overlord-pair", 7, "markSegments"]]);
    const [group] = duties.toJSON();
    expect(group!.lastRunStats).toMatchObject({ MarkOvershadowedSegmentsAsUnused: { overshadowed: 1, marked: 1 }, CollectSegmentStats: { usedSegments: 1, bytes: 5, overshadowed: 0, dataSources: 1 } });
    expect(group!.lastRunEnd).not.toBeNull();
  });

  it("a run the Overlord refuses (a newer Coordinator term) changes nothing here, is recorded with its error, and is retried soon", async () => {
    const { duties, view, now } = setup({ refuse: true });
    view.upsert(seg("wiki", "v1"));
    view.upsert(seg("wiki", "v2"));
    const start = now();
    await duties.run("HistoricalManagementDuties");
    expect(view.size).toBe(2);
    const [group] = duties.toJSON();
    expect(group!.lastRunStats).toEqual({ error: "older term" });
    expect(group!.lastRunStart).not.toBeNull();
    expect(duties.dueAt("HistoricalManagementDuties")).toBe(start + 30_000);
  });
});
