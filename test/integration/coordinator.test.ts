import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, overlordStub, uniqueDs } from "./helpers.ts";

describe("the Coordinator object", () => {
  it("answers Druid's leadership endpoints, and /status shows both objects' term and lifecycle stage", async () => {
    expect((await api("GET", "/druid/coordinator/v1/isLeader")).json).toEqual({ leader: true });
    expect((await api("GET", "/druid/coordinator/v1/leader")).text).toBe("http://druid.test");
    const s = (await api("GET", "/status")).json;
    expect(s.overlord).toMatchObject({ term: 1, stage: "serving" });
    expect(s.overlord.stages.map((x: any) => x.stage)).toEqual(["starting", "termTaken", "metadataSynced", "serving"]);
    expect(s.coordinator).toMatchObject({ term: 1, stage: "dutiesStarted" });
    expect(s.coordinator.stages.map((x: any) => x.stage)).toEqual(["starting", "termTaken", "metadataSynced", "serving", "dutiesStarted"]);
    await abortAllDurableObjects();
    const again = (await api("GET", "/status")).json;
    expect([again.overlord.term, again.coordinator.term]).toEqual([2, 2]);
  });

  it("fences the Coordinator's writes by its term at the Overlord: an older incarnation is refused, also after the Overlord restarts", async () => {
    const ds = uniqueDs("fence");
    const mark = (term: number) => overlordStub().forCoordinator(term, { kind: "markSegments", dataSource: ds, request: { kind: "allUnused" } });
    expect(await mark(5)).toMatchObject({ ok: true, value: 0 });
    expect(await mark(5)).toMatchObject({ ok: true });
    expect(await mark(6)).toMatchObject({ ok: true });
    const stale = await mark(5);
    expect(stale).toMatchObject({ ok: false, error: { status: 409, errorCode: "staleCoordinatorTerm" } });
    await abortAllDurableObjects();
    expect(await mark(5)).toMatchObject({ ok: false, error: { errorCode: "staleCoordinatorTerm" } });
    expect(await mark(7)).toMatchObject({ ok: true });
  });
});
