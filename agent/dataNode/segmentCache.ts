/**
 * A data node's segment cache: one directory per segment under the cache directory, holding the
 * segment's file and a manifest (`segment.json`: id, size, checksum). A segment is written into a
 * temporary directory, verified (size, and SHA-256 when the segment records one), and only then
 * renamed into place, so a directory with a manifest is always a whole, verified segment. A
 * restart rescans: temporary directories (a download cut short) and segments whose file no
 * longer matches its manifest (a corrupt cache) are deleted; the rest are held again and need no
 * download. The cache never holds more than its size: space is reserved before a download.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable, Transform } from "node:stream";

export interface CachedSegment {
  id: string;
  size: number;
  /** Hex SHA-256 of the file, when the segment records one. */
  sha256: string | null;
}

export class SegmentCacheError extends Error {
  constructor(
    message: string,
    readonly reason: "full" | "sizeMismatch" | "checksumMismatch",
  ) {
    super(message);
  }
}

const MANIFEST = "segment.json";
const FILE = "segment.bin";
const TMP_PREFIX = ".tmp-";

const dirNameOf = (id: string) => encodeURIComponent(id);

export class SegmentCache {
  private readonly held = new Map<string, CachedSegment>();
  /** Bytes of the segments held, and of downloads in flight. */
  private heldBytes = 0;
  private reserved = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Rescans the directory: keeps whole, verified segments, deletes the rest. Returns what it holds. */
  async open(): Promise<{ held: CachedSegment[]; discarded: string[] }> {
    await mkdir(this.dir, { recursive: true });
    this.held.clear();
    this.heldBytes = 0;
    const discarded: string[] = [];
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      const seg = name.startsWith(TMP_PREFIX) ? null : await this.verified(path);
      if (seg === null || dirNameOf(seg.id) !== name || this.used + seg.size > this.maxBytes) {
        await rm(path, { recursive: true, force: true });
        discarded.push(name);
        continue;
      }
      this.hold(seg);
    }
    return { held: [...this.held.values()], discarded };
  }

  /** Bytes held and reserved for downloads in flight. */
  get used(): number {
    return this.heldBytes + this.reserved;
  }

  private hold(seg: CachedSegment): void {
    this.held.set(seg.id, seg);
    this.heldBytes += seg.size;
  }

  has(id: string): boolean {
    return this.held.has(id);
  }

  segments(): CachedSegment[] {
    return [...this.held.values()];
  }

  /**
   * Writes a segment from `body`, verified, then makes it visible; refused (nothing kept) when it
   * does not fit, or its bytes are not the size or checksum it should have. Idempotent: a segment
   * already held is not written again.
   */
  async store(seg: CachedSegment, body: AsyncIterable<Uint8Array> | Readable): Promise<void> {
    if (this.held.has(seg.id)) return;
    if (this.used + seg.size > this.maxBytes) {
      throw new SegmentCacheError(`segment [${seg.id}] of ${seg.size} bytes does not fit: ${this.used} of ${this.maxBytes} bytes in use`, "full");
    }
    this.reserved += seg.size;
    const tmp = join(this.dir, `${TMP_PREFIX}${randomBytes(8).toString("hex")}`);
    try {
      await mkdir(tmp);
      const hash = createHash("sha256");
      let size = 0;
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > seg.size) return done(new SegmentCacheError(`segment [${seg.id}] is longer than its ${seg.size} bytes`, "sizeMismatch"));
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(body instanceof Readable ? body : Readable.from(body), count, createWriteStream(join(tmp, FILE)));
      if (size !== seg.size) throw new SegmentCacheError(`segment [${seg.id}] has ${size} bytes, not ${seg.size}`, "sizeMismatch");
      const digest = hash.digest("hex");
      if (seg.sha256 && seg.sha256.toLowerCase() !== digest) throw new SegmentCacheError(`segment [${seg.id}] has SHA-256 ${digest}, not ${seg.sha256}`, "checksumMismatch");
      await writeFile(join(tmp, MANIFEST), JSON.stringify({ id: seg.id, size: seg.size, sha256: seg.sha256 ?? null }));
      const final = join(this.dir, dirNameOf(seg.id));
      await rm(final, { recursive: true, force: true });
      await rename(tmp, final);
      this.hold({ id: seg.id, size: seg.size, sha256: seg.sha256 ?? null });
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    } finally {
      this.reserved -= seg.size;
    }
  }

  /** Deletes a segment's files (the caller has stopped announcing it). */
  async remove(id: string): Promise<void> {
    const seg = this.held.get(id);
    if (seg) {
      this.held.delete(id);
      this.heldBytes -= seg.size;
    }
    await rm(join(this.dir, dirNameOf(id)), { recursive: true, force: true });
  }

  /** A segment directory's manifest if its file matches it (size, and checksum when recorded), else null. */
  private async verified(path: string): Promise<CachedSegment | null> {
    let manifest: CachedSegment;
    try {
      const m = JSON.parse(await readFile(join(path, MANIFEST), "utf8")) as Partial<CachedSegment>;
      if (typeof m.id !== "string" || typeof m.size !== "number") return null;
      manifest = { id: m.id, size: m.size, sha256: typeof m.sha256 === "string" ? m.sha256 : null };
      if ((await stat(join(path, FILE))).size !== manifest.size) return null;
    } catch {
      return null;
    }
    if (manifest.sha256) {
      const hash = createHash("sha256");
      for await (const chunk of createReadStream(join(path, FILE))) hash.update(chunk as Buffer);
      if (hash.digest("hex") !== manifest.sha256.toLowerCase()) return null;
    }
    return manifest;
  }
}
