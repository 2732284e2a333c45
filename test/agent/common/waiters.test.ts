/** Waiting on a condition (re-checked on notify, bounded by a timeout) and on a time an abort cuts short. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { waitOrAbort, Waiters } from "../../../agent/common/waiters.ts";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("Waiters", () => {
  it("resolves true at once when the condition already holds", async () => {
    const w = new Waiters();
    await expect(w.waitUntil(() => true, 1000)).resolves.toBe(true);
    expect(w.size).toBe(0);
  });

  it("re-checks the condition on each notify and resolves true once it holds", async () => {
    const w = new Waiters();
    let ready = false;
    const done = w.waitUntil(() => ready, 1000);
    w.notify(); // still false: keeps waiting
    expect(w.size).toBe(1);
    ready = true;
    w.notify();
    await expect(done).resolves.toBe(true);
    expect(w.size).toBe(0);
  });

  it("resolves false when the timeout passes first and forgets the waiter", async () => {
    const w = new Waiters();
    const done = w.waitUntil(() => false, 1000);
    vi.advanceTimersByTime(999);
    expect(w.size).toBe(1);
    vi.advanceTimersByTime(1);
    await expect(done).resolves.toBe(false);
    expect(w.size).toBe(0);
  });

  it("a condition that a notify finds true ends only its own wait", async () => {
    const w = new Waiters();
    let a = false;
    const first = w.waitUntil(() => a, 1000);
    const second = w.waitUntil(() => false, 1000);
    a = true;
    w.notify();
    await expect(first).resolves.toBe(true);
    expect(w.size).toBe(1);
    vi.advanceTimersByTime(1000);
    await expect(second).resolves.toBe(false);
  });
});

describe("waitOrAbort", () => {
  it("resolves false once the time has passed", async () => {
    const done = waitOrAbort(500, new AbortController().signal);
    vi.advanceTimersByTime(500);
    await expect(done).resolves.toBe(false);
  });

  it("resolves true as soon as the signal aborts, or at once if it already has", async () => {
    const c = new AbortController();
    const done = waitOrAbort(500, c.signal);
    c.abort();
    await expect(done).resolves.toBe(true);
    await expect(waitOrAbort(500, c.signal)).resolves.toBe(true);
  });
});
