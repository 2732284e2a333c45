/**
 * The agent as a real process (`tsx agent/worker/cli.ts`, as tests and benchmarks start it): --help,
 * flag errors, the events file, a graceful SIGTERM, and what a SIGKILL leaves behind.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOverlord } from "./fixtures/fakeOverlord.ts";
import { alive, ROOT, startCliAgent, waitFor, type CliAgent } from "./fixtures/harness.ts";

const TSX = join(ROOT, "node_modules/.bin/tsx");
let overlord: FakeOverlord;
const started: CliAgent[] = [];

beforeEach(async () => {
  overlord = await new FakeOverlord().start();
});

afterEach(async () => {
  for (const a of started.splice(0)) {
    a.child.kill("SIGKILL");
    await a.exited;
    rmSync(a.dir, { recursive: true, force: true });
  }
  await overlord.close();
});

function cli(overrides: string[]): CliAgent {
  const a = startCliAgent(overlord, overrides);
  started.push(a);
  return a;
}

describe("agent/worker/cli.ts", () => {
  it("prints every flag with its env var on --help, and exits 2 on a bad flag", () => {
    const help = spawnSync(TSX, ["agent/worker/cli.ts", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(help.status).toBe(0);
    for (const flag of ["overlord", "token", "capacity", "host", "category", "version", "work-dir", "keep-work-dirs", "data-dir", "poll-timeout-ms", "shutdown-grace-ms", "json", "events-file"]) {
      expect(help.stdout).toContain(`--${flag}`);
    }
    expect(help.stdout).toContain("DRUID_AGENT_CAPACITY");
    const bad = spawnSync(TSX, ["agent/worker/cli.ts", "--token", "t", "--poll-timeout-ms", "60000"], { cwd: ROOT, encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--poll-timeout-ms must be an integer from 1 to 25000");
  });

  it("on SIGTERM reports capacity 0, finishes its running task, reports it, writes its events and exits 0", async () => {
    const agent = cli(["--capacity", "2", "--host", "cli-a:8100"]);
    const releaseFile = agent.eventsFile + ".release";
    overlord.assign({ type: "test_sleep", id: "sigterm-task", untilFile: releaseFile });
    await overlord.waitFor(() => overlord.reports.get("sigterm-task")?.length, "the task to run");
    agent.child.kill("SIGTERM");
    await overlord.waitFor(() => overlord.polls().some((p) => p.worker.capacity === 0) || null, "a poll with capacity 0");
    writeFileSync(releaseFile, "");
    expect(await agent.exited).toBe(0);
    expect(overlord.finalOf("sigterm-task")).toMatchObject({ status: "SUCCESS", location: { host: "cli-a", port: 8100, tlsPort: -1 } });
    const events = agent.events();
    expect(events.map((e) => e.event).filter((n) => n !== "agent.ready")).toEqual(["agent.started", "task.assigned", "task.started", "task.finished", "agent.stopped"]);
    expect(events.find((e) => e.event === "task.finished")).toMatchObject({ taskId: "sigterm-task", status: "SUCCESS" });
    for (const e of events) expect(e.at).toBeGreaterThan(1_700_000_000_000);
    // --json: every stdout line is a JSON object
    const lines = agent.output().trim().split("\n");
    expect(lines.every((l) => typeof JSON.parse(l).message === "string")).toBe(true);
  });

  it("a SIGKILLed agent (its tsx launcher) takes its task processes with it; a restarted one starts with an empty full poll", async () => {
    const agent = cli(["--capacity", "1", "--host", "cli-b:8100", "--keep-work-dirs"]);
    overlord.assign({ type: "test_sleep", id: "orphan", sleepMs: 600_000 });
    await overlord.waitFor(() => overlord.reports.get("orphan")?.length, "the task to run");
    const log = readFileSync(join(agent.eventsFile, "..", "work", "orphan.log"), "utf8");
    const pid = Number(/test_sleep pid (\d+)/.exec(log)![1]);
    expect(alive(pid)).toBe(true);
    agent.child.kill("SIGKILL");
    await agent.exited;
    const agentPid = agent.events().find((e) => e.event === "agent.started")!["pid"] as number;
    await waitFor(() => !alive(agentPid), "the agent process (under the launcher) to end");
    await waitFor(() => agent.output().includes("launcher of this agent is gone"), "the agent to say why it exited");
    await waitFor(() => !alive(pid), "the task's process to end");
    const before = overlord.polls().length;
    const again = cli(["--capacity", "1", "--host", "cli-b:8100"]);
    const first = await overlord.waitFor(() => overlord.polls()[before], "the restarted agent's first poll");
    expect(first).toMatchObject({ counter: null, full: true, tasks: [], worker: { host: "cli-b:8100" } });
    void again;
  });
});
