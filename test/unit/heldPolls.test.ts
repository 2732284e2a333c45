import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HeldPolls } from "../../src/platform/heldPolls.ts";

/** What a held poll promise has settled to so far ("pending" while it is held). */
function watch<T>(p: Promise<T>) {
  const w = { value: "pending" as T | "pending" };
  void p.then((v) => (w.value = v));
  return w;
}
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("HeldPolls", () => {
  it("holds a poll with its position until it is taken and answered", async () => {
    const held = new HeldPolls<number, string>();
    const p = watch(held.hold("w1", 7, 20_000));
    expect(held.has("w1")).toBe(true);
    expect(held.positionOf("w1")).toBe(7);
    const h = held.take("w1")!;
    expect(h.position).toBe(7);
    expect(held.has("w1")).toBe(false);
    expect(held.take("w1")).toBeUndefined();
    h.resolve("news");
    await settle();
    expect(p.value).toBe("news");
  });

  it("answers a held poll null (no news) when its timeout passes, and forgets it", async () => {
    const held = new HeldPolls<number, string>();
    const p = watch(held.hold("w1", 1, 20_000));
    vi.advanceTimersByTime(19_999);
    await settle();
    expect(p.value).toBe("pending");
    vi.advanceTimersByTime(1);
    await settle();
    expect(p.value).toBeNull();
    expect(held.has("w1")).toBe(false);
  });

  it("answers the held poll null when a newer poll for the same key supersedes it", async () => {
    const held = new HeldPolls<number, string>();
    const older = watch(held.hold("w1", 1, 20_000));
    const newer = watch(held.hold("w1", 2, 20_000));
    await settle();
    expect(older.value).toBeNull();
    expect(newer.value).toBe("pending");
    expect(held.positionOf("w1")).toBe(2);
  });

  it("does not let the timer of a superseded poll drop the newer one", async () => {
    const held = new HeldPolls<number, string>();
    held.hold("w1", 1, 1_000);
    vi.advanceTimersByTime(500);
    const newer = watch(held.hold("w1", 2, 20_000));
    vi.advanceTimersByTime(1_000);
    await settle();
    expect(held.has("w1")).toBe(true);
    expect(newer.value).toBe("pending");
  });

  it("a taken poll is no longer answered by its timeout", async () => {
    const held = new HeldPolls<number, string>();
    const p = watch(held.hold("w1", 1, 1_000));
    const h = held.take("w1")!;
    vi.advanceTimersByTime(5_000);
    await settle();
    expect(p.value).toBe("pending");
    h.resolve("late news");
    await settle();
    expect(p.value).toBe("late news");
  });

  it("supersede of a key with nothing held does nothing; polls of other keys are independent", async () => {
    const held = new HeldPolls<number, string>();
    const w2 = watch(held.hold("w2", 1, 20_000));
    held.supersede("w1");
    await settle();
    expect(w2.value).toBe("pending");
    expect(held.has("w2")).toBe(true);
  });

  it("releaseAll answers every held poll null and holds nothing afterwards", async () => {
    const held = new HeldPolls<number, string>();
    const ps = ["a", "b", "c"].map((k) => watch(held.hold(k, 0, 20_000)));
    held.releaseAll();
    await settle();
    expect(ps.map((p) => p.value)).toEqual([null, null, null]);
    expect(["a", "b", "c"].some((k) => held.has(k))).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
