/**
 * Property tests for the agent's log and report uploads (`POST /druid-internal/v1/agent/tasks/
 * {id}/log|reports`): hostile bodies (NUL, lone surrogates, invalid UTF-8, deep nesting, huge
 * numbers, "__proto__" keys, sizes around the caps) under every kind of credential (the right
 * worker and key, a missing or wrong key, another live agent's worker, the operator token).
 * Either the upload is refused with a 4xx and nothing is stored, or it is stored and reads back
 * as accepted (a log as its well-formed tail).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { ADMIN, AGENT, testEnv, rows, uniqueDs } from "./helpers.ts";
import { agentSim, newWorkerKey, submit } from "./agentSim.ts";

const MIB = 1024 * 1024;

async function post(path: string, body: Uint8Array, headers: Record<string, string>) {
  const res = await worker.fetch(
    new Request(`http://druid.test${path}`, { method: "POST", headers: { ...headers, "content-length": String(body.byteLength) }, body }),
    testEnv(),
  );
  const text = await res.text();
  return { status: res.status, text };
}

const get = async (path: string) => {
  const res = await worker.fetch(new Request(`http://druid.test${path}`, { headers: ADMIN }), testEnv());
  return { status: res.status, text: await res.text() };
};

const wellFormed = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

type Who = "owner" | "noKey" | "wrongKey" | "noWorker" | "otherAgent" | "operator";

describe("hostile log and report uploads", () => {
  it("refuse a bad credential or body with a 4xx and store nothing; store what they accept as it reads back", { timeout: 60_000 }, async () => {
    const owner = agentSim();
    await owner.poll();
    const other = agentSim();
    await other.poll();
    const [id] = await submit(uniqueDs("uploads"));
    const got = await owner.poll({ timeoutMs: 5000 });
    expect(got.json.requests.some((r: any) => r.type === "assign" && r.task.id === id)).toBe(true);
    const headersOf = (who: Who): Record<string, string> => {
      switch (who) {
        case "owner": return owner.uploadHeaders;
        case "noKey": return { ...AGENT, "X-Druid-Worker": owner.host };
        case "wrongKey": return { ...AGENT, "X-Druid-Worker": owner.host, "X-Druid-Worker-Key": newWorkerKey() };
        case "noWorker": return { ...AGENT, "X-Druid-Worker-Key": owner.key };
        case "otherAgent": return other.uploadHeaders;
        case "operator": return { ...ADMIN, "X-Druid-Worker": owner.host, "X-Druid-Worker-Key": owner.key };
      }
    };
    const stored = async () => ({
      log: (await rows<{ log: string }>("SELECT log FROM task_logs WHERE task_id = ?", id))[0]?.log ?? null,
      reports: (await rows<{ payload: string }>("SELECT payload FROM task_reports WHERE task_id = ?", id))[0]?.payload ?? null,
    });

    const who = fc.constantFrom<Who>("owner", "owner", "owner", "noKey", "wrongKey", "noWorker", "otherAgent", "operator");
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.string({ unit: fc.constantFrom("\u0000", "\ud800", "\udc00", "a", "\u202e", "😀", "\n"), maxLength: 200 }),
      fc.constantFrom(4 * MIB - 3, 4 * MIB + 10).map((n) => "x".repeat(n)),
    );
    const logBody = fc.oneof(
      text.map((t) => ({ bytes: new TextEncoder().encode(t), text: t as string | null })),
      fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0xff, 0xc3, ...b])).map((bytes) => ({ bytes, text: null })), // never valid UTF-8
    );
    const deep = (n: number) => `{"a":${"[".repeat(n)}${"]".repeat(n)}}`;
    const reportsBody = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== "__proto__"), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }).map((o) => ({ text: JSON.stringify(o), ok: true })),
      fc.constantFrom(
        { text: deep(98), ok: true },
        { text: deep(100), ok: false },
        { text: deep(3000), ok: false },
        { text: '{"x":1e400}', ok: false },
        { text: '{"__proto__":{"polluted":1}}', ok: false },
        { text: '{"x":"\\u0000\\ud800"}', ok: true },
        { text: "[1,2]", ok: false },
        { text: "{not json", ok: false },
        { text: `{"x":"${"y".repeat(MIB)}"}`, ok: false },
      ),
    );
    const upload = fc.oneof(
      fc.record({ kind: fc.constant("log" as const), who, body: logBody }),
      fc.record({ kind: fc.constant("reports" as const), who, body: reportsBody }),
    );
    const seen = { refused: 0, accepted: 0 };
    await fc.assert(
      fc.asyncProperty(upload, async (u) => {
        const before = await stored();
        const bytes = u.kind === "log" ? u.body.bytes : new TextEncoder().encode(u.body.text);
        const r = await post(`/druid-internal/v1/agent/tasks/${id}/${u.kind}`, bytes, { ...headersOf(u.who), "content-type": u.kind === "log" ? "text/plain" : "application/json" });
        expect(r.status, r.text.slice(0, 200)).toBeLessThan(500);
        const acceptable = u.who === "owner" && (u.kind === "log" ? u.body.text !== null && bytes.byteLength <= 4 * MIB : u.body.ok);
        if (!acceptable) {
          seen.refused++;
          expect(r.status, `${u.kind} by ${u.who}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
          expect(await stored()).toEqual(before);
          return;
        }
        seen.accepted++;
        expect(r.status, `${u.kind} by the owner: ${r.text.slice(0, 200)}`).toBe(200);
        if (u.kind === "log") {
          const t = u.body.text!;
          const want = wellFormed(t.length > MIB ? t.slice(t.length - MIB) : t);
          expect((await stored()).log).toBe(want);
          const back = await get(`/druid/indexer/v1/task/${id}/log`);
          expect(back.status).toBe(200);
          expect(back.text).toBe(want.length > 0 ? want : back.text);
        } else {
          const back = await get(`/druid/indexer/v1/task/${id}/reports`);
          expect(back.status).toBe(200);
          expect(JSON.parse(back.text)).toEqual(JSON.parse(u.body.text));
        }
      }),
      { numRuns: 60 },
    );
    expect(seen.refused, "the run reached the refused branch").toBeGreaterThan(0);
    expect(seen.accepted, "the run reached the accepted branch").toBeGreaterThan(0);
    expect((await get("/status")).status).toBe(200);
  });
});
