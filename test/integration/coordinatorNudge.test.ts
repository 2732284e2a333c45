import { describe, expect, it } from "vitest";
import { api, indexTask, shareStateAcrossTests, uniqueDs } from "./helpers.ts";
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
