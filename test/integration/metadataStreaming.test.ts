/**
 * The Coordinator's metadata views stream every used segment page by page (HTTP → Worker → D1,
 * overshadowed flags from the Coordinator object): answers match what was published across page
 * boundaries, pages are read only as the client reads, and a publish mid-answer is keyset-safe.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SegmentStore } from "../../src/metadata/segmentStore.ts";
import { segmentPaging } from "../../src/metadata/segmentPages.ts";
import { streamedJson, streamLog } from "../../src/routes/common/streamedJson.ts";
import { segmentIdOf, type DataSegment } from "../../src/segments/dataSegment.ts";
import { ADMIN, api, coordinatorStub, fetchWorker, uniqueDs } from "./helpers.ts";
import { segment } from "./taskRuns.ts";

const M = "/druid/coordinator/v1/metadata";
const DAY_MS = 86_400_000;
const V1 = "2024-01-01T00:00:00.000Z";
const V2 = "2024-06-01T00:00:00.000Z";
const dayOf = (i: number) => `${new Date(Date.UTC(2020, 0, 1) + i * DAY_MS).toISOString()}/${new Date(Date.UTC(2020, 0, 1) + (i + 1) * DAY_MS).toISOString()}`;
const seg = (ds: string, day: number, version: string, p: number, of: number) => segment(ds, dayOf(day), version, p, of, `segments/${ds}/${day}/${version}/${p}.parquet`) as DataSegment;
/** A DataSegment as the metadata endpoints answer it: Druid's JSON with its id as "identifier". */
const answered = (s: DataSegment) => ({ ...s, identifier: segmentIdOf(s) });

interface Seeded {
  a: string;
  b: string;
  c: string;
  gone: string;
  /** Used segments of each data source, in the answers' order (start, version, partition). */
  used: Record<string, DataSegment[]>;
  overshadowed: Set<string>;
}

async function insert(segments: DataSegment[]): Promise<void> {
  const statements = new SegmentStore(env.DB).insertStatements(segments, null, Date.now());
  for (let i = 0; i < statements.length; i += 500) await env.DB.batch(statements.slice(i, i + 500));
}

/**
 * 2,600+ used segments over three data sources, more than two default pages: `a` has 1,200 days
 * at V1, every 7th day also at V2 (overshadowing that day's V1); `b` 300 days of 3 partitions;
 * `c` 400 days, 3 of them then marked unused; `gone` one segment, marked unused.
 */
async function seed(): Promise<Seeded> {
  const [a, b, c, gone] = [uniqueDs("a"), uniqueDs("b"), uniqueDs("c"), uniqueDs("gone")];
  const used: Record<string, DataSegment[]> = { [a]: [], [b]: [], [c]: [] };
  const overshadowed = new Set<string>();
  for (let d = 0; d < 1200; d++) {
    used[a]!.push(seg(a, d, V1, 0, 1));
    if (d % 7 === 0) {
      overshadowed.add(segmentIdOf(used[a]!.at(-1)!));
      used[a]!.push(seg(a, d, V2, 0, 1));
    }
  }
  for (let d = 0; d < 300; d++) for (let p = 0; p < 3; p++) used[b]!.push(seg(b, d, V1, p, 3));
  for (let d = 0; d < 400; d++) used[c]!.push(seg(c, d, V1, 0, 1));
  const unusedC = [used[c]![10]!, used[c]![200]!, used[c]![399]!];
  await insert([...used[a]!, ...used[b]!, ...used[c]!, seg(gone, 0, V1, 0, 1)]);
  const store = new SegmentStore(env.DB);
  await store.setUsedByIds(c, unusedC.map(segmentIdOf), false, Date.now());
  await store.setUsedByIds(gone, [segmentIdOf(seg(gone, 0, V1, 0, 1))], false, Date.now());
  used[c] = used[c]!.filter((s) => !unusedC.includes(s));
  return { a, b, c, gone, used, overshadowed };
}

const all = (s: Seeded) => [...s.used[s.a]!, ...s.used[s.b]!, ...s.used[s.c]!];
const ids = (list: { identifier: string }[]) => list.map((x) => x.identifier);

async function get(path: string) {
  return fetchWorker(`http://druid.test${path}`, { headers: ADMIN });
}

async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const r = await reader.read();
  expect(r.done).toBe(false);
  return new TextDecoder().decode(r.value);
}

async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let out = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) out += new TextDecoder().decode(r.value);
  return out;
}

let s: Seeded;
let pageReads = 0;
const defaults = { ...segmentPaging };
const defaultLog = streamLog.aborted;

beforeEach(async () => {
  s = await seed();
  pageReads = 0;
  segmentPaging.onPageRead = () => void pageReads++;
});

afterEach(() => {
  Object.assign(segmentPaging, defaults);
  streamLog.aborted = defaultLog;
});

describe("the metadata endpoints stream every used segment page by page", () => {
  it("answers metadata/segments with exactly the used segments published, over several pages, in (data source, start, version, partition) order", async () => {
    const r = await api("GET", `${M}/segments`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.json).toEqual(all(s).map(answered));
    expect(pageReads).toBeGreaterThanOrEqual(3);
  });

  it("flags overshadowed segments correctly on every page, also where a segment and its overshadower fall on different pages", async () => {
    const list = all(s);
    // a page boundary right between an overshadowed V1 and the V2 overshadowing it
    const k = list.findIndex((x, i) => i > 500 && s.overshadowed.has(segmentIdOf(x)));
    segmentPaging.pageSize = k + 1;
    const r = await api("GET", `${M}/segments?includeOvershadowedStatus`);
    expect(r.json).toEqual(list.map((x) => ({ ...answered(x), overshadowed: s.overshadowed.has(segmentIdOf(x)), replicationFactor: 0, numRows: 5, realtime: false })));
    expect(r.json[k]).toMatchObject({ version: V1, overshadowed: true });
    expect(r.json[k + 1]).toMatchObject({ version: V2, overshadowed: false, interval: r.json[k].interval });
    expect(pageReads).toBeGreaterThan(2);
    expect(await coordinatorStub().syncSegments()).toMatchObject({ ok: true, value: { overshadowed: s.overshadowed.size } });
  });

  it("filters by the datasources parameter, answering each data source in name order once however often it is named", async () => {
    const r = await api("GET", `${M}/segments?datasources=${s.c}&datasources=${s.a}&datasources=${s.c}&includeOvershadowedStatus`);
    expect(ids(r.json)).toEqual([...s.used[s.a]!, ...s.used[s.c]!].map(segmentIdOf));
    expect(r.json.filter((x: { overshadowed: boolean }) => x.overshadowed).map((x: { identifier: string }) => x.identifier)).toEqual([...s.overshadowed]);
    expect((await api("GET", `${M}/segments?datasources=${s.b}`)).json).toEqual(s.used[s.b]!.map(answered));
    expect((await api("GET", `${M}/segments?datasources=${s.gone}`)).json).toEqual([]);
  });

  it("groups datasources?full by data source, each one's segments complete across page boundaries, without data sources that have none used", async () => {
    const r = await api("GET", `${M}/datasources?full`);
    expect(r.json).toEqual(
      [s.a, s.b, s.c].map((name) => ({ name, properties: { created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }, segments: s.used[name]!.map(answered) })),
    );
    expect((await api("GET", `${M}/datasources`)).json).toEqual([s.a, s.b, s.c]);
  });

  it("answers datasources/{ds} and its segments (ids, or ?full) streamed, and 404 for a data source without used segments", async () => {
    const one = await api("GET", `${M}/datasources/${s.a}`);
    expect(one.json).toEqual({ name: s.a, properties: { created: expect.any(String) }, segments: s.used[s.a]!.map(answered) });
    expect((await api("GET", `${M}/datasources/${s.b}/segments`)).json).toEqual(s.used[s.b]!.map(segmentIdOf));
    expect((await api("GET", `${M}/datasources/${s.c}/segments?full`)).json).toEqual(s.used[s.c]!.map(answered));
    for (const missing of [s.gone, "nothing_here"]) {
      const r = await api("GET", `${M}/datasources/${missing}`);
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error: `Datasource [${missing}] not found` });
    }
    expect((await api("GET", `${M}/datasources/nothing_here/segments`)).json).toEqual([]);
  });
});

describe("a streamed answer", () => {
  it("reads the next page from D1 only when the client reads on", async () => {
    segmentPaging.pageSize = 100;
    const res = await get(`${M}/segments`);
    expect(res.status).toBe(200);
    expect(res.body).toBeInstanceOf(ReadableStream);
    expect(pageReads).toBe(1); // the first page, read before answering so a failure can still be an error status
    const reader = res.body!.getReader();
    const first = await readChunk(reader);
    expect(first.startsWith("[")).toBe(true);
    expect(JSON.parse(`${first}]`)).toHaveLength(100);
    // a D1 round trip of our own: a page read ahead of the client would have come back by now
    await env.DB.prepare("SELECT 1").all();
    expect(pageReads).toBe(1);
    const second = await readChunk(reader);
    expect(pageReads).toBe(2);
    expect(JSON.parse(first + second + (await readRest(reader)))).toEqual(all(s).map(answered));
    expect(pageReads).toBe(Math.floor(all(s).length / 100) + 1);
  });

  it("neither repeats nor skips a segment when segments are published and marked unused between its pages", async () => {
    segmentPaging.pageSize = 100;
    const reader = (await get(`${M}/segments?datasources=${s.a}&datasources=${s.c}`)).body!.getReader();
    let body = await readChunk(reader);
    const answeredSoFar = JSON.parse(`${body}]`) as { identifier: string }[];
    // before the cursor: two new first segments of `a`, and one already answered marked unused
    // (with OFFSET paging the later rows would shift by one and one be answered twice); after
    // it: a new last segment of `c`
    const before = [seg(s.a, -2, V1, 0, 1), seg(s.a, -1, V1, 0, 1)];
    const after = seg(s.c, 5000, V1, 0, 1);
    await insert([...before, after]);
    await new SegmentStore(env.DB).setUsedByIds(s.a, [answeredSoFar[50]!.identifier], false, Date.now());
    body += await readRest(reader);
    const got = ids(JSON.parse(body));
    expect(new Set(got).size).toBe(got.length);
    expect(got).toEqual([...s.used[s.a]!, ...s.used[s.c]!, after].map(segmentIdOf));
    for (const b of before) expect(got).not.toContain(segmentIdOf(b));
  });

  it("is answered as Druid's error JSON when it fails before its first byte, and cut short and logged when it fails after", async () => {
    async function* failsAt(n: number) {
      for (let i = 0; ; i++) {
        if (i === n) throw new Error(`page ${n} failed`);
        yield i === 0 ? "[1" : ",1";
      }
    }
    await expect(streamedJson(failsAt(0))).rejects.toThrow("page 0 failed");

    const logged: unknown[] = [];
    streamLog.aborted = (err) => void logged.push(err);
    const res = await streamedJson(failsAt(2));
    expect(res.headers.get("content-type")).toBe("application/json");
    const reader = res.body!.getReader();
    expect(await readChunk(reader)).toBe("[1");
    expect(await readChunk(reader)).toBe(",1");
    await expect(reader.read()).rejects.toThrow("page 2 failed");
    expect(logged).toHaveLength(1);
  });
});

describe("unusedSegments streams a data source's unused segments in id order, page by page", () => {
  it("answers ascending or descending, after lastSegmentId, within limit and interval, across page boundaries", async () => {
    const c = s.c;
    const store = new SegmentStore(env.DB);
    const more = Array.from({ length: 40 }, (_, d) => seg(c, d + 600, V1, 0, 1));
    await insert(more);
    await store.setUsedByIds(c, more.map(segmentIdOf), false, Date.now());
    const unusedIds = (await api("GET", `${M}/datasources/${c}/unusedSegments`)).json.map((x: { dataSegment: { identifier: string } }) => x.dataSegment.identifier);
    expect(unusedIds).toHaveLength(43);
    expect(unusedIds).toEqual([...unusedIds].sort());
    segmentPaging.pageSize = 7;
    pageReads = 0;
    const list = async (q: string) => (await api("GET", `${M}/datasources/${c}/unusedSegments?${q}`)).json.map((x: { dataSegment: { identifier: string }; used: boolean }) => (expect(x.used).toBe(false), x.dataSegment.identifier));
    expect(await list("")).toEqual(unusedIds);
    expect(pageReads).toBe(7); // 43 rows in pages of 7: six full pages and a short one
    expect(await list("sortOrder=DESC")).toEqual([...unusedIds].reverse());
    expect(await list(`lastSegmentId=${unusedIds[9]}&limit=12`)).toEqual(unusedIds.slice(10, 22));
    expect(await list(`sortOrder=desc&lastSegmentId=${unusedIds[30]}&limit=100`)).toEqual(unusedIds.slice(0, 30).reverse());
    const days = `${dayOf(600).split("/")[0]}/${dayOf(609).split("/")[1]}`;
    expect(await list(`interval=${days}`)).toEqual(more.slice(0, 10).map(segmentIdOf).sort());
    expect((await api("GET", `${M}/datasources/${c}/unusedSegments?limit=0`)).status).toBe(400);
    expect((await api("GET", `${M}/datasources/${c}/unusedSegments?sortOrder=up`)).status).toBe(400);
  });
});
