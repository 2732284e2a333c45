/** The runner's timeouts (leases, taskAssignmentTimeout, taskCleanupTimeout, blacklist) and nextDeadline. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TaskReport } from "../../src/protocol/agent.ts";
import { T0, assigned, failed, noop, overlord, running, shutdowns, succeeded, type Agent, type Harness } from "./support/overlordHarness.ts";

const CFG = { workerLeaseMs: 10_000, taskAssignmentTimeoutMs: 20_000, taskCleanupTimeoutMs: 30_000 };

describe("taskAssignmentTimeout", () => {
  it("fails a task the worker never confirms within taskAssignmentTimeout, and tells the worker to stop it", () => {
    const o = overlord(CFG);
    o.submit(noop("t1"));
    const a = o.agent("w1:8091");
    a.answer();
    o.advance(9_000);
    a.poll(); // keeps the lease
    o.advance(9_000);
    a.poll();
    o.core.runner.tick();
    expect(o.entry("t1").status).toBe("RUNNING");
    o.advance(2_000);
    o.core.runner.tick();
    expect(o.entry("t1")).toMatchObject({ status: "FAILED", errorMsg: "Task assignment timed out on worker [w1:8091] after taskAssignmentTimeout" });
    o.commit();
    expect(shutdowns(a.answer())).toEqual(["t1"]);
  });

  it("does not fail a task confirmed RUNNING in time", () => {
    const o = overlord(CFG);
    o.submit(noop("t1"));
    const a = o.agent("w1:8091");
    a.answer();
    a.answer({ tasks: [running("t1")] });
    for (let i = 0; i < 5; i++) {
      o.advance(9_000);
      a.poll();
      o.core.runner.tick();
    }
    expect(o.entry("t1")).toMatchObject({ status: "RUNNING", runner: "RUNNING" });
  });
});

describe("leases and taskCleanupTimeout", () => {
  it("marks a worker whose lease lapsed lost: it is not listed and gets no work", () => {
    const o = overlord(CFG);
    const a = o.agent("w1:8091");
    a.answer();
    o.advance(10_000);
    o.core.runner.tick();
    expect(o.core.runner.workerInfo()).toEqual([]);
    expect(o.core.runner.capacity().currentClusterCapacity).toBe(0);
    o.submit(noop("t1"));
    expect(o.entry("t1").worker).toBeNull();
  });

  it("fails the tasks of a lost worker after taskCleanupTimeout and forgets the worker", () => {
    const o = overlord(CFG);
    o.submit(noop("t1"));
    const a = o.agent("w1:8091");
    a.answer();
    a.answer({ tasks: [running("t1")] });
    o.advance(10_000);
    o.core.runner.tick();
    o.advance(29_999);
    o.core.runner.tick();
    expect(o.entry("t1").status).toBe("RUNNING");
    o.advance(1);
    o.core.runner.tick();
    expect(o.entry("t1")).toMatchObject({ status: "FAILED", errorMsg: expect.stringContaining("did not come back within taskCleanupTimeout") });
    expect(o.core.runner.workers.has("w1:8091")).toBe(false);
    expect(o.core.nextDeadline()).toBeNull();
  });

  it("keeps the tasks of a lost worker that comes back before taskCleanupTimeout", () => {
    const o = overlord(CFG);
    o.submit(noop("t1"));
    const a = o.agent("w1:8091");
    a.answer();
    a.answer({ tasks: [running("t1")] });
    o.advance(25_000);
    o.core.runner.tick();
    expect(o.core.runner.workerInfo()).toEqual([]);
    a.answer({ tasks: [running("t1")] });
    o.advance(20_000);
    a.poll();
    o.core.runner.tick();
    expect(o.entry("t1")).toMatchObject({ status: "RUNNING", runner: "RUNNING", worker: "w1:8091" });
    expect(o.core.runner.workerInfo()).toHaveLength(1);
  });
});

describe("blacklist (maxRetriesBeforeBlacklist)", () => {
  const BL = { maxRetriesBeforeBlacklist: 2, maxPercentageBlacklistWorkers: 100, workerBlackListBackoffTimeMs: 60_000, workerLeaseMs: 600_000 };

  /** Runs `n` tasks on the worker, each ending with `report`. */
  function runOutcomes(o: Harness, a: Agent, reports: Array<(id: string) => TaskReport>, prefix: string) {
    reports.forEach((report, i) => {
      const id = `${prefix}${i}`;
      o.submit(noop(id));
      o.commit();
      expect(assigned(a.answer())).toEqual([id]);
      a.answer({ tasks: [report(id)] });
    });
  }

  it("blacklists a worker after more than maxRetriesBeforeBlacklist failures in a row, until the backoff ends", () => {
    const o = overlord(BL);
    const a = o.agent("w1:8091");
    a.answer();
    runOutcomes(o, a, [failed, failed], "f");
    expect(o.core.runner.workerInfo()[0]!.blacklistedUntil).toBeNull();
    runOutcomes(o, a, [failed], "g");
    const until = o.now() + 60_000;
    expect(o.core.runner.workerInfo()[0]!.blacklistedUntil).toBe(new Date(until).toISOString());
    o.submit(noop("next"));
    expect(o.entry("next").worker).toBeNull();
    expect(o.core.nextDeadline()).toBe(until);
    o.setNow(until - 1);
    o.core.runner.tick();
    expect(o.entry("next").worker).toBeNull();
    o.setNow(until);
    o.core.runner.tick();
    expect(o.entry("next").worker).toBe("w1:8091");
    expect(o.core.runner.workerInfo()[0]!.blacklistedUntil).toBeNull();
  });

  it("restarts the count after a success", () => {
    const o = overlord(BL);
    const a = o.agent("w1:8091");
    a.answer();
    runOutcomes(o, a, [failed, failed, succeeded, failed, failed], "t");
    expect(o.core.runner.workerInfo()[0]!.blacklistedUntil).toBeNull();
  });

  // Druid (HttpRemoteTaskRunner.checkAndRemoveWorkersFromBlackList) resets the worker's
  // continuouslyFailedTasksCount when it leaves the blacklist; here the count survives the expiry,
  // so the first failure afterwards blacklists the worker again at once.
  it("restarts the count when the blacklisting ends (one failure afterwards does not blacklist again)", () => {
    const o = overlord(BL);
    const a = o.agent("w1:8091");
    a.answer();
    runOutcomes(o, a, [failed, failed, failed], "f");
    o.advance(60_000);
    o.core.runner.tick();
    expect(o.core.runner.workerInfo()[0]!.blacklistedUntil).toBeNull();
    runOutcomes(o, a, [failed], "g");
    expect(o.core.runner.workerInfo()[0]!.blacklistedUntil).toBeNull();
  });

  it("does not blacklist beyond maxPercentageBlacklistWorkers", () => {
    const o = overlord({ ...BL, maxPercentageBlacklistWorkers: 20 });
    const a = o.agent("w1:8091");
    a.answer();
    runOutcomes(o, a, [failed, failed, failed, failed], "f");
    expect(o.core.runner.workerInfo()[0]!.blacklistedUntil).toBeNull();
  });
});

describe("nextDeadline", () => {
  it("is null without workers, and the lease end of a fresh worker", () => {
    const o = overlord(CFG);
    expect(o.core.nextDeadline()).toBeNull();
    o.agent("w1:8091").answer();
    expect(o.core.nextDeadline()).toBe(T0 + 10_000);
  });

  type Step =
    | { kind: "submit" }
    | { kind: "poll"; agent: number; report: "none" | "running" | "success" | "failed"; full: boolean }
    | { kind: "shutdown"; pick: number }
    | { kind: "wait"; ms: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.constant({ kind: "submit" as const }),
    fc.record({ kind: fc.constant("poll" as const), agent: fc.integer({ min: 0, max: 1 }), report: fc.constantFrom("none" as const, "running" as const, "success" as const, "failed" as const), full: fc.boolean() }),
    fc.record({ kind: fc.constant("shutdown" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("wait" as const), ms: fc.constantFrom(1, 999, 5_000, 10_000, 20_000, 31_000) }),
  );

  /** Everything applyTimeouts can change. */
  function snapshot(o: Harness, ids: string[]) {
    const tasks = ids.map((id) => [id, o.entry(id).status, o.entry(id).runner, o.entry(id).worker]);
    const workers = [...o.core.runner.workers.values()].map((w) => [w.host, w.lostAt, w.blacklistedUntil, [...w.slots.keys()], [...w.unacked.keys()], w.log.lastCounter.counter]);
    return JSON.stringify({ tasks, workers });
  }

  it("names exactly the time when tick next has something to do", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const o = overlord({ ...CFG, maxRetriesBeforeBlacklist: 1, maxPercentageBlacklistWorkers: 100, workerBlackListBackoffTimeMs: 15_000 });
        const agents = [o.agent("a:1", { capacity: 2 }), o.agent("b:1", { capacity: 1 })];
        const ids: string[] = [];
        for (const s of steps) {
          if (s.kind === "submit") {
            ids.push(`t${ids.length}`);
            o.submit(noop(ids[ids.length - 1]!));
          } else if (s.kind === "poll") {
            const a = agents[s.agent]!;
            const mine = ids.filter((id) => o.entry(id).worker === a.host && o.entry(id).status === "RUNNING");
            const report = { none: null, running, success: succeeded, failed }[s.report];
            const tasks = report && mine.length > 0 ? [report(mine[0]!)] : [];
            a.poll(s.full ? { counter: null, tasks } : { tasks });
          } else if (s.kind === "shutdown") {
            if (ids.length > 0) o.core.queue.shutdown(ids[s.pick % ids.length]!);
          } else {
            o.advance(s.ms);
            o.core.runner.tick(); // the alarm fires (late, at most)
          }
          o.commit();
        }
        const d = o.core.nextDeadline();
        const before = snapshot(o, ids);
        if (d === null) {
          o.advance(1_000_000);
          o.core.runner.tick();
          expect(snapshot(o, ids)).toBe(before);
          return;
        }
        expect(d).toBeGreaterThan(o.now());
        o.setNow(d - 1);
        o.core.runner.tick();
        expect(snapshot(o, ids)).toBe(before);
        o.setNow(d);
        o.core.runner.tick();
        expect(snapshot(o, ids)).not.toBe(before);
      }),
      { numRuns: 300, seed: 20260101 },
    );
  });
});
