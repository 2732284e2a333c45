import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, indexTask, rows, shareStateAcrossTests, uniqueDs } from "./helpers.ts";
import { act, runTask, segment } from "./taskRuns.ts";

// The objects named as in production: the Overlord nudges the one Coordinator, "coordinator".
shareStateAcrossTests();

const DAY = "2024-06-01T00:00:00.000Z/2024-06-02T00:00:00.000Z";
const viewSize = async () => (await api("GET", "/status")).json.coordinator.segments as number;

/** The view's size once it equals `n`: the nudge is sent after the publish is answered, so reads are repeated (bounded, no sleeps). */
async function viewReaches(n: number): Promise<number> {
  let seen = await viewSize();
  for (let i = 0; i < 500 && seen !== n; i++) seen = await viewSize();
  return seen;
}

describe("the Overlord nudges the Coordinator after a commit that changed segments", () => {
  it("puts a publish in the Coordinator's view without waiting for the view's poll", async () => {
    const before = await viewSize();
    const ds = uniqueDs("nudge");
    const t = await runTask(indexTask(ds, ["2024-06-01/2024-06-02"]), ds);
    const v = (await act(t, { type: "lockList" })).json.result[0].version;
    expect((await act(t, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY, v, 0, 1)] })).json.result.success).toBe(true);
    expect(await viewReaches(before + 1)).toBe(before + 1);
    expect((await api("POST", `/druid/indexer/v1/datasources/${ds}/markUnused`, { interval: "2024-06-01/2024-06-02" })).json.numChangedSegments).toBe(1);
    expect(await viewReaches(before)).toBe(before);
  });
});

describe("markOvershadowedUnused on the Coordinator's alarm", () => {
  it("marks overshadowed segments unused through the Overlord as soon as the view sees them, once the leader is old enough", async () => {
    expect((await api("POST", "/druid/coordinator/v1/config", { millisToWaitBeforeDeleting: 0 })).status).toBe(200);
    const ds = uniqueDs("overshadow");
    const day = "2024-07-01T00:00:00.000Z/2024-07-02T00:00:00.000Z";
    const t1 = await runTask(indexTask(ds, ["2024-07-01/2024-07-02"]), ds);
    const v1 = (await act(t1, { type: "lockList" })).json.result[0].version;
    expect((await act(t1, { type: "segmentTransactionalInsert", segments: [segment(ds, day, v1, 0, 2), segment(ds, day, v1, 1, 2)] })).json.result.success).toBe(true);
    await t1.agent.poll({ tasks: [{ id: t1.id, status: "SUCCESS", duration: 1, errorMsg: null }] });
    const t2 = await runTask(indexTask(ds, ["2024-07-01/2024-07-02"]), ds);
    const v2 = (await act(t2, { type: "lockList" })).json.result[0].version;
    expect((await act(t2, { type: "segmentTransactionalInsert", segments: [segment(ds, day, v2, 0, 1)] })).json.result.success).toBe(true);
    // the nudge syncs the view, which sees two overshadowed segments and brings the duty forward
    const usedVersions = async () => (await rows<{ version: string }>("SELECT version FROM segments WHERE datasource = ? AND used = 1 ORDER BY version", ds)).map((r) => r.version);
    let used = await usedVersions();
    for (let i = 0; i < 300 && used.length !== 1; i++) {
      await runDurableObjectAlarm(env.COORDINATOR.getByName("coordinator"));
      used = await usedVersions();
    }
    expect(used).toEqual([v2]);
    const duties = (await api("GET", "/druid/coordinator/v1/duties")).json.dutyGroups;
    expect(duties[0]).toMatchObject({ name: "HistoricalManagementDuties", period: "PT60S", dutyNames: ["MarkOvershadowedSegmentsAsUnused", "CollectSegmentStats"] });
    expect(duties[0].lastRunEnd).not.toBeNull();
    expect((await api("POST", "/druid/coordinator/v1/config", { millisToWaitBeforeDeleting: 900000 })).status).toBe(200);
  });
});
