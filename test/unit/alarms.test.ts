import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AlarmScheduler, type AlarmStorage, type Duty } from "../../src/platform/alarms.ts";

const WALL = Date.UTC(2026, 0, 1);

/** A Durable Object's alarm, recording every storage call. */
function fakeStorage() {
  const calls: string[] = [];
  let alarm: number | null = null;
  const storage: AlarmStorage = {
    getAlarm: async () => alarm,
    setAlarm: async (at) => {
      calls.push(`set ${at - WALL}`); // on the wall clock, relative to WALL
      alarm = at;
    },
    deleteAlarm: async () => {
      calls.push("delete");
      alarm = null;
    },
  };
  return { storage, calls, alarm: () => alarm };
}

/** A duty due at `at` (relative to WALL; null: nothing to do) that records its runs. */
function duty(name: string, at: number | null, after: number | null = null) {
  const runs: number[] = [];
  const d: Duty & { at: number | null; runs: number[] } = {
    name,
    at,
    runs,
    nextRunAt: () => (d.at === null ? null : WALL + d.at),
    run: (now) => {
      runs.push(now - WALL);
      d.at = after;
    },
  };
  return d;
}

function scheduler(offset = 0) {
  let now = WALL + offset;
  const s = fakeStorage();
  const alarms = new AlarmScheduler(s.storage, () => now);
  /** Time passes: the wall clock and the injected clock move together. */
  const setNow = (rel: number) => {
    vi.setSystemTime(WALL + rel);
    now = WALL + offset + rel;
  };
  return { ...s, alarms, setNow };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(WALL);
});
afterEach(() => vi.useRealTimers());

describe("AlarmScheduler", () => {
  it("sets the alarm to the earliest time any duty needs", async () => {
    const s = scheduler();
    s.alarms.register(duty("a", 500));
    s.alarms.register(duty("b", 200));
    s.alarms.register(duty("idle", null));
    await s.alarms.reschedule();
    expect(s.calls).toEqual(["set 200"]);
  });

  it("does not set an unchanged alarm again", async () => {
    const s = scheduler();
    s.alarms.register(duty("a", 200));
    await s.alarms.reschedule();
    await s.alarms.reschedule();
    await s.alarms.reschedule();
    expect(s.calls).toEqual(["set 200"]);
  });

  it("moves the alarm earlier at once, but leaves a later time for when it fires", async () => {
    const s = scheduler();
    const a = duty("a", 200);
    s.alarms.register(a);
    await s.alarms.reschedule();
    a.at = 100;
    await s.alarms.reschedule();
    a.at = 900;
    await s.alarms.reschedule();
    expect(s.calls).toEqual(["set 200", "set 100"]);
  });

  it("deletes the alarm when no duty has anything to do", async () => {
    const s = scheduler();
    const a = duty("a", 200);
    s.alarms.register(a);
    await s.alarms.reschedule();
    a.at = null;
    await s.alarms.reschedule();
    expect(s.calls).toEqual(["set 200", "delete"]);
    expect(s.alarm()).toBeNull();
  });

  it("runs the duties that are due with the current time, and only those", async () => {
    const s = scheduler();
    const due = duty("due", 100, null);
    const exactly = duty("exactly", 300, null);
    const later = duty("later", 301);
    for (const d of [due, exactly, later]) s.alarms.register(d);
    s.setNow(300);
    await s.alarms.runDue();
    expect(due.runs).toEqual([300]);
    expect(exactly.runs).toEqual([300]);
    expect(later.runs).toEqual([]);
    expect(s.alarms.lastRun.get("due")).toEqual({ start: WALL + 300, end: WALL + 300 });
    expect(s.alarms.lastRun.has("later")).toBe(false);
  });

  it("after running, sets the alarm to the earliest next time, even when that is later than before", async () => {
    const s = scheduler();
    s.alarms.register(duty("a", 100, 5_000));
    s.alarms.register(duty("b", 2_000));
    await s.alarms.reschedule();
    s.setNow(100);
    await s.alarms.runDue();
    expect(s.calls).toEqual(["set 100", "set 2000"]);
  });

  it("after running, deletes the alarm when nothing is due any more", async () => {
    const s = scheduler();
    const a = duty("a", 100, null);
    s.alarms.register(a);
    await s.alarms.reschedule();
    s.setNow(100);
    await s.alarms.runDue();
    expect(a.runs).toEqual([100]);
    expect(s.calls).toEqual(["set 100", "delete"]);
  });

  it("waits for an async duty before rescheduling", async () => {
    const s = scheduler();
    let finish!: () => void;
    const d: Duty = { name: "slow", nextRunAt: () => WALL, run: () => new Promise<void>((r) => (finish = r)) };
    s.alarms.register(d);
    const running = s.alarms.runDue();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(s.calls).toEqual([]);
    d.nextRunAt = () => WALL + 50;
    finish();
    await running;
    expect(s.calls).toEqual(["set 50"]);
  });

  it("sets the alarm on the wall clock when the injected clock runs ahead of it", async () => {
    const s = scheduler(10_000); // the object's clock is 10 s ahead of Date.now()
    s.alarms.register(duty("a", 10_500));
    await s.alarms.reschedule();
    expect(s.calls).toEqual(["set 500"]);
  });

  it("never sets an alarm in the past: an overdue duty fires now", async () => {
    const s = scheduler();
    s.alarms.register(duty("a", -5_000));
    await s.alarms.reschedule();
    expect(s.calls).toEqual(["set 0"]);
  });
});
