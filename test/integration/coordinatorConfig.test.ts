import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, fetchWorker, rows } from "./helpers.ts";

const post = (path: string, body: unknown, author = "ops", comment = "why") =>
  fetchWorker(`http://druid.test${path}`, {
    method: "POST",
    headers: { Authorization: "Bearer test-admin-token", "content-type": "application/json", "X-Druid-Author": author, "X-Druid-Comment": comment },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("retention rules (Coordinator)", () => {
  it("serves Druid's default rule, stores a data source's rules with audit, and appends the default with ?full", async () => {
    expect((await api("GET", "/druid/coordinator/v1/rules")).json).toEqual({ _default: [{ type: "loadForever", tieredReplicants: { _default_tier: 2 }, useDefaultTierForNull: true }] });
    expect((await api("GET", "/druid/coordinator/v1/rules/wiki")).json).toEqual([]);
    const rules = [{ type: "loadByPeriod", period: "P1M", tieredReplicants: { hot: 1 } }, { type: "dropForever" }];
    const r = await post("/druid/coordinator/v1/rules/wiki", rules, "ann", "keep a month");
    expect(r.status).toBe(200);
    const stored = (await api("GET", "/druid/coordinator/v1/rules/wiki")).json;
    expect(stored).toMatchObject([{ type: "loadByPeriod", period: "P1M", includeFuture: true, tieredReplicants: { hot: 1 } }, { type: "dropForever" }]);
    const full = (await api("GET", "/druid/coordinator/v1/rules/wiki?full")).json;
    expect(full.map((x: any) => x.type)).toEqual(["loadByPeriod", "dropForever", "loadForever"]);
    expect(Object.keys((await api("GET", "/druid/coordinator/v1/rules")).json).sort()).toEqual(["_default", "wiki"]);
    const history = (await api("GET", "/druid/coordinator/v1/rules/wiki/history?count=5")).json;
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ key: "wiki", type: "rules", auditInfo: { author: "ann", comment: "keep a month" } });
    expect(JSON.parse(history[0].payload)).toEqual(stored);
    expect((await api("GET", "/druid/coordinator/v1/rules/history")).json).toHaveLength(1);
    expect(await rows("SELECT datasource FROM coordinator_rules")).toEqual([{ datasource: "wiki" }]);
    // the rules survive a restart of the Coordinator
    await abortAllDurableObjects();
    expect((await api("GET", "/druid/coordinator/v1/rules/wiki")).json).toEqual(stored);
  });

  it("refuses bad rule lists with 400 and Druid's error JSON, storing nothing", async () => {
    for (const bad of [
      [{ type: "loadSometimes" }],
      [{ type: "loadByPeriod", period: "P1X" }],
      [{ type: "dropByInterval", interval: "2020-01-01/2020-01-01" }],
      [{ type: "loadForever", tieredReplicants: { hot: -1 } }],
      { type: "loadForever" },
      "[not json",
      `[${"[".repeat(200)}${"]".repeat(200)}]`,
    ]) {
      const r = await post("/druid/coordinator/v1/rules/wiki", bad);
      expect(r.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
      expect(((await r.json()) as any).error).toBe("druidException");
    }
    expect((await post("/druid/coordinator/v1/rules/_default", [])).status).toBe(400); // cluster rules cannot be empty
    expect((await post("/druid/coordinator/v1/rules/a%2Fb", [])).status).toBe(400);
    expect(await rows("SELECT * FROM coordinator_rules")).toEqual([]);
    expect(await rows("SELECT * FROM coordinator_audit")).toEqual([]);
  });
});

describe("Coordinator dynamic config", () => {
  it("serves Druid's defaults, merges a POST over the current value with audit, and keeps it across a restart", async () => {
    const before = (await api("GET", "/druid/coordinator/v1/config")).json;
    expect(before).toMatchObject({ millisToWaitBeforeDeleting: 900000, maxSegmentsToMove: 100, killTaskSlotRatio: 0.1, pauseCoordination: false });
    expect((await post("/druid/coordinator/v1/config", { maxSegmentsToMove: 5, killDataSourceWhitelist: "a, b" })).status).toBe(200);
    expect((await post("/druid/coordinator/v1/config", { pauseCoordination: true })).status).toBe(200);
    const after = (await api("GET", "/druid/coordinator/v1/config")).json;
    expect(after).toEqual({ ...before, maxSegmentsToMove: 5, killDataSourceWhitelist: ["a", "b"], pauseCoordination: true });
    expect((await api("GET", "/druid/coordinator/v1/config/history?count=10")).json).toHaveLength(2);
    await abortAllDurableObjects();
    expect((await api("GET", "/druid/coordinator/v1/config")).json).toEqual(after);
  });

  it("refuses a bad value with 400 naming the field and changes nothing", async () => {
    const before = (await api("GET", "/druid/coordinator/v1/config")).json;
    for (const bad of [{ killTaskSlotRatio: 2 }, { maxSegmentsToMove: -1 }, { replicantLifetime: "15" }]) {
      const r = await post("/druid/coordinator/v1/config", bad);
      expect(r.status).toBe(400);
      expect(((await r.json()) as any).errorMessage).toContain(Object.keys(bad)[0]);
    }
    expect((await api("GET", "/druid/coordinator/v1/config")).json).toEqual(before);
    expect(await rows("SELECT * FROM coordinator_config")).toEqual([]);
  });
});
