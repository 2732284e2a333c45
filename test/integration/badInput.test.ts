import { describe, expect, it } from "vitest";

import { ADMIN, api, rows, fetchWorker } from "./helpers.ts";

const huge = "x".repeat(2 * 1024 * 1024);

/** Each case: a request that must be refused with a 4xx and Druid's error JSON, storing nothing. */
const cases: Array<{ name: string; method: string; path: string; body?: unknown; status: number }> = [
  { name: "malformed JSON", method: "POST", path: "/druid/indexer/v1/task", body: "{not json", status: 400 },
  { name: "empty body", method: "POST", path: "/druid/indexer/v1/task", body: "", status: 400 },
  { name: "JSON that is not an object", method: "POST", path: "/druid/indexer/v1/task", body: "[1,2]", status: 400 },
  { name: "missing type", method: "POST", path: "/druid/indexer/v1/task", body: { id: "bad_missing_type" }, status: 400 },
  { name: "unknown type", method: "POST", path: "/druid/indexer/v1/task", body: { type: "hadoop", id: "bad_unknown" }, status: 400 },
  { name: "wrong type for runTime's context", method: "POST", path: "/druid/indexer/v1/task", body: { type: "noop", id: "bad_ctx", context: "x" }, status: 400 },
  { name: "id with a slash", method: "POST", path: "/druid/indexer/v1/task", body: { type: "noop", id: "a/b" }, status: 400 },
  { name: "id starting with a dot", method: "POST", path: "/druid/indexer/v1/task", body: { type: "noop", id: ".hidden" }, status: 400 },
  { name: "id with a control character", method: "POST", path: "/druid/indexer/v1/task", body: { type: "noop", id: "bad\u0001id" }, status: 400 },
  { name: "id with a tab", method: "POST", path: "/druid/indexer/v1/task", body: { type: "noop", id: "bad\tid" }, status: 400 },
  { name: "bad interval in an index spec", method: "POST", path: "/druid/indexer/v1/task", body: { type: "index", id: "bad_interval", spec: { dataSchema: { dataSource: "w", granularitySpec: { intervals: ["2024-13-45/2024-01-01"] } } } }, status: 400 },
  { name: "reversed interval in a kill task", method: "POST", path: "/druid/indexer/v1/task", body: { type: "kill", id: "bad_kill", dataSource: "w", interval: "2024-02-01/2024-01-01" }, status: 400 },
  { name: "kill without interval", method: "POST", path: "/druid/indexer/v1/task", body: { type: "kill", id: "bad_kill2", dataSource: "w" }, status: 400 },
  { name: "SQL-looking id", method: "POST", path: "/druid/indexer/v1/task", body: { type: "noop", id: "x'; DROP TABLE tasks; --/" }, status: 400 },
  { name: "oversized body", method: "POST", path: "/druid/indexer/v1/task", body: { type: "noop", id: "bad_huge", note: huge }, status: 413 },
  { name: "empty bulk", method: "POST", path: "/druid/indexer/v1/tasks", body: { tasks: [] }, status: 400 },
  { name: "bad lock filter", method: "POST", path: "/druid/indexer/v1/lockedIntervals/v2", body: [{ datasource: 5 }], status: 400 },
  { name: "bad interval in lock filter", method: "POST", path: "/druid/indexer/v1/activeLocks", body: [{ datasource: "w", intervals: ["nope"] }], status: 400 },
  { name: "taskStatus with non-string ids", method: "POST", path: "/druid/indexer/v1/taskStatus", body: [1, 2], status: 400 },
  { name: "bad max", method: "GET", path: "/druid/indexer/v1/tasks?max=-3", status: 400 },
  { name: "bad createdTimeInterval", method: "GET", path: "/druid/indexer/v1/tasks?createdTimeInterval=yesterday", status: 400 },
  { name: "bad worker config", method: "POST", path: "/druid/indexer/v1/worker", body: { selectStrategy: { type: "roundRobin" } }, status: 400 },
  { name: "unknown endpoint", method: "GET", path: "/druid/indexer/v1/nothing-here", status: 404 },
];

describe("bad input is refused with a 4xx and changes nothing", () => {
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const before = (await rows<{ n: number }>("SELECT COUNT(*) AS n FROM tasks"))[0]!.n;
      const r = await api(c.method, c.path, c.body);
      expect(r.status).toBe(c.status);
      expect(r.json).toMatchObject({ error: "druidException" });
      expect(typeof r.json.errorMessage).toBe("string");
      const after = (await rows<{ n: number }>("SELECT COUNT(*) AS n FROM tasks"))[0]!.n;
      expect(after).toBe(before);
    });
  }

  it("reads a streamed body of undeclared length, and refuses one that grows past the cap with 413", async () => {
    const streamed = (text: string, chunkSize: number) => {
      const bytes = new TextEncoder().encode(text);
      let at = 0;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (at >= bytes.length) return c.close();
          c.enqueue(bytes.slice(at, at + chunkSize));
          at += chunkSize;
        },
      });
    };
    const post = (body: ReadableStream<Uint8Array>) =>
      fetchWorker("http://druid.test/druid/indexer/v1/task", { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body });
    const ok = await post(streamed(JSON.stringify({ type: "noop", id: "streamed_ok" }), 7));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ task: "streamed_ok" });
    const before = (await rows<{ n: number }>("SELECT COUNT(*) AS n FROM tasks"))[0]!.n;
    const big = await post(streamed(JSON.stringify({ type: "noop", id: "streamed_big", note: huge }), 64 * 1024));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { errorCode: string }).errorCode).toBe("requestTooLarge");
    expect((await rows<{ n: number }>("SELECT COUNT(*) AS n FROM tasks"))[0]!.n).toBe(before);
  });

  it("still has its tables after SQL-looking input", async () => {
    await api("POST", "/druid/indexer/v1/task", { type: "noop", dataSource: "w'); DELETE FROM tasks; --" });
    expect((await rows("SELECT name FROM sqlite_master WHERE name = 'tasks'")).length).toBe(1);
  });
});

/** Issue 12: intervals Druid refuses (empty, out-of-range offsets, runaway periods) are 400 at submit, never a task that waits forever. */
describe("task specs with intervals Druid refuses are 400 at submit", () => {
  const index = (id: string, intervals: string[], type = "index") => ({ type, id, spec: { dataSchema: { dataSource: "w", granularitySpec: { segmentGranularity: "day", intervals } } } });
  const specs: Array<{ name: string; body: Record<string, unknown>; message: string }> = [
    { name: "an empty interval in an index spec", body: index("bad_empty_index", ["2020-01-01/2020-01-01"]), message: "spec.dataSchema.granularitySpec.intervals [2020-01-01/2020-01-01]: the interval is empty" },
    { name: "an empty interval among others in an index_parallel spec", body: index("bad_empty_parallel", ["2020-01-02/2020-01-03", "2020-01-01T00:00:00Z/2020-01-01T00:00:00.000Z"], "index_parallel"), message: "the interval is empty" },
    { name: "an empty start/period interval in an index spec", body: index("bad_empty_pt0s", ["2020-01-01/PT0S"]), message: "the interval is empty" },
    { name: "an empty period/end interval in an index spec", body: index("bad_empty_p0d", ["P0D/2020-01-01"]), message: "the interval is empty" },
    { name: "a huge period in an index spec", body: index("bad_huge_period", ["2020-01-01/P1000000000Y"]), message: "outside the supported range" },
    { name: "an offset beyond +23:59 in an index spec", body: index("bad_offset", ["2020-01-01T00:00:00+25:00/2020-01-02"]), message: "offset [+25:00] is out of range" },
    { name: "hour 24 in an index spec", body: index("bad_hour24", ["2020-01-01T00:00:00Z/2020-01-01T24:00:00Z"]), message: "not a valid time of day" },
    { name: "an empty interval in a kill task", body: { type: "kill", id: "bad_empty_kill", dataSource: "w", interval: "2020-01-01/2020-01-01" }, message: "Invalid interval [2020-01-01/2020-01-01]: the interval is empty" },
    { name: "an empty interval in a compact task", body: { type: "compact", id: "bad_empty_compact", dataSource: "w", interval: "2020-01-01T00:00:00Z/2020-01-01T00:00:00.000Z" }, message: "Invalid interval [2020-01-01T00:00:00Z/2020-01-01T00:00:00.000Z]: the interval is empty" },
    {
      name: "an empty ioConfig.inputSpec.interval in a compact task",
      body: { type: "compact", id: "bad_empty_compact_io", dataSource: "w", ioConfig: { type: "compact", inputSpec: { type: "interval", interval: "2020-01-01/PT0S" } } },
      message: "Invalid ioConfig.inputSpec.interval [2020-01-01/PT0S]: the interval is empty",
    },
  ];
  for (const c of specs) {
    it(`refuses ${c.name}`, async () => {
      const before = (await rows<{ n: number }>("SELECT COUNT(*) AS n FROM tasks"))[0]!.n;
      const r = await api("POST", "/druid/indexer/v1/task", c.body);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ error: "druidException", category: "INVALID_INPUT" });
      expect(r.json.errorMessage).toContain(c.message);
      expect((await rows<{ n: number }>("SELECT COUNT(*) AS n FROM tasks"))[0]!.n).toBe(before);
      expect((await api("GET", `/druid/indexer/v1/task/${c.body["id"]}/status`)).status).toBe(404);
    });
  }

  it("still accepts Druid's usual instant forms in a kill interval", async () => {
    const r = await api("POST", "/druid/indexer/v1/task", { type: "kill", id: "ok_kill_forms", dataSource: "w_forms", interval: "2020-01-01T05:30:00+05:30/2020-01-02T00:00:00.5+0000" });
    expect(r.status).toBe(200);
    await api("POST", "/druid/indexer/v1/task/ok_kill_forms/shutdown");
  });
});
