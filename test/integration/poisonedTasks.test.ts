import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, inOverlord, rows, uniqueDs } from "./helpers.ts";
import { agentSim, submit } from "./agentSim.ts";

/** An array nested `depth` levels deep, built without recursion. */
function nested(depth: number): unknown {
  let v: unknown = [];
  for (let i = 1; i < depth; i++) v = [v];
  return v;
}
const nestedText = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const assignedIds = (r: { json: any }) => (r.json?.requests ?? []).filter((x: any) => x.type === "assign").map((x: any) => x.task.id);

describe("one poisoned task does not take its neighbours with it", () => {
  it("refuses a task nested deeper than the limit at submission, wherever the nesting is", async () => {
    for (const depth of [101, 3000, 50_000]) {
      for (const body of [
        `{"type":"noop","extra":${nestedText(depth)}}`,
        `{"type":"noop","context":{"x":${nestedText(depth)}}}`,
        `[{"type":"noop"},{"type":"noop","x":${nestedText(depth)}}]`,
      ]) {
        const r = await api("POST", body.startsWith("[") ? "/druid/indexer/v1/tasks" : "/druid/indexer/v1/task", body);
        expect(r.status).toBe(400);
        expect(r.json).toMatchObject({ error: "druidException", errorCode: "jsonTooDeep" });
      }
    }
    // 100 levels are fine, and read back and deliver
    const ok = await api("POST", "/druid/indexer/v1/task", `{"type":"noop","dataSource":"${uniqueDs("deep")}","extra":${nestedText(98)}}`);
    expect(ok.status).toBe(200);
    expect((await api("GET", `/druid/indexer/v1/task/${ok.json.task}`)).json.payload.extra).toEqual(nested(98));
    await api("POST", `/druid/indexer/v1/task/${ok.json.task}/shutdown`);
  });

  it("fails an assignment whose JSON cannot be built and still delivers the others in the same answer", async () => {
    const a = agentSim(4);
    await a.poll();
    await api("POST", `/druid/indexer/v1/worker/${a.host}/disable`);
    const [poisoned, healthy] = await submit(uniqueDs("poison"), 2);
    await inOverlord((o) => {
      // a payload from before the depth limit (or any bug) that no longer serialises
      o.core.queue.get(poisoned!)!.task.payload["extra"] = nested(20_000);
    });
    await api("POST", `/druid/indexer/v1/worker/${a.host}/enable`);
    const r = await a.poll({ timeoutMs: 5000 });
    expect(r.status).toBe(200);
    expect(assignedIds(r)).toEqual([healthy]);
    const st = (await api("GET", `/druid/indexer/v1/task/${poisoned}/status`)).json.status;
    expect(st.statusCode).toBe("FAILED");
    expect(st.errorMsg).toContain("could not be built for delivery");
    const mine = (await api("GET", "/druid/indexer/v1/workers")).json.find((w: any) => w.worker.host === a.host);
    expect(mine.runningTasks).toEqual([healthy]);
    // the agent keeps being served
    expect((await a.poll({ timeoutMs: 20 })).status).toBe(204);
  });

  it("fails a stored task whose payload is too deep to use after a restart, and still answers reads of it", async () => {
    const ds = uniqueDs("stored");
    const [id] = await submit(ds, 1, { runTime: 60_000 });
    const deep = JSON.stringify({ type: "noop", id, groupId: id, dataSource: ds, extra: nested(3000) });
    await rows("UPDATE tasks SET payload = ? WHERE id = ?", deep, id);
    await abortAllDurableObjects();
    const st = (await api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status;
    expect(st.statusCode).toBe("FAILED");
    expect(st.errorMsg).toContain("nested deeper than [100] levels");
    const got = await api("GET", `/druid/indexer/v1/task/${id}`);
    expect(got.status).toBe(200);
    expect(got.text).toContain('"extra":[[[');
    const list = await api("GET", `/druid/indexer/v1/tasks?datasource=${ds}`);
    expect(list.status).toBe(200);
    expect(list.json.map((t: any) => t.id)).toEqual([id]);
  });
});
