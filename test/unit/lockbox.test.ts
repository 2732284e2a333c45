import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canCoexist, Lockbox, type LockRequest, type StoredLock } from "../../src/overlord/lockbox.ts";
import type { LockType } from "../../src/protocol/taskLocks.ts";
import { overlaps, parseInterval, type Interval } from "../../src/shared/intervals.ts";

const iv = (s: string) => parseInterval(s);
const day = (d: number): Interval => ({ start: Date.UTC(2024, 0, d), end: Date.UTC(2024, 0, d + 1) });

function box(start = Date.UTC(2024, 4, 1)) {
  let now = start;
  const lb = new Lockbox({ now: () => now });
  return { lb, tick: (ms = 1) => (now += ms) };
}

function req(taskId: string, interval: Interval | string, type: LockType = "EXCLUSIVE", priority = 50, groupId = taskId): LockRequest {
  return { taskId, groupId, dataSource: "wiki", interval: typeof interval === "string" ? iv(interval) : interval, type, priority };
}

describe("lockbox coexistence (Druid's canXLockCoexist)", () => {
  const i = iv("2024-01-01/2024-01-03");
  const inner = iv("2024-01-01/2024-01-02");
  const outer = iv("2023-12-31/2024-01-04");
  it.each([
    ["EXCLUSIVE", "EXCLUSIVE", i, i, false],
    ["EXCLUSIVE", "SHARED", i, i, false],
    ["EXCLUSIVE", "KILL", i, i, true],
    ["SHARED", "SHARED", i, i, true],
    ["SHARED", "APPEND", i, i, false],
    ["REPLACE", "APPEND", i, inner, true],
    ["REPLACE", "APPEND", i, outer, false],
    ["REPLACE", "REPLACE", i, i, false],
    ["APPEND", "APPEND", i, outer, true],
    ["KILL", "KILL", i, i, false],
    ["KILL", "REPLACE", i, i, true],
  ] as const)("%s with %s → %s", (a, b, ia, ib, expected) => {
    expect(canCoexist({ type: a, interval: ia }, { type: b, interval: ib })).toBe(expected);
    expect(canCoexist({ type: b, interval: ib }, { type: a, interval: ia })).toBe(expected);
  });
});

describe("lockbox", () => {
  it("grants a free interval with a version from the clock, then refuses an overlapping equal-priority exclusive lock", () => {
    const { lb } = box();
    const a = lb.tryLock(req("a", "2024-01-01/2024-01-03"));
    expect(a).toMatchObject({ granted: true, lock: { type: "EXCLUSIVE", groupId: "a", version: "2024-05-01T00:00:00.000Z", revoked: false, priority: 50 } });
    expect(a.changes).toEqual([{ kind: "added", taskId: "a", lock: expect.objectContaining({ interval: "2024-01-01T00:00:00.000Z/2024-01-03T00:00:00.000Z" }) }]);
    const b = lb.tryLock(req("b", "2024-01-02/2024-01-04"));
    expect(b.granted).toBe(false);
    expect(lb.locksOf("b")).toEqual([]);
  });

  it("hands out strictly increasing versions even within one millisecond; APPEND gets the epoch", () => {
    const { lb } = box();
    const v1 = lb.tryLock(req("a", day(1)));
    const v2 = lb.tryLock(req("b", day(2)));
    const v3 = lb.tryLock(req("c", day(3), "APPEND"));
    expect(v1.granted && v2.granted && v3.granted).toBe(true);
    if (v1.granted && v2.granted && v3.granted) {
      expect(v2.lock.version > v1.lock.version).toBe(true);
      expect(v3.lock.version).toBe("1970-01-01T00:00:00.000Z");
    }
  });

  it("shares one posse within a group when the held interval contains the request", () => {
    const { lb } = box();
    const a = lb.tryLock(req("a", "2024-01-01/2024-01-05", "EXCLUSIVE", 50, "g"));
    const b = lb.tryLock(req("b", "2024-01-02/2024-01-03", "EXCLUSIVE", 50, "g"));
    expect(b.granted).toBe(true);
    if (a.granted && b.granted) expect(b.lock).toBe(a.lock);
    const other = lb.tryLock(req("c", "2024-01-02/2024-01-03", "EXCLUSIVE", 50, "h"));
    expect(other.granted).toBe(false);
    // the posse survives until its last member leaves
    lb.removeTask("a");
    expect(lb.tryLock(req("c", "2024-01-02/2024-01-03", "EXCLUSIVE", 50, "h")).granted).toBe(false);
    lb.removeTask("b");
    expect(lb.tryLock(req("c", "2024-01-02/2024-01-03", "EXCLUSIVE", 50, "h")).granted).toBe(true);
  });

  it("preempts only when every conflicting lock has strictly lower priority, and keeps the revoked lock until released", () => {
    const { lb } = box();
    lb.tryLock(req("low1", day(1), "EXCLUSIVE", 10));
    lb.tryLock(req("mid", day(2), "EXCLUSIVE", 60));
    const blocked = lb.tryLock(req("high", iv("2024-01-01/2024-01-03"), "EXCLUSIVE", 60));
    expect(blocked.granted).toBe(false);
    expect(lb.locksOf("low1")[0]!.revoked).toBe(false);
    const high = lb.tryLock(req("high", day(1), "EXCLUSIVE", 90));
    expect(high.granted).toBe(true);
    expect(high.changes.map((c) => [c.kind, c.taskId])).toEqual([["revoked", "low1"], ["added", "high"]]);
    expect(lb.locksOf("low1")[0]!.revoked).toBe(true);
    const again = lb.tryLock(req("low1", day(1), "EXCLUSIVE", 10));
    expect(again).toMatchObject({ granted: false, revoked: true });
    expect(lb.activeLocks([{ datasource: "wiki", priority: 0 }])["wiki"]!.map((l) => l.groupId).sort()).toEqual(["high", "mid"]);
  });

  it("lets REPLACE and contained APPEND locks coexist, but not two REPLACEs", () => {
    const { lb } = box();
    expect(lb.tryLock(req("r", "2024-01-01/2024-01-05", "REPLACE")).granted).toBe(true);
    expect(lb.tryLock(req("a1", day(2), "APPEND")).granted).toBe(true);
    expect(lb.tryLock(req("a2", "2023-12-31/2024-01-02", "APPEND")).granted).toBe(false);
    expect(lb.tryLock(req("r2", day(3), "REPLACE")).granted).toBe(false);
  });

  it("releases exactly the named interval", () => {
    const { lb } = box();
    lb.tryLock(req("a", day(1)));
    lb.tryLock(req("a", day(2)));
    expect(lb.release("a", "wiki", day(1)).map((c) => c.kind)).toEqual(["removed"]);
    expect(lb.locksOf("a").map((l) => l.interval)).toEqual(["2024-01-02T00:00:00.000Z/2024-01-03T00:00:00.000Z"]);
    expect(lb.covers("a", "wiki", day(2))).toBe(true);
    expect(lb.covers("a", "wiki", day(1))).toBe(false);
  });

  it("filters locked intervals by priority, revocation, APPEND under concurrent locks and KILL", () => {
    const { lb } = box();
    lb.tryLock(req("e", day(1), "EXCLUSIVE", 40));
    lb.tryLock(req("ap", day(5), "APPEND", 50));
    lb.tryLock(req("k", day(1), "KILL", 50));
    expect(lb.lockedIntervals([{ datasource: "wiki", priority: 45 }])).toEqual({ wiki: ["2024-01-05T00:00:00.000Z/2024-01-06T00:00:00.000Z"] });
    expect(lb.lockedIntervals([{ datasource: "wiki", priority: 45, context: { useConcurrentLocks: true } }])).toEqual({});
    expect(lb.lockedIntervals([{ datasource: "wiki", priority: 0, intervals: ["2024-01-01/2024-01-02"], context: { taskLockType: "KILL" } }])).toEqual({
      wiki: ["2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z"],
    });
    expect(lb.lockedIntervals([{ datasource: "other", priority: 0 }])).toEqual({});
  });

  it("restores stored locks in version order and fails every task of a group that cannot get one back", () => {
    const { lb } = box();
    const lock = (groupId: string, interval: string, version: string, type: LockType = "EXCLUSIVE", revoked = false) => ({
      granularity: "timeChunk" as const, type, groupId, dataSource: "wiki", interval: iv(interval) && parseAndFormat(interval), version, priority: 50, revoked,
    });
    const stored: StoredLock[] = [
      { taskId: "t2", groupId: "g2", priority: 50, lock: lock("g2", "2024-01-01/2024-01-02", "2024-02-01T00:00:00.000Z") },
      { taskId: "t1", groupId: "g1", priority: 50, lock: lock("g1", "2024-01-01/2024-01-02", "2024-01-01T00:00:00.000Z") },
      { taskId: "t1b", groupId: "g1", priority: 50, lock: lock("g1", "2024-01-01/2024-01-02", "2024-01-01T00:00:00.000Z") },
      { taskId: "t3", groupId: "g3", priority: 50, lock: lock("g3", "2024-01-05/2024-01-06", "2024-01-03T00:00:00.000Z", "EXCLUSIVE", true) },
      { taskId: "t4", groupId: "g4", priority: 50, lock: lock("g4", "2024-01-05/2024-01-06", "2024-01-04T00:00:00.000Z") },
    ];
    const { failedGroups, failedTasks } = lb.restore(stored);
    // g1's older version comes back first; g2's overlapping lock then conflicts
    expect([...failedGroups]).toEqual(["g2"]);
    expect(failedTasks).toEqual(["t2"]);
    expect(lb.locksOf("t1")).toHaveLength(1);
    expect(lb.locksOf("t1")[0]).toBe(lb.locksOf("t1b")[0]);
    expect(lb.locksOf("t2")).toEqual([]);
    // a revoked lock comes back revoked and blocks nothing
    expect(lb.locksOf("t3")[0]!.revoked).toBe(true);
    expect(lb.locksOf("t4")[0]!.revoked).toBe(false);
    // new versions stay above every restored one
    const next = lb.tryLock(req("n", day(20)));
    if (next.granted) expect(next.lock.version > "2024-02-01T00:00:00.000Z").toBe(true);
  });
});

function parseAndFormat(s: string): string {
  const i = parseInterval(s);
  return `${new Date(i.start).toISOString()}/${new Date(i.end).toISOString()}`;
}

/** An independent statement of Druid's coexistence table (not the module's own function). */
function oracleCoexist(ta: LockType, ia: Interval, tb: LockType, ib: Interval): boolean {
  const within = (outer: Interval, inner: Interval) => outer.start <= inner.start && inner.end <= outer.end;
  const pair = [ta, tb].sort().join("+");
  switch (pair) {
    case "KILL+KILL": return false;
    case "EXCLUSIVE+KILL": case "KILL+SHARED": case "APPEND+KILL": case "KILL+REPLACE": return true;
    case "SHARED+SHARED": case "APPEND+APPEND": return true;
    case "APPEND+REPLACE": return ta === "REPLACE" ? within(ia, ib) : within(ib, ia);
    default: return false;
  }
}

/** Live locks of incompatible types must never overlap, whatever the sequence of operations. */
function assertNoIncompatibleOverlap(lb: Lockbox) {
  const live = lb.allLocks().filter((l) => !l.lock.revoked);
  const posses = [...new Set(live.map((l) => l.lock))];
  for (let i = 0; i < posses.length; i++) {
    for (let j = i + 1; j < posses.length; j++) {
      const a = posses[i]!, b = posses[j]!;
      if (a.dataSource !== b.dataSource) continue;
      const ia = parseInterval(a.interval), ib = parseInterval(b.interval);
      if (!overlaps(ia, ib)) continue;
      const sameGroupSameInterval = a.groupId === b.groupId && a.interval === b.interval;
      if (sameGroupSameInterval) continue;
      expect(oracleCoexist(a.type, ia, b.type, ib), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(true);
    }
  }
}

describe("lockbox properties", () => {
  const types: LockType[] = ["EXCLUSIVE", "SHARED", "REPLACE", "APPEND", "KILL"];
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("lock" as const),
      task: fc.integer({ min: 0, max: 7 }),
      group: fc.integer({ min: 0, max: 3 }),
      start: fc.integer({ min: 0, max: 9 }),
      len: fc.integer({ min: 1, max: 4 }),
      type: fc.constantFrom(...types),
      priority: fc.constantFrom(10, 50, 90),
      ds: fc.constantFrom("a", "b"),
    }),
    fc.record({ kind: fc.constant("remove" as const), task: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant("release" as const), task: fc.integer({ min: 0, max: 7 }), start: fc.integer({ min: 0, max: 9 }), len: fc.integer({ min: 1, max: 4 }), ds: fc.constantFrom("a", "b") }),
    fc.record({ kind: fc.constant("restart" as const) }),
  );

  it("never leaves two incompatible live locks overlapping across requests, releases and restarts", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        let now = Date.UTC(2024, 0, 1);
        let lb = new Lockbox({ now: () => now });
        const groupOf = new Map<string, { group: string; priority: number }>();
        for (const o of ops) {
          now += 1;
          if (o.kind === "lock") {
            const taskId = `t${o.task}`;
            const known = groupOf.get(taskId);
            const group = known?.group ?? `g${o.group}`;
            const priority = known?.priority ?? o.priority;
            groupOf.set(taskId, { group, priority });
            lb.tryLock({ taskId, groupId: group, dataSource: o.ds, interval: { start: Date.UTC(2024, 0, 1 + o.start), end: Date.UTC(2024, 0, 1 + o.start + o.len) }, type: o.type, priority });
          } else if (o.kind === "remove") {
            lb.removeTask(`t${o.task}`);
          } else if (o.kind === "release") {
            lb.release(`t${o.task}`, o.ds, { start: Date.UTC(2024, 0, 1 + o.start), end: Date.UTC(2024, 0, 1 + o.start + o.len) });
          } else {
            const stored: StoredLock[] = lb.allLocks().map(({ taskId, lock }) => ({ taskId, groupId: groupOf.get(taskId)!.group, priority: groupOf.get(taskId)!.priority, lock: JSON.parse(JSON.stringify(lock)) }));
            lb = new Lockbox({ now: () => now });
            const { failedTasks } = lb.restore(stored);
            for (const t of failedTasks) expect(lb.locksOf(t)).toEqual([]);
          }
          assertNoIncompatibleOverlap(lb);
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
