import { describe, expect, it } from "vitest";
import {
  allocatePendingSegment,
  allocationIntervalCandidates,
  granularitiesFinerThan,
  sequenceNamePrevIdSha1,
  type SegmentIdWithShardSpec,
} from "../../src/segments/allocation.ts";
import { sha1Hex } from "../../src/shared/sha1.ts";

const DAY1 = "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z";
const day1 = { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 2) };
const used = (version: string, partitionNum: number, partitions: number, interval = DAY1) => ({
  dataSource: "ds", interval, version, shardSpec: { type: "numbered", partitionNum, partitions },
});
const pending = (version: string, partitionNum: number, partitions = 0, interval = DAY1): SegmentIdWithShardSpec => ({
  dataSource: "ds", interval, version, shardSpec: { type: "numbered", partitionNum, partitions },
});
const alloc = (u: ReturnType<typeof used>[], p: SegmentIdWithShardSpec[], lockVersion = "L") =>
  allocatePendingSegment({ dataSource: "ds", interval: day1, lockVersion, used: u, pending: p });

describe("segmentAllocate: version and partition numbers", () => {
  it("gives the first segment of an empty interval partition 0, the lock version and no core set", () => {
    expect(alloc([], [])).toEqual({ ok: true, id: { dataSource: "ds", interval: DAY1, version: "L", shardSpec: { type: "numbered", partitionNum: 0, partitions: 0 } } });
  });

  it("appends after the committed chunk with its version and its core partition count", () => {
    const r = alloc([used("v1", 0, 3), used("v1", 1, 3), used("v1", 2, 3)], []);
    expect(r).toMatchObject({ ok: true, id: { version: "v1", shardSpec: { partitionNum: 3, partitions: 3 } } });
  });

  it("counts pending segments of the chunk's version when numbering", () => {
    const r = alloc([used("v1", 0, 1)], [pending("v1", 1), pending("v1", 4), pending("v9", 10)]);
    expect(r).toMatchObject({ ok: true, id: { version: "v1", shardSpec: { partitionNum: 5, partitions: 1 } } });
  });

  it("without used segments takes the highest pending version and continues its numbering", () => {
    const r = alloc([], [pending("v1", 0), pending("v2", 1), pending("v2", 0)], "v3");
    expect(r).toMatchObject({ ok: true, id: { version: "v2", shardSpec: { partitionNum: 2, partitions: 0 } } });
  });

  it("uses the visible chunk, not an overshadowed one", () => {
    const r = alloc([used("v1", 0, 1), used("v1", 1, 1), used("v2", 0, 1)], []);
    expect(r).toMatchObject({ ok: true, id: { version: "v2", shardSpec: { partitionNum: 1, partitions: 1 } } });
  });

  it("refuses when the highest id has a different interval", () => {
    const week = "2024-01-01T00:00:00.000Z/2024-01-08T00:00:00.000Z";
    expect(alloc([used("v1", 0, 1, week)], []).ok).toBe(false);
    expect(alloc([], [pending("v1", 0, 0, week)]).ok).toBe(false);
  });

  it("refuses when two visible chunks overlap the interval", () => {
    const am = "2024-01-01T00:00:00.000Z/2024-01-01T12:00:00.000Z";
    const pm = "2024-01-01T12:00:00.000Z/2024-01-02T00:00:00.000Z";
    expect(alloc([used("v1", 0, 1, am), used("v1", 0, 1, pm)], []).ok).toBe(false);
  });

  it("refuses an id that an unused segment already has", () => {
    const r = allocatePendingSegment({ dataSource: "ds", interval: day1, lockVersion: "L", used: [], pending: [], unused: [used("L", 0, 0)] });
    expect(r.ok).toBe(false);
  });

  it("completes a linear partial shard spec", () => {
    const r = allocatePendingSegment({ dataSource: "ds", interval: day1, lockVersion: "L", used: [], pending: [pending("L", 0)], partialShardSpec: { type: "linear" } });
    expect(r).toMatchObject({ ok: true, id: { shardSpec: { type: "linear", partitionNum: 1 } } });
  });
});

describe("segmentAllocate: intervals to try", () => {
  const t = Date.UTC(2024, 0, 17, 13, 45);
  it("tries the preferred granularity, then finer ones (week only when preferred)", () => {
    expect(granularitiesFinerThan("month").slice(0, 3)).toEqual(["month", "day", "eight_hour"]);
    expect(granularitiesFinerThan("week")[0]).toBe("week");
    const c = allocationIntervalCandidates(t, "hour", "day", []);
    expect(c[0]).toEqual({ start: Date.UTC(2024, 0, 17), end: Date.UTC(2024, 0, 18) });
    expect(c.at(-1)).toEqual({ start: Date.UTC(2024, 0, 17, 13), end: Date.UTC(2024, 0, 17, 14) }); // nothing finer than the row's hour
  });

  it("reuses the interval of used segments that overlap the row", () => {
    const month = { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 1, 1) };
    expect(allocationIntervalCandidates(t, "none", "day", [month])).toEqual([month]);
  });
});

/** Reference digest from the platform (WebCrypto, in Node and Workers alike). */
async function webSha1(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}
const enc = (s: string) => new TextEncoder().encode(s);

describe("pending segment idempotency digest", () => {
  it("is a correct SHA-1", async () => {
    for (const s of ["", "abc", "x".repeat(1000), "héllo ☃", "y".repeat(55), "z".repeat(56), "w".repeat(64)]) {
      expect(sha1Hex(s)).toBe(await webSha1(enc(s)));
    }
  });

  it("hashes name, 0xff, previous id, 0xff, version like Druid", async () => {
    const expected = (await webSha1(Uint8Array.from([...enc("seq"), 0xff, ...enc("prev"), 0xff, ...enc("v1")]))).toUpperCase();
    expect(sequenceNamePrevIdSha1({ sequenceName: "seq", previousSegmentId: "prev", interval: day1, version: "v1" })).toBe(expected);
  });

  it("uses the interval instead of the previous id when skipping the lineage check", () => {
    const a = sequenceNamePrevIdSha1({ sequenceName: "s", previousSegmentId: "p1", skipSegmentLineageCheck: true, interval: day1, version: "v" });
    const b = sequenceNamePrevIdSha1({ sequenceName: "s", previousSegmentId: "p2", skipSegmentLineageCheck: true, interval: day1, version: "v" });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9A-F]{40}$/);
  });
});
