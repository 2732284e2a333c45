/** Jittered exponential backoff: the steps, the jitter range, reset. */
import { describe, expect, it } from "vitest";
import { Backoff } from "../../../agent/common/backoff.ts";

describe("Backoff", () => {
  it("doubles from 100 ms to a 5 s cap, jittered 50–150%, and resets", () => {
    const low = new Backoff(100, 5000, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(() => low.next())).toEqual([50, 100, 200, 400, 800, 1600, 2500, 2500]);
    const high = new Backoff(100, 5000, () => 1);
    expect(high.next()).toBe(150);
    high.reset();
    expect(high.next()).toBe(150);
  });
});
