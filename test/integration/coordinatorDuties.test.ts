/**
 * The Coordinator's indexing and metadata duties in the object, over real D1 and the paired
 * Overlord: KillRules, KillAuditLog (both audit tables), KillStalePendingSegments, the
 * Overlord's killPendingSegments endpoint, and the fencing of the new requests. The kill duty's
 * whole path with a real agent is test/e2e/coordinatorDuties.test.ts.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SegmentStore } from "../../src/metadata/segmentStore.ts";
import { laterClock, systemClock } from "../../src/platform/clock.ts";
import type { DutyGroupName } from "../../src/objects/coordinator/coordinatorDuties.ts";
import { api, coordinatorStub, overlordStub, rows } from "./helpers.ts";

const DAY = 86_400_000;

/** Runs one duty group in the Coordinator with its clock `laterMs` ahead; answers the group's run stats. */
async function runGroup(group: DutyGroupName, laterMs = 0): Promise<Record<string, any>> {
  await api("GET", "/druid/coordinator/v1/isLeader"); // the object has started
  return runInDurableObject(coordinatorStub(), async (c) => {
    const o = c as unknown as { clock: typeof systemClock; dutyGroups: { run(g: DutyGroupName): Promise<void>; toJSON(): Array<{ name: string; lastRunStats: any }> } };
    o.clock = laterClock(systemClock, laterMs);
    await o.dutyGroups.run(group);
    return o.dutyGroups.toJSON().find((g) => g.name === group)!.lastRunStats;
  });
}

async function publish(ds: string, day: string) {
  const seg = { dataSource: ds, interval: `${day}T00:00:00.000Z/${day}T01:00:00.000Z`, version: "2024-01-01T00:00:00.000Z", loadSpec: {}, shardSpec: { type: "numbered", partitionNum: 0, partitions: 0 }, binaryVersion: 9, size: 10 };
  await env.DB.batch(new SegmentStore(env.DB).insertStatements([seg], null, Date.now()));
}

async function pending(ds: string, id: string, createdMs: number) {
  await env.DB.prepare(
    `INSERT INTO pending_segments (id, datasource, created_date, start_ms, end_ms, sequence_name, sequence_prev_id, sequence_name_prev_id_sha1, task_allocator_id, payload) VALUES (?, ?, ?, 0, 1, 's', '', ?, null, '{}')`,
  )
    .bind(id, ds, new Date(createdMs).toISOString(), `sha-${id}`)
    .run();
}

describe("the Coordinator's metadata cleanup", () => {
  it("KillRules removes the rules of data sources without segments set before the retention, keeping the default, data sources with segments and rules set since", async () => {
    const rule = [{ type: "loadForever", tieredReplicants: { hot: 1 } }];
    for (const ds of ["gone", "kept", "_default"]) expect((await api("POST", `/druid/coordinator/v1/rules/${ds}`, rule)).status).toBe(200);
    await publish("kept", "2024-01-01");
    await api("GET", "/druid/coordinator/v1/isLeader");
    const stats = await runGroup("MetadataStoreManagementDuties", 91 * DAY);
    expect(stats.KillRules).toEqual({ skipped: null, deleted: 1 });
    expect(Object.keys((await api("GET", "/druid/coordinator/v1/rules")).json).sort()).toEqual(["_default", "kept"]);
    expect((await rows("SELECT datasource FROM coordinator_rules ORDER BY datasource")).map((r: any) => r.datasource)).toEqual(["_default", "kept"]);
    // a second run within the period does nothing; a run after it finds nothing more
    expect((await runGroup("MetadataStoreManagementDuties", 91 * DAY)).KillRules.skipped).toBe("notDue");
    expect((await runGroup("MetadataStoreManagementDuties", 93 * DAY)).KillRules).toEqual({ skipped: null, deleted: 0 });
  });

  it("KillAuditLog deletes audit entries older than the retention from the Coordinator's and the Overlord's tables", async () => {
    expect((await api("POST", "/druid/coordinator/v1/config", { maxSegmentsToMove: 7 })).status).toBe(200);
    expect((await api("POST", "/druid/indexer/v1/worker", { selectStrategy: { type: "equalDistribution" } })).status).toBe(200);
    expect(await rows("SELECT COUNT(*) AS n FROM coordinator_audit")).toEqual([{ n: 1 }]);
    expect(await rows("SELECT COUNT(*) AS n FROM audit")).toEqual([{ n: 1 }]);
    expect((await runGroup("MetadataStoreManagementDuties", 89 * DAY)).KillAuditLog.deleted).toBe(0);
    expect((await runGroup("MetadataStoreManagementDuties", 91 * DAY)).KillAuditLog.deleted).toBe(2);
    expect(await rows("SELECT COUNT(*) AS n FROM coordinator_audit")).toEqual([{ n: 0 }]);
    expect(await rows("SELECT COUNT(*) AS n FROM audit")).toEqual([{ n: 0 }]);
    // the config itself stays
    expect((await api("GET", "/druid/coordinator/v1/config")).json.maxSegmentsToMove).toBe(7);
  });
});

describe("stale pending segments", () => {
  it("KillStalePendingSegments deletes pending segments created more than a day before the oldest active task of the data source", async () => {
    const now = Date.now();
    await publish("wiki", "2024-01-01");
    await pending("wiki", "old", now - 3 * DAY);
    await pending("wiki", "recent", now - DAY / 2);
    await pending("other", "no-used-segments", now - 30 * DAY);
    const task = await api("POST", "/druid/indexer/v1/task", { type: "noop", dataSource: "wiki" });
    expect(task.status).toBe(200);
    await coordinatorStub().syncSegments();
    const stats = await runGroup("IndexingServiceDuties");
    expect(stats.KillStalePendingSegments).toEqual({ skipped: null, deleted: { wiki: 1 } });
    expect((await rows("SELECT id FROM pending_segments ORDER BY id")).map((r: any) => r.id)).toEqual(["no-used-segments", "recent"]);
    expect(stats.KillUnusedSegments).toEqual({ skipped: "off", maxSlots: 0, availableSlots: 0, eligibleSegments: 0, submittedTasks: [] });
  });

  it("DELETE /druid/indexer/v1/pendingSegments/{ds} deletes by creation time, and refuses while an active task was created in the interval", async () => {
    const now = Date.now();
    await pending("wiki", "a", now - 10 * DAY);
    await pending("wiki", "b", now - 5 * DAY);
    const iso = (ms: number) => new Date(ms).toISOString();
    const del = (from: number, to: number) => api("DELETE", `/druid/indexer/v1/pendingSegments/wiki?interval=${iso(from)}/${iso(to)}`);
    expect((await del(now - 11 * DAY, now - 7 * DAY)).json).toEqual({ numDeleted: 1 });
    expect((await api("POST", "/druid/indexer/v1/task", { type: "noop", dataSource: "wiki" })).status).toBe(200);
    const refused = await del(now - 6 * DAY, now + DAY);
    expect(refused.status).toBe(400);
    expect(refused.json.errorMessage).toContain("Cannot delete pendingSegments because there is at least one active task created at");
    expect(await rows("SELECT id FROM pending_segments")).toEqual([{ id: "b" }]);
    expect((await api("DELETE", "/druid/indexer/v1/pendingSegments/wiki")).status).toBe(400);
    expect((await api("DELETE", "/druid/indexer/v1/pendingSegments/wiki?interval=2024-01-02/2024-01-01")).status).toBe(400);
  });
});

describe("the Coordinator's requests to the Overlord", () => {
  it("are fenced by term and limited to coordinator-issued kill tasks", async () => {
    const kill = (id: string, type = "kill") => ({ kind: "submitTask" as const, task: { type, id, dataSource: "wiki", interval: "2024-01-01/2024-01-02" } });
    const ok = await overlordStub().forCoordinator(5, kill("coordinator-issued_kill_wiki_x"));
    expect(ok).toMatchObject({ ok: true, value: "coordinator-issued_kill_wiki_x" });
    expect(await overlordStub().forCoordinator(4, kill("coordinator-issued_kill_wiki_y"))).toMatchObject({ ok: false, error: { errorCode: "staleCoordinatorTerm" } });
    expect(await overlordStub().forCoordinator(5, kill("api-issued_kill_wiki_z"))).toMatchObject({ ok: false, error: { errorCode: "invalidInput" } });
    expect(await overlordStub().forCoordinator(5, kill("coordinator-issued_kill_wiki_n", "noop"))).toMatchObject({ ok: false, error: { errorCode: "invalidInput" } });
    expect(await overlordStub().forCoordinator(5, { kind: "killSlots" })).toEqual(expect.objectContaining({ ok: true, value: { totalSlots: 0, activeKillTasks: 1 } }));
    expect((await rows("SELECT id FROM tasks")).map((r: any) => r.id)).toEqual(["coordinator-issued_kill_wiki_x"]);
  });
});
