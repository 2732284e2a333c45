/**
 * The crash test: real agents SIGKILLed at random points of their tasks' lives, again and again,
 * while short tasks flow through them. Each run of a task appends its id to a record file from
 * inside the task's own process (it survives the agent), so runs are counted from what actually
 * ran, not from what anyone reported. Invariants: no accepted task lost (every one ends SUCCESS
 * or FAILED), none run twice, every SUCCESS ran exactly once.
 *
 * Most restarts reuse the agent's work directory (its worker key and journal: it reports what it
 * started and is let back in at once); some use a fresh one (a new agent on the same host: it
 * waits for the lease to lapse, then takes the host over).
 */
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startAgent, startDruidEdge, waitFor, type AgentProcess, type DruidEdge } from "../support/node/cluster.ts";

/** mulberry32: the kill schedule is random, but reproducible from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TASKS = 1500;
const KILLS = 10;
const TEST_ENV = { DRUID_AGENT_TEST_EXECUTORS: "1" };

describe("agents SIGKILLed at random points", () => {
  let edge: DruidEdge;
  const running = new Map<string, AgentProcess>();

  afterAll(async () => {
    for (const a of running.values()) a.kill("SIGKILL");
    await edge?.dispose();
  });

  it("loses no accepted task and runs none twice", async () => {
    const seed = Number(process.env["CRASH_SEED"] ?? Date.now() % 1_000_000);
    const random = prng(seed);
    console.log(`crash test seed ${seed} (CRASH_SEED=${seed} reproduces the kill schedule)`);
    edge = await startDruidEdge({ vars: { DRUID_WORKER_LEASE: "1500", DRUID_TASK_CLEANUP_TIMEOUT: "2000", DRUID_TEST_TASK_TYPES: "test_sleep" } });
    const root = mkdtempSync(join(tmpdir(), "druid-crash-"));
    const recordFile = join(root, "runs.txt");
    const hosts = ["crash-a:8091", "crash-b:8091", "crash-c:8091"];
    const workDirs = new Map(hosts.map((h) => [h, join(root, h.replace(":", "_"))]));
    const start = (host: string) => {
      const a = startAgent(edge, { host, capacity: 4, workDir: workDirs.get(host)!, env: TEST_ENV, extraArgs: ["--prefetch", "4"] });
      running.set(host, a);
      return a;
    };
    for (const h of hosts) start(h);
    await waitFor(async () => (await edge.api("GET", "/druid/indexer/v1/workers")).json?.length === 3, "3 workers");

    const tasks = Array.from({ length: TASKS }, () => ({ type: "test_sleep", sleepMs: Math.floor(random() * 25), recordFile }));
    const ids: string[] = [];
    for (let i = 0; i < tasks.length; i += 500) {
      const r = await edge.api("POST", "/druid/indexer/v1/tasks", tasks.slice(i, i + 500));
      expect(r.status).toBe(200);
      ids.push(...r.json.tasks);
    }

    let freshDisks = 0;
    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, 50 + Math.floor(random() * 400)));
      const host = hosts[Math.floor(random() * hosts.length)]!;
      const victim = running.get(host)!;
      victim.kill("SIGKILL");
      await victim.exited;
      // one restart in five comes back on a fresh disk: a new agent for the same host
      if (random() < 0.2) {
        workDirs.set(host, join(root, `${host.replace(":", "_")}-fresh-${k}`));
        freshDisks++;
      }
      start(host);
    }

    const final = await waitFor(
      async () => {
        const out: Record<string, { status: string; errorMsg: string | null }> = {};
        for (let i = 0; i < ids.length; i += 5000) Object.assign(out, (await edge.api("POST", "/druid/indexer/v1/taskStatus", ids.slice(i, i + 5000))).json);
        return ids.every((id) => out[id] && out[id].status !== "RUNNING") ? out : null;
      },
      "every task to end",
      90_000,
      250,
    );

    const runs = new Map<string, number>();
    if (existsSync(recordFile)) for (const id of readFileSync(recordFile, "utf8").split("\n").filter(Boolean)) runs.set(id, (runs.get(id) ?? 0) + 1);
    const twice = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
    const lost = ids.filter((id) => !final[id] || (final[id].status !== "SUCCESS" && final[id].status !== "FAILED"));
    const succeededWithoutRun = ids.filter((id) => final[id]!.status === "SUCCESS" && runs.get(id) !== 1);
    const failed = ids.filter((id) => final[id]!.status === "FAILED");
    const reasons = new Map<string, number>();
    for (const id of failed) {
      const why = (final[id]!.errorMsg ?? "").replace(/\[[^\]]*\]/g, "[…]").slice(0, 90);
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    }
    console.log(
      `crash test: ${ids.length} tasks, ${KILLS} SIGKILLs (${freshDisks} restarts on a fresh disk): ` +
        `${ids.length - failed.length} SUCCESS, ${failed.length} FAILED, ${runs.size} ran, ${twice.length} ran twice, ${lost.length} lost`,
    );
    for (const [why, n] of reasons) console.log(`  FAILED ${n}× ${why}`);
    expect(twice).toEqual([]);
    expect(lost).toEqual([]);
    expect(succeededWithoutRun).toEqual([]);
    // the agents kept working through the kills: most tasks succeeded
    expect(ids.length - failed.length).toBeGreaterThan(ids.length / 2);
  });
});
