import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../src/platform/groupCommit.ts";

function host(delay?: ConstructorParameters<typeof GroupCommit<number[]>>[1]) {
  const written: number[][] = [];
  let pending: number[] = [];
  let fail = false;
  let recovered = 0;
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = null;
  const gc = new GroupCommit<number[]>({
    take: () => {
      const b = pending;
      pending = [];
      return b;
    },
    write: async (b) => {
      if (gate) await gate;
      if (fail) {
        fail = false;
        throw new Error("boom");
      }
      written.push(b);
    },
    written: () => {},
    recover: async () => {
      // the owner rebuilds from storage: undurable decisions are gone
      pending = [];
      recovered++;
    },
  }, delay);
  return {
    gc,
    written,
    decide: (n: number) => pending.push(n),
    failNext: () => (fail = true),
    hold: () => (gate = new Promise<void>((r) => (release = () => { gate = null; r(); }))),
    release: () => release?.(),
    recovered: () => recovered,
  };
}

describe("GroupCommit", () => {
  it("groups everything decided before a flush into one write", async () => {
    const h = host();
    h.decide(1);
    const a = h.gc.sync();
    h.decide(2);
    const b = h.gc.sync();
    await Promise.all([a, b]);
    expect(h.written).toEqual([[1, 2]]);
  });

  it("collects the next batch while a flush is in flight", async () => {
    const h = host();
    h.hold();
    h.decide(1);
    const a = h.gc.sync();
    await Promise.resolve();
    await Promise.resolve();
    h.decide(2);
    const b = h.gc.sync();
    h.decide(3);
    const c = h.gc.sync();
    h.release();
    await Promise.all([a, b, c]);
    expect(h.written).toEqual([[1], [2, 3]]);
  });

  it("fails the callers of a failed write and the batch behind it, after recovering", async () => {
    const h = host();
    h.failNext();
    h.hold();
    h.decide(1);
    const a = h.gc.sync();
    await Promise.resolve();
    await Promise.resolve();
    h.decide(2);
    const b = h.gc.sync();
    h.release();
    await expect(a).rejects.toThrow("boom");
    await expect(b).rejects.toThrow("boom");
    expect(h.recovered()).toBe(1);
    h.decide(3);
    await h.gc.sync();
    expect(h.written).toEqual([[3]]);
  });

  describe("commit delay", () => {
    function manualSleep() {
      const calls: number[] = [];
      let wake: (() => void) | null = null;
      return { calls, sleep: (ms: number) => new Promise<void>((r) => { calls.push(ms); wake = r; }), wake: () => wake?.() };
    }

    it("never delays a lone caller", async () => {
      const s = manualSleep();
      const h = host({ delayMs: 2, siblings: 2, sleep: s.sleep });
      h.decide(1);
      await h.gc.sync();
      expect(s.calls).toEqual([]);
      expect(h.written).toEqual([[1]]);
    });

    it("with enough callers waiting, waits before the flush and lets later callers join it", async () => {
      const s = manualSleep();
      const h = host({ delayMs: 2, siblings: 2, sleep: s.sleep });
      h.decide(1);
      const a = h.gc.sync();
      h.decide(2);
      const b = h.gc.sync();
      await Promise.resolve();
      await Promise.resolve();
      expect(s.calls).toEqual([2]);
      expect(h.written).toEqual([]);
      h.decide(3);
      const c = h.gc.sync(); // arrives during the delay: same flush
      s.wake();
      await Promise.all([a, b, c]);
      expect(h.written).toEqual([[1, 2, 3]]);
    });
  });
});
