import { describe, expect, it } from "vitest";
import { ChangeLog } from "../../src/platform/changeLog.ts";

const clock = () => 1_700_000_000_000;

describe("ChangeLog (Druid's ChangeRequestHistory semantics)", () => {
  it("hands out the changes after the reader's counter, with the last counter", () => {
    const log = new ChangeLog(clock);
    const start = log.lastCounter;
    log.append({ type: "assign", taskId: "a" });
    const c2 = log.append({ type: "assign", taskId: "b" });
    const r = log.since(start);
    expect(r).toEqual({ reset: false, counter: c2, changes: [{ type: "assign", taskId: "a" }, { type: "assign", taskId: "b" }] });
  });

  it("returns no changes when the reader is up to date", () => {
    const log = new ChangeLog(clock);
    const c = log.append({ type: "shutdown", taskId: "a" });
    expect(log.since(c)).toEqual({ reset: false, counter: c, changes: [] });
  });

  it("resets a reader whose counter is from the future or whose hash does not match", () => {
    const log = new ChangeLog(clock);
    const c = log.append({ type: "metadata", disabled: true });
    expect(log.since({ counter: c.counter + 5, hash: c.hash }).reset).toBe(true);
    expect(log.since({ counter: c.counter, hash: c.hash + 1 }).reset).toBe(true);
  });

  it("resets a reader that fell behind the kept history", () => {
    const log = new ChangeLog(clock, 3);
    const first = log.append({ type: "assign", taskId: "0" });
    for (let i = 1; i < 6; i++) log.append({ type: "assign", taskId: String(i) });
    expect(log.since(first)).toMatchObject({ reset: true, cause: "not enough history is kept" });
  });

  it("forgets acknowledged changes but still serves a reader at the acknowledged position", () => {
    const log = new ChangeLog(clock);
    const c1 = log.append({ type: "assign", taskId: "a" });
    const c2 = log.append({ type: "assign", taskId: "b" });
    log.acknowledge(c1);
    expect(log.since(c1)).toEqual({ reset: false, counter: c2, changes: [{ type: "assign", taskId: "b" }] });
    expect(log.since({ counter: 0, hash: 0 }).reset).toBe(true);
  });

  it("stops at the durable limit and reports the last change it included", () => {
    const log = new ChangeLog(clock);
    const start = log.lastCounter;
    const c1 = log.append({ type: "assign", taskId: "a" });
    log.append({ type: "assign", taskId: "b" });
    expect(log.since(start, c1.counter)).toEqual({ reset: false, counter: c1, changes: [{ type: "assign", taskId: "a" }] });
    expect(log.since(start, 0)).toEqual({ reset: false, counter: start, changes: [] });
    expect(log.positionAt(c1.counter)).toEqual(c1);
  });
});
