import { describe, expect, it } from "vitest";
import { DEFAULT_DYNAMIC_CONFIG } from "../../src/coordinator/dynamicConfig.ts";
import { SegmentView } from "../../src/coordinator/segmentView.ts";
import { markOvershadowedUnused } from "../../src/duties/markOvershadowedUnused.ts";

const DAY = 86_400_000;
function viewWith(): SegmentView {
  const v = new SegmentView();
  for (const ds of ["a", "b"]) {
    v.upsert({ dataSource: ds, start: 0, end: DAY, version: "v1", partitionNum: 0, corePartitions: 1, size: 1, used: true });
    v.upsert({ dataSource: ds, start: 0, end: DAY, version: "v2", partitionNum: 0, corePartitions: 1, size: 1, used: true });
    v.upsert({ dataSource: ds, start: DAY, end: 2 * DAY, version: "v1", partitionNum: 0, corePartitions: 1, size: 1, used: true });
  }
  return v;
}

describe("markOvershadowedUnused", () => {
  const run = (over: Partial<typeof DEFAULT_DYNAMIC_CONFIG>, leaderAgeMs: number) => {
    const calls: Array<[string, string[]]> = [];
    const p = markOvershadowedUnused({
      view: viewWith(),
      config: () => ({ ...DEFAULT_DYNAMIC_CONFIG, ...over }),
      now: () => 1_000_000,
      leaderSince: () => 1_000_000 - leaderAgeMs,
      markUnused: async (ds, ids) => {
        calls.push([ds, ids]);
        return ids.length;
      },
    });
    return { p, calls };
  };

  it("marks every overshadowed segment of every data source unused through the Overlord", async () => {
    const { p, calls } = run({ millisToWaitBeforeDeleting: 0 }, 0);
    expect(await p).toEqual({ skipped: null, overshadowed: 2, marked: 2 });
    expect(calls.map(([ds, ids]) => [ds, ids.length])).toEqual([["a", 1], ["b", 1]]);
    expect(calls[0]![1][0]).toBe("a_1970-01-01T00:00:00.000Z_1970-01-02T00:00:00.000Z_v1");
  });

  it("waits until this leader has led for millisToWaitBeforeDeleting, and does nothing while coordination is paused", async () => {
    const young = run({ millisToWaitBeforeDeleting: 60_000 }, 59_999);
    expect(await young.p).toMatchObject({ skipped: "leaderTooYoung", marked: 0 });
    expect(young.calls).toEqual([]);
    const old = run({ millisToWaitBeforeDeleting: 60_000 }, 60_000);
    expect((await old.p).marked).toBe(2);
    const paused = run({ millisToWaitBeforeDeleting: 0, pauseCoordination: true }, 60_000);
    expect(await paused.p).toMatchObject({ skipped: "paused", marked: 0 });
    expect(paused.calls).toEqual([]);
  });
});
