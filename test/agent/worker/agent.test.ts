/**
 * The agent against a fake Overlord: the poll protocol (first full poll, counters, resets, acks,
 * backoff while the Overlord is down), task execution in pooled child processes (isolation,
 * capacity, shutdown, crashes), and log/report shipping before the final status.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOverlord } from "./fixtures/fakeOverlord.ts";
import { alive, maxConcurrent, release, sleeper, startTestAgent, waitFor, type TestAgent } from "./fixtures/harness.ts";

let overlord: FakeOverlord;
let running: TestAgent | null = null;

function agentWith(overrides: Parameters<typeof startTestAgent>[1] = {}, deps: Parameters<typeof startTestAgent>[2] = {}): TestAgent {
  running = startTestAgent(overlord, { shutdownGraceMs: 0, ...overrides }, deps);
  return running;
}

beforeEach(async () => {
  overlord = await new FakeOverlord().start();
});

afterEach(async () => {
  await running?.stop();
  running = null;
  await overlord.close();
});

describe("the poll protocol", () => {
  it("starts with a full poll listing no tasks, then polls from the returned counter and term", async () => {
    agentWith();
    const polls = await overlord.waitFor(() => (overlord.polls().length >= 2 ? overlord.polls() : null), "two polls");
    expect(polls[0]).toMatchObject({ counter: null, full: true, tasks: [], term: null, worker: { host: "test-agent:8091", capacity: 2, category: "_default_worker_category", version: "0" } });
    expect(polls[1]).toMatchObject({ full: false, term: overlord.term, counter: { counter: 0, hash: 1_714_000_000_000 } });
  });

  it("runs an assigned noop to SUCCESS and ships its log no later than the final status", async () => {
    const a = agentWith();
    overlord.assign({ type: "noop", id: "noop-1", runTime: 0 });
    const final = await overlord.waitFor(() => overlord.finalOf("noop-1"), "the final status");
    expect(final).toMatchObject({ status: "SUCCESS", errorMsg: null, location: { host: "test-agent", port: 8091, tlsPort: -1 } });
    expect(final.duration).toBeGreaterThanOrEqual(0);
    // (a RUNNING report may be folded into the final one: news is debounced into one poll)
    // the log travelled inline with the final status (same commit on the server)
    expect(final.log).toContain("noop task finished");
    expect(overlord.logs.get("noop-1")).toContain("task [noop-1] SUCCESS");
    expect(a.events.map((e) => e.event).filter((n) => n !== "agent.ready")).toEqual(["agent.started", "task.assigned", "task.started", "task.finished"]);
    // acknowledged: forgotten
    await overlord.waitFor(() => a.agent.heldTaskIds().length === 0 || null, "the task to be forgotten");
  });

  it("uploads a large log and the reports before reporting the final status", async () => {
    const a = agentWith({ inlineLogBytes: 1000 });
    overlord.assign({ type: "test_sleep", id: "big", sleepMs: 0, logBytes: 20_000, reports: { ingestionStatsAndErrors: { rows: 3 } } });
    await overlord.waitFor(() => overlord.finalOf("big"), "the final status");
    const log = overlord.timeline.find((e) => e.kind === "log" && e.taskId === "big")!;
    const reports = overlord.timeline.find((e) => e.kind === "reports" && e.taskId === "big")!;
    const final = overlord.finalEntry("big")!;
    expect(log.seq).toBeLessThan(final.seq);
    expect(reports.seq).toBeLessThan(final.seq);
    expect(log.worker).toBe(a.cfg.host);
    expect(log.text!.length).toBeGreaterThan(20_000);
    expect(overlord.uploadedReports.get("big")).toEqual({ ingestionStatsAndErrors: { rows: 3 } });
    expect(overlord.finalOf("big")!.log).toBeUndefined();
  });

  it("ignores a repeated assignment of a task it holds, running or finished", async () => {
    const a = agentWith();
    const task = sleeper(a.dir, "dup");
    overlord.assign(task);
    await a.event("task.started", "dup");
    overlord.assign(task);
    await overlord.waitFor(() => overlord.polls().filter((p) => p.counter?.counter === 2).length > 0 || null, "the agent to apply the duplicate");
    release(a.dir, "dup");
    await overlord.waitFor(() => overlord.finalOf("dup"), "the final status");
    overlord.assign(task); // after its acknowledgement, too
    await overlord.waitFor(() => overlord.polls().some((p) => p.counter?.counter === 3) || null, "the agent to apply the second duplicate");
    expect(a.events.filter((e) => e.event === "task.started")).toHaveLength(1);
    expect(a.events.filter((e) => e.event === "task.assigned")).toHaveLength(1);
    expect(overlord.reports.get("dup")!.filter((r) => r.status !== "RUNNING")).toHaveLength(1);
  });

  it("answers a counter reset with a full poll listing every task it holds", async () => {
    const a = agentWith();
    overlord.assign(sleeper(a.dir, "held"));
    await overlord.waitFor(() => overlord.reports.get("held")?.length, "RUNNING to be reported");
    const before = overlord.polls().length;
    overlord.forceReset();
    const full = await overlord.waitFor(() => overlord.polls().slice(before).find((p) => p.full), "a full poll");
    expect(full.counter).toBeNull();
    expect(full.tasks.map((t) => [t.id, t.status])).toEqual([["held", "RUNNING"]]);
    // the snapshot re-assigns the task it already runs: nothing new starts
    release(a.dir, "held");
    await overlord.waitFor(() => overlord.finalOf("held"), "the final status");
    expect(a.events.filter((e) => e.event === "task.started")).toHaveLength(1);
  });

  it("keeps running tasks while the Overlord is down and reports their outcome once it is back", async () => {
    const a = agentWith();
    overlord.assign(sleeper(a.dir, "through-outage"));
    await overlord.waitFor(() => overlord.reports.get("through-outage")?.length, "RUNNING to be reported");
    overlord.mode = "drop";
    overlord.setDisabled(false); // answers the held poll: the next one meets the outage
    await overlord.waitFor(() => overlord.failedPolls >= 1 || null, "a failed poll");
    release(a.dir, "through-outage");
    await a.event("task.finished", "through-outage");
    overlord.mode = 503;
    await overlord.waitFor(() => overlord.failedPolls >= 3 || null, "more failed polls");
    expect(overlord.finalOf("through-outage")).toBeUndefined();
    overlord.mode = "up";
    const final = await overlord.waitFor(() => overlord.finalOf("through-outage"), "the final status after the outage");
    expect(final.status).toBe("SUCCESS");
    expect(a.lines.some((l) => l.includes("WARN") && l.includes("unreachable"))).toBe(true);
    expect(a.lines.some((l) => l.includes("failed the poll") && l.includes("503"))).toBe(true);
  });

  it("keeps retrying, with a clear error, while the token is refused", async () => {
    const a = agentWith({ token: "wrong-token" });
    await waitFor(() => a.lines.filter((l) => l.includes("refused the agent token")).length >= 2, "two refused polls");
    expect(a.lines.find((l) => l.includes("refused the agent token"))).toMatch(/ERROR .*status=401/);
  });
});

describe("task execution", () => {
  it("never runs more than its capacity at once, counting requiredCapacity", async () => {
    const a = agentWith({ capacity: 2 });
    overlord.assign(sleeper(a.dir, "wide", { resource: { requiredCapacity: 2, availabilityGroup: "wide" } }));
    overlord.assign(sleeper(a.dir, "n1"));
    overlord.assign(sleeper(a.dir, "n2"));
    overlord.assign(sleeper(a.dir, "n3"));
    await a.event("task.started", "wide");
    await overlord.waitFor(() => a.events.filter((e) => e.event === "task.assigned").length === 4 || null, "all assigned");
    expect(a.agent.usedCapacity).toBe(2);
    expect(a.events.filter((e) => e.event === "task.started")).toHaveLength(1);
    release(a.dir, "wide");
    await a.event("task.started", "n1");
    await a.event("task.started", "n2");
    expect(a.agent.usedCapacity).toBe(2);
    release(a.dir, "n1");
    await a.event("task.started", "n3");
    release(a.dir, "n2");
    release(a.dir, "n3");
    await overlord.waitFor(() => ["wide", "n1", "n2", "n3"].every((id) => overlord.finalOf(id)?.status === "SUCCESS") || null, "all to succeed");
    expect(maxConcurrent(a.events)).toBe(2);
  });

  it("reuses its child processes: the second task costs no process start", async () => {
    const a = agentWith({ capacity: 1 });
    overlord.assign({ type: "noop", id: "first", runTime: 0 });
    await overlord.waitFor(() => overlord.finalOf("first"), "first");
    overlord.assign({ type: "noop", id: "second", runTime: 0 });
    await overlord.waitFor(() => overlord.finalOf("second"), "second");
    expect(a.pool.spawned).toBe(1);
  });

  it("retires a child that ends a task above the memory limit: the next task runs in a fresh one", async () => {
    const a = agentWith({ capacity: 1, childRetireMb: 1 }); // every child is above 1 MB
    await a.pool.whenWarm();
    const firstPid = a.pool.pids()[0]!;
    expect(firstPid).toBeGreaterThan(0);
    overlord.assign({ type: "noop", id: "first", runTime: 0 });
    expect((await overlord.waitFor(() => overlord.finalOf("first"), "first")).status).toBe("SUCCESS");
    await waitFor(() => !a.pool.pids().includes(firstPid) || null, "the pool to see the first child exit");
    expect(alive(firstPid)).toBe(false);
    overlord.assign({ type: "noop", id: "second", runTime: 0 });
    expect((await overlord.waitFor(() => overlord.finalOf("second"), "second")).status).toBe("SUCCESS");
    expect(a.pool.pids()).not.toContain(firstPid);
    expect(a.pool.spawned).toBeGreaterThanOrEqual(2);
  });

  it("a shutdown kills only that task's child; the other task succeeds and the pool replaces the child", async () => {
    const a = agentWith({ capacity: 2 });
    overlord.assign(sleeper(a.dir, "victim"));
    overlord.assign(sleeper(a.dir, "bystander"));
    await a.event("task.started", "victim");
    await a.event("task.started", "bystander");
    const victimPid = a.pool.pidOf("victim")!;
    const bystanderPid = a.pool.pidOf("bystander")!;
    expect(victimPid).not.toBe(bystanderPid);
    overlord.shutdown("victim");
    const final = await overlord.waitFor(() => overlord.finalOf("victim"), "the victim's final status");
    expect(final).toMatchObject({ status: "FAILED", errorMsg: "Shutdown request from the Overlord" });
    expect(alive(victimPid)).toBe(false);
    expect(alive(bystanderPid)).toBe(true);
    await overlord.waitFor(() => a.pool.size === 2 || null, "the pool to replace the child");
    expect(a.pool.pids()).not.toContain(victimPid);
    release(a.dir, "bystander");
    expect((await overlord.waitFor(() => overlord.finalOf("bystander"), "bystander")).status).toBe("SUCCESS");
  });

  it("SIGKILLs a stopped task's child that ignores the stop after the grace period", async () => {
    const a = agentWith({ capacity: 1, taskStopGraceMs: 200 });
    overlord.assign(sleeper(a.dir, "stubborn", { ignoreAbort: true }));
    await a.event("task.started", "stubborn");
    const pid = a.pool.pidOf("stubborn")!;
    overlord.shutdown("stubborn");
    const final = await overlord.waitFor(() => overlord.finalOf("stubborn"), "the final status");
    expect(final).toMatchObject({ status: "FAILED", errorMsg: "Shutdown request from the Overlord" });
    expect(alive(pid)).toBe(false);
  });

  it("a crashing child fails its task with a clear message, and the agent keeps working", async () => {
    const a = agentWith({ capacity: 1 });
    overlord.assign({ type: "test_crash", id: "crash", exitCode: 3 });
    const final = await overlord.waitFor(() => overlord.finalOf("crash"), "the crash to be reported");
    expect(final.status).toBe("FAILED");
    expect(final.errorMsg).toBe("The task's process exited unexpectedly (exit code 3)");
    expect(overlord.logs.get("crash")).toContain("test_crash pid");
    overlord.assign({ type: "noop", id: "after-crash", runTime: 0 });
    expect((await overlord.waitFor(() => overlord.finalOf("after-crash"), "the next task")).status).toBe("SUCCESS");
    expect(a.pool.spawned).toBe(2);
  });

  it("a task that outlives its first turn has its log on disk, so a SIGKILLed child's log still ships", async () => {
    const { existsSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const a = agentWith({ capacity: 1 });
    overlord.assign(sleeper(a.dir, "killed"));
    await a.event("task.started", "killed");
    // The file's first line, not just the file: the child may be descheduled between creating
    // the file and writing to it, and a kill in that window leaves nothing to ship.
    const logPath = join(a.cfg.workDir, "killed.log");
    await waitFor(() => existsSync(logPath) && readFileSync(logPath, "utf8").includes("started on"), "the log file's first line");
    process.kill(a.pool.pidOf("killed")!, "SIGKILL");
    const final = await overlord.waitFor(() => overlord.finalOf("killed"), "the kill to be reported");
    expect(final.errorMsg).toBe("The task's process exited unexpectedly (signal SIGKILL)");
    expect(overlord.logs.get("killed")).toContain("task [killed] type [test_sleep] started on");
  });

  it("a noop that ends within its first turn leaves no log file behind and ships its log", async () => {
    const { readdirSync } = await import("node:fs");
    const a = agentWith({ capacity: 1 });
    overlord.assign({ type: "noop", id: "quick", runTime: 0 });
    await overlord.waitFor(() => overlord.finalOf("quick"), "the final status");
    expect(overlord.logs.get("quick")).toContain("noop task finished");
    expect(readdirSync(a.cfg.workDir).filter((f) => f !== ".agent")).toEqual([]);
  });

  it("fails a task of an unsupported type cleanly", async () => {
    const a = agentWith({ capacity: 1 });
    overlord.assign({ type: "index_hadoop", id: "hadoop" });
    const final = await overlord.waitFor(() => overlord.finalOf("hadoop"), "the final status");
    expect(final).toMatchObject({ status: "FAILED", errorMsg: "Task type [index_hadoop] is not supported by this agent" });
    overlord.assign({ type: "noop", id: "after-hadoop", runTime: 0 });
    expect((await overlord.waitFor(() => overlord.finalOf("after-hadoop"), "the next task")).status).toBe("SUCCESS");
    expect(a.pool.spawned).toBe(1);
  });

  it("reports an executor's FAILED outcome with its message", async () => {
    agentWith({ capacity: 1 });
    overlord.assign({ type: "test_sleep", id: "sad", sleepMs: 0, failWith: "Bad input" });
    expect(await overlord.waitFor(() => overlord.finalOf("sad"), "the final status")).toMatchObject({ status: "FAILED", errorMsg: "Bad input" });
  });

  it("gives each task its own work dir and removes it afterwards unless kept", async () => {
    const { existsSync, readdirSync } = await import("node:fs");
    const { join } = await import("node:path");
    const a = agentWith({ capacity: 1 });
    overlord.assign(sleeper(a.dir, "wd"));
    await a.event("task.started", "wd");
    const dir = join(a.cfg.workDir, "wd");
    expect(existsSync(dir)).toBe(true);
    await waitFor(() => existsSync(`${dir}.log`), "the log file (written from the task's first turn on)");
    release(a.dir, "wd");
    await overlord.waitFor(() => overlord.finalOf("wd"), "the final status");
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`${dir}.log`)).toBe(false);
    // a noop needs no directory: only its log file is written (and removed)
    overlord.assign({ type: "noop", id: "nodir", runTime: 0 });
    const final = await overlord.waitFor(() => overlord.finalOf("nodir"), "the noop's final status");
    expect(final.log).toContain("noop task finished");
    expect(readdirSync(a.cfg.workDir).filter((f) => f !== ".agent")).toEqual([]);
  });
});

describe("--isolation none (tasks inside the agent)", () => {
  it("runs a noop to SUCCESS in the agent's own process, starting no child, and ships its log", async () => {
    const a = agentWith({ isolation: "none" });
    overlord.assign({ type: "noop", id: "inline-1", runTime: 0 });
    const final = await overlord.waitFor(() => overlord.finalOf("inline-1"), "the final status");
    expect(final.status).toBe("SUCCESS");
    expect(final.log).toContain("in the agent's process");
    expect(final.log).toContain("noop task finished");
    expect((a.agent.pool as { spawned?: number }).spawned).toBeUndefined();
    expect(a.events.map((e) => e.event)).toEqual(expect.arrayContaining(["task.assigned", "task.started", "task.finished"]));
  });

  it("a shutdown aborts only that task; the other keeps running and succeeds", async () => {
    const a = agentWith({ isolation: "none", capacity: 2 });
    overlord.assign(sleeper(a.dir, "victim"));
    overlord.assign(sleeper(a.dir, "bystander"));
    await a.event("task.started", "victim");
    await a.event("task.started", "bystander");
    overlord.shutdown("victim");
    const final = await overlord.waitFor(() => overlord.finalOf("victim"), "the victim's final status");
    expect(final).toMatchObject({ status: "FAILED", errorMsg: "Shutdown request from the Overlord" });
    expect(overlord.finalOf("bystander")).toBeFalsy();
    release(a.dir, "bystander");
    expect((await overlord.waitFor(() => overlord.finalOf("bystander"), "bystander")).status).toBe("SUCCESS");
  });

  it("keeps each task's log in memory (no file) and removes its work dir once it ends", async () => {
    const { existsSync } = await import("node:fs");
    const { join } = await import("node:path");
    const a = agentWith({ isolation: "none", capacity: 1 });
    overlord.assign(sleeper(a.dir, "wd-inline"));
    await a.event("task.started", "wd-inline");
    expect(existsSync(join(a.cfg.workDir, "wd-inline"))).toBe(true);
    expect(existsSync(join(a.cfg.workDir, "wd-inline.log"))).toBe(false);
    release(a.dir, "wd-inline");
    await overlord.waitFor(() => overlord.finalOf("wd-inline"), "the final status");
    expect(overlord.logs.get("wd-inline")).toContain("task [wd-inline] SUCCESS");
    expect(existsSync(join(a.cfg.workDir, "wd-inline"))).toBe(false);
    expect(existsSync(join(a.cfg.workDir, "wd-inline.log"))).toBe(false);
  });
});

describe("batching news", () => {
  it("holds a finished task's status briefly while another task that just started finishes, then reports both in one poll", async () => {
    // a wide linger: on a loaded machine the 3 ms task's timer can fire well after 10 ms
    agentWith({ isolation: "none", capacity: 2 }, { lingerMs: 2000 });
    await overlord.waitFor(() => (overlord.polls().length >= 2 ? true : null), "the agent to poll");
    overlord.assignAll([
      { type: "noop", id: "first", runTime: 0 },
      { type: "noop", id: "second", runTime: 3 },
    ]);
    await overlord.waitFor(() => overlord.finalOf("second"), "the second final status");
    expect(overlord.finalEntry("first")).toBe(overlord.finalEntry("second"));
  });
});

describe("stopping", () => {
  it("reports capacity 0, lets running tasks finish, fails late assignments, and reports everything", async () => {
    const a = agentWith({ capacity: 2, shutdownGraceMs: 30_000 });
    overlord.assign(sleeper(a.dir, "finishing"));
    await a.event("task.started", "finishing");
    const stopped = a.stop();
    await overlord.waitFor(() => overlord.polls().some((p) => p.worker.capacity === 0) || null, "a poll with capacity 0");
    overlord.assign({ type: "noop", id: "late", runTime: 0 });
    await overlord.waitFor(() => overlord.finalOf("late"), "the late task to fail");
    expect(overlord.finalOf("late")).toMatchObject({ status: "FAILED", errorMsg: "Agent is shutting down" });
    release(a.dir, "finishing");
    await stopped;
    expect(overlord.finalOf("finishing")!.status).toBe("SUCCESS");
    expect(a.events.at(-1)!.event).toBe("agent.stopped");
    expect(a.pool.size).toBe(0);
  });

  it("stops the tasks still running when the grace period ends", async () => {
    const a = agentWith({ capacity: 1, shutdownGraceMs: 100 });
    overlord.assign(sleeper(a.dir, "too-slow"));
    await a.event("task.started", "too-slow");
    await a.stop();
    expect(overlord.finalOf("too-slow")).toMatchObject({ status: "FAILED", errorMsg: "Agent shut down" });
  });
});
