import { describe, expect, it } from "vitest";
import { PendingQueue } from "../../src/overlord/pendingQueue.ts";

describe("PendingQueue", () => {
  it("orders by priority, highest first, then by insertion", () => {
    const q = new PendingQueue();
    q.push("a", 50);
    q.push("b", 75);
    q.push("c", 50);
    q.push("d", 0);
    q.push("e", 75);
    expect(q.ids()).toEqual(["b", "e", "a", "c", "d"]);
  });

  it("skips removed ids and ignores duplicates", () => {
    const q = new PendingQueue();
    q.push("a", 1);
    q.push("a", 1);
    q.push("b", 1);
    q.remove("a");
    expect(q.ids()).toEqual(["b"]);
    expect(q.size).toBe(1);
  });

  it("can stop iterating early and tolerates removal during iteration", () => {
    const q = new PendingQueue();
    for (let i = 0; i < 10; i++) q.push(String(i), 5);
    const seen: string[] = [];
    q.forEach((id) => {
      seen.push(id);
      q.remove(id);
      if (seen.length === 3) return "stop";
    });
    expect(seen).toEqual(["0", "1", "2"]);
    expect(q.ids()).toEqual(["3", "4", "5", "6", "7", "8", "9"]);
  });

  it("stays fast with many thousands of entries", () => {
    const q = new PendingQueue();
    for (let i = 0; i < 50_000; i++) q.push(`t${i}`, i % 3);
    let n = 0;
    q.forEach((id) => {
      q.remove(id);
      n++;
    });
    expect(n).toBe(50_000);
    expect(q.size).toBe(0);
  });
});
