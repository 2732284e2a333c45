import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { laterClock } from "../../src/platform/clock.ts";
import { AGENT, api, inOverlord, overlordStub, rows, uniqueDs, fetchWorker } from "./helpers.ts";
import { agentSim, done, newWorkerKey, running, submit } from "./agentSim.ts";

const statusOf = async (id: string) => (await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status;
const assignedIds = (r: { json: any }) => (r.json?.requests ?? []).filter((x: any) => x.type === "assign").map((x: any) => x.task.id);

describe("agent identity: a worker's host belongs to the agent holding its worker key", () => {
  it("refuses a second agent claiming a live worker's host, leaving the first agent's tasks running", async () => {
    const owner = agentSim(2);
    await owner.poll();
    const [id] = await submit(uniqueDs("claim"));
    expect(assignedIds(await owner.poll({ timeoutMs: 5000 }))).toEqual([id]);
    await owner.poll({ tasks: [running(id!, owner.host)] });
    // the attack from the issue: another holder of the agent token names w1 with an empty full list
    const intruder = agentSim(0, undefined, newWorkerKey(), owner.host);
    const r = await intruder.poll({ counter: null, full: true, tasks: [] });
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({ error: "druidException", errorCode: "workerHeldByAnotherAgent" });
    expect(await statusOf(id!)).toMatchObject({ statusCode: "RUNNING", runnerStatusCode: "RUNNING" });
    const mine = (await api("GET", "/druid/indexer/v1/workers")).json.find((w: any) => w.worker.host === owner.host);
    expect(mine).toMatchObject({ worker: { capacity: 2 }, runningTasks: [id] });
    // the owner is unaffected and finishes its task
    await owner.poll({ tasks: [done(id!)] });
    expect((await statusOf(id!)).statusCode).toBe("SUCCESS");
  });

  it("needs the worker's key for log and report uploads, and names the worker explicitly", async () => {
    const a = agentSim();
    await a.poll();
    const [id] = await submit(uniqueDs("keylog"));
    await a.poll({ timeoutMs: 5000 });
    const post = (headers: Record<string, string>, what = "log", body = "x") =>
      fetchWorker(`http://druid.test/druid-internal/v1/agent/tasks/${id}/${what}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    expect((await post({ ...AGENT, "X-Druid-Worker-Key": a.key })).status).toBe(400); // no X-Druid-Worker
    expect((await post({ ...AGENT, "X-Druid-Worker": a.host })).status).toBe(400); // no key
    const wrongKey = await post({ ...AGENT, "X-Druid-Worker": a.host, "X-Druid-Worker-Key": newWorkerKey() });
    expect(wrongKey.status).toBe(403);
    expect(((await wrongKey.json()) as any).errorCode).toBe("workerKeyRefused");
    expect((await post({ Authorization: "Bearer test-admin-token", "X-Druid-Worker": a.host, "X-Druid-Worker-Key": a.key })).status).toBe(403);
    expect((await rows("SELECT task_id FROM task_logs WHERE task_id = ?", id)).length).toBe(0);
    expect((await post(a.uploadHeaders, "log", "the real log")).status).toBe(200);
    expect((await post(a.uploadHeaders, "reports", JSON.stringify({ ingestionStatsAndErrors: {} }))).status).toBe(200);
    await a.poll({ tasks: [done(id!)] });
    // after the task finished, another agent still cannot overwrite its log
    const b = agentSim();
    await b.poll();
    expect((await post(b.uploadHeaders, "log", "forged")).status).toBe(404);
    expect((await api("GET", `/druid/indexer/v1/task/${id}/log`)).text).toBe("the real log");
  });

  it("once the lease has lapsed, a new agent takes the host over: what may have started is failed, what never left is delivered to it", async () => {
    const old = agentSim(3);
    await old.poll();
    const ds = uniqueDs("takeover");
    const [started, sentOnly] = await submit(ds, 2);
    expect(assignedIds(await old.poll({ timeoutMs: 5000 })).sort()).toEqual([started, sentOnly].sort());
    await old.poll({ tasks: [running(started!, old.host)] });
    // a third task is assigned in a commit whose answer never reaches the old agent
    await api("POST", `/druid/indexer/v1/worker/${old.host}/disable`);
    const [neverSent] = await submit(ds);
    await inOverlord((o) => {
      const w = o.core.runner.workers.get(old.host)!;
      w.disabled = false;
      o.core.runner.assignPending();
    });
    expect((await statusOf(neverSent!)).runnerStatusCode).toBe("PENDING");
    await inOverlord((o) => {
      o.clock = laterClock(o.clock, o.config.workerLeaseMs + 1000);
    });
    await runDurableObjectAlarm(overlordStub());
    const fresh = agentSim(3, undefined, newWorkerKey(), old.host);
    const snap = await fresh.poll({ counter: null, full: true, tasks: [] });
    expect(snap.status).toBe(200);
    expect(assignedIds(snap)).toEqual([neverSent]);
    for (const id of [started!, sentOnly!]) {
      const s = await statusOf(id);
      expect(s.statusCode).toBe("FAILED");
      expect(s.errorMsg).toContain("taken over by a different agent");
    }
    // the old agent, back from a partition, is now the intruder
    const back = await old.poll({ counter: null, full: true, tasks: [running(started!, old.host)] });
    expect(back.status).toBe(409);
  });

  it("an agent restarted with its key and journal is let back in at once, reports what it started, and gets what it never started", async () => {
    const key = newWorkerKey();
    const a = agentSim(4, undefined, key);
    await a.poll();
    const ds = uniqueDs("restart");
    const [ranAndCrashed, finishedUnreported, queuedLocally] = await submit(ds, 3);
    expect(assignedIds(await a.poll({ timeoutMs: 5000 })).length).toBe(3);
    await a.poll({ tasks: [running(ranAndCrashed!, a.host)] });
    // the agent is killed; its successor on the same work directory polls within the lease
    const again = agentSim(4, undefined, key, a.host);
    const snap = await again.poll({
      counter: null,
      full: true,
      tasks: [
        { id: ranAndCrashed, status: "FAILED", duration: 0, errorMsg: "The agent restarted while this task was running; the task is not run again" },
        { id: finishedUnreported, status: "SUCCESS", duration: 5, errorMsg: null },
      ],
    });
    expect(snap.status).toBe(200);
    expect(snap.json.acks.sort()).toEqual([ranAndCrashed, finishedUnreported].sort());
    expect(assignedIds(snap)).toEqual([queuedLocally]);
    expect((await statusOf(ranAndCrashed!)).errorMsg).toContain("agent restarted");
    expect((await statusOf(finishedUnreported!)).statusCode).toBe("SUCCESS");
    expect((await statusOf(queuedLocally!)).statusCode).toBe("RUNNING");
  });
});
