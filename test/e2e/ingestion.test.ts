/**
 * Ingestion end to end with a real agent: generated JSON-lines and CSV data on the agent's data
 * dir, index tasks that write Parquet segments to deep storage (R2 behind the Worker) and publish
 * them, overwrite and append, mark unused + kill, compaction, a task shut down before it
 * publishes, and two overlapping index tasks.
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, startDruidEdge, waitFor, type AgentProcess, type DruidEdge } from "../support/node/cluster.ts";

const PAGES = ["Main", "Cat", "Dog", "Druid", "Edge"];

/** n edits spread over 2024-01-01 .. 2024-01-03 (hourly), deterministic. */
function edits(n: number, seed = 1) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    const day = 1 + (i % 3);
    const hour = (i * 7 + seed) % 24;
    rows.push({ time: `2024-01-0${day}T${String(hour).padStart(2, "0")}:15:00Z`, page: PAGES[(i * 3 + seed) % PAGES.length], user: `u${i % 11}`, added: i % 100, deleted: i % 7 });
  }
  return rows;
}

function indexSpec(ds: string, inputSource: Record<string, unknown>, inputFormat: Record<string, unknown>, opts: { intervals?: string[]; append?: boolean; segmentGranularity?: string; maxRowsPerSegment?: number; timestampColumn?: string } = {}) {
  return {
    type: "index_parallel",
    spec: {
      dataSchema: {
        dataSource: ds,
        timestampSpec: { column: opts.timestampColumn ?? "time", format: "iso" },
        dimensionsSpec: { dimensions: ["page", "user"] },
        metricsSpec: [{ type: "count", name: "count" }, { type: "longSum", name: "added", fieldName: "added" }, { type: "longSum", name: "deleted", fieldName: "deleted" }],
        granularitySpec: { segmentGranularity: opts.segmentGranularity ?? "day", queryGranularity: "hour", rollup: true, intervals: opts.intervals ?? ["2024-01-01/2024-01-04"] },
      },
      ioConfig: { type: "index_parallel", inputSource, inputFormat, appendToExisting: opts.append ?? false },
      tuningConfig: { type: "index_parallel", partitionsSpec: { type: "dynamic", maxRowsPerSegment: opts.maxRowsPerSegment ?? 5_000_000 } },
    },
  };
}

type Seg = { interval: string; version: string; overshadowed: boolean; numRows: number; loadSpec: { key: string }; shardSpec: { partitionNum: number } };

describe("ingestion end to end with a real agent", () => {
  let edge: DruidEdge;
  let agent: AgentProcess;
  let dataDir: string;
  let slowServer: Server;
  let releaseSlow: () => void = () => {};
  let slowUrl = "";

  const segmentsOf = async (ds: string): Promise<Seg[]> => (await edge.api("GET", `/druid/coordinator/v1/metadata/segments?includeOvershadowedStatus&datasources=${ds}`)).json;
  const visible = async (ds: string) => (await segmentsOf(ds)).filter((s) => !s.overshadowed);
  const submit = async (task: unknown): Promise<string> => {
    const r = await edge.api("POST", "/druid/indexer/v1/task", task);
    expect(r.status, r.text).toBe(200);
    return r.json.task;
  };
  const finished = async (id: string) =>
    waitFor(async () => {
      const s = (await edge.api("GET", `/druid/indexer/v1/task/${id}/status`)).json.status;
      return s.statusCode !== "RUNNING" ? s : null;
    }, `task ${id} to finish`, 60_000);
  const deepStorage = (key: string) => fetch(`${edge.url}/druid-internal/v1/deep-storage?key=${encodeURIComponent(key)}`, { headers: { Authorization: `Bearer ${edge.agentToken}` } });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "druid-data-"));
    writeFileSync(join(dataDir, "edits-1.json.gz"), gzipSync(edits(600).map((r) => JSON.stringify(r)).join("\n")));
    writeFileSync(join(dataDir, "edits-2.json"), edits(300, 5).map((r) => JSON.stringify(r)).join("\n") + "\n{not json}\n");
    const csv = ["ts,page,user,added,deleted", ...edits(240, 3).map((r) => `${r.time},${r.page},${r.user},${r.added},${r.deleted}`)].join("\n");
    writeFileSync(join(dataDir, "edits.csv"), csv);
    // an HTTP input that sends some rows, then stalls until the test releases it
    slowServer = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(edits(50).map((r) => JSON.stringify(r)).join("\n") + "\n");
      releaseSlow = () => res.end(edits(50, 2).map((r) => JSON.stringify(r)).join("\n"));
    });
    await new Promise<void>((r) => slowServer.listen(0, "127.0.0.1", () => r()));
    slowUrl = `http://127.0.0.1:${(slowServer.address() as { port: number }).port}/slow.json`;
    edge = await startDruidEdge();
    agent = startAgent(edge, { host: "ingest-a:8091", capacity: 2, extraArgs: ["--data-dir", dataDir] });
    await waitFor(async () => (await edge.api("GET", "/druid/indexer/v1/workers")).json?.length === 1, "the agent to register");
  });

  afterAll(async () => {
    releaseSlow();
    slowServer?.closeAllConnections();
    slowServer?.close();
    agent?.kill("SIGKILL");
    await edge?.dispose();
  });

  it("ingests JSON lines (plain and gzipped) with rollup, counting the bad row, and writes readable reports", async () => {
    const id = await submit(indexSpec("wiki_json", { type: "local", baseDir: ".", filter: "edits-*.json*" }, { type: "json" }));
    expect(await finished(id)).toMatchObject({ statusCode: "SUCCESS" });
    const segs = await visible("wiki_json");
    expect(segs.map((s) => s.interval)).toEqual([
      "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z",
      "2024-01-02T00:00:00.000Z/2024-01-03T00:00:00.000Z",
      "2024-01-03T00:00:00.000Z/2024-01-04T00:00:00.000Z",
    ]);
    const reports = (await edge.api("GET", `/druid/indexer/v1/task/${id}/reports`)).json;
    expect(reports.ingestionStatsAndErrors.payload.rowStats.buildSegments).toMatchObject({ processed: 900, unparseable: 1, thrownAway: 0 });
    // rollup: rows with the same hour, page and user merge
    const expected = new Set([...edits(600), ...edits(300, 5)].map((r) => `${r.time.slice(0, 13)}|${r.page}|${r.user}`)).size;
    expect(segs.reduce((n, s) => n + s.numRows, 0)).toBe(expected);
    const file = await deepStorage(segs[0]!.loadSpec.key);
    expect(file.status).toBe(200);
    expect(new TextDecoder().decode(new Uint8Array(await file.arrayBuffer()).slice(0, 4))).toBe("PAR1");
    expect((await edge.api("GET", `/druid/indexer/v1/task/${id}/log`)).text).toContain("published 3 segments");
  });

  it("ingests CSV with a header row", async () => {
    const id = await submit(indexSpec("wiki_csv", { type: "local", baseDir: ".", filter: "*.csv" }, { type: "csv", findColumnsFromHeader: true }, { timestampColumn: "ts" }));
    expect(await finished(id)).toMatchObject({ statusCode: "SUCCESS" });
    const reports = (await edge.api("GET", `/druid/indexer/v1/task/${id}/reports`)).json;
    expect(reports.ingestionStatsAndErrors.payload.rowStats.buildSegments).toMatchObject({ processed: 240, unparseable: 0 });
    expect(await visible("wiki_csv")).toHaveLength(3);
  });

  it("overwrites an interval with a newer version and appends to it", async () => {
    const ds = "wiki_over";
    const src = { type: "inline", data: edits(90).map((r) => JSON.stringify(r)).join("\n") };
    const first = await submit(indexSpec(ds, src, { type: "json" }, { intervals: ["2024-01-01/2024-01-02"] }));
    expect(await finished(first)).toMatchObject({ statusCode: "SUCCESS" });
    const v1 = (await visible(ds))[0]!.version;
    const second = await submit(indexSpec(ds, src, { type: "json" }, { intervals: ["2024-01-01/2024-01-02"] }));
    expect(await finished(second)).toMatchObject({ statusCode: "SUCCESS" });
    const all = await segmentsOf(ds);
    expect(all.find((s) => s.version === v1)!.overshadowed).toBe(true);
    const v2 = (await visible(ds))[0]!.version;
    expect(v2 > v1).toBe(true);

    const append = await submit(indexSpec(ds, src, { type: "json" }, { intervals: ["2024-01-01/2024-01-02"], append: true }));
    expect(await finished(append)).toMatchObject({ statusCode: "SUCCESS" });
    const now = await visible(ds);
    expect(now.map((s) => [s.version, s.shardSpec.partitionNum])).toEqual([[v2, 0], [v2, 1]]);
  });

  it("marks an interval unused and kills it: files and rows gone, used data untouched", async () => {
    const ds = "wiki_json";
    const before = await visible(ds);
    const day1 = before.find((s) => s.interval.startsWith("2024-01-01"))!;
    const day2 = before.find((s) => s.interval.startsWith("2024-01-02"))!;
    const marked = await edge.api("POST", `/druid/indexer/v1/datasources/${ds}/markUnused`, { interval: "2024-01-01/2024-01-02" });
    expect(marked.json).toEqual({ numChangedSegments: 1, segmentStateChanged: true });
    const kill = await submit({ type: "kill", dataSource: ds, interval: "2024-01-01/2024-01-04" });
    expect(await finished(kill)).toMatchObject({ statusCode: "SUCCESS" });
    expect((await edge.api("GET", `/druid/coordinator/v1/metadata/datasources/${ds}/unusedSegments`)).json).toEqual([]);
    expect((await deepStorage(day1.loadSpec.key)).status).toBe(404);
    expect((await deepStorage(day2.loadSpec.key)).status).toBe(200);
    expect((await visible(ds)).map((s) => s.interval)).toEqual([day2.interval, before[2]!.interval]);
  });

  it("compacts many small segments into one per day that overshadows them", async () => {
    const ds = "wiki_small";
    const id = await submit(indexSpec(ds, { type: "local", baseDir: ".", filter: "*.csv" }, { type: "csv", findColumnsFromHeader: true }, { timestampColumn: "ts", segmentGranularity: "hour", maxRowsPerSegment: 3 }));
    expect(await finished(id)).toMatchObject({ statusCode: "SUCCESS" });
    const small = await visible(ds);
    expect(small.length).toBeGreaterThan(30);
    const rowsBefore = small.reduce((n, s) => n + s.numRows, 0);
    const compact = await submit({ type: "compact", dataSource: ds, ioConfig: { type: "compact", inputSpec: { type: "interval", interval: "2024-01-01/2024-01-04" } }, granularitySpec: { segmentGranularity: "day" } });
    expect(await finished(compact)).toMatchObject({ statusCode: "SUCCESS" });
    const after = await visible(ds);
    expect(after.map((s) => s.interval)).toEqual([
      "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z",
      "2024-01-02T00:00:00.000Z/2024-01-03T00:00:00.000Z",
      "2024-01-03T00:00:00.000Z/2024-01-04T00:00:00.000Z",
    ]);
    expect(after.reduce((n, s) => n + s.numRows, 0)).toBe(rowsBefore);
    expect((await segmentsOf(ds)).filter((s) => s.overshadowed)).toHaveLength(small.length);
  });

  it("leaves no segments behind for a task shut down before it published", async () => {
    const ds = "wiki_stalled";
    const id = await submit(indexSpec(ds, { type: "http", uris: [slowUrl] }, { type: "json" }));
    await waitFor(() => agent.events().some((e) => e.event === "task.started" && e.taskId === id), "the task to start");
    await edge.api("POST", `/druid/indexer/v1/task/${id}/shutdown`);
    expect(await finished(id)).toMatchObject({ statusCode: "FAILED" });
    await waitFor(() => agent.events().some((e) => e.event === "task.finished" && e.taskId === id), "the agent to stop the task");
    releaseSlow();
    expect(await segmentsOf(ds)).toEqual([]);
    expect((await edge.api("GET", `/druid/indexer/v1/task/${id}/segments`)).json).toEqual([]);
  });

  it("never lets two overlapping index tasks both publish without the newer version winning", async () => {
    const ds = "wiki_race";
    const a = await submit(indexSpec(ds, { type: "inline", data: edits(60).map((r) => JSON.stringify(r)).join("\n") }, { type: "json" }, { intervals: ["2024-01-01/2024-01-03"] }));
    const b = await submit(indexSpec(ds, { type: "inline", data: edits(60, 9).map((r) => JSON.stringify(r)).join("\n") }, { type: "json" }, { intervals: ["2024-01-02/2024-01-04"] }));
    const [sa, sb] = [await finished(a), await finished(b)];
    expect([sa.statusCode, sb.statusCode]).toEqual(["SUCCESS", "SUCCESS"]);
    const segs = await segmentsOf(ds);
    const byTask = async (id: string) => new Set(((await edge.api("GET", `/druid/indexer/v1/task/${id}/segments`)).json as Seg[]).map((s) => s.version));
    const [va] = [...(await byTask(a))];
    const [vb] = [...(await byTask(b))];
    expect(vb! > va!).toBe(true);
    const day2 = segs.filter((s) => s.interval.startsWith("2024-01-02"));
    expect(day2.filter((s) => !s.overshadowed).map((s) => s.version)).toEqual([vb]);
  });
});
