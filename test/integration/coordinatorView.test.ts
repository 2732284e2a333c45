import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, coordinatorStub, indexTask, uniqueDs } from "./helpers.ts";
import { act, runTask, segment } from "./taskRuns.ts";

const DAY = "2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z";

describe("the Coordinator's segment view", () => {
  it("follows publishes and marking through the change sequence, with overshadowing, and rebuilds itself on a restart", async () => {
    const ds = uniqueDs("view");
    const t1 = await runTask(indexTask(ds, ["2024-05-01/2024-05-02"]), ds);
    const v1 = (await act(t1, { type: "lockList" })).json.result[0].version;
    expect((await act(t1, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY, v1, 0, 2), segment(ds, DAY, v1, 1, 2)] })).json.result.success).toBe(true);
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 2, overshadowed: 0 } });
    await t1.agent.poll({ tasks: [{ id: t1.id, status: "SUCCESS", duration: 1, errorMsg: null }] });

    const t2 = await runTask(indexTask(ds, ["2024-05-01/2024-05-02"]), ds);
    const v2 = (await act(t2, { type: "lockList" })).json.result[0].version;
    expect((await act(t2, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY, v2, 0, 1)] })).json.result.success).toBe(true);
    const synced = await coordinatorStub().syncSegments();
    expect(synced).toMatchObject({ ok: true, value: { segments: 3, overshadowed: 2 } });

    // marking the old version unused takes it out of the view
    const marked = await api("POST", `/druid/indexer/v1/datasources/${ds}/markUnused`, { interval: "2024-05-01/2024-05-02", versions: [v1] });
    expect(marked.json).toEqual({ numChangedSegments: 2, segmentStateChanged: true });
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 1, overshadowed: 0 } });
    const watermark = ((await coordinatorStub().syncSegments()) as any).value.watermark;

    // a new incarnation loads the same view from D1
    await abortAllDurableObjects();
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { segments: 1, overshadowed: 0, watermark } });
  });
});
