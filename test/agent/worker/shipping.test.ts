/** Shipping a finished task's log and reports: inline when small, else uploaded first with retries, never blocking the status for good. */
import { describe, expect, it } from "vitest";
import { shipLogAndReports, type ShipTarget } from "../../../agent/worker/shipping.ts";

/** A target whose fetch answers each upload with the next status (the last repeats), taking a second of a fake clock that the retries' waits move too. */
function target(statuses: number[], inlineMaxBytes = 10) {
  let clock = 0;
  const uploads: { url: string; body: string }[] = [];
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    uploads.push({ url, body: init.body as string });
    clock += 1000; // each attempt takes a second
    return new Response(`answer ${uploads.length}`, { status: statuses[Math.min(uploads.length - 1, statuses.length - 1)]! });
  }) as unknown as typeof globalThis.fetch;
  const t: ShipTarget = {
    overlord: "http://edge:8787",
    token: "t",
    host: "a:8091",
    workerKey: "k".repeat(32),
    fetch,
    inlineMaxBytes,
    giveUpAfterMs: 5000,
    now: () => clock,
    random: () => 0,
    sleep: async (ms) => {
      clock += ms;
    },
    warn: (message, fields) => warnings.push({ message, fields }),
  };
  return { t, uploads, warnings };
}

describe("shipping a task's log and reports", () => {
  it("sends a small log and small reports inline, uploading nothing", async () => {
    const s = target([200], 1000);
    expect(await shipLogAndReports(s.t, "t1", "short log", { r: 1 })).toEqual({ log: "short log", reports: { r: 1 } });
    expect(s.uploads).toEqual([]);
  });

  it("uploads a large log and the reports first, retrying a 503, and sends nothing inline", async () => {
    const s = target([503, 200, 200]);
    expect(await shipLogAndReports(s.t, "t/1", "a log longer than ten bytes", { r: 1 })).toEqual({});
    expect(s.uploads.map((u) => u.url)).toEqual([
      "http://edge:8787/druid-internal/v1/agent/tasks/t%2F1/log",
      "http://edge:8787/druid-internal/v1/agent/tasks/t%2F1/log",
      "http://edge:8787/druid-internal/v1/agent/tasks/t%2F1/reports",
    ]);
    expect(s.warnings).toEqual([]);
  });

  it("does not retry a refused upload: warns and reports the status without it", async () => {
    const s = target([413]);
    await shipLogAndReports(s.t, "t1", "a log longer than ten bytes", null);
    expect(s.uploads).toHaveLength(1);
    expect(s.warnings).toEqual([{ message: "the Overlord refused the task's log; reporting its status without it", fields: { task: "t1", problem: "HTTP 413 answer 1" } }]);
  });

  it("gives up on an Overlord that keeps failing once giveUpAfterMs is spent, shared by the log and the reports", async () => {
    const s = target([503]);
    await shipLogAndReports(s.t, "t1", "a log longer than ten bytes", { r: 1 });
    expect(s.warnings.map((w) => w.message)).toEqual([
      "could not upload the task's log; reporting its status without it",
      "could not upload the task's reports; reporting its status without it",
    ]);
    expect(s.warnings[0]!.fields!["problem"]).toMatch(/^HTTP 503 answer \d+$/);
    // 5 s budget, a second per attempt, waits of 100, 200, 400 ms: the log gets four attempts
    // (the next wait would end past the deadline), the reports one
    expect(s.uploads.filter((u) => u.url.endsWith("/log"))).toHaveLength(4);
    expect(s.uploads.filter((u) => u.url.endsWith("/reports"))).toHaveLength(1);
  });
});
