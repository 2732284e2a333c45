import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { laterClock } from "../../src/platform/clock.ts";
import { AGENT, api, inOverlord, overlordStub, uniqueDs, fetchWorker } from "./helpers.ts";
import { agentSim, done, newWorkerKey, running, submit } from "./agentSim.ts";

describe("agent protocol", () => {
  it("registers a worker with a full snapshot and answers 204 when nothing happens", async () => {
    const a = agentSim();
    const first = await a.poll();
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ resetCounter: false, requests: [{ type: "metadata", disabled: false }] });
    expect(first.json.term).toBeGreaterThanOrEqual(1);
    const idle = await a.poll({ timeoutMs: 20 });
    expect(idle.status).toBe(204);
    const workers = (await api("GET", "/druid/indexer/v1/workers")).json as Array<{ worker: { host: string } }>;
    expect(workers.find((w) => w.worker.host === a.host)).toMatchObject({ worker: { host: a.host, capacity: 4, category: "_default_worker_category", disabled: false }, currCapacityUsed: 0 });
  });

  it("hands a held poll the assignment together with the commit that accepted the task", async () => {
    const a = agentSim();
    await a.poll();
    const held = a.poll({ timeoutMs: 10_000 });
    const ds = uniqueDs("held");
    const [id] = await submit(ds);
    const r = await held;
    expect(r.status).toBe(200);
    const assign = r.json.requests.find((x: { type: string }) => x.type === "assign");
    expect(assign.task).toMatchObject({ id, type: "noop", dataSource: ds });
    expect(typeof assign.credential).toBe("string");
    expect((await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status.runnerStatusCode).toBe("PENDING");
    const mine = (await api("GET", "/druid/indexer/v1/workers")).json.find((w: any) => w.worker.host === a.host);
    expect(mine.runningTasks).toEqual([id]);
  });

  it("among equally loaded workers, assigns to the one whose poll is held: it hears in the submit's commit", async () => {
    const [first, second] = [agentSim(), agentSim()].sort((x, y) => (x.host < y.host ? -1 : 1));
    await first!.poll();
    await second!.poll();
    // by host order `first` would win the tie; only `second` has a poll held open
    const held = second!.poll({ timeoutMs: 10_000 });
    const isHeld = () => inOverlord((o) => o.core.runner.pollHeld(second!.host));
    for (let i = 0; i < 200 && !(await isHeld()); i++) await api("GET", "/status");
    expect(await isHeld()).toBe(true);
    const [id] = await submit(uniqueDs("tie"));
    const r = await held;
    expect(r.status).toBe(200);
    expect(r.json.requests.find((x: { type: string }) => x.type === "assign").task.id).toBe(id);
    const workers = (await api("GET", "/druid/indexer/v1/workers")).json as Array<{ worker: { host: string }; runningTasks: string[] }>;
    expect(workers.find((w) => w.worker.host === second!.host)!.runningTasks).toEqual([id]);
    expect(workers.find((w) => w.worker.host === first!.host)!.runningTasks).toEqual([]);
  });

  it("records RUNNING with location, then SUCCESS once, acknowledging repeats", async () => {
    const a = agentSim();
    await a.poll();
    const [id] = await submit(uniqueDs("run"));
    const got = await a.poll({ timeoutMs: 5000 });
    expect(got.json.requests.some((x: any) => x.type === "assign" && x.task.id === id)).toBe(true);
    await a.poll({ tasks: [running(id!, "sim-host")] });
    const st = (await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status;
    expect(st).toMatchObject({ runnerStatusCode: "RUNNING", location: { host: "sim-host", port: 8100 } });
    expect((await api("GET", "/druid/indexer/v1/runningTasks")).json.map((t: any) => t.id)).toContain(id);
    const fin = await a.poll({ tasks: [done(id!)] });
    expect(fin.json.acks).toEqual([id]);
    expect((await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status).toMatchObject({ statusCode: "SUCCESS", runnerStatusCode: "NONE", duration: 12 });
    const again = await a.poll({ tasks: [done(id!)] });
    expect(again.json.acks).toEqual([id]);
    const mine = (await api("GET", "/druid/indexer/v1/workers")).json.find((w: any) => w.worker.host === a.host);
    expect(mine.currCapacityUsed).toBe(0);
  });

  it("resets an agent with a stale counter or an older term, and re-sends assignments in the snapshot", async () => {
    const a = agentSim();
    await a.poll();
    const [id] = await submit(uniqueDs("reset"));
    await a.poll({ timeoutMs: 5000 });
    const stale = await a.poll({ counter: { counter: 999, hash: 1 }, full: false });
    expect(stale.json).toMatchObject({ resetCounter: true, counter: null, requests: null });
    const wrongTerm = await a.poll({ term: -5, counter: { counter: 0, hash: 0 }, full: false });
    expect(wrongTerm.json.resetCounter).toBe(true);
    const snap = await a.poll({ counter: null, full: true, tasks: [] });
    expect(snap.json.requests.filter((x: any) => x.type === "assign").map((x: any) => x.task.id)).toEqual([id]);
  });

  it("fails a running task that a full snapshot no longer lists (the agent restarted)", async () => {
    const a = agentSim();
    await a.poll();
    const [id] = await submit(uniqueDs("gone"));
    await a.poll({ timeoutMs: 5000 });
    await a.poll({ tasks: [running(id!, "h")] });
    await a.poll({ counter: null, full: true, tasks: [] });
    const st = (await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status;
    expect(st).toMatchObject({ statusCode: "FAILED", errorMsg: "This task disappeared on the worker where it was assigned" });
  });

  it("loses nothing when the answer to a held poll never reaches the agent: the next poll from the same counter gets it again", async () => {
    const a = agentSim();
    await a.poll();
    const before = a.counter;
    const lost = fetchWorker("http://druid.test/druid-internal/v1/agent/poll", {
      method: "POST",
      headers: { ...a.headers, "content-type": "application/json" },
      body: JSON.stringify({ worker: { host: a.host, capacity: 4 }, term: a.term, counter: before, timeoutMs: 10_000, full: false, tasks: [] }),
    });
    const [id] = await submit(uniqueDs("drop"));
    // the held poll was answered with the assignment; the network drops that answer
    const dropped = (await (await lost).json()) as any;
    expect(dropped.requests.filter((x: any) => x.type === "assign").map((x: any) => x.task.id)).toEqual([id]);
    const r = await a.poll({ counter: before, timeoutMs: 5000 });
    expect(r.json.requests.filter((x: any) => x.type === "assign").map((x: any) => x.task.id)).toEqual([id]);
  });

  it("tells the worker to stop a task shut down by an operator, and frees the slot when it reports", async () => {
    const a = agentSim(1);
    await a.poll();
    const [id] = await submit(uniqueDs("stop"));
    await a.poll({ timeoutMs: 5000 });
    await a.poll({ tasks: [running(id!, "h")] });
    await api("POST", `/druid/indexer/v1/task/${id}/shutdown`);
    const r = await a.poll({ timeoutMs: 5000 });
    expect(r.json.requests).toContainEqual({ type: "shutdown", taskId: id });
    let mine = (await api("GET", "/druid/indexer/v1/workers")).json.find((w: any) => w.worker.host === a.host);
    expect(mine.currCapacityUsed).toBe(1);
    await a.poll({ tasks: [done(id!, "FAILED")] });
    mine = (await api("GET", "/druid/indexer/v1/workers")).json.find((w: any) => w.worker.host === a.host);
    expect(mine.currCapacityUsed).toBe(0);
    expect((await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status.errorMsg).toBe("Shutdown request from user");
  });

  it("gives a disabled worker no assignments and tells it so", async () => {
    const a = agentSim();
    await a.poll();
    expect((await api("POST", `/druid/indexer/v1/worker/${a.host}/disable`)).json).toEqual({ [a.host]: "disabled" });
    const r = await a.poll({ timeoutMs: 5000 });
    expect(r.json.requests).toContainEqual({ type: "metadata", disabled: true });
    const ds = uniqueDs("dis");
    const [id] = await submit(ds);
    expect((await a.poll({ timeoutMs: 30 })).status).toBe(204);
    expect((await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status.runnerStatusCode).toBe("PENDING");
    await api("POST", `/druid/indexer/v1/worker/${a.host}/enable`);
    const r2 = await a.poll({ timeoutMs: 5000 });
    expect(r2.json.requests.some((x: any) => x.type === "assign" && x.task.id === id)).toBe(true);
    expect((await api("POST", "/druid/indexer/v1/worker/nobody:1/disable")).status).toBe(500);
  });

  it("stores logs and reports shipped by the agent, with Druid's offset semantics", async () => {
    const a = agentSim();
    await a.poll();
    const [id] = await submit(uniqueDs("log"));
    await a.poll({ timeoutMs: 5000 });
    const up = await fetchWorker(`http://druid.test/druid-internal/v1/agent/tasks/${id}/log`, { method: "POST", headers: a.uploadHeaders, body: "line one\nline two\n" });
    expect(up.status).toBe(200);
    await fetchWorker(`http://druid.test/druid-internal/v1/agent/tasks/${id}/reports`, { method: "POST", headers: { ...a.uploadHeaders, "content-type": "application/json" }, body: JSON.stringify({ ingestionStatsAndErrors: { taskId: id } }) });
    expect((await api("GET", `/druid/indexer/v1/task/${id}/log`)).text).toBe("line one\nline two\n");
    expect((await api("GET", `/druid/indexer/v1/task/${id}/log?offset=5`)).text).toBe("one\nline two\n");
    expect((await api("GET", `/druid/indexer/v1/task/${id}/log?offset=-4`)).text).toBe("two\n");
    expect((await api("GET", `/druid/indexer/v1/task/${id}/reports`)).json).toEqual({ ingestionStatsAndErrors: { taskId: id } });
    expect((await api("GET", "/druid/indexer/v1/task/none_such/log")).status).toBe(404);
    const other = agentSim();
    await other.poll();
    const notTheirs = await fetchWorker(`http://druid.test/druid-internal/v1/agent/tasks/${id}/log`, { method: "POST", headers: other.uploadHeaders, body: "x" });
    expect(notTheirs.status).toBe(404);
  });

  it("stores what an agent reports as it reads back: NUL kept, lone surrogates made U+FFFD, hosts without control characters", async () => {
    const a = agentSim();
    await a.poll();
    const [id] = await submit(uniqueDs("text"));
    await a.poll({ timeoutMs: 5000 });
    const r = await a.poll({ tasks: [{ ...done(id!, "FAILED"), errorMsg: "bad\ud800 \u0000end", log: "x\u0000y\udc00z\u{1F600}" }] });
    expect(r.status).toBe(200);
    expect((await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status.errorMsg).toBe("bad\ufffd \u0000end");
    expect((await api("GET", `/druid/indexer/v1/task/${id}/log`)).text).toBe("x\u0000y\ufffdz\u{1F600}");
    const keyed = { ...AGENT, "X-Druid-Worker-Key": newWorkerKey() };
    for (const host of ["a\u0000b:1", "a\u202eb:1", "x:1\ud800", ""]) {
      expect((await api("POST", "/druid-internal/v1/agent/poll", { worker: { host, capacity: 1 } }, keyed)).status).toBe(400);
    }
  });

  it("refuses the operator token and malformed polls", async () => {
    expect((await api("POST", "/druid-internal/v1/agent/poll", { worker: { host: "x:1", capacity: 1 } })).status).toBe(403);
    const keyed = { ...AGENT, "X-Druid-Worker-Key": newWorkerKey() };
    expect((await api("POST", "/druid-internal/v1/agent/poll", { worker: { host: "bad host", capacity: 1 } }, keyed)).status).toBe(400);
    expect((await api("POST", "/druid-internal/v1/agent/poll", { worker: { host: "x:1", capacity: -1 } }, keyed)).status).toBe(400);
    expect((await api("POST", "/druid-internal/v1/agent/poll", { worker: { host: "x:1", capacity: 1 } }, AGENT)).json.errorCode).toBe("workerKeyRequired");
  });
});

describe("runner timeouts (alarm-driven, injected clock)", () => {
  it("fails a task the worker never reports RUNNING within taskAssignmentTimeout", async () => {
    const a = agentSim();
    await a.poll();
    const [id] = await submit(uniqueDs("assign-timeout"));
    await a.poll({ timeoutMs: 5000 });
    await a.poll({ timeoutMs: 1 }); // keep the lease fresh
    await inOverlord((o) => {
      o.clock = laterClock(o.clock, o.config.taskAssignmentTimeoutMs + 1000);
    });
    await a.poll({ timeoutMs: 1 });
    expect(await runDurableObjectAlarm(overlordStub())).toBe(true);
    const st = (await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status;
    expect(st.statusCode).toBe("FAILED");
    expect(st.errorMsg).toContain("taskAssignmentTimeout");
  });

  it("fails the tasks of a worker whose lease lapsed, after taskCleanupTimeout, unless it comes back", async () => {
    const a = agentSim();
    await a.poll();
    const [id] = await submit(uniqueDs("cleanup"));
    await a.poll({ timeoutMs: 5000 });
    await a.poll({ tasks: [running(id!, "h")] });
    await inOverlord((o) => {
      o.clock = laterClock(o.clock, o.config.workerLeaseMs + 1000);
    });
    await runDurableObjectAlarm(overlordStub());
    expect((await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status.statusCode).toBe("RUNNING");
    expect((await api("GET", "/druid/indexer/v1/workers")).json.some((w: any) => w.worker.host === a.host)).toBe(false);
    await inOverlord((o) => {
      o.clock = laterClock(o.clock, o.config.taskCleanupTimeoutMs);
    });
    await runDurableObjectAlarm(overlordStub());
    const st = (await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status;
    expect(st.statusCode).toBe("FAILED");
    expect(st.errorMsg).toContain("disappeared");
  });

  it("blacklists a worker after more than maxRetriesBeforeBlacklist consecutive failures", async () => {
    const sims = Array.from({ length: 5 }, () => agentSim(8));
    for (const s of sims) await s.poll();
    const a = sims[0]!;
    const max = await inOverlord((o) => o.config.maxRetriesBeforeBlacklist);
    await api("POST", "/druid/indexer/v1/worker", { type: "default", selectStrategy: { type: "fillCapacity" } });
    for (const s of sims.slice(1)) await api("POST", `/druid/indexer/v1/worker/${s.host}/disable`);
    const ids = await submit(uniqueDs("bl"), max + 1);
    const got = await a.poll({ timeoutMs: 5000 });
    const assigned = got.json.requests.filter((x: any) => x.type === "assign").map((x: any) => x.task.id);
    expect(assigned.sort()).toEqual([...ids].sort());
    await a.poll({ tasks: ids.map((id) => done(id, "FAILED")) });
    const mine = (await api("GET", "/druid/indexer/v1/workers")).json.find((w: any) => w.worker.host === a.host);
    expect(mine.blacklistedUntil).not.toBeNull();
    for (const s of sims.slice(1)) await api("POST", `/druid/indexer/v1/worker/${s.host}/enable`);
    await api("POST", "/druid/indexer/v1/worker", { type: "default", selectStrategy: { type: "equalDistribution" } });
  });
});

describe("Overlord restart with agents", () => {
  it("re-adopts a task that the agent still runs after the object restarts", async () => {
    const a = agentSim();
    await a.poll();
    const [id] = await submit(uniqueDs("adopt"));
    await a.poll({ timeoutMs: 5000 });
    await a.poll({ tasks: [running(id!, "h")] });
    const termBefore = a.term!;
    await abortAllDurableObjects();
    const r = await a.poll({ timeoutMs: 10 });
    expect(r.json.resetCounter).toBe(true);
    const snap = await a.poll({ counter: null, full: true, tasks: [running(id!, "h")] });
    expect(snap.json.term).toBe(termBefore + 1);
    expect((await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status).toMatchObject({ statusCode: "RUNNING", runnerStatusCode: "RUNNING" });
    await a.poll({ tasks: [done(id!)] });
    expect((await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status.statusCode).toBe("SUCCESS");
  });
});

describe("worker config", () => {
  it("stores WorkerBehaviorConfig with audit history", async () => {
    const cfg = { type: "default", selectStrategy: { type: "fillCapacity" }, autoScaler: null };
    const post = await fetchWorker("http://druid.test/druid/indexer/v1/worker", {
      method: "POST",
      headers: { Authorization: "Bearer test-admin-token", "content-type": "application/json", "X-Druid-Author": "ops", "X-Druid-Comment": "fill" },
      body: JSON.stringify(cfg),
    });
    expect(post.status).toBe(200);
    expect((await api("GET", "/druid/indexer/v1/worker")).json).toEqual(cfg);
    const hist = (await api("GET", "/druid/indexer/v1/worker/history?count=1")).json;
    expect(hist[0]).toMatchObject({ key: "worker.config", type: "worker.config", auditInfo: { author: "ops", comment: "fill" } });
    expect(JSON.parse(hist[0].payload)).toEqual(cfg);
    expect((await api("GET", "/druid/indexer/v1/worker/history?count=0")).status).toBe(400);
    await api("POST", "/druid/indexer/v1/worker", { type: "default", selectStrategy: { type: "equalDistribution" } });
    const cap = (await api("GET", "/druid/indexer/v1/totalWorkerCapacity")).json;
    expect(cap).toHaveProperty("currentClusterCapacity");
    expect(cap).toHaveProperty("usedClusterCapacity");
  });
});
