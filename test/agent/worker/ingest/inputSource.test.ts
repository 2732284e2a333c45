import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inputEntities } from "../../../../agent/worker/ingest/inputSource.ts";
import { runIngestion } from "../../../../agent/worker/ingest/index.ts";
import { makeSpec, tempDir } from "./helpers.ts";

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  const t = await tempDir();
  root = path.join(t.dir, "data");
  cleanup = t.cleanup;
  await mkdir(path.join(root, "in", "sub"), { recursive: true });
  await writeFile(path.join(root, "in", "a.json"), '{"timestamp":"2024-01-01","f":"a"}\n');
  await writeFile(path.join(root, "in", "b.json"), '{"timestamp":"2024-01-01","f":"b"}\n');
  await writeFile(path.join(root, "in", "notes.txt"), "not data\n");
  await writeFile(path.join(root, "in", "sub", "c.json"), '{"timestamp":"2024-01-01","f":"c"}\n');
  await writeFile(path.join(t.dir, "secret.json"), '{"timestamp":"2024-01-01","f":"secret"}\n');
});
afterEach(() => cleanup());

const names = async (source: Parameters<typeof inputEntities>[0]) => {
  const out: string[] = [];
  for await (const e of inputEntities(source, { dataDir: root })) out.push(path.relative(root, e.name));
  return out;
};

describe("local input source", () => {
  it("walks baseDir recursively and matches the filter glob against file names", async () => {
    expect(await names({ type: "local", baseDir: "in", filter: "*.json" })).toEqual(["in/a.json", "in/b.json", "in/sub/c.json"]);
    expect(await names({ type: "local", baseDir: "in", filter: "{a,c}.json" })).toEqual(["in/a.json", "in/sub/c.json"]);
  });

  it("matches a filter with a slash against the path under baseDir", async () => {
    expect(await names({ type: "local", baseDir: "in", filter: "sub/*.json" })).toEqual(["in/sub/c.json"]);
  });

  it("reads an explicit files list, relative or absolute inside the data dir", async () => {
    expect(await names({ type: "local", files: ["in/b.json", path.join(root, "in", "a.json")] })).toEqual(["in/b.json", "in/a.json"]);
  });

  it("refuses paths that escape the data dir, by .., absolute path or symlink", async () => {
    await expect(names({ type: "local", files: ["../secret.json"] })).rejects.toThrow(/outside the agent's data directory/);
    await expect(names({ type: "local", files: [path.join(root, "..", "secret.json")] })).rejects.toThrow(/outside/);
    await expect(names({ type: "local", baseDir: "..", filter: "*.json" })).rejects.toThrow(/outside/);
    await symlink(path.join(root, "..", "secret.json"), path.join(root, "in", "link.json"));
    await expect(names({ type: "local", baseDir: "in", filter: "link.json" })).rejects.toThrow(/outside/);
  });

  it("requires a filter with baseDir", async () => {
    await expect(names({ type: "local", baseDir: "in" })).rejects.toThrow(/filter is required/);
  });

  it("ingests every matched file", async () => {
    const r = await runIngestion(makeSpec("", { inputSource: { type: "local", baseDir: "in", filter: "*.json" } }), { dataDir: root });
    expect(r.rowStats.processed).toBe(3);
  });
});

describe("http input source", () => {
  it("streams each uri's body through fetch, with basic auth when configured", async () => {
    const seen: { url: string; auth: string | null }[] = [];
    const fakeFetch = (async (url: string, init?: RequestInit) => {
      seen.push({ url, auth: new Headers(init?.headers).get("authorization") });
      const parts = ['{"timestamp":"2024-01-01","u":"', url.endsWith("1.json") ? "one" : "two", '"}\n'];
      const body = new ReadableStream<Uint8Array>({
        start(c) { for (const p of parts) c.enqueue(new TextEncoder().encode(p)); c.close(); },
      });
      return new Response(body);
    }) as typeof fetch;
    const spec = makeSpec("", {
      inputSource: { type: "http", uris: ["http://example.test/1.json", "https://example.test/2.json"], httpAuthenticationUsername: "me", httpAuthenticationPassword: { type: "default", password: "pw" } },
    });
    const r = await runIngestion(spec, { dataDir: root, fetch: fakeFetch });
    expect(r.rowStats.processed).toBe(2);
    expect(seen).toEqual([
      { url: "http://example.test/1.json", auth: `Basic ${btoa("me:pw")}` },
      { url: "https://example.test/2.json", auth: `Basic ${btoa("me:pw")}` },
    ]);
  });

  it("fails the ingestion on an HTTP error and rejects other schemes", async () => {
    const notFound = (async () => new Response("nope", { status: 404 })) as unknown as typeof fetch;
    await expect(runIngestion(makeSpec("", { inputSource: { type: "http", uris: ["http://x.test/a"] } }), { dataDir: root, fetch: notFound })).rejects.toThrow(/HTTP 404/);
    await expect(runIngestion(makeSpec("", { inputSource: { type: "http", uris: ["file:///etc/passwd"] } }), { dataDir: root })).rejects.toThrow(/Only http and https/);
  });
});

describe("inline input source", () => {
  it("reads the data string", async () => {
    const r = await runIngestion(makeSpec('{"timestamp":"2024-01-01","x":1}\n{"timestamp":"2024-01-02","x":2}'), { dataDir: root });
    expect(r.rowStats.processed).toBe(2);
    expect(r.segments).toHaveLength(2);
  });

  it("rejects unknown input source types", async () => {
    await expect(runIngestion(makeSpec("", { inputSource: { type: "s3", uris: [] } }), { dataDir: root })).rejects.toThrow(/inputSource type \[s3\] is not supported/);
  });
});
