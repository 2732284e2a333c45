/**
 * The Coordinator's duties end to end, with a real agent: a re-ingested interval's old version is
 * marked unused by markOvershadowedUnused as soon as the new one is published, and with kill on
 * (no buffer, no retention) KillUnusedSegments submits a coordinator-issued kill task at once,
 * which the agent runs: the old version's rows and file are gone, the new one is untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, startDruidEdge, waitFor, type AgentProcess, type DruidEdge } from "../support/node/cluster.ts";

type Seg = { interval: string; version: string; overshadowed: boolean; loadSpec: { key: string } };

function indexSpec(ds: string, rows: number) {
  const data = Array.from({ length: rows }, (_, i) => JSON.stringify({ time: `2024-02-01T${String(i % 24).padStart(2, "0")}:00:00Z`, page: `p${i % 5}`, added: i })).join("\n");
  return {
    type: "index_parallel",
    spec: {
      dataSchema: {
        dataSource: ds,
        timestampSpec: { column: "time", format: "iso" },
        dimensionsSpec: { dimensions: ["page"] },
        metricsSpec: [{ type: "count", name: "count" }],
        granularitySpec: { segmentGranularity: "day", queryGranularity: "hour", rollup: true, intervals: ["2024-02-01/2024-02-02"] },
      },
      ioConfig: { type: "index_parallel", inputSource: { type: "inline", data }, inputFormat: { type: "json" }, appendToExisting: false },
      tuningConfig: { type: "index_parallel", partitionsSpec: { type: "dynamic" } },
    },
  };
}

describe("the Coordinator's duties with a real agent", () => {
  let edge: DruidEdge;
  let agent: AgentProcess;

  const submit = async (task: unknown): Promise<string> => {
    const r = await edge.api("POST", "/druid/indexer/v1/task", task);
    expect(r.status, r.text).toBe(200);
    return r.json.task;
  };
  const finished = (id: string) =>
    waitFor(async () => {
      const s = (await edge.api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status;
      return s.statusCode !== "RUNNING" ? s : null;
    }, `task ${id} to finish`);
  const deepStorage = (key: string) => fetch(`${edge.url}/druid-internal/v1/deep-storage?key=${encodeURIComponent(key)}`, { headers: { Authorization: `Bearer ${edge.agentToken}` } });

  beforeAll(async () => {
    edge = await startDruidEdge({
      vars: { DRUID_COORDINATOR_KILL_ON: "true", DRUID_COORDINATOR_KILL_BUFFER_PERIOD: "PT0S", DRUID_COORDINATOR_KILL_DURATION_TO_RETAIN: "PT0S" },
    });
    agent = startAgent(edge, { host: "duties-a:8091", capacity: 2 });
    await waitFor(async () => (await edge.api("GET", "/druid/indexer/v1/workers")).json?.length === 1, "the agent to register");
    // mark at once (no wait after becoming leader) and let kill tasks use every slot
    const cfg = await edge.api("POST", "/druid/coordinator/v1/config", { millisToWaitBeforeDeleting: 0, killTaskSlotRatio: 1 });
    expect(cfg.status, cfg.text).toBe(200);
  });

  afterAll(async () => {
    agent?.kill("SIGKILL");
    await edge?.dispose();
  });

  it("marks the overshadowed version unused and kills it through a coordinator-issued kill task the agent runs", async () => {
    const ds = "duties_wiki";
    expect(await finished(await submit(indexSpec(ds, 48)))).toMatchObject({ statusCode: "SUCCESS" });
    const [v1] = (await edge.api("GET", `/druid/coordinator/v1/metadata/segments?includeOvershadowedStatus&datasources=${ds}`)).json as Seg[];
    expect((await deepStorage(v1!.loadSpec.key)).status).toBe(200);

    expect(await finished(await submit(indexSpec(ds, 24)))).toMatchObject({ statusCode: "SUCCESS" });
    const kill = await waitFor(async () => {
      const tasks = (await edge.api("GET", `/druid/indexer/v1/tasks?datasource=${ds}&type=kill`)).json as Array<{ id: string; statusCode: string }>;
      return tasks.find((t) => t.id.startsWith(`coordinator-issued_kill_${ds}_`) && t.statusCode === "SUCCESS") ?? null;
    }, "a coordinator-issued kill task to succeed");
    expect(kill.id).toMatch(/^coordinator-issued_kill_duties_wiki_2024-02-01T00:00:00.000Z_2024-02-02T00:00:00.000Z_/);

    const used = (await edge.api("GET", `/druid/coordinator/v1/metadata/segments?includeOvershadowedStatus&datasources=${ds}`)).json as Seg[];
    expect(used).toHaveLength(1);
    expect(used[0]!.version > v1!.version && !used[0]!.overshadowed).toBe(true);
    expect((await edge.api("GET", `/druid/coordinator/v1/metadata/datasources/${ds}/unusedSegments`)).json).toEqual([]);
    expect((await deepStorage(v1!.loadSpec.key)).status).toBe(404);
    expect((await deepStorage(used[0]!.loadSpec.key)).status).toBe(200);

    const groups = (await edge.api("GET", "/druid/coordinator/v1/duties")).json.dutyGroups as Array<{ name: string; lastRunStats: any }>;
    const indexing = groups.find((g) => g.name === "IndexingServiceDuties")!;
    expect(indexing.lastRunStats.KillUnusedSegments).toBeDefined();
  });
});
