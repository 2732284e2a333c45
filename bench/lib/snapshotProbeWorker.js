/**
 * A stand-alone prototype Worker for bench:coordinator (bundled by bench/lib/snapshotProbe.ts
 * and run under Miniflare, not part of druid-edge): a SQLite-backed Durable Object that answers
 * how long each way of filling the Coordinator's segment view at a cold start takes —
 *
 *  - `d1Pages`: the cold start's D1 read alone (SegmentStore.changesSince, pages of 5,000 narrow
 *    rows, exactly as objects/coordinator/segmentSync.ts reads them), rows counted and dropped;
 *  - `d1PagesRange`: the same pages with the keyset written as one index range
 *    (`change_seq >= ? AND (change_seq > ? OR id > ?)`) — what SegmentStore.changesSince would
 *    read if its WHERE clause let SQLite seek instead of scanning the index from its start;
 *  - `d1Tail`: one incremental read, the rows after a watermark 1,000 rows before the end, in
 *    either form (`form=store|range`);
 *  - `d1Sync`: the same read applied to a SegmentView (segmentSync.ts's own `once()`), answering
 *    the view's size and `bytesUsed()` as workerd measures them;
 *  - `snapshotWrite` / `snapshotRead`: N bytes of typed-array chunks written to and read back
 *    from the object's own storage, as ArrayBuffer values of ≤ 128 KiB through the KV API
 *    (`ctx.storage.put`/`list`) or as BLOBs of ≤ 1 MiB in `ctx.storage.sql`.
 *
 * Timing is done by the caller (the request's wall time). Plain JavaScript so that the Node
 * typecheck of bench/ (tsconfig.node.json) does not meet Workers types; esbuild bundles it with
 * the TypeScript modules it imports from src/.
 */
import { DurableObject } from "cloudflare:workers";
import { SegmentStore } from "../../src/metadata/segmentStore.ts";
import { SegmentSync } from "../../src/objects/coordinator/segmentSync.ts";

const KV_CHUNK = 128 * 1024;
const SQL_CHUNK = 1024 * 1024;
const PAGE = 5_000;

/** changesSince's columns and order, with the keyset as a single range on (change_seq, id). */
const RANGE_SQL = `SELECT id, datasource, start_ms, end_ms, version, partition_num, used, change_seq,
         json_extract(payload, '$.size') AS size, json_extract(payload, '$.shardSpec.type') AS spec_type,
         json_extract(payload, '$.shardSpec.partitions') AS partitions, json_extract(payload, '$.shardSpec.numCorePartitions') AS core_partitions
  FROM segments WHERE change_seq >= ? AND (change_seq > ? OR id > ?) ORDER BY change_seq, id LIMIT ?`;

async function rangePage(db, afterSeq, afterId, limit) {
  return (await db.prepare(RANGE_SQL).bind(afterSeq, afterSeq, afterId, limit).all()).results;
}

/** Deterministic filler (content does not matter to SQLite: no compression). */
function fill(bytes, seed) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  let x = seed | 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
}

export class Probe extends DurableObject {
  async fetch(req) {
    const url = new URL(req.url);
    const op = url.pathname.slice(1);
    const bytes = Number(url.searchParams.get("bytes") ?? 0);
    const layout = url.searchParams.get("layout") ?? "kv";
    const json = (v) => Response.json(v);
    if (op === "ping") return json({ ok: true });
    if (op === "plans") {
      // the query plans of both keyset forms, as workerd's SQLite (D1's local simulator) makes them
      const plan = async (sql, ...params) => (await this.env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all()).results.map((r) => r.detail).join("; ");
      const storeSql = `SELECT id FROM segments WHERE (change_seq, id) > (?, ?) ORDER BY change_seq, id LIMIT ?`;
      return json({ store: await plan(storeSql, -1, "", PAGE), range: await plan(RANGE_SQL, -1, -1, "", PAGE) });
    }
    if (op === "d1Tail") {
      const store = new SegmentStore(this.env.DB);
      const w = await this.env.DB.prepare("SELECT change_seq, id FROM segments ORDER BY change_seq DESC, id DESC LIMIT 1 OFFSET 1000").first();
      const read = url.searchParams.get("form") === "range" ? () => rangePage(this.env.DB, w.change_seq, w.id, PAGE) : () => store.changesSince(w.change_seq, w.id, PAGE);
      await read(); // warm
      const times = [];
      let rows = 0;
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now(); // workerd's clock moves with I/O (and locally with compute too)
        rows = (await read()).length;
        times.push(Date.now() - t0);
      }
      return json({ rows, times });
    }
    if (op === "d1Pages" || op === "d1PagesRange") {
      const store = new SegmentStore(this.env.DB);
      const read = op === "d1Pages" ? (seq, id) => store.changesSince(seq, id, PAGE) : (seq, id) => rangePage(this.env.DB, seq, id, PAGE);
      let after = { seq: -1, id: "" };
      let rows = 0;
      let pages = 0;
      for (;;) {
        const page = await read(after.seq, after.id);
        rows += page.length;
        pages++;
        if (page.length > 0) after = { seq: page[page.length - 1].change_seq, id: page[page.length - 1].id };
        if (page.length < PAGE) break;
      }
      return json({ rows, pages });
    }
    if (op === "d1Sync") {
      const sync = new SegmentSync(new SegmentStore(this.env.DB), () => Date.now(), async () => {});
      await sync.once();
      return json({ segments: sync.view.size, bytesUsed: sync.view.bytesUsed() });
    }
    if (op === "snapshotWrite") {
      if (layout === "kv") {
        await this.ctx.storage.deleteAll();
        const n = Math.ceil(bytes / KV_CHUNK);
        for (let i = 0; i < n; i += 128) {
          const entries = {};
          for (let j = i; j < Math.min(n, i + 128); j++) {
            const chunk = new Uint8Array(Math.min(KV_CHUNK, bytes - j * KV_CHUNK));
            fill(chunk, j + 1);
            entries[`snap:${String(j).padStart(6, "0")}`] = chunk.buffer;
          }
          await this.ctx.storage.put(entries);
        }
        return json({ chunks: n });
      }
      const sql = this.ctx.storage.sql;
      sql.exec("DROP TABLE IF EXISTS snap");
      sql.exec("CREATE TABLE snap (i INTEGER PRIMARY KEY, data BLOB NOT NULL)");
      const n = Math.ceil(bytes / SQL_CHUNK);
      for (let j = 0; j < n; j++) {
        const chunk = new Uint8Array(Math.min(SQL_CHUNK, bytes - j * SQL_CHUNK));
        fill(chunk, j + 1);
        sql.exec("INSERT INTO snap (i, data) VALUES (?, ?)", j, chunk.buffer);
      }
      return json({ chunks: n });
    }
    if (op === "snapshotRead") {
      // into one buffer, as a restore into the view's columns would copy them
      let out = new Uint8Array(0);
      let at = 0;
      let chunks = 0;
      const take = (buf) => {
        if (at + buf.byteLength > out.length) {
          const grown = new Uint8Array(Math.max(out.length * 2, at + buf.byteLength, 1 << 20));
          grown.set(out.subarray(0, at));
          out = grown;
        }
        out.set(new Uint8Array(buf), at);
        at += buf.byteLength;
        chunks++;
      };
      if (layout === "kv") {
        const all = await this.ctx.storage.list({ prefix: "snap:" });
        for (const v of all.values()) take(v);
      } else {
        for (const row of this.ctx.storage.sql.exec("SELECT data FROM snap ORDER BY i")) take(row.data);
      }
      let sum = 0;
      for (let i = 0; i < at; i += 4096) sum = (sum + out[i]) | 0;
      return json({ bytes: at, chunks, sum });
    }
    return new Response("unknown probe op", { status: 404 });
  }
}

export default {
  fetch(req, env) {
    const url = new URL(req.url);
    const name = url.searchParams.get("object") ?? "probe";
    return env.PROBE.get(env.PROBE.idFromName(name)).fetch(req);
  },
};
