/**
 * End to end with real processes: druid-edge under wrangler's dev server and real agent
 * processes over loopback. Faults: SIGKILL an agent, restart the Worker on the same persisted
 * state, drop long-polls. Invariants: no accepted task lost, none run twice, capacity respected.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, startDruidEdge, waitFor, type AgentProcess, type DruidEdge } from "../support/node/cluster.ts";
import { childPids } from "../support/node/procs.ts";

async function statuses(edge: DruidEdge, ids: string[]): Promise<Record<string, { status: string; errorMsg: string | null; location: { host: string | null } }>> {
  const out: Record<string, any> = {};
  for (let i = 0; i < ids.length; i += 5000) {
    const r = await edge.api("POST", "/druid/indexer/v1/taskStatus", ids.slice(i, i + 5000));
    Object.assign(out, r.json);
  }
  return out;
}

async function allDone(edge: DruidEdge, ids: string[]) {
  const s = await statuses(edge, ids);
  return ids.every((id) => s[id] && s[id].status !== "RUNNING") ? s : null;
}

/** Max number of tasks an agent ran at once, from its started/finished events. */
function maxConcurrent(agent: AgentProcess): number {
  let cur = 0;
  let max = 0;
  const evs = agent.events().filter((e) => e.event === "task.started" || e.event === "task.finished");
  evs.sort((a, b) => (a.at ?? 0) - (b.at ?? 0) || (a.event === "task.finished" ? -1 : 1));
  for (const e of evs) {
    cur += e.event === "task.started" ? 1 : -1;
    max = Math.max(max, cur);
  }
  return max;
}

function startedIds(agents: AgentProcess[]): string[] {
  return agents.flatMap((a) => a.events().filter((e) => e.event === "task.started").map((e) => e.taskId!));
}

describe("agents run tasks end to end", () => {
  let edge: DruidEdge;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    edge = await startDruidEdge({ vars: { DRUID_TASK_CLEANUP_TIMEOUT: "3000", DRUID_WORKER_LEASE: "2000" } });
  });

  afterAll(async () => {
    for (const a of agents) a.kill("SIGKILL");
    await edge?.dispose();
  });

  it("runs 200 noop tasks on 3 agents with mixed capacity and categories: all SUCCESS, none twice, capacity respected", async () => {
    agents.push(startAgent(edge, { host: "e2e-a:8091", capacity: 2 }));
    agents.push(startAgent(edge, { host: "e2e-b:8091", capacity: 3, category: "hot" }));
    agents.push(startAgent(edge, { host: "e2e-c:8091", capacity: 4 }));
    await waitFor(async () => (await edge.api("GET", "/druid/indexer/v1/workers")).json?.length === 3, "3 workers");
    const cfg = await edge.api("POST", "/druid/indexer/v1/worker", {
      type: "default",
      selectStrategy: { type: "equalDistributionWithCategorySpec", workerCategorySpec: { strong: true, categoryMap: { noop: { defaultCategory: "_default_worker_category", categoryAffinity: { hotds: "hot" } } } } },
    });
    expect(cfg.status).toBe(200);
    const tasks = Array.from({ length: 200 }, (_, i) => ({ type: "noop", runTime: i % 5, dataSource: i % 4 === 0 ? "hotds" : "plain" }));
    const submitted = await edge.api("POST", "/druid/indexer/v1/tasks", { tasks });
    expect(submitted.status).toBe(200);
    const ids: string[] = submitted.json.tasks;
    const final = await waitFor(() => allDone(edge, ids), "200 tasks to finish", 90_000, 200);
    expect(ids.filter((id) => final[id]!.status !== "SUCCESS")).toEqual([]);
    const started = startedIds(agents);
    expect(new Set(started).size).toBe(started.length);
    expect(new Set(started)).toEqual(new Set(ids));
    expect(maxConcurrent(agents[0]!)).toBeLessThanOrEqual(2);
    expect(maxConcurrent(agents[1]!)).toBeLessThanOrEqual(3);
    expect(maxConcurrent(agents[2]!)).toBeLessThanOrEqual(4);
    // strong category spec: hot datasource tasks ran only on the hot worker, the others never there
    const hotIds = new Set(ids.filter((_, i) => i % 4 === 0));
    const onB = agents[1]!.events().filter((e) => e.event === "task.started").map((e) => e.taskId!);
    expect(onB.every((id) => hotIds.has(id))).toBe(true);
    const log = await edge.api("GET", `/druid/indexer/v1/task/${ids[0]}/log`);
    expect(log.status).toBe(200);
    expect(log.text.length).toBeGreaterThan(0);
    await edge.api("POST", "/druid/indexer/v1/worker", { type: "default", selectStrategy: { type: "equalDistribution" } });
  });

  it("fails the tasks of a SIGKILLed agent within the cleanup timeout, runs them nowhere else, and lets a restarted agent rejoin", async () => {
    // Only the victim may take these tasks: disable the others.
    for (const a of agents) await edge.api("POST", `/druid/indexer/v1/worker/${a.host}/disable`);
    const victim = startAgent(edge, { host: "e2e-victim:8091", capacity: 2 });
    agents.push(victim);
    const ids: string[] = (await edge.api("POST", "/druid/indexer/v1/tasks", [{ type: "noop", runTime: 60_000 }, { type: "noop", runTime: 60_000 }])).json.tasks;
    await waitFor(async () => {
      const s = await statuses(edge, ids);
      return ids.every((id) => s[id]?.location?.host);
    }, "both tasks running on the victim");
    for (const a of agents.slice(0, 3)) await edge.api("POST", `/druid/indexer/v1/worker/${a.host}/enable`);
    victim.kill("SIGKILL");
    await victim.exited;
    const killedAt = Date.now();
    const final = await waitFor(() => allDone(edge, ids), "the victim's tasks to fail", 30_000, 100);
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    for (const id of ids) expect(final[id]!.status).toBe("FAILED");
    const elsewhere = startedIds(agents.slice(0, 3)).filter((id) => ids.includes(id));
    expect(elsewhere).toEqual([]);
    const again = startAgent(edge, { host: "e2e-victim:8091", capacity: 2 });
    agents.push(again);
    await waitFor(async () => (await edge.api("GET", "/druid/indexer/v1/workers")).json?.some((w: any) => w.worker.host === "e2e-victim:8091"), "victim to rejoin");
  });

  it("kills the child of a running task that is shut down, and gives a disabled worker no new tasks", async () => {
    for (const a of agents) await edge.api("POST", `/druid/indexer/v1/worker/${a.host}/disable`);
    const lone = agents[agents.length - 1]!;
    await edge.api("POST", `/druid/indexer/v1/worker/${lone.host}/enable`);
    const [id] = (await edge.api("POST", "/druid/indexer/v1/tasks", [{ type: "noop", runTime: 60_000 }])).json.tasks;
    await waitFor(async () => (await statuses(edge, [id]))[id]?.location?.host, "the task to run");
    expect((await edge.api("POST", `/druid/indexer/v1/task/${id}/shutdown`)).status).toBe(200);
    await waitFor(() => lone.events().some((e) => e.event === "task.finished" && e.taskId === id), "the agent to stop the task", 20_000);
    expect((await statuses(edge, [id]))[id]!.errorMsg).toBe("Shutdown request from user");
    // disabled workers get nothing: with every worker disabled, a new task stays pending
    await edge.api("POST", `/druid/indexer/v1/worker/${lone.host}/disable`);
    const [pendingId] = (await edge.api("POST", "/druid/indexer/v1/tasks", [{ type: "noop", runTime: 0 }])).json.tasks;
    const pending = (await edge.api("GET", "/druid/indexer/v1/pendingTasks")).json.map((t: any) => t.id);
    expect(pending).toContain(pendingId);
    for (const a of agents) await edge.api("POST", `/druid/indexer/v1/worker/${a.host}/enable`);
    await waitFor(() => allDone(edge, [pendingId]), "the pending task to run once workers are enabled");
    expect(startedIds(agents).filter((x) => x === pendingId)).toHaveLength(1);
  });

  it("an agent with --isolation none and a prefetch runs tasks in its own process: all SUCCESS, none twice, capacity respected, logs kept", async () => {
    for (const a of agents) await edge.api("POST", `/druid/indexer/v1/worker/${a.host}/disable`);
    const inline = startAgent(edge, { host: "e2e-inline:8091", capacity: 2, extraArgs: ["--isolation", "none", "--prefetch", "16"] });
    agents.push(inline);
    await waitFor(() => inline.events().some((e) => e.event === "agent.ready"), "the in-process agent");
    const ids: string[] = (await edge.api("POST", "/druid/indexer/v1/tasks", Array.from({ length: 100 }, (_, i) => ({ type: "noop", runTime: i % 3 })))).json.tasks;
    const final = await waitFor(() => allDone(edge, ids), "100 tasks to finish", 60_000, 100);
    expect(ids.filter((id) => final[id]!.status !== "SUCCESS")).toEqual([]);
    const started = inline.events().filter((e) => e.event === "task.started").map((e) => e.taskId!);
    expect(started.sort()).toEqual([...ids].sort());
    expect(maxConcurrent(inline)).toBeLessThanOrEqual(2);
    expect(childPids(inline.child.pid!)).toEqual([]);
    const log = await edge.api("GET", `/druid/indexer/v1/task/${ids[99]}/log`);
    expect(log.text).toContain("in the agent's process");
    for (const a of agents) await edge.api("POST", `/druid/indexer/v1/worker/${a.host}/enable`);
  });
});

describe("Overlord restart while tasks run", () => {
  it("bumps the term, re-adopts running tasks from the agents and finishes them SUCCESS without duplicates", async () => {
    let edge = await startDruidEdge({ vars: { DRUID_WORKER_LEASE: "10000" } });
    const agent = startAgent(edge, { host: "e2e-restart:8091", capacity: 4 });
    try {
      const term1 = (await edge.api("GET", "/status")).json.overlord.term;
      const ids: string[] = (await edge.api("POST", "/druid/indexer/v1/tasks", Array.from({ length: 4 }, () => ({ type: "noop", runTime: 4000 })))).json.tasks;
      await waitFor(async () => {
        const s = await statuses(edge, ids);
        return ids.every((id) => s[id]?.location?.host);
      }, "tasks running");
      const { persistDir } = edge;
      const url = new URL(edge.url);
      await edge.dispose();
      // Same persisted state, same port (the agent keeps its --overlord URL).
      edge = await startDruidEdgeOnPort(persistDir, Number(url.port));
      const term2 = (await edge.api("GET", "/status")).json.overlord.term;
      expect(term2).toBe(term1 + 1);
      const final = await waitFor(() => allDone(edge, ids), "re-adopted tasks to finish", 60_000, 200);
      for (const id of ids) expect(final[id]!.status).toBe("SUCCESS");
      const started = agent.events().filter((e) => e.event === "task.started").map((e) => e.taskId);
      expect(started.sort()).toEqual([...ids].sort());
    } finally {
      agent.kill("SIGKILL");
      await edge.dispose();
    }
  });
});

async function startDruidEdgeOnPort(persistDir: string, port: number): Promise<DruidEdge> {
  const { startDruidEdge: start } = await import("../support/node/cluster.ts");
  return start({ persistDir, port, vars: { DRUID_WORKER_LEASE: "10000" } });
}
