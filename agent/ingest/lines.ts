/**
 * Bytes to lines, streaming: counts the raw bytes (Druid's processedBytes), gunzips `.gz`
 * entities, decodes UTF-8 (invalid sequences become U+FFFD) and splits on `\n` (a trailing `\r`
 * is dropped). Lines come out in
 * batches — one per decoded chunk — so the per-line cost stays a loop iteration, not an await.
 * Only the current chunk and one partial line are ever held.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, type ZlibOptions } from "node:zlib";
import { unsupported } from "./errors.ts";

/** Druid infers compression from the file name; only gzip is supported here. */
export function compressionOf(name: string): "gzip" | null {
  const lower = name.toLowerCase().split("?")[0]!;
  if (lower.endsWith(".gz")) return "gzip";
  for (const ext of [".bz2", ".xz", ".zip", ".sz", ".zst", ".snappy"]) {
    if (lower.endsWith(ext)) throw unsupported(`Compressed input [${name}] (${ext}) is not supported; only .gz`);
  }
  return null;
}

async function* counted(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
}

async function* decompressed(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // big output chunks (fewer thread-pool round trips) and room to run a few chunks ahead of the parser;
  // zlib passes stream options through to its Transform, though its typings do not list them
  const options: ZlibOptions & { readableHighWaterMark: number } = { chunkSize: 256 * 1024, readableHighWaterMark: 4 * 1024 * 1024 };
  const gunzip = createGunzip(options);
  const done = pipeline(Readable.from(source), gunzip).catch((e: unknown) => { gunzip.destroy(e as Error); });
  for await (const chunk of gunzip) yield chunk as Uint8Array;
  await done;
}

/**
 * Batches of lines of an entity's bytes. Each chunk is cut at its last `\n` and only the complete
 * lines are decoded (a UTF-8 sequence never spans a newline byte); the tail waits for the next chunk.
 */
export async function* readLines(source: AsyncIterable<Uint8Array>, name: string, onBytes: (n: number) => void): AsyncGenerator<string[]> {
  const raw = counted(source, onBytes);
  const bytes = compressionOf(name) === "gzip" ? decompressed(raw) : raw;
  const decoder = new TextDecoder("utf-8");
  let tail: Buffer | null = null;
  for await (const chunk of bytes) {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (tail) buf = Buffer.concat([tail, buf]);
    const cut = buf.lastIndexOf(10);
    if (cut < 0) { tail = buf; continue; }
    tail = cut + 1 < buf.length ? Buffer.from(buf.subarray(cut + 1)) : null;
    const lines = decoder.decode(buf.subarray(0, cut)).split("\n");
    yield stripCr(lines);
  }
  if (tail && tail.length > 0) yield stripCr([decoder.decode(tail)]);
}
function stripCr(lines: string[]): string[] {
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
  }
  return lines;
}
