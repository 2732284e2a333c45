/**
 * Bytes to lines, streaming: counts the raw bytes (Druid's processedBytes), gunzips `.gz`
 * entities, decodes UTF-8 line by line (invalid sequences become U+FFFD; a leading byte order
 * mark is dropped) and splits on `\n` (a trailing `\r` is dropped). Lines come out in
 * batches — one per chunk, each decoded lazily — so the per-line cost stays a loop iteration, not an await.
 * Only the current chunk and one partial line are ever held.
 */
import { isAscii } from "node:buffer";
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
export async function* readLines(source: AsyncIterable<Uint8Array>, name: string, onBytes: (n: number) => void): AsyncGenerator<Iterable<string>> {
  const raw = counted(source, onBytes);
  const bytes = compressionOf(name) === "gzip" ? decompressed(raw) : raw;
  let tail: Buffer | null = null;
  let first = true;
  for await (const chunk of bytes) {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (tail) buf = Buffer.concat([tail, buf]);
    if (first && buf.length >= 3) {
      // a UTF-8 byte order mark is not part of the first line (as TextDecoder drops it)
      if (startsWithBom(buf)) buf = buf.subarray(3);
      first = false;
    } else if (first) {
      tail = buf;
      continue;
    }
    const cut = buf.lastIndexOf(10);
    if (cut < 0) { tail = buf; continue; }
    tail = cut + 1 < buf.length ? Buffer.from(buf.subarray(cut + 1)) : null;
    yield decodeLines(buf, cut);
  }
  if (tail && tail.length > 0) {
    if (first && startsWithBom(tail)) tail = tail.subarray(3);
    const cut = tail.lastIndexOf(10);
    if (cut >= 0) {
      yield decodeLines(tail, cut);
      tail = tail.subarray(cut + 1);
    }
    if (tail.length > 0) yield decodeLines(tail, tail.length);
  }
}
const startsWithBom = (b: Buffer): boolean => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

/**
 * The lines of `buf[0, end)`, decoded one at a time as the consumer asks (only the current line
 * is a live string, so a chunk's lines die young instead of being promoted together by the
 * garbage collector), each on its own: an ASCII line becomes a one-byte string, the others are
 * UTF-8 decoded (decoding a whole chunk that holds a single non-ASCII character would make every
 * line of it a two-byte string: twice the memory to allocate and scan). A trailing `\r` is dropped.
 */
function* decodeLines(buf: Buffer, end: number): Generator<string> {
  let start = 0;
  while (start <= end) {
    let nl = buf.indexOf(10, start);
    if (nl < 0 || nl > end) nl = end;
    const stop = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
    yield buf.toString(isAscii(buf.subarray(start, stop)) ? "latin1" : "utf8", start, stop);
    start = nl + 1;
  }
}
