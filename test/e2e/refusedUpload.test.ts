/**
 * End to end under wrangler's dev server: a body refused part-way through (a chunked upload with
 * no Content-Length that grows past the cap) must leave the service healthy. It used to leave
 * the client's keep-alive connection mid-request: the next request on it hung (or the dev proxy
 * answered 503 "Your worker restarted mid-request"). Each client here is one undici `Client`,
 * one TCP connection; its `connect` events tell whether a follow-up reused that connection.
 */
import { Readable } from "node:stream";
import { Client } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDruidEdge, type DruidEdge } from "../support/node/cluster.ts";

const CHUNK = 64 * 1024;

/** A JSON document of about `bytes` bytes, sent in 64 KB chunks: chunked, no Content-Length. */
function streamedJson(prefix: string, bytes: number, suffix = '"}'): Readable {
  const payload = Buffer.from(prefix + "x".repeat(bytes) + suffix);
  return Readable.from(
    (function* () {
      for (let at = 0; at < payload.length; at += CHUNK) yield payload.subarray(at, at + CHUNK);
    })(),
  );
}

/** One keep-alive connection; a hung request fails within the timeouts instead of the test's. */
function connection(url: string): { client: Client; connects: () => number } {
  const client = new Client(url, { headersTimeout: 15_000, bodyTimeout: 15_000, pipelining: 1 });
  let n = 0;
  client.on("connect", () => n++);
  return { client, connects: () => n };
}

describe("a refused upload leaves the service healthy", () => {
  let edge: DruidEdge;
  const clients: Client[] = [];
  const admin = () => ({ authorization: `Bearer ${edge.adminToken}` });

  beforeAll(async () => {
    edge = await startDruidEdge();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.destroy()));
    await edge?.dispose();
  });

  function open() {
    const c = connection(edge.url);
    clients.push(c.client);
    return c;
  }

  async function call(client: Client, method: "GET" | "POST", path: string, headers: Record<string, string>, body?: string | Readable) {
    const r = await client.request({ method, path, headers: body === undefined ? headers : { "content-type": "application/json", ...headers }, body });
    const text = await r.body.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.statusCode, json, text };
  }

  /** GET /status and a small valid submit answer 200 on `client`. */
  async function healthy(client: Client) {
    expect((await call(client, "GET", "/status", admin())).status).toBe(200);
    const noop = await call(client, "POST", "/druid/indexer/v1/task", admin(), '{"type":"noop"}');
    expect(noop.status).toBe(200);
    expect(noop.json.task).toMatch(/^noop_/);
  }

  it("refuses a streamed 3 MB task with 413 and Druid's error JSON, then answers 200 on the same keep-alive connection and on a new one, and stores nothing", async () => {
    const { client, connects } = open();
    const big = await call(client, "POST", "/druid/indexer/v1/task", admin(), streamedJson('{"type":"noop","id":"refused_streamed","note":"', 3 * 1024 * 1024));
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({ error: "druidException", errorCode: "requestTooLarge", category: "INVALID_INPUT" });
    expect(big.json.errorMessage).toContain("larger than the limit");

    await healthy(client);
    expect(connects()).toBe(1); // the follow-ups reused the refused upload's connection
    await healthy(open().client);

    const status = await call(open().client, "GET", "/druid/indexer/v1/task/refused_streamed/status", admin());
    expect(status.status).toBe(404);
    const pending = await call(open().client, "GET", "/druid/indexer/v1/tasks?state=pending", admin());
    expect(pending.status).toBe(200);
    expect(pending.json.map((t: { id: string }) => t.id)).not.toContain("refused_streamed");
  });

  it("refuses a streamed 2 MB report on the agent path with 413, then answers 200 on the same connection", async () => {
    const { client, connects } = open();
    const headers = {
      authorization: `Bearer ${edge.agentToken}`,
      "X-Druid-Worker": "refused-upload:8091",
      "X-Druid-Worker-Key": "k".repeat(40),
    };
    const big = await call(client, "POST", "/druid-internal/v1/agent/tasks/noop_absent/reports", headers, streamedJson('{"ingestionStatsAndErrors":{"note":"', 2 * 1024 * 1024, '"}}'));
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({ error: "druidException", errorCode: "requestTooLarge" });
    await healthy(client);
    expect(connects()).toBe(1);
  });

  it("answers 401 and 403 to big streamed bodies it never reads, then 200 on the same connection", async () => {
    const { client, connects } = open();
    const unauth = await call(client, "POST", "/druid/indexer/v1/task", {}, streamedJson('{"type":"noop","note":"', 3 * 1024 * 1024));
    expect(unauth.status).toBe(401);
    expect(unauth.json).toMatchObject({ error: "druidException", errorCode: "unauthorized" });
    const forbidden = await call(client, "POST", "/druid/indexer/v1/task", { authorization: `Bearer ${edge.agentToken}` }, streamedJson('{"type":"noop","note":"', 3 * 1024 * 1024));
    expect(forbidden.status).toBe(403);
    await healthy(client);
    expect(connects()).toBe(1);
  });

  it("stops reading an endless streamed body after a bounded amount, never hangs on it, and new connections answer 200", async () => {
    const { client } = open();
    let sent = 0;
    const endless = Readable.from(
      (function* () {
        yield Buffer.from('{"type":"noop","note":"');
        const xs = Buffer.alloc(CHUNK, 0x78);
        // bounded only so that a server that reads forever fails this test instead of hanging it
        while (sent < 512 * 1024 * 1024) {
          sent += xs.length;
          yield xs;
        }
      })(),
    );
    let detail = "";
    const outcome = await call(client, "POST", "/druid/indexer/v1/task", admin(), endless).then(
      (r) => ((detail = r.text), r.status),
      (err: Error) => ((detail = `${err.name}: ${err.message}`), "closed"),
    );
    // Past its bounds the Worker gives up on the body (cancels it) and the runtime closes the
    // connection, racing the 413: the client may see the 413, the close (a reset), or, when wrangler's
    // dev proxy was still uploading into the Worker, the proxy's own 503 for its failed upload.
    if (outcome === "closed") expect(detail).toMatch(/ECONNRESET|EPIPE|other side closed|socket/i);
    else if (outcome === 503) expect(detail).toContain("Your worker restarted mid-request");
    else expect(outcome).toBe(413);
    expect(sent).toBeLessThan(128 * 1024 * 1024);
    await healthy(open().client);
  });
});
