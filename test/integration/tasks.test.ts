import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, AGENT, api, indexTask, inOverlord, noop, rows, uniqueDs } from "./helpers.ts";

describe("authentication", () => {
  it("answers /status/health without credentials", async () => {
    const r = await api("GET", "/status/health", undefined, {});
    expect(r.status).toBe(200);
    expect(r.json).toBe(true);
  });

  it("refuses a request without credentials with 401 and Druid's error JSON", async () => {
    const r = await api("GET", "/druid/indexer/v1/tasks", undefined, {});
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ error: "druidException", category: "UNAUTHORIZED" });
  });

  it("refuses a wrong bearer token and a wrong Basic password", async () => {
    expect((await api("GET", "/druid/indexer/v1/tasks", undefined, { Authorization: "Bearer nope" })).status).toBe(401);
    const basic = `Basic ${btoa("admin:wrong")}`;
    expect((await api("GET", "/druid/indexer/v1/tasks", undefined, { Authorization: basic })).status).toBe(401);
  });

  it("accepts HTTP Basic with user admin and the admin token", async () => {
    const r = await api("GET", "/druid/indexer/v1/isLeader", undefined, { Authorization: `Basic ${btoa("admin:test-admin-token")}` });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ leader: true });
  });

  it("does not let the agent token open operator endpoints", async () => {
    const r = await api("GET", "/druid/indexer/v1/tasks", undefined, AGENT);
    expect(r.status).toBe(403);
    expect(r.json.category).toBe("FORBIDDEN");
  });
});

describe("leadership and status", () => {
  it("reports itself as leader and shows version and term", async () => {
    expect((await api("GET", "/druid/indexer/v1/isLeader")).json).toEqual({ leader: true });
    expect((await api("GET", "/druid/indexer/v1/leader")).text).toBe("http://druid.test");
    const s = await api("GET", "/status");
    expect(s.json.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(s.json.overlord.term).toBeGreaterThanOrEqual(1);
  });

  it("bumps the term on every start of the object and records it in D1", async () => {
    const before = (await api("GET", "/status")).json.overlord.term as number;
    await abortAllDurableObjects();
    const after = (await api("GET", "/status")).json.overlord.term as number;
    expect(after).toBe(before + 1);
    const terms = await rows<{ term: number }>("SELECT term FROM overlord_terms ORDER BY term DESC LIMIT 1");
    expect(terms[0]!.term).toBe(after);
  });
});

describe("task submission", () => {
  it("accepts a noop task, generates a Druid-style id and stores it", async () => {
    const r = await api("POST", "/druid/indexer/v1/task", noop());
    expect(r.status).toBe(200);
    expect(r.json.task).toMatch(/^noop_/);
    const stored = await rows<{ status: string; active: number; type: string }>("SELECT status, active, type FROM tasks WHERE id = ?", r.json.task);
    expect(stored).toEqual([{ status: "RUNNING", active: 1, type: "noop" }]);
    const st = await api("GET", `/druid/indexer/v1/task/${r.json.task}/status`);
    expect(st.json.status).toMatchObject({ id: r.json.task, statusCode: "RUNNING", runnerStatusCode: "PENDING", dataSource: "none" });
  });

  it("returns the stored payload with context defaults filled", async () => {
    const id = `payload_${Date.now()}`;
    await api("POST", "/druid/indexer/v1/task", noop({ id, context: { priority: 7 } }));
    const r = await api("GET", `/druid/indexer/v1/task/${id}`);
    expect(r.status).toBe(200);
    expect(r.json.payload).toMatchObject({ id, type: "noop", context: { priority: 7, forceTimeChunkLock: true } });
    expect((await api("GET", `/druid/indexer/v1/task/nope_${id}`)).json).toEqual({ task: `nope_${id}`, payload: null });
  });

  it("refuses a duplicate id with Druid's EntryAlreadyExists and keeps the original", async () => {
    const id = `dup_${Date.now()}`;
    expect((await api("POST", "/druid/indexer/v1/task", noop({ id, runTime: 1 }))).status).toBe(200);
    const r = await api("POST", "/druid/indexer/v1/task", noop({ id, runTime: 2 }));
    expect(r.status).toBe(400);
    expect(r.json.errorCode).toBe("EntryAlreadyExists");
    const payload = (await api("GET", `/druid/indexer/v1/task/${id}`)).json.payload;
    expect(payload.runTime).toBe(1);
  });

  it("lets exactly one of many concurrent submissions of the same id win", async () => {
    const id = `race_${Date.now()}`;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => api("POST", "/druid/indexer/v1/task", noop({ id, runTime: i + 1 }))));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(7);
    expect(await rows("SELECT id FROM tasks WHERE id = ?", id)).toHaveLength(1);
  });

  it("refuses a duplicate of a task that is only in storage (not in memory)", async () => {
    const id = `old_${Date.now()}`;
    await api("POST", "/druid/indexer/v1/task", noop({ id }));
    await api("POST", `/druid/indexer/v1/task/${id}/shutdown`);
    await inOverlord((o) => {
      (o.core.queue.recent as unknown as { map: Map<string, unknown> }).map.delete(id);
    });
    const r = await api("POST", "/druid/indexer/v1/task", noop({ id }));
    expect(r.status).toBe(400);
    expect(r.json.errorCode).toBe("EntryAlreadyExists");
  });

  it("answers 429 when the queue is full and stores nothing", async () => {
    const ds = uniqueDs("full");
    const active = await inOverlord((o) => o.core.queue.active.size);
    await inOverlord((o) => {
      o.config.queueMaxSize = active;
    });
    try {
      const r = await api("POST", "/druid/indexer/v1/task", noop({ dataSource: ds }));
      expect(r.status).toBe(429);
      expect(r.json.category).toBe("CAPACITY_EXCEEDED");
      expect(await rows("SELECT id FROM tasks WHERE datasource = ?", ds)).toHaveLength(0);
    } finally {
      await inOverlord((o) => {
        o.config.queueMaxSize = 2_147_483_647;
      });
    }
  });

  it("accepts a bulk submission all-or-nothing", async () => {
    const ds = uniqueDs("bulk");
    const ok = await api("POST", "/druid/indexer/v1/tasks", { tasks: Array.from({ length: 50 }, () => noop({ dataSource: ds })) });
    expect(ok.status).toBe(200);
    expect(ok.json.tasks).toHaveLength(50);
    expect(await rows("SELECT id FROM tasks WHERE datasource = ?", ds)).toHaveLength(50);
    const ds2 = uniqueDs("bulkbad");
    const bad = await api("POST", "/druid/indexer/v1/tasks", [noop({ dataSource: ds2 }), { type: "noop", id: "a/b", dataSource: ds2 }]);
    expect(bad.status).toBe(400);
    expect(bad.json.errorMessage).toContain("tasks[1]");
    expect(await rows("SELECT id FROM tasks WHERE datasource = ?", ds2)).toHaveLength(0);
  });
});

describe("locks and readiness", () => {
  it("makes a task that cannot get its lock wait, and readies it when the lock is released", async () => {
    const ds = uniqueDs("lock");
    const a = (await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-01-01/2024-01-03"]))).json.task;
    const b = (await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-01-02/2024-01-04"]))).json.task;
    expect((await api("GET", `/druid/indexer/v1/task/${a}/status`)).json.status.runnerStatusCode).toBe("PENDING");
    expect((await api("GET", `/druid/indexer/v1/task/${b}/status`)).json.status.runnerStatusCode).toBe("WAITING");
    const waiting = (await api("GET", "/druid/indexer/v1/waitingTasks")).json.map((t: { id: string }) => t.id);
    expect(waiting).toContain(b);
    const locked = await api("POST", "/druid/indexer/v1/lockedIntervals/v2", [{ datasource: ds, priority: 0 }]);
    expect(locked.json).toEqual({ [ds]: ["2024-01-01T00:00:00.000Z/2024-01-03T00:00:00.000Z"] });
    const active = await api("POST", "/druid/indexer/v1/activeLocks", [{ datasource: ds, priority: 0 }]);
    expect(active.json.datasourceToLocks[ds][0]).toMatchObject({ type: "EXCLUSIVE", groupId: a, granularity: "timeChunk", revoked: false, priority: 50 });
    expect(await rows("SELECT task_id FROM tasklocks WHERE task_id = ?", a)).toHaveLength(1);

    expect((await api("POST", `/druid/indexer/v1/task/${a}/shutdown`)).json).toEqual({ task: a });
    const sa = (await api("GET", `/druid/indexer/v1/task/${a}/status`)).json.status;
    expect(sa).toMatchObject({ statusCode: "FAILED", runnerStatusCode: "NONE", errorMsg: "Shutdown request from user" });
    expect((await api("GET", `/druid/indexer/v1/task/${b}/status`)).json.status.runnerStatusCode).toBe("PENDING");
    expect(await rows("SELECT task_id FROM tasklocks WHERE task_id = ?", a)).toHaveLength(0);
    expect(await rows("SELECT task_id FROM tasklocks WHERE task_id = ?", b)).toHaveLength(1);
  });

  it("lets a higher-priority task revoke a lower-priority lock", async () => {
    const ds = uniqueDs("prio");
    const low = (await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-02-01/2024-02-02"], { context: { priority: 10 } }))).json.task;
    const high = (await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-02-01/2024-02-02"], { context: { priority: 90 } }))).json.task;
    expect((await api("GET", `/druid/indexer/v1/task/${high}/status`)).json.status.runnerStatusCode).toBe("PENDING");
    const lowLocks = await rows<{ lock_payload: string }>("SELECT lock_payload FROM tasklocks WHERE task_id = ?", low);
    expect(JSON.parse(lowLocks[0]!.lock_payload).revoked).toBe(true);
    const active = await api("POST", "/druid/indexer/v1/activeLocks", [{ datasource: ds, priority: 0 }]);
    expect(active.json.datasourceToLocks[ds].map((l: { groupId: string }) => l.groupId)).toEqual([high]);
  });

  it("fails shutdownAllTasks with 404 for a datasource without active tasks and shuts down all of one", async () => {
    const ds = uniqueDs("all");
    expect((await api("POST", `/druid/indexer/v1/datasources/${ds}/shutdownAllTasks`)).status).toBe(404);
    await api("POST", "/druid/indexer/v1/tasks", [noop({ dataSource: ds }), noop({ dataSource: ds })]);
    expect((await api("POST", `/druid/indexer/v1/datasources/${ds}/shutdownAllTasks`)).json).toEqual({ dataSource: ds });
    const complete = (await api("GET", `/druid/indexer/v1/tasks?state=complete&datasource=${ds}`)).json;
    expect(complete).toHaveLength(2);
    expect(complete.every((t: { statusCode: string }) => t.statusCode === "FAILED")).toBe(true);
  });

  it("treats shutdown of an unknown task as a no-op that still answers 200", async () => {
    expect((await api("POST", "/druid/indexer/v1/task/never_existed/shutdown")).status).toBe(200);
  });
});

describe("task lists", () => {
  it("filters by state, datasource, type and max", async () => {
    const ds = uniqueDs("list");
    const ids = (await api("POST", "/druid/indexer/v1/tasks", [noop({ dataSource: ds }), noop({ dataSource: ds }), noop({ dataSource: ds })])).json.tasks;
    await api("POST", `/druid/indexer/v1/task/${ids[0]}/shutdown`);
    await api("POST", `/druid/indexer/v1/task/${ids[1]}/shutdown`);
    const pending = (await api("GET", `/druid/indexer/v1/tasks?state=PENDING&datasource=${ds}`)).json;
    expect(pending.map((t: { id: string }) => t.id)).toEqual([ids[2]]);
    const complete = (await api("GET", `/druid/indexer/v1/tasks?state=complete&datasource=${ds}&max=1`)).json;
    expect(complete).toHaveLength(1);
    const all = (await api("GET", `/druid/indexer/v1/tasks?datasource=${ds}`)).json;
    expect(all.map((t: { statusCode: string }) => t.statusCode)).toEqual(["FAILED", "FAILED", "RUNNING"]);
    expect((await api("GET", `/druid/indexer/v1/tasks?datasource=${ds}&type=index`)).json).toEqual([]);
    const statuses = (await api("POST", "/druid/indexer/v1/taskStatus", [ids[0], ids[2], "unknown_id"])).json;
    expect(Object.keys(statuses).sort()).toEqual([ids[0], ids[2]].sort());
    expect(statuses[ids[0]]).toMatchObject({ id: ids[0], status: "FAILED", errorMsg: "Shutdown request from user" });
  });

  it("answers an unknown state with Druid's 400 text", async () => {
    const r = await api("GET", "/druid/indexer/v1/tasks?state=bogus");
    expect(r.status).toBe(400);
    expect(r.text).toBe("Invalid task state[bogus]. Must be one of [pending, waiting, running, complete].");
  });
});

describe("restart", () => {
  it("rebuilds tasks and locks from D1 identically after the object restarts", async () => {
    const ds = uniqueDs("restart");
    const a = (await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-03-01/2024-03-02"]))).json.task;
    const b = (await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-03-01/2024-03-02"]))).json.task;
    const snapshot = async () => ({
      a: (await api("GET", `/druid/indexer/v1/task/${a}/status`)).json.status,
      b: (await api("GET", `/druid/indexer/v1/task/${b}/status`)).json.status,
      locks: (await api("POST", "/druid/indexer/v1/activeLocks", [{ datasource: ds, priority: 0 }])).json,
    });
    const before = await snapshot();
    await abortAllDurableObjects();
    const after = await snapshot();
    expect(after).toEqual(before);
    await api("POST", `/druid/indexer/v1/task/${a}/shutdown`);
    expect((await api("GET", `/druid/indexer/v1/task/${b}/status`)).json.status.runnerStatusCode).toBe("PENDING");
  });
});

describe("D1 failures", () => {
  it("answers 5xx when the commit fails, and leaves no trace of the refused task", async () => {
    const ds = uniqueDs("d1fail");
    await inOverlord((o) => {
      const real = o.store.commit.bind(o.store);
      o.store.commit = async () => {
        o.store.commit = real;
        throw new Error("injected D1 failure");
      };
    });
    const r = await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-04-01/2024-04-02"]));
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.json.error).toBe("druidException");
    expect(await rows("SELECT id FROM tasks WHERE datasource = ?", ds)).toHaveLength(0);
    expect((await api("POST", "/druid/indexer/v1/lockedIntervals/v2", [{ datasource: ds, priority: 0 }])).json).toEqual({});
    const again = await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-04-01/2024-04-02"]));
    expect(again.status).toBe(200);
    expect((await api("GET", `/druid/indexer/v1/task/${again.json.task}/status`)).json.status.runnerStatusCode).toBe("PENDING");
  });
});

void ADMIN;
