/**
 * The data node's segment cache (agent/dataNode/segmentCache.ts) on a real directory: verified
 * writes made visible only when whole, a restart that keeps what is whole and deletes downloads
 * cut short and corrupt files, and the size bound.
 */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { mkdir, readdir, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SegmentCache, SegmentCacheError } from "../../../agent/dataNode/segmentCache.ts";

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
async function* chunks(b: Uint8Array, size = 7) {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}
const dir = () => mkdtempSync(join(tmpdir(), "segment-cache-"));
const ID = "wiki_2024-01-01T00:00:00.000Z_2024-01-02T00:00:00.000Z_v1";

describe("the data node's segment cache", () => {
  it("holds a stored segment, and a restarted cache holds it again without a download", async () => {
    const d = dir();
    const body = bytes(100);
    const cache = new SegmentCache(d, 1000);
    await cache.open();
    await cache.store({ id: ID, size: 100, sha256: sha(body) }, chunks(body));
    expect(cache.has(ID)).toBe(true);
    expect(cache.used).toBe(100);
    const again = new SegmentCache(d, 1000);
    const { held, discarded } = await again.open();
    expect(held).toEqual([{ id: ID, size: 100, sha256: sha(body) }]);
    expect(discarded).toEqual([]);
  });

  it("refuses bytes of the wrong size or checksum and keeps nothing of them", async () => {
    const d = dir();
    const cache = new SegmentCache(d, 1000);
    await cache.open();
    await expect(cache.store({ id: ID, size: 100, sha256: null }, chunks(bytes(99)))).rejects.toMatchObject({ reason: "sizeMismatch" });
    await expect(cache.store({ id: ID, size: 100, sha256: null }, chunks(bytes(101)))).rejects.toMatchObject({ reason: "sizeMismatch" });
    await expect(cache.store({ id: ID, size: 100, sha256: sha(bytes(100, 2)) }, chunks(bytes(100)))).rejects.toMatchObject({ reason: "checksumMismatch" });
    expect(cache.has(ID)).toBe(false);
    expect(cache.used).toBe(0);
    expect(await readdir(d)).toEqual([]);
  });

  it("refuses a segment that does not fit, counting space reserved by downloads in flight", async () => {
    const cache = new SegmentCache(dir(), 150);
    await cache.open();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    async function* slow() {
      yield bytes(50);
      await held;
      yield bytes(50);
    }
    const first = cache.store({ id: "a", size: 100, sha256: null }, slow());
    await expect(cache.store({ id: "b", size: 60, sha256: null }, chunks(bytes(60)))).rejects.toBeInstanceOf(SegmentCacheError);
    release();
    await first;
    await cache.store({ id: "c", size: 50, sha256: null }, chunks(bytes(50)));
    expect(cache.segments().map((s) => s.id).sort()).toEqual(["a", "c"]);
    await cache.remove("a");
    expect(cache.used).toBe(50);
  });

  it("on restart deletes a download cut short and a segment whose file was truncated or altered", async () => {
    const d = dir();
    const cache = new SegmentCache(d, 10_000);
    await cache.open();
    const good = bytes(100, 3);
    await cache.store({ id: "good", size: 100, sha256: sha(good) }, chunks(good));
    await cache.store({ id: "short", size: 100, sha256: null }, chunks(bytes(100)));
    const altered = bytes(100, 4);
    await cache.store({ id: "altered", size: 100, sha256: sha(altered) }, chunks(altered));
    await truncate(join(d, "short", "segment.bin"), 40);
    await writeFile(join(d, "altered", "segment.bin"), bytes(100, 5));
    await mkdir(join(d, ".tmp-cutshort"));
    await writeFile(join(d, ".tmp-cutshort", "segment.bin"), bytes(10));

    const { held, discarded } = await new SegmentCache(d, 10_000).open();
    expect(held.map((s) => s.id)).toEqual(["good"]);
    expect(discarded.sort()).toEqual([".tmp-cutshort", "altered", "short"]);
    expect((await readdir(d)).sort()).toEqual(["good"]);
  });
});
