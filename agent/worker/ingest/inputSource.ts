/**
 * Druid's inputSources for batch ingestion: `local` (baseDir + filter glob, and/or `files`),
 * `http` (uris) and `inline` (data). Each yields input entities — a name (for the compression
 * suffix and messages) and a byte stream, opened lazily one at a time.
 *
 * Local paths are resolved against the agent's data directory and must stay inside it, also
 * after following symlinks; `filter` is a glob matched against file names (Druid's wildcard
 * filter), or against the path under baseDir when it contains a `/`. Files are read in path order.
 */
import { createReadStream } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import picomatch from "picomatch";
import { IngestionError, invalidSpec, unsupported } from "./errors.ts";

export type InputSourceJson =
  | { type: "local"; baseDir?: string; filter?: string; files?: string[] }
  | { type: "http"; uris: string[]; httpAuthenticationUsername?: string; httpAuthenticationPassword?: string | { type?: string; password?: string } }
  | { type: "inline"; data: string }
  | { type: string; [field: string]: unknown };

export interface InputEntity {
  /** File path, URI or "inline". */
  name: string;
  /** The raw bytes (possibly compressed). */
  open(): AsyncIterable<Uint8Array>;
}

export interface InputSourceIO {
  /** Root of every `local` input source; nothing outside it is read. */
  dataDir: string;
  fetch?: typeof fetch;
}

const inputError = (message: string, cause?: unknown) => new IngestionError("inputSource", message, { cause });

async function inside(root: string, p: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(p);
  } catch (e) {
    throw inputError(`Input path [${p}] cannot be read: ${(e as Error).message}`, e);
  }
  const rel = path.relative(root, real);
  if (rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw inputError(`Input path [${p}] is outside the agent's data directory`);
  }
  return real;
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(full);
    else if (e.isFile() || e.isSymbolicLink()) yield full;
  }
}

async function localFiles(src: { baseDir?: string; filter?: string; files?: string[] }, dataDir: string): Promise<string[]> {
  const root = await realpath(dataDir).catch((e) => { throw inputError(`Data directory [${dataDir}] cannot be read`, e); });
  const out: string[] = [];
  if (src.files !== undefined) {
    if (!Array.isArray(src.files) || src.files.some((f) => typeof f !== "string")) throw invalidSpec("inputSource.files must be a list of paths");
    for (const f of src.files) out.push(await inside(root, path.resolve(root, f)));
  }
  if (src.baseDir !== undefined) {
    if (typeof src.baseDir !== "string") throw invalidSpec("inputSource.baseDir must be a path");
    if (typeof src.filter !== "string" || src.filter === "") throw invalidSpec("inputSource.filter is required with baseDir (use \"*\" for every file)");
    const base = await inside(root, path.resolve(root, src.baseDir));
    if (!(await stat(base)).isDirectory()) throw inputError(`baseDir [${src.baseDir}] is not a directory`);
    const byPath = src.filter.includes("/");
    const match = picomatch(src.filter, { dot: false });
    for await (const file of walk(base)) {
      const rel = path.relative(base, file).split(path.sep).join("/");
      if (!match(byPath ? rel : path.basename(file))) continue;
      const real = await inside(root, file);
      if ((await stat(real)).isFile()) out.push(real);
    }
  }
  if (src.files === undefined && src.baseDir === undefined) throw invalidSpec("inputSource [local] needs baseDir + filter or files");
  return [...new Set(out)];
}

async function* readWebStream(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value) yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

function httpEntity(uri: string, headers: Record<string, string>, doFetch: typeof fetch): InputEntity {
  return {
    name: uri,
    async *open() {
      let res: Response;
      try {
        res = await doFetch(uri, { headers });
      } catch (e) {
        throw inputError(`Cannot fetch [${uri}]: ${(e as Error).message}`, e);
      }
      if (!res.ok || !res.body) throw inputError(`Cannot fetch [${uri}]: HTTP ${res.status}`);
      yield* readWebStream(res.body);
    },
  };
}

/** The entities of an inputSource, in order. Validation errors surface on the first iteration. */
export async function* inputEntities(source: InputSourceJson, io: InputSourceIO): AsyncGenerator<InputEntity> {
  if (!source || typeof source !== "object") throw invalidSpec("ioConfig.inputSource is required");
  switch (source.type) {
    case "inline": {
      const data = (source as { data: unknown }).data;
      if (typeof data !== "string") throw invalidSpec("inputSource [inline] needs data (a string)");
      yield { name: "inline", async *open() { yield new TextEncoder().encode(data); } };
      return;
    }
    case "local": {
      for (const file of await localFiles(source as { baseDir?: string; filter?: string; files?: string[] }, io.dataDir)) {
        yield { name: file, open: () => createReadStream(file, { highWaterMark: 256 * 1024 }) };
      }
      return;
    }
    case "http": {
      const src = source as Extract<InputSourceJson, { type: "http" }>;
      if (!Array.isArray(src.uris) || src.uris.length === 0) throw invalidSpec("inputSource [http] needs uris");
      const headers: Record<string, string> = {};
      if (src.httpAuthenticationUsername) {
        const pw = typeof src.httpAuthenticationPassword === "string" ? src.httpAuthenticationPassword : src.httpAuthenticationPassword?.password ?? "";
        headers.authorization = `Basic ${btoa(`${src.httpAuthenticationUsername}:${pw}`)}`;
      }
      const doFetch = io.fetch ?? fetch;
      for (const uri of src.uris) {
        let u: URL;
        try { u = new URL(uri); } catch { throw invalidSpec(`Invalid uri [${uri}]`); }
        if (u.protocol !== "http:" && u.protocol !== "https:") throw invalidSpec(`Only http and https uris are allowed, got [${uri}]`);
        yield httpEntity(uri, headers, doFetch);
      }
      return;
    }
    default:
      throw unsupported(`inputSource type [${source.type}] is not supported; supported: local, http, inline`);
  }
}
