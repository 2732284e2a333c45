import { describe, expect, it } from "vitest";
import { Lifecycle } from "../../src/platform/lifecycle.ts";

describe("an object's lifecycle", () => {
  it("starts at the first stage and only moves forward, remembering when each stage was reached", () => {
    let t = 100;
    const l = new Lifecycle(["termTaken", "synced", "serving"] as const, () => t);
    expect(l.stage).toBe("termTaken");
    expect(l.reached("serving")).toBe(false);
    t = 150;
    l.reach("serving");
    expect(l.stage).toBe("serving");
    t = 200;
    l.reach("synced"); // back: ignored
    expect(l.stage).toBe("serving");
    expect(l.reached("synced")).toBe(true);
    expect(l.history().map((h) => [h.stage, h.at])).toEqual([["termTaken", 100], ["synced", 150], ["serving", 150]]);
  });
});
