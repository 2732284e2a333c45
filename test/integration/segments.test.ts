import { describe, expect, it } from "vitest";
import { AGENT, api, indexTask, rows, uniqueDs, fetchWorker } from "./helpers.ts";
import { done } from "./agentSim.ts";
import { act, runTask, segment, type Running } from "./taskRuns.ts";

async function putFile(t: Running, key: string, body: string, credential = t.credential) {
  return fetchWorker(`http://druid.test/druid-internal/v1/deep-storage?key=${encodeURIComponent(key)}`, {
    method: "PUT",
    headers: { ...AGENT, "X-Druid-Task-Id": t.id, "X-Druid-Task-Credential": credential, "content-length": String(body.length) },
    body,
  });
}

const DAY1 = "2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z";

describe("task actions, segment metadata and deep storage", () => {
  it("lists the task's locks, and refuses a wrong credential and a finished task", async () => {
    const ds = uniqueDs("act");
    const t = await runTask(indexTask(ds, ["2024-03-01/2024-03-02"]), ds);
    const locks = await act(t, { type: "lockList" });
    expect(locks.status).toBe(200);
    expect(locks.json.result).toEqual([expect.objectContaining({ type: "EXCLUSIVE", interval: DAY1, dataSource: ds, groupId: t.id })]);
    expect((await act(t, { type: "lockList" }, "forged")).status).toBe(403);
    expect((await act(t, { type: "nope" })).status).toBe(400);
    expect((await api("POST", "/druid/indexer/v1/action", { task: t.id, action: { type: "lockList" } }, AGENT)).status).toBe(403);
    await t.agent.poll({ tasks: [done(t.id)] });
    expect((await act(t, { type: "lockList" })).status).toBe(403);
  });

  it("stores segment files in deep storage only under the task's own dataSource", async () => {
    const ds = uniqueDs("deep");
    const t = await runTask(indexTask(ds, ["2024-03-01/2024-03-02"]), ds);
    const key = `segments/${ds}/a.parquet`;
    expect((await putFile(t, key, "PAR1data")).status).toBe(200);
    const got = await fetchWorker(`http://druid.test/druid-internal/v1/deep-storage?key=${encodeURIComponent(key)}`, { headers: AGENT });
    expect(await got.text()).toBe("PAR1data");
    expect((await putFile(t, `segments/other/a.parquet`, "x")).status).toBe(403);
    expect((await putFile(t, `segments/${ds}/../x`, "x")).status).toBe(400);
    expect((await putFile(t, key, "x", "forged")).status).toBe(403);
  });

  it("publishes segments atomically under the task's lock and serves them from the metadata endpoints", async () => {
    const ds = uniqueDs("pub");
    const t = await runTask(indexTask(ds, ["2024-03-01/2024-03-02"]), ds);
    const version = (await act(t, { type: "lockList" })).json.result[0].version as string;

    // a newer version than the lock, or an interval outside it, is refused and stores nothing
    const later = "2999-01-01T00:00:00.000Z";
    expect((await act(t, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY1, version, 0, 2), segment(ds, DAY1, later, 1, 2)] })).status).toBe(403);
    expect((await act(t, { type: "segmentTransactionalInsert", segments: [segment(ds, "2024-03-02/2024-03-03", version, 0, 1)] })).status).toBe(403);
    expect(await rows("SELECT id FROM segments WHERE datasource = ?", ds)).toHaveLength(0);

    const pub = await act(t, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY1, version, 0, 2), segment(ds, DAY1, version, 1, 2)] });
    expect(pub.json.result).toMatchObject({ success: true, errorMsg: null });
    expect(pub.json.result.segments).toHaveLength(2);
    const again = await act(t, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY1, version, 0, 2)] });
    expect(again.json.result).toMatchObject({ success: false });

    expect((await api("GET", "/druid/coordinator/v1/metadata/datasources")).json).toContain(ds);
    const ids = (await api("GET", `/druid/coordinator/v1/metadata/datasources/${ds}/segments`)).json;
    expect(ids).toEqual([`${ds}_2024-03-01T00:00:00.000Z_2024-03-02T00:00:00.000Z_${version}`, `${ds}_2024-03-01T00:00:00.000Z_2024-03-02T00:00:00.000Z_${version}_1`]);
    const one = await api("GET", `/druid/coordinator/v1/metadata/datasources/${ds}/segments/${encodeURIComponent(ids[1])}`);
    expect(one.json).toMatchObject({ dataSource: ds, version, shardSpec: { partitionNum: 1 }, identifier: ids[1] });
    // every DataSegment the API returns names itself as Druid does ("identifier"; the web console reads it)
    expect((await api("GET", `/druid/indexer/v1/task/${t.id}/segments`)).json.map((x: any) => x.identifier)).toEqual(ids);
    const full = (await api("GET", `/druid/coordinator/v1/metadata/segments?datasources=${ds}&includeOvershadowedStatus`)).json;
    expect(full.map((x: any) => x.identifier).sort()).toEqual([...ids].sort());
    const ds1 = (await api("GET", `/druid/coordinator/v1/metadata/datasources/${ds}`)).json;
    expect(ds1).toMatchObject({ name: ds });
    expect(ds1.segments).toHaveLength(2);
  });

  it("overshadows an older version when a newer lock publishes the same interval", async () => {
    const ds = uniqueDs("over");
    const t1 = await runTask(indexTask(ds, ["2024-03-01/2024-03-02"]), ds);
    const v1 = (await act(t1, { type: "lockList" })).json.result[0].version;
    await act(t1, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY1, v1, 0, 1)] });
    await t1.agent.poll({ tasks: [done(t1.id)] });

    const t2 = await runTask(indexTask(ds, ["2024-03-01/2024-03-02"]), ds);
    const v2 = (await act(t2, { type: "lockList" })).json.result[0].version;
    expect(v2 > v1).toBe(true);
    await act(t2, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY1, v2, 0, 1)] });

    const status = (await api("GET", `/druid/coordinator/v1/metadata/segments?includeOvershadowedStatus&datasources=${ds}`)).json;
    expect(status.map((s: { version: string; overshadowed: boolean }) => [s.version, s.overshadowed])).toEqual([
      [v1, true],
      [v2, false],
    ]);
    expect(status[1]).toMatchObject({ numRows: 5, replicationFactor: 0, realtime: false });
    const visible = await act(t2, { type: "retrieveUsedSegments", dataSource: ds, intervals: [DAY1] });
    expect(visible.json.result.map((s: { version: string }) => s.version)).toEqual([v2]);
    const all = await act(t2, { type: "retrieveUsedSegments", dataSource: ds, intervals: [DAY1], visibility: "INCLUDING_OVERSHADOWED" });
    expect(all.json.result).toHaveLength(2);
  });

  it("allocates pending segments idempotently per sequence and previous segment id", async () => {
    const ds = uniqueDs("alloc");
    const t = await runTask(indexTask(ds, ["2024-03-01/2024-03-02"], { context: { useConcurrentLocks: true } }), ds);
    const req = { type: "segmentAllocate", dataSource: ds, timestamp: "2024-03-01T05:00:00.000Z", queryGranularity: "NONE", preferredSegmentGranularity: "DAY", sequenceName: "seq", previousSegmentId: null };
    const first = (await act(t, req)).json.result;
    expect(first).toMatchObject({ dataSource: ds, interval: DAY1, shardSpec: { type: "numbered", partitionNum: 0 } });
    expect((await act(t, req)).json.result).toEqual(first);
    const prev = `${ds}_2024-03-01T00:00:00.000Z_2024-03-02T00:00:00.000Z_${first.version}`;
    const second = (await act(t, { ...req, previousSegmentId: prev })).json.result;
    expect(second.shardSpec.partitionNum).toBe(1);
    expect(await rows("SELECT id FROM pending_segments WHERE datasource = ?", ds)).toHaveLength(2);
    await act(t, { type: "segmentTransactionalInsert", segments: [{ ...segment(ds, DAY1, first.version, 0, 0), shardSpec: first.shardSpec }] });
    expect(await rows("SELECT id FROM pending_segments WHERE datasource = ?", ds)).toHaveLength(0);
  });

  it("marks segments unused and used through the Overlord, and lets a kill task nuke only unused ones", async () => {
    const ds = uniqueDs("kill");
    const t = await runTask(indexTask(ds, ["2024-03-01/2024-03-03"]), ds);
    const v = (await act(t, { type: "lockList" })).json.result[0].version;
    const DAY2 = "2024-03-02T00:00:00.000Z/2024-03-03T00:00:00.000Z";
    await act(t, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY1, v, 0, 1, `segments/${ds}/d1.parquet`), segment(ds, DAY2, v, 0, 1, `segments/${ds}/d2.parquet`)] });
    await t.agent.poll({ tasks: [done(t.id)] });

    const bad = await api("POST", `/druid/indexer/v1/datasources/${ds}/markUnused`, { interval: "2024-03-01/2024-03-02", segmentIds: ["x"] });
    expect(bad.status).toBe(400);
    const marked = await api("POST", `/druid/indexer/v1/datasources/${ds}/markUnused`, { interval: "2024-03-01/2024-03-02" });
    expect(marked.json).toEqual({ numChangedSegments: 1, segmentStateChanged: true });
    const unused = (await api("GET", `/druid/coordinator/v1/metadata/datasources/${ds}/unusedSegments`)).json;
    expect(unused.map((u: { dataSegment: { interval: string } }) => u.dataSegment.interval)).toEqual([DAY1]);
    expect(unused[0]).toMatchObject({ used: false, numRows: 5 });

    const k = await runTask({ type: "kill", dataSource: ds, interval: "2024-03-01/2024-03-03" }, ds);
    const toKill = (await act(k, { type: "retrieveUnusedSegments", dataSource: ds, interval: "2024-03-01/2024-03-03" })).json.result;
    expect(toKill).toHaveLength(1);
    const usedOne = (await act(k, { type: "retrieveUsedSegments", dataSource: ds, intervals: ["2024-03-01/2024-03-03"] })).json.result;
    expect((await act(k, { type: "segmentNuke", segments: usedOne })).status).toBe(400);
    expect((await act(k, { type: "segmentNuke", segments: toKill })).json.result).toBe(1);
    expect(await rows("SELECT id FROM segments WHERE datasource = ?", ds)).toHaveLength(1);

    const reused = await api("POST", `/druid/indexer/v1/datasources/${ds}/markUnused`, { interval: "2024-03-02/2024-03-03" });
    expect(reused.json.numChangedSegments).toBe(1);
    const back = await api("POST", `/druid/indexer/v1/datasources/${ds}/markUsed`, { interval: "2024-03-02/2024-03-03" });
    expect(back.json.numChangedSegments).toBe(1);
  });
});

/** Issue 12: what a task publishes is validated as Druid's DataSegment and ShardSpec constructors would. */
describe("publishing validates the segments it stores", () => {
  const numbered = (partitionNum: unknown, partitions: unknown) => ({ type: "numbered", partitionNum, partitions });

  it("refuses segments with invalid shard specs or fields with 400 naming the field, for every publishing action, storing nothing", async () => {
    const ds = uniqueDs("badseg");
    const t = await runTask(indexTask(ds, ["2024-03-01/2024-03-02"]), ds);
    const version = (await act(t, { type: "lockList" })).json.result[0].version as string;
    const ok = segment(ds, DAY1, version, 0, 1);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ ...ok, shardSpec: numbered(-1, 1) }, "segments.0.shardSpec.partitionNum"],
      [{ ...ok, shardSpec: numbered(1e300, 1) }, "segments.0.shardSpec.partitionNum"],
      [{ ...ok, shardSpec: numbered("0", 1) }, "segments.0.shardSpec.partitionNum"],
      [{ ...ok, shardSpec: numbered(0, -1) }, "segments.0.shardSpec.partitions"],
      [{ ...ok, shardSpec: { type: "linear" } }, "segments.0.shardSpec.partitionNum"],
      [{ ...ok, shardSpec: { type: "building_numbered", partitionId: 0 } }, "segments.0.shardSpec.type"],
      [{ ...ok, interval: "2024-03-01/2024-03-01" }, "segments.0.interval"],
      [{ ...ok, interval: "2024-03-01T00:00:00+25:00/2024-03-02" }, "segments.0.interval"],
      [{ ...ok, version: "" }, "segments.0.version"],
      [{ ...ok, size: -10 }, "segments.0.size"],
      [{ ...ok, binaryVersion: "9" }, "segments.0.binaryVersion"],
      [{ ...ok, dimensions: ["page", "user"] }, "segments.0.dimensions"],
      [{ ...ok, loadSpec: "r2://x" }, "segments.0.loadSpec"],
      [{ ...ok, dataSource: `${ds}/x` }, "segments.0.dataSource"],
    ];
    for (const type of ["segmentTransactionalInsert", "segmentTransactionalReplace", "segmentTransactionalAppend"]) {
      for (const [seg, field] of bad) {
        const r = await act(t, { type, segments: [seg] });
        expect(r.status, `${type} ${JSON.stringify(seg)}`).toBe(400);
        expect(r.json).toMatchObject({ error: "druidException", category: "INVALID_INPUT" });
        expect(r.json.errorMessage).toContain(`[${field}]`);
      }
    }
    // a bad segment among good ones fails the whole publish
    const mixed = await act(t, { type: "segmentTransactionalInsert", segments: [ok, { ...segment(ds, DAY1, version, 1, 1), shardSpec: numbered(1, -1) }] });
    expect(mixed.status).toBe(400);
    expect(mixed.json.errorMessage).toContain("[segments.1.shardSpec.partitions]");
    expect((await act(t, { type: "segmentTransactionalInsert", segments: [ok], segmentsToBeOverwritten: [{ ...ok, shardSpec: numbered(-1, 0) }] })).status).toBe(400);
    expect((await act(t, { type: "segmentNuke", segments: [{ ...ok, shardSpec: numbered(0, -1) }] })).status).toBe(400);
    expect(await rows("SELECT id FROM segments WHERE datasource = ?", ds)).toHaveLength(0);

    // the valid forms still publish: an appended partition beyond the core set, and Druid's default for a missing shardSpec
    const { shardSpec: _drop, ...noSpec } = ok;
    const pub = await act(t, { type: "segmentTransactionalInsert", segments: [noSpec, { ...segment(ds, DAY1, version, 3, 1, `segments/${ds}/3.parquet`) }] });
    expect(pub.status).toBe(200);
    expect(pub.json.result).toMatchObject({ success: true });
    const stored = await rows<{ partition_num: number; payload: string }>("SELECT partition_num, payload FROM segments WHERE datasource = ? ORDER BY partition_num", ds);
    expect(stored.map((r) => [r.partition_num, JSON.parse(r.payload).shardSpec])).toEqual([
      [0, { type: "numbered", partitionNum: 0, partitions: 1 }],
      [3, { type: "numbered", partitionNum: 3, partitions: 1 }],
    ]);
  });

  it("refuses to lock an empty interval (Druid's TaskLockbox: interval empty)", async () => {
    const ds = uniqueDs("emptylock");
    const t = await runTask(indexTask(ds, ["2024-03-01/2024-03-02"], { context: { useConcurrentLocks: true } }), ds);
    const r = await act(t, { type: "lockTryAcquire", lockType: "EXCLUSIVE", interval: "2024-03-05/2024-03-05" });
    expect(r.status).toBe(400);
    expect(r.json.errorMessage).toContain("the interval is empty");
  });
});

describe("segment queries never exceed D1's bound-parameter limit", () => {
  it("answers a metadata query over 300 intervals by merging chunks, and refuses filter lists that would not fit", async () => {
    const ds = uniqueDs("manyintervals");
    const t = await runTask(indexTask(ds, ["2024-03-01/2024-03-03"]), ds);
    const version = (await act(t, { type: "lockList" })).json.result[0].version as string;
    const pub = await act(t, { type: "segmentTransactionalInsert", segments: [segment(ds, "2024-03-01/2024-03-02", version, 0, 1), segment(ds, "2024-03-02/2024-03-03", version, 0, 1)] });
    expect(pub.json.result.success).toBe(true);
    const intervals = Array.from({ length: 300 }, (_, i) => `2024-03-0${1 + (i % 2)}T${String(i % 24).padStart(2, "0")}:00:00Z/PT1M`);
    const r = await api("POST", `/druid/coordinator/v1/metadata/datasources/${ds}/segments?full`, intervals);
    expect(r.status).toBe(200);
    expect(r.json.map((s: any) => s.interval)).toEqual(["2024-03-01/2024-03-02", "2024-03-02/2024-03-03"]);
    const versions = Array.from({ length: 51 }, (_, i) => `v${i}`);
    expect((await api("POST", `/druid/indexer/v1/datasources/${ds}/markUnused`, { interval: "2024-03-01/2024-03-03", versions })).status).toBe(400);
    expect((await act(t, { type: "markSegmentsAsUnused", dataSource: ds, interval: "2024-03-01/2024-03-03", versions })).status).toBe(400);
    const many = Array.from({ length: 51 }, (_, i) => `datasources=${ds}${i}`).join("&");
    expect((await api("GET", `/druid/coordinator/v1/metadata/segments?${many}`)).status).toBe(400);
  });
});

describe("the deprecated Coordinator-path data source endpoints go through the Overlord", () => {
  it("submits a kill task with Druid's api-issued id for DELETE .../datasources/{ds}/intervals/{interval}, and refuses a bad interval", async () => {
    const ds = uniqueDs("apikill");
    const r = await api("DELETE", `/druid/coordinator/v1/datasources/${ds}/intervals/2024-03-01_2024-03-02`);
    expect(r.status).toBe(200);
    const tasks = (await api("GET", `/druid/indexer/v1/tasks?datasource=${ds}`)).json;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ type: "kill", dataSource: ds });
    expect(tasks[0].id).toMatch(new RegExp(`^api-issued_kill_${ds}_2024-03-01T00:00:00.000Z_2024-03-02T00:00:00.000Z_`));
    const payload = (await api("GET", `/druid/indexer/v1/task/${tasks[0].id}`)).json.payload;
    expect(payload).toMatchObject({ type: "kill", dataSource: ds, interval: "2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z" });
    const viaQuery = await api("DELETE", `/druid/coordinator/v1/datasources/${ds}?kill=true&interval=2024-03-02_2024-03-03`);
    expect(viaQuery.status).toBe(200);
    expect((await api("GET", `/druid/indexer/v1/tasks?datasource=${ds}`)).json).toHaveLength(2);
    for (const bad of ["nope", "2024-03-01_2024-03-01", "2024-03-02_2024-03-01"]) {
      const refused = await api("DELETE", `/druid/coordinator/v1/datasources/${ds}/intervals/${bad}`);
      expect(refused.status).toBe(400);
      expect(refused.json.error).toBe("druidException");
    }
    expect((await api("GET", `/druid/indexer/v1/tasks?datasource=${ds}`)).json).toHaveLength(2);
  });

  it("marks all segments unused for DELETE .../datasources/{ds} and the non-overshadowed ones used for POST", async () => {
    const ds = uniqueDs("coordmark");
    const t = await runTask(indexTask(ds, ["2024-03-01/2024-03-02"]), ds);
    const v = (await act(t, { type: "lockList" })).json.result[0].version;
    await act(t, { type: "segmentTransactionalInsert", segments: [segment(ds, DAY1, v, 0, 1)] });
    expect((await api("DELETE", `/druid/coordinator/v1/datasources/${ds}`)).json).toEqual({ numChangedSegments: 1, segmentStateChanged: true });
    expect((await api("POST", `/druid/coordinator/v1/datasources/${ds}`)).json).toEqual({ numChangedSegments: 1, segmentStateChanged: true });
  });
});
