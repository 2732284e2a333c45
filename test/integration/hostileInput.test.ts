/**
 * Property-based tests (fast-check) that search for hostile JSON the write endpoints mishandle:
 * deep nesting at random paths inside otherwise valid bodies, bodies near and over the size caps,
 * wrong types at every interpreted field, unicode (astral, lone surrogates via escapes, RTL,
 * zero-width), NUL (escaped and raw), huge numbers, duplicate keys and `__proto__`/`constructor`
 * keys. For every endpoint:
 *  (a) a body that must be refused gets a 4xx with Druid's error JSON (plain text where the route
 *      answers as Druid deliberately does) and changes nothing: D1 tables and the Overlord's
 *      in-memory views are compared before and after;
 *  (b) a hostile body that is accepted reads back as sent: task JSON from GET task/{id}, the
 *      task lists, status and a simulated agent's assignment; nothing answers 5xx;
 *  (c) after each run the service still answers GET /status and takes a fresh valid task.
 *
 * Not covered here: /druid-internal/v1/agent/tasks/{id}/log and /reports.
 *
 * Requests call the Worker's fetch handler directly (see api() below); no sleeps, no fixed seeds.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { MAX_JSON_DEPTH } from "../../src/shared/boundedJson.ts";
import { ADMIN, AGENT, api, indexTask, rows, shareStateAcrossTests, testEnv, uniqueDs } from "./helpers.ts";
import { done, running } from "./agentSim.ts";

// The suites below set up agents and tasks once (beforeAll) and compare before/after in each test.
shareStateAcrossTests();

const MAX_BODY = 1024 * 1024; // DRUID_MAX_BODY_BYTES in wrangler.jsonc
const MAX_PAYLOAD = 512 * 1024; // druid.indexer.queue.maxTaskPayloadSize default
const TIMEOUT = 60_000;

type Path = Array<string | number>;
const enc = encodeURIComponent;

type Res = Awaited<ReturnType<typeof api>>;

// ---- analysing JSON text (independently of the service, without recursion) -------------------

interface TextFacts {
  depth: number;
  nonFinite: string | null;
  rawControl: boolean;
}

function facts(text: string): TextFacts {
  let depth = 0;
  let max = 0;
  let inString = false;
  let nonFinite: string | null = null;
  let rawControl = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      else if (c < 0x20) rawControl = true;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < text.length && /[-+0-9.eE]/.test(text[j]!)) j++;
      const token = text.slice(i, j);
      if (!Number.isFinite(Number(token))) nonFinite ??= token;
      i = j - 1;
    } else if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) rawControl = true;
  }
  return { depth: max, nonFinite, rawControl };
}

const utf8 = (s: string) => new TextEncoder().encode(s).length;

/**
 * Why a body must be refused whatever field it sits in (null: it is acceptable JSON).
 * Non-finite numbers (1e400, 400-digit integers) cannot be stored or read back as sent (they
 * would become null), nor can "__proto__" keys (dropped by every zod object and record): both
 * must be refused rather than silently changed.
 */
function mustRefuse(text: string, maxBytes: number): string | null {
  if (utf8(text) > maxBytes) return "too large";
  const f = facts(text);
  if (f.depth > MAX_JSON_DEPTH) return `nested ${f.depth} deep`;
  if (f.rawControl) return "raw control character";
  if (f.nonFinite !== null) return `non-finite number ${f.nonFinite.slice(0, 20)}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (protoKeyIn(value)) return '"__proto__" key';
  return null;
}

/** A "__proto__" object key anywhere: JSON.parse keeps it, but zod's outputs drop it silently. */
function protoKeyIn(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object") continue;
    if (!Array.isArray(v) && Object.hasOwn(v, "__proto__")) return true;
    stack.push(...Object.values(v as object));
  }
  return false;
}

// ---- comparing JSON values (own keys only, so "__proto__" keys count) ----------------------------

function stable(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "undefined";
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
    .join(",")}}`;
}

/** JSON's own view of a value (what any reader of the service's JSON sees). */
const canonical = (text: string): unknown => JSON.parse(JSON.stringify(JSON.parse(text)));

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const MISSING = "<missing>";

function defineOwn(o: Record<string, unknown>, k: string, v: unknown) {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * `stored` cut down to the keys of `sent` (at the top level and in the objects named in
 * `filled`, where the service may add defaults); everything else must be equal as is.
 */
function projection(stored: unknown, sent: unknown, filled: string[] = []): unknown {
  if (!isObj(stored) || !isObj(sent)) return stored;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(sent)) {
    if (!Object.hasOwn(stored, k)) defineOwn(out, k, MISSING);
    else if (filled.includes(k)) defineOwn(out, k, projection(stored[k], sent[k]));
    else defineOwn(out, k, stored[k]);
  }
  return out;
}

function expectContains(stored: unknown, sent: unknown, filled: string[] = [], what = "read back") {
  expect(stable(projection(stored, sent, filled)), what).toBe(stable(sent));
}

// ---- building bodies with a hostile fragment at a path ---------------------------------------

const HOLE = "@@hostile-fragment@@";

/** `template` with JSON text `fragment` at `path` (intermediate objects created as needed). */
function place(template: unknown, path: Path, fragment: string): string {
  const root = structuredClone(template) as Record<string, unknown>;
  let at: Record<string, unknown> = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = String(path[i]);
    if (!Object.hasOwn(at, k) || at[k] === null || typeof at[k] !== "object") defineOwn(at, k, {});
    at = at[k] as Record<string, unknown>;
  }
  defineOwn(at, String(path[path.length - 1]), HOLE);
  const text = JSON.stringify(root);
  const i = text.indexOf(JSON.stringify(HOLE));
  return text.slice(0, i) + fragment + text.slice(i + HOLE.length + 2);
}

function nest(depth: number, kind: "array" | "object" | "mixed", leaf: string): string {
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < depth; i++) {
    const arr = kind === "array" || (kind === "mixed" && i % 2 === 1);
    open.push(arr ? "[" : '{"d":');
    close.push(arr ? "]" : "}");
  }
  return open.join("") + leaf + close.reverse().join("");
}

// ---- hostile fragments ---------------------------------------------------------------------

const WEIRD = [
  "\u{1F600}", "\u{10FFFF}", "\u{1D11E}", "\u202E", "\u202D", "\u200F", "\u061C", "\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF",
  "\u0000", "\u0001", "\u001F", "\u007F", "\u0085", "\u2028", "\u2029", "\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uFFFE", "\uFFFF",
  "e\u0301", "\u05E9\u05DC\u05D5\u05DD", "\u0627\u0644\u0639\u0631\u0628\u064A\u0629", "\\", '"', "/", "%00", "%ED%A0%80", "'; DROP TABLE tasks; --",
  "{", "[", "]", "}", ":", ",", " ", "x",
];
const hostileString = fc.oneof(
  fc.array(fc.constantFrom(...WEIRD), { minLength: 1, maxLength: 8 }).map((a) => a.join("")),
  fc.string({ unit: "binary", maxLength: 12 }),
);
/** JSON text of strings written with escapes (lone surrogates, NUL, an escaped surrogate pair). */
const ESCAPED_STRINGS = ['"\\ud800"', '"\\uDFFF\\uD800"', '"a\\u0000b"', '"\\u0000"', '"\\ud83d\\ude00"', '"\\u202e\\u200b\\ufeff"', '"\\/\\b\\f\\n\\r\\t"'];
const FINITE_NUMBERS = ["1e300", "-1e300", "9007199254740993", "-9007199254740993", "-0", "-0.0", "0e0", "1e-400", "5e-324", "1.7976931348623157e308", "123456789012345678901234567890", "1E+2", "0.1e1"];
const NON_FINITE_NUMBERS = ["1e400", "-1e400", "1.7976931348623159e308", "1" + "0".repeat(399), "-" + "9".repeat(400), "1e99999"];
const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__", ""];

/** Keys, "__proto__" often: every zod object/record drops it from its output, silently. */
const hostileKey = fc.oneof({ arbitrary: fc.constant("__proto__"), weight: 2 }, { arbitrary: fc.constantFrom(...PROTO_KEYS), weight: 2 }, { arbitrary: hostileString, weight: 3 });
const keyText = (k: string) => JSON.stringify(k);

const leafValid = fc.oneof(
  hostileString.map((s) => JSON.stringify(s)),
  fc.constantFrom(...ESCAPED_STRINGS),
  fc.constantFrom(...FINITE_NUMBERS),
  fc.constantFrom("null", "true", "false", "{}", "[]", '""', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"\\u005f_proto__":1}'),
);

const depthKind = fc.constantFrom("array" as const, "object" as const, "mixed" as const);
const shallowDeep = fc.tuple(fc.integer({ min: 1, max: MAX_JSON_DEPTH - 15 }), depthKind, leafValid).map(([d, k, l]) => nest(d, k, l));

/** Well-formed JSON text with finite numbers, nested at most MAX_JSON_DEPTH - 10 deep. */
const validJson: fc.Arbitrary<string> = fc.letrec<{ v: string; o: string; a: string; dup: string }>((tie) => ({
  v: fc.oneof({ depthSize: "small", maxDepth: 3 }, leafValid, leafValid, shallowDeep, tie("o"), tie("a"), tie("dup")),
  o: fc.array(fc.tuple(hostileKey, tie("v")), { maxLength: 4 }).map((es) => `{${es.map(([k, v]) => `${keyText(k)}:${v}`).join(",")}}`),
  a: fc.array(tie("v"), { maxLength: 4 }).map((vs) => `[${vs.join(",")}]`),
  dup: fc.tuple(hostileKey, tie("v"), tie("v")).map(([k, a, b]) => `{${keyText(k)}:${a},${keyText(k)}:${b}}`),
})).v;

/** Something no parser may accept: too deep, a non-finite number, a raw control character, bad syntax. */
const poison = fc.oneof(
  fc.tuple(fc.oneof(fc.integer({ min: MAX_JSON_DEPTH + 1, max: MAX_JSON_DEPTH + 5 }), fc.integer({ min: MAX_JSON_DEPTH + 1, max: 5000 })), depthKind, leafValid).map(([d, k, l]) => nest(d, k, l)),
  fc.constantFrom(...NON_FINITE_NUMBERS),
  hostileString.map((s) => `"${s.replace(/["\\\u0000-\u001f]/g, "")}\u0000raw"`),
  fc.constantFrom("{", "[1,", '{"a"}', "'x'", "NaN", "Infinity", "undefined", "0x10", "01", "+1", ".5", '"\\x41"', '"\\u12"', "[1,]", '{"a":1,}', '"unterminated'),
);
const invalidJson = fc
  .tuple(validJson, poison, fc.nat(3))
  .map(([v, p, how]) => (how === 0 ? p : how === 1 ? `[${v},${p}]` : how === 2 ? `{"ok":${v},"bad":${p}}` : `{"bad":[${p}],"ok":${v}}`));
/** Either kind; the oracle (mustRefuse) decides what the answer must be. */
const anyJson = fc.oneof(validJson, validJson, invalidJson);

/** JSON texts for a field that expects something else. */
const bad = (...values: unknown[]) =>
  fc.constantFrom(...values.map((v) => (typeof v === "string" && v.startsWith("RAW:") ? v.slice(4) : JSON.stringify(v))));
const BAD_ID = ["RAW:5", "RAW:true", "RAW:[]", "RAW:{}", "", ".x", "a/b", "a\tb", "a\nb", "a\u0000b", "a\u0085b", "a\ud800b", "a\u2028b", "a\ufeffb", "a\u3000b", "x".repeat(256)];
const BAD_INT = ["1", 1.5, true, [], {}, "RAW:1e400", "RAW:-1e400"];

// ---- state snapshots -------------------------------------------------------------------------

const SNAPSHOT_SQL = `SELECT
  (SELECT COUNT(*) FROM overlord_terms) AS terms,
  (SELECT COUNT(*) || '/' || TOTAL(active) || '/' || IFNULL(MAX(updated_ms), 0) || '/' || TOTAL(length(payload)) || '/' || TOTAL(length(IFNULL(error_msg, ''))) FROM tasks) AS tasks,
  (SELECT COUNT(*) || '/' || IFNULL(group_concat(task_id || '|' || lock_key || '|' || lock_payload, ','), '') FROM tasklocks) AS tasklocks,
  (SELECT IFNULL(group_concat(name || '=' || payload, ','), '') FROM config) AS config,
  (SELECT COUNT(*) FROM audit) AS audit,
  (SELECT COUNT(*) || '/' || TOTAL(disabled) || '/' || IFNULL(group_concat(host || '=' || disabled, ','), '') FROM workers) AS workers,
  (SELECT COUNT(*) || '/' || TOTAL(length(log)) || '/' || IFNULL(MAX(updated_ms), 0) FROM task_logs) AS task_logs,
  (SELECT COUNT(*) || '/' || TOTAL(length(payload)) || '/' || IFNULL(MAX(updated_ms), 0) FROM task_reports) AS task_reports,
  (SELECT COUNT(*) || '/' || TOTAL(used) || '/' || IFNULL(MAX(used_status_last_updated), '') || '/' || TOTAL(length(payload)) FROM segments) AS segments,
  (SELECT COUNT(*) || '/' || TOTAL(length(payload)) FROM pending_segments) AS pending_segments`;

/** Every D1 table (counts and checksums) and the Overlord's in-memory views. */
async function snapshot(dataSources: string[] = []) {
  const [active, workers, config, locks] = await Promise.all([
    api("GET", "/druid/indexer/v1/tasks?max=0"), // every active task, from memory
    api("GET", "/druid/indexer/v1/workers"),
    api("GET", "/druid/indexer/v1/worker"),
    dataSources.length > 0
      ? api("POST", "/druid/indexer/v1/activeLocks", dataSources.map((datasource) => ({ datasource, priority: -2_000_000_000, context: { taskLockType: "KILL" } })))
      : Promise.resolve(null),
  ]);
  // D1 after the Overlord has answered (its first start writes a term row)
  const db = await rows(SNAPSHOT_SQL);
  return { db: db[0], active: active.text, workers: workers.text, config: config.text, locks: locks?.text ?? null };
}

/** The last refusal checked, named when a refused request turns out to have changed something. */
let lastRefusal = "";

async function expectUnchanged(before: Awaited<ReturnType<typeof snapshot>>, dataSources: string[] = []) {
  const after = await snapshot(dataSources);
  expect(after.db, `D1 tables after: ${lastRefusal}`).toEqual(before.db);
  expect(after.active, "active tasks (GET /tasks)").toBe(before.active);
  // a worker may drop out of the list when its lease lapses (no poll for 45 s); none may appear or change
  const workers = (text: string) => new Map((JSON.parse(text) as Array<{ worker: { host: string } }>).map((w) => [w.worker.host, stable(w)] as [string, string]));
  const was = workers(before.workers);
  for (const [host, w] of workers(after.workers)) expect(was.get(host), `GET /workers: ${host}`).toBe(w);
  expect(after.config, "GET /worker").toBe(before.config);
  expect(after.locks, "activeLocks").toBe(before.locks);
}

/** (a): a 4xx with Druid's error JSON, or the plain-text 400 a route deliberately answers. */
function expectRefused(r: Res, why: string, opts: { plainText?: boolean; statuses?: number[] } = {}) {
  const label = `${why} → ${r.status} ${r.text.slice(0, 300)}`;
  lastRefusal = label;
  if (opts.statuses) expect(opts.statuses, label).toContain(r.status);
  expect(r.status, label).toBeGreaterThanOrEqual(400);
  expect(r.status, label).toBeLessThan(500);
  if (opts.plainText && !(r.headers.get("content-type") ?? "").includes("json")) {
    expect(r.text.length, label).toBeGreaterThan(0);
    return;
  }
  expect(r.json, label).toMatchObject({ error: "druidException", errorCode: expect.any(String), errorMessage: expect.any(String) });
}

function expectOk(r: Res, what: string) {
  expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 300)}`).toBeGreaterThanOrEqual(200);
  expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(300);
}

/** (c): other clients are still served: /status and a fresh valid submit (then shut down). */
async function stillServing(ds: string) {
  expect((await api("GET", "/status")).status, "GET /status").toBe(200);
  const r = await api("POST", "/druid/indexer/v1/task", { type: "noop", dataSource: ds, isReadyResult: "NO" });
  expect(r.status, `fresh submit → ${r.text.slice(0, 200)}`).toBe(200);
  const id = encodeURIComponent(r.json.task);
  expect((await api("GET", `/druid/indexer/v1/task/${id}`)).status).toBe(200);
  expect((await api("POST", `/druid/indexer/v1/task/${id}/shutdown`)).status).toBe(200);
}

const post = (path: string, body: string, headers?: Record<string, string>) => api("POST", path, body, headers);

let idN = 0;
const uniqueId = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${++idN}`;

/** A task id Druid allows that is hostile anyway: RTL, zero-width, astral, URL and SQL characters. */
const hostileTaskId = fc
  .array(fc.constantFrom("\u{1F600}", "\u202E", "\u200F", "\u200B", "\u200D", "e\u0301", "\u05E9", "%", "?", "#", "&", "+", " ", "'", '"', ";", "\\", "..", "_", "x", "<", ">"), { minLength: 1, maxLength: 6 })
  .map((a) => `h${a.join("")}_${Date.now().toString(36)}_${++idN}`);

// ---- task templates: interpreted fields and free places ---------------------------------------

const TOP_KEYS = new Set(["type", "id", "groupId", "dataSource", "context", "resource", "runTime", "isReadyTime", "isReadyResult", "spec", "interval", "ioConfig"]);
const CONTEXT_KEYS = new Set(["priority", "taskLockType", "useSharedLock", "useConcurrentLocks"]);
const freeTopKey = hostileKey.filter((k) => !TOP_KEYS.has(k));
const freeContextKey = hostileKey.filter((k) => !CONTEXT_KEYS.has(k));

type TaskKind = "noop" | "index_parallel";
function taskTemplate(kind: TaskKind, ds: string, id?: string): Record<string, unknown> {
  const t = kind === "noop" ? { type: "noop", dataSource: ds, context: { note: "x" } } : indexTask(ds, ["2024-01-01/2024-01-02"], { context: {} });
  return id === undefined ? t : { ...t, id };
}

/** Places the Overlord does not interpret (kept for the agent as sent). */
const freeTaskPath = (kind: TaskKind): fc.Arbitrary<Path> =>
  kind === "noop"
    ? fc.oneof(freeContextKey.map((k) => ["context", k]), freeTopKey.map((k) => [k]), fc.tuple(freeTopKey, hostileKey).map(([a, b]) => [a, b]))
    : fc.oneof(
        freeContextKey.map((k) => ["context", k]),
        freeTopKey.map((k) => [k]),
        hostileKey.map((k) => ["spec", "tuningConfig", k]),
        hostileKey.filter((k) => k !== "type").map((k) => ["spec", "ioConfig", "inputSource", k]),
        fc.constant<Path>(["spec", "dataSchema", "metricsSpec"]),
        hostileKey.map((k) => ["spec", "dataSchema", "transformSpec", k]),
      );

/** Interpreted task fields with values of the wrong type or out of range. */
const TASK_FIELD_CASES: Array<{ kind: TaskKind | "kill" | "compact"; path: Path; values: fc.Arbitrary<string> }> = [
  { kind: "noop", path: ["type"], values: bad(5, null, "", "NOOP", "hadoop", "noop ", "noop\u0000", ["noop"], { noop: 1 }, true) },
  { kind: "noop", path: ["id"], values: bad(...BAD_ID) },
  { kind: "noop", path: ["groupId"], values: bad(...BAD_ID) },
  { kind: "noop", path: ["dataSource"], values: bad(...BAD_ID) },
  { kind: "noop", path: ["context"], values: bad("x", 5, [], true, [1]) },
  { kind: "noop", path: ["context", "priority"], values: bad(...BAD_INT, 1e300, 2 ** 53 + 1, 1_000_001, -1_000_001) },
  { kind: "noop", path: ["context", "taskLockType"], values: bad("exclusive", "KILL", "", 5, [], "EXCLUSIVE\u0000") },
  { kind: "noop", path: ["context", "useSharedLock"], values: bad("true", 1, [], {}) },
  { kind: "noop", path: ["context", "useConcurrentLocks"], values: bad("true", 1, [], {}) },
  { kind: "noop", path: ["resource"], values: bad("x", 5, [], true) },
  { kind: "noop", path: ["resource", "requiredCapacity"], values: bad(...BAD_INT, 0, -1, 100_001, 1e300) },
  { kind: "noop", path: ["resource", "availabilityGroup"], values: bad("", 5, "x".repeat(256), []) },
  { kind: "noop", path: ["runTime"], values: bad(...BAD_INT, -1, 1e300, 7 * 24 * 3600 * 1000 + 1, 2 ** 53 + 1) },
  { kind: "noop", path: ["isReadyTime"], values: bad(-1, "0", 0.5, true, "RAW:1e400") },
  { kind: "noop", path: ["isReadyResult"], values: bad("yes", "MAYBE", 1, true, []) },
  { kind: "index_parallel", path: ["spec"], values: bad("x", 5, [], null) },
  { kind: "index_parallel", path: ["spec", "dataSchema"], values: bad("x", null, []) },
  { kind: "index_parallel", path: ["spec", "dataSchema", "dataSource"], values: bad(...BAD_ID, null) },
  { kind: "index_parallel", path: ["spec", "dataSchema", "granularitySpec"], values: bad("x", 5, []) },
  {
    kind: "index_parallel",
    path: ["spec", "dataSchema", "granularitySpec", "intervals"],
    values: bad("2024-01-01/2024-01-02", [5], ["nope"], ["2024-02-01/2024-01-01"], [null], [["2024-01-01/2024-01-02"]], {}, ["x".repeat(201)], Array(10_001).fill("2024-01-01/2024-01-02")),
  },
  { kind: "index_parallel", path: ["spec", "dataSchema", "granularitySpec", "segmentGranularity"], values: bad("fortnight", 5, true, [], { type: "period", period: "P2D" }, { type: 5 }, { type: "period", period: 5 }) },
  { kind: "index_parallel", path: ["spec", "ioConfig"], values: bad("x", 5) },
  { kind: "index_parallel", path: ["spec", "ioConfig", "appendToExisting"], values: bad("true", 1, []) },
  { kind: "index_parallel", path: ["dataSource"], values: bad("other_ds", 5) },
  { kind: "kill", path: ["interval"], values: bad(5, null, "", "nope", "2024-02-01/2024-01-01", [], "x".repeat(201), "2024-01-01/2024-01-02/2024-01-03") },
  { kind: "kill", path: ["dataSource"], values: bad(...BAD_ID, null) },
  { kind: "compact", path: ["ioConfig", "inputSpec", "interval"], values: bad(5, null, "nope", "") },
  { kind: "compact", path: ["ioConfig", "inputSpec"], values: bad("x", 5, null) },
];

function fieldTemplate(kind: TaskKind | "kill" | "compact", ds: string, id: string): Record<string, unknown> {
  if (kind === "kill") return { type: "kill", id, dataSource: ds, interval: "2024-01-01/2024-01-02" };
  if (kind === "compact") return { type: "compact", id, dataSource: ds, ioConfig: { inputSpec: { type: "interval", interval: "2024-01-01/2024-01-02" } } };
  return taskTemplate(kind, ds, id);
}

const wrongTypedTask = (ds: string) =>
  fc.constantFrom(...TASK_FIELD_CASES).chain((c) =>
    c.values.map((value) => {
      const id = uniqueId("wt");
      // the id case replaces the id: look for the task under the template's own id anyway
      return { body: place(fieldTemplate(c.kind, ds, id), c.path, value), id, why: `${c.kind} ${c.path.join(".")} = ${value.slice(0, 60)}` };
    }),
  );

// ---- an agent that takes assignments ---------------------------------------------------------

type Assignment = { task: Record<string, unknown>; credential: string };

let hostN = 0;
/** A simulated agent speaking the poll protocol (agentSim.ts's, over the direct api()). */
function simAgent(capacity = 1000, host = `hostile-sim-${Date.now().toString(36)}-${++hostN}:8091`) {
  let term: number | null = null;
  let counter: { counter: number; hash: number } | null = null;
  const assignments = new Map<string, Assignment>();
  const headers = { ...AGENT, "X-Druid-Worker-Key": `hostile-key-${crypto.randomUUID()}` };
  const poll = async (body: { tasks?: unknown[]; timeoutMs?: number } = {}) => {
    const r = await api(
      "POST",
      "/druid-internal/v1/agent/poll",
      { worker: { host, ip: "127.0.0.1", capacity, version: "0" }, term, counter, timeoutMs: body.timeoutMs ?? 50, full: counter === null, tasks: body.tasks ?? [] },
      headers,
    );
    expect(r.status, `poll → ${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(500);
    if (r.status === 200 && !r.json.resetCounter) {
      term = r.json.term;
      counter = r.json.counter;
    }
    if (r.status === 200 && r.json.resetCounter) counter = null;
    for (const x of (r.json?.requests ?? []) as Array<{ type: string; task?: Record<string, unknown>; credential?: string }>) {
      if (x.type === "assign" && x.task) assignments.set(String(x.task["id"]), { task: x.task, credential: x.credential! });
    }
    return r;
  };
  /** A poll whose `tasks` array is the JSON text given (hostile reports, logs, errors). */
  const pollRaw = async (tasksText: string) => {
    const head = JSON.stringify({ worker: { host, ip: "127.0.0.1", capacity, version: "0" }, term, counter, timeoutMs: 1, full: counter === null });
    return api("POST", "/druid-internal/v1/agent/poll", `${head.slice(0, -1)},"tasks":${tasksText}}`, headers);
  };
  /** Polls until the assignment of `id` has arrived. */
  const take = async (id: string): Promise<Assignment> => {
    for (let i = 0; i < 10 && !assignments.has(id); i++) await poll({ timeoutMs: 1000 });
    const a = assignments.get(id);
    if (!a) throw new Error(`task [${id}] was never assigned to ${host}`);
    return a;
  };
  return { host, headers, poll, pollRaw, take };
}
type Sim = ReturnType<typeof simAgent>;

/** Only `agent` may receive assignments: every other live worker is disabled, pending tasks shut down. */
async function onlyAgent(agent: Sim) {
  const workers = (await api("GET", "/druid/indexer/v1/workers")).json as Array<{ worker: { host: string; disabled: boolean } }>;
  for (const w of workers) if (w.worker.host !== agent.host && !w.worker.disabled) await api("POST", `/druid/indexer/v1/worker/${enc(w.worker.host)}/disable`);
  const pending = (await api("GET", "/druid/indexer/v1/pendingTasks")).json as Array<{ id: string }>;
  for (const t of pending) await api("POST", `/druid/indexer/v1/task/${enc(t.id)}/shutdown`);
  const r = await agent.poll();
  expect(r.status, r.text).toBe(200);
}

/** (b) for a task: GET task, status and lists agree with what was sent, and so does the assignment. */
async function expectTaskReadsBack(id: string, sent: unknown, agent: Sim) {
  const got = await api("GET", `/druid/indexer/v1/task/${enc(id)}`);
  expect(got.status, `GET task → ${got.text.slice(0, 300)}`).toBe(200);
  expect(got.json.task).toBe(id);
  const stored = got.json.payload as Record<string, unknown>;
  expectContains(stored, sent, ["context", "resource"], "GET task/{id} payload ⊇ the task sent");
  const st = await api("GET", `/druid/indexer/v1/task/${enc(id)}/status`);
  expect(st.status, `GET status → ${st.text.slice(0, 300)}`).toBe(200);
  expect(st.json.status).toMatchObject({ id, dataSource: stored["dataSource"] });
  const list = await api("GET", `/druid/indexer/v1/tasks?datasource=${enc(String(stored["dataSource"]))}`);
  expect(list.status).toBe(200);
  expect((list.json as Array<{ id: string }>).map((t) => t.id)).toContain(id);
  const { task } = await agent.take(id);
  expect(stable(task), "assignment delivered to the agent = GET task/{id} payload").toBe(stable(stored));
  await agent.poll({ tasks: [done(id)] });
  expect((await api("GET", `/druid/indexer/v1/task/${enc(id)}/status`)).json.status.statusCode).toBe("SUCCESS");
}

/** A task's log as bytes (Response.text() would drop a leading BOM). */
async function logBytes(id: string): Promise<Uint8Array> {
  const res = await worker.fetch(new Request(`http://druid.test/druid/indexer/v1/task/${enc(id)}/log`, { headers: ADMIN }), testEnv());
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

async function disableWorker(host: string) {
  await api("POST", `/druid/indexer/v1/worker/${enc(host)}/disable`);
}

/** Deep ⊇: every own key of `sent`, at every level, is in `stored` with the same value. */
function subsetView(stored: unknown, sent: unknown): unknown {
  if (Array.isArray(sent) && Array.isArray(stored)) return stored.length === sent.length ? sent.map((v, i) => subsetView(stored[i], v)) : stored;
  if (!isObj(sent) || !isObj(stored)) return stored;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(sent)) defineOwn(out, k, Object.hasOwn(stored, k) ? subsetView(stored[k], sent[k]) : MISSING);
  return out;
}
function expectDeepContains(stored: unknown, sent: unknown, what: string) {
  expect(stable(subsetView(stored, sent)), what).toBe(stable(sent));
}

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const wellFormed = (s: string) => !LONE.test(s);

/** A path segment: hostile text percent-encoded, or malformed/odd percent-encodings as such. */
const hostileSegment = fc.oneof(
  hostileString.filter(wellFormed).map(enc),
  fc.constantFrom("%ED%A0%80", "%00", "%", "%zz", "%2F", "..", "%2e%2e", "a%2Fb", "x".repeat(300), "%F0%9F%98%80", "%C0%AF", "%FF", "%E2%80%AE", "%EF%BB%BF"),
);

/** A JSON text object from (key, value text) entries (duplicate and "__proto__" keys kept as written). */
const objText = (entries: Array<[string, string]>) => `{${entries.map(([k, v]) => `${keyText(k)}:${v}`).join(",")}}`;

// ==============================================================================================

describe("hostile task submissions (POST /druid/indexer/v1/task, /tasks)", () => {
  const ds = uniqueDs("hostile_task");
  const agent = simAgent();
  beforeAll(() => onlyAgent(agent));
  afterAll(() => disableWorker(agent.host));

  it("(a)+(b) hostile JSON at free places: refused untouched, or stored and delivered as sent", { timeout: TIMEOUT }, async () => {
    const seen = { refused: 0, accepted: 0 };
    // an interpreted key written twice: the last one counts (JSON.parse, and Jackson by default)
    const dup = fc.option(fc.tuple(fc.constantFrom('"type":"hadoop"', '"id":5', '"context":"x"', '"dataSource":"a/b"', '"runTime":-1', '"resource":[]'), fc.boolean()), { nil: null });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<TaskKind>("noop", "index_parallel").chain((kind) => fc.record({ kind: fc.constant(kind), path: freeTaskPath(kind), frag: anyJson, id: fc.option(hostileTaskId, { nil: undefined }), dup })), async ({ kind, path, frag, id, dup }) => {
        const taskDs = kind === "index_parallel" ? uniqueDs("hostile_idx") : ds;
        const template = taskTemplate(kind, taskDs, id);
        let body = place(template, path, frag);
        let dupWhy: string | null = null;
        if (dup) {
          const [text, last] = dup;
          const key = text.slice(1, text.indexOf('"', 1));
          body = last ? `${body.slice(0, -1)},${text}}` : `{${text},${body.slice(1)}`;
          // written last, or first without a later one, the wrong value is the value (runTime means nothing to an index task)
          const applies = (last || !Object.hasOwn(template, key)) && !(kind === "index_parallel" && key === "runTime");
          if (applies) dupWhy = `duplicate key, ${text} ${last ? "last" : "alone"}`;
        }
        const why = mustRefuse(body, MAX_BODY) ?? dupWhy;
        const before = why ? await snapshot([taskDs]) : null;
        if (!why) await agent.poll({ timeoutMs: 1 }); // keeps its lease across long runs
        const r = await post("/druid/indexer/v1/task", body);
        if (why) {
          seen.refused++;
          expectRefused(r, why);
          await expectUnchanged(before!, [taskDs]);
        } else {
          seen.accepted++;
          expectOk(r, "hostile but valid task");
          if (id !== undefined) expect(r.json.task).toBe(id);
          await expectTaskReadsBack(r.json.task, canonical(body), agent);
        }
        await stillServing(ds);
      }),
      { numRuns: 50 },
    );
    expect(seen.refused, "the run reached the refused branch").toBeGreaterThan(0);
    expect(seen.accepted, "the run reached the accepted branch").toBeGreaterThan(0);
  });

  it("(a) wrong types at every interpreted field: refused, nothing stored", { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(wrongTypedTask(ds), async ({ body, id, why }) => {
        const before = await snapshot([ds]);
        const r = await post("/druid/indexer/v1/task", body);
        expectRefused(r, why);
        await expectUnchanged(before, [ds]);
        expect((await api("GET", `/druid/indexer/v1/task/${enc(id)}`)).status).toBe(404);
        await stillServing(ds);
      }),
      { numRuns: 40 },
    );
  });

  it("(a)+(b) bodies near and over the size caps (bytes, not characters)", { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          target: fc.oneof(
            fc.integer({ min: MAX_PAYLOAD - 400, max: MAX_PAYLOAD + 100 }),
            fc.integer({ min: MAX_BODY - 100, max: MAX_BODY + 100 }),
            fc.integer({ min: MAX_BODY + 1, max: 3 * MAX_BODY }),
          ),
          unit: fc.constantFrom("x", "é", "\u{1F600}", "\u202E", "\\u0000"),
        }),
        async ({ target, unit }) => {
          const id = uniqueId("size");
          const skeleton = JSON.stringify({ type: "noop", id, dataSource: ds, context: { pad: "" } });
          const unitBytes = unit.startsWith("\\") ? unit.length : utf8(unit);
          const pad = unit.repeat(Math.max(0, Math.floor((target - utf8(skeleton)) / unitBytes)));
          const body = skeleton.replace('"pad":""', `"pad":"${pad}"`);
          const bytes = utf8(body);
          // the payload Druid stores: the task with groupId, resource and context defaults filled in
          const sent = JSON.parse(body) as { context: Record<string, unknown> };
          const stored = { ...sent, groupId: id, resource: { availabilityGroup: id, requiredCapacity: 1 }, context: { ...sent.context, forceTimeChunkLock: true, useLineageBasedSegmentAllocation: true } };
          const payloadBytes = utf8(JSON.stringify(stored));
          const before = await snapshot([ds]);
          const r = await post("/druid/indexer/v1/task", body);
          if (bytes > MAX_BODY) {
            expectRefused(r, `${bytes} bytes`, { statuses: [413] });
            expect(r.json.errorCode).toBe("requestTooLarge");
          } else if (payloadBytes > MAX_PAYLOAD) {
            expectRefused(r, `${bytes} bytes, a payload of ${payloadBytes}`, { statuses: [400] });
            expect(r.json.errorMessage).toContain(`[${payloadBytes}] bytes`);
          } else {
            expectOk(r, `${bytes} bytes`);
            const got = await api("GET", `/druid/indexer/v1/task/${enc(id)}`);
            expect(got.json.payload.context.pad).toBe(JSON.parse(body).context.pad);
            await api("POST", `/druid/indexer/v1/task/${enc(id)}/shutdown`);
            return;
          }
          await expectUnchanged(before, [ds]);
          await stillServing(ds);
        },
      ),
      { numRuns: 12 },
    );
  });

  it("(a)+(b) bulk: one hostile task refuses the whole batch; an accepted batch reads back whole", { timeout: TIMEOUT }, async () => {
    const seen = { refused: 0, accepted: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 1, max: 4 }),
          at: fc.nat(),
          wrapped: fc.boolean(),
          path: freeTaskPath("noop"),
          frag: fc.oneof({ arbitrary: validJson, weight: 3 }, { arbitrary: invalidJson, weight: 1 }),
          wrong: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: wrongTypedTask(ds), weight: 1 }),
        }),
        async ({ n, at, wrapped, path, frag, wrong }) => {
          const ids = Array.from({ length: n }, () => uniqueId("bulk"));
          const texts = ids.map((id) => JSON.stringify(taskTemplate("noop", ds, id)));
          const k = at % n;
          texts[k] = wrong ? wrong.body : place(taskTemplate("noop", ds, ids[k]), path, frag);
          if (wrong) ids[k] = wrong.id;
          const list = `[${texts.join(",")}]`;
          const body = wrapped ? `{"tasks":${list}}` : list;
          const why = wrong ? wrong.why : mustRefuse(body, 16 * MAX_BODY);
          const before = why ? await snapshot([ds]) : null;
          const r = await post("/druid/indexer/v1/tasks", body);
          if (why) {
            seen.refused++;
            expectRefused(r, why);
            await expectUnchanged(before!, [ds]);
            for (const id of ids) expect((await api("GET", `/druid/indexer/v1/task/${enc(id)}`)).status, `task ${id} of a refused batch`).toBe(404);
          } else {
            seen.accepted++;
            expectOk(r, "hostile but valid batch");
            expect(r.json.tasks).toEqual(ids);
            const sent = JSON.parse(list) as unknown[];
            for (let i = 0; i < n; i++) await expectTaskReadsBack(ids[i]!, JSON.parse(JSON.stringify(sent[i])), agent);
          }
          await stillServing(ds);
        },
      ),
      { numRuns: 25 },
    );
    expect(seen.refused, "the run reached the refused branch").toBeGreaterThan(0);
    expect(seen.accepted, "the run reached the accepted branch").toBeGreaterThan(0);
  });

  it("(a) bulk envelopes of the wrong shape are refused", { timeout: TIMEOUT }, async () => {
    const one = JSON.stringify(taskTemplate("noop", ds));
    await fc.assert(
      fc.asyncProperty(
        bad({}, { tasks: [] }, [], "x", 5, null, { tasks: "x" }, { tasks: {} }, { tasks: null }, { task: [] }, [null], [5], [[]]).map((b) => ({ body: b, why: `envelope ${b}` })),
        async ({ body, why }) => {
          const before = await snapshot([ds]);
          expectRefused(await post("/druid/indexer/v1/tasks", body), why);
          await expectUnchanged(before, [ds]);
          await stillServing(ds);
        },
      ),
      { numRuns: 13 },
    );
    // more tasks than DRUID_MAX_BULK_TASKS (10,000)
    const before = await snapshot([ds]);
    expectRefused(await post("/druid/indexer/v1/tasks", `[${Array(10_001).fill(one).join(",")}]`), "10,001 tasks");
    await expectUnchanged(before, [ds]);
  });
});

describe("hostile bodies for taskStatus, lock filters, shutdown and shutdownAllTasks", () => {
  const ds = uniqueDs("hostile_ctl");
  let known = "";
  /** A task whose id has "\ufffd\ufffd\ufffd", what D1 makes of a lone surrogate: "\ud800" must not find it. */
  const replacement = uniqueId("hostile_\ufffd\ufffd\ufffd_id");
  beforeAll(async () => {
    // an index task that holds a lock on ds (no enabled worker takes it)
    const r = await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-01-01/2024-01-02"]));
    expect(r.status).toBe(200);
    known = r.json.task;
    expect((await api("POST", "/druid/indexer/v1/task", { type: "noop", id: replacement, dataSource: ds, isReadyResult: "NO" })).status).toBe(200);
    await api("POST", `/druid/indexer/v1/task/${enc(replacement)}/shutdown`);
  });
  afterAll(() => api("POST", `/druid/indexer/v1/task/${enc(known)}/shutdown`));

  it("POST /taskStatus: (a) refused untouched or (b) answered for the ids given", { timeout: TIMEOUT }, async () => {
    const lookalike = () => JSON.stringify(replacement).replace("\ufffd\ufffd\ufffd", "\\ud800"); // the same id, a lone surrogate for the three U+FFFD
    const idElem = fc.oneof(hostileString.filter((x) => x.length >= 1 && x.length <= 255).map((x) => JSON.stringify(x)), fc.constant('"@known@"'), fc.constant('"@lookalike@"'), fc.constantFrom(...ESCAPED_STRINGS));
    const body = fc.oneof(
      fc.array(idElem, { minLength: 1, maxLength: 5 }).map((a) => `[${a.join(",")}]`),
      fc.tuple(fc.array(idElem, { maxLength: 3 }), anyJson, fc.nat()).map(([a, f, at]) => {
        const b = [...a];
        b.splice(at % (a.length + 1), 0, f);
        return `[${b.join(",")}]`;
      }),
      anyJson,
      bad([5], [""], ["x".repeat(256)], {}, "x", null, [null], [["a"]], { ids: ["a"] }, Array(10_001).fill("a"), []),
    );
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const text = raw.split('"@known@"').join(JSON.stringify(known)).split('"@lookalike@"').join(lookalike());
        const before = await snapshot([ds]);
        const r = await post("/druid/indexer/v1/taskStatus", text);
        const why = mustRefuse(text, MAX_BODY);
        const v = why ? null : (JSON.parse(text) as unknown);
        if (why) expectRefused(r, why);
        else if (Array.isArray(v) && v.length === 0) expectRefused(r, "[]", { plainText: true, statuses: [400] });
        else if (Array.isArray(v) && v.length <= 10_000 && v.every((x) => typeof x === "string" && x.length >= 1 && x.length <= 255)) {
          expectOk(r, "task ids");
          for (const k of Object.keys(r.json)) expect(v, `answered for [${JSON.stringify(k)}], not asked for`).toContain(k);
          if (v.includes(known)) expect(r.json[known]).toMatchObject({ id: known, status: "RUNNING" });
        } else expectRefused(r, "not a list of ids");
        await expectUnchanged(before, [ds]);
        await stillServing(ds);
      }),
      { numRuns: 30 },
    );
  });

  it("POST /lockedIntervals/v2 and /activeLocks: (a) refused untouched or (b) the same answer as without the hostile part", { timeout: TIMEOUT }, async () => {
    const LOCK_KEYS = new Set(["useConcurrentLocks", "taskLockType"]);
    const filter = (datasource: string) => ({ datasource, priority: 0, intervals: ["2023-12-31/2024-01-05"], context: { note: "x" } });
    const wrong: Array<{ path: Path; values: fc.Arbitrary<string> }> = [
      { path: [0, "datasource"], values: bad(5, "", "x".repeat(256), null, [], {}) },
      { path: [0, "priority"], values: bad(1.5, "0", true, "RAW:1e400", [], {}) },
      { path: [0, "intervals"], values: bad("2024-01-01/2024-01-02", [5], ["nope"], ["2024-02-01/2024-01-01"], [null], {}, Array(1001).fill("2024-01-01/2024-01-02"), ["x".repeat(201)], ["2024-01-01T00:00+25:00/2024-01-02"]) },
      { path: [0, "context"], values: bad("x", 5, [], true) },
      { path: [0, "dataSource"], values: bad("x") },
    ];
    const req = fc.record({
      endpoint: fc.constantFrom("/druid/indexer/v1/lockedIntervals/v2", "/druid/indexer/v1/activeLocks"),
      c: fc.oneof(
        fc.record({ kind: fc.constant("free" as const), key: hostileKey.filter((k) => !LOCK_KEYS.has(k)), frag: anyJson, datasource: fc.oneof(fc.constant("@ds@"), hostileString.filter((x) => x.length >= 1 && x.length <= 255)) }),
        fc.constantFrom(...wrong).chain((w) => w.values.map((value) => ({ kind: "wrong" as const, path: w.path, value }))),
        bad({}, "x", 5, [5], [null], Array(1001).fill({ datasource: "x" })).map((body) => ({ kind: "body" as const, body })),
      ),
    });
    await fc.assert(
      fc.asyncProperty(req, async ({ endpoint, c }) => {
        let text: string;
        let plain: string | null = null;
        if (c.kind === "free") {
          const name = c.datasource === "@ds@" ? ds : c.datasource;
          text = place([filter(name)], [0, "context", c.key], c.frag);
          plain = JSON.stringify([filter(name)]);
        } else text = c.kind === "wrong" ? place([filter(ds)], c.path, c.value) : c.body;
        const why = c.kind === "free" ? mustRefuse(text, MAX_BODY) : `${c.kind} ${"path" in c ? c.path.join(".") : ""} ${"value" in c ? c.value.slice(0, 40) : c.kind === "body" ? c.body.slice(0, 40) : ""}`;
        const before = await snapshot([ds]);
        const r = await post(endpoint, text);
        if (why) expectRefused(r, why);
        else {
          expectOk(r, "lock filter with a hostile context");
          const same = await post(endpoint, plain!);
          expect(r.text, "hostile context keys change nothing").toBe(same.text);
          if (text.includes(JSON.stringify(ds))) expect(r.text).toContain("2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z");
        }
        await expectUnchanged(before, [ds]);
        await stillServing(ds);
      }),
      { numRuns: 30 },
    );
  });

  it("POST /task/{id}/shutdown: hostile ids and bodies never 5xx; unknown ids change nothing; a real task is shut down", { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(hostileSegment, anyJson, fc.boolean(), async (seg, body, real) => {
        if (real) {
          const t = await api("POST", "/druid/indexer/v1/task", { type: "noop", dataSource: ds, isReadyResult: "NO" });
          const r = await post(`/druid/indexer/v1/task/${enc(t.json.task)}/shutdown`, body);
          expect(r.status, r.text).toBe(200);
          expect(r.json).toEqual({ task: t.json.task });
          expect((await api("GET", `/druid/indexer/v1/task/${enc(t.json.task)}/status`)).json.status.statusCode).toBe("FAILED");
          return;
        }
        const before = await snapshot([ds]);
        const r = await post(`/druid/indexer/v1/task/${seg}/shutdown`, body);
        if (r.status === 200) expect(r.json).toEqual({ task: decodeURIComponent(seg) });
        else expectRefused(r, `id ${seg}`);
        await expectUnchanged(before, [ds]);
        await stillServing(ds);
      }),
      { numRuns: 30 },
    );
  });

  it("POST /datasources/{ds}/shutdownAllTasks: hostile names and bodies never 5xx; unknown ones change nothing", { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(hostileSegment, anyJson, fc.boolean(), async (seg, body, real) => {
        if (real) {
          const own = uniqueDs("hostile_all");
          const t = await api("POST", "/druid/indexer/v1/task", { type: "noop", dataSource: own, isReadyResult: "NO" });
          const r = await post(`/druid/indexer/v1/datasources/${enc(own)}/shutdownAllTasks`, body);
          expect(r.status, r.text).toBe(200);
          expect(r.json).toEqual({ dataSource: own });
          expect((await api("GET", `/druid/indexer/v1/task/${enc(t.json.task)}/status`)).json.status.statusCode).toBe("FAILED");
          return;
        }
        const before = await snapshot([ds]);
        const r = await post(`/druid/indexer/v1/datasources/${seg}/shutdownAllTasks`, body);
        // Druid answers 404 with an empty body when nothing is active
        if (r.status === 404 && r.text === "") expect(r.status).toBe(404);
        else expectRefused(r, `dataSource ${seg}`);
        await expectUnchanged(before, [ds]);
        await stillServing(ds);
      }),
      { numRuns: 30 },
    );
  });
});

describe("hostile worker config and enable/disable (POST /worker, /worker/{host}/enable|disable)", () => {
  const ds = uniqueDs("hostile_wk");
  const DEFAULT = { type: "default", selectStrategy: { type: "equalDistribution" } };
  afterAll(() => api("POST", "/druid/indexer/v1/worker", DEFAULT));

  const strArr = fc.array(hostileString.map((x) => JSON.stringify(x)), { maxLength: 3 }).map((a) => `[${a.join(",")}]`);
  const record = (value: fc.Arbitrary<string>) => fc.array(fc.tuple(hostileKey, value), { maxLength: 3 }).map(objText);
  const validConfig = fc
    .record({
      type: fc.constantFrom("equalDistribution", "fillCapacity", "equalDistributionWithAffinity", "fillCapacityWithAffinity", "equalDistributionWithCategorySpec", "fillCapacityWithCategorySpec"),
      affinity: fc.option(fc.tuple(record(strArr), fc.boolean())),
      limits: fc.option(fc.tuple(record(fc.nat(1000).map(String)), record(fc.constantFrom("0", "0.5", "1", "-0", "1e-300")))),
      category: fc.option(
        fc.tuple(
          fc.boolean(),
          record(fc.tuple(fc.option(hostileString), record(hostileString.map((x) => JSON.stringify(x)))).map(([d, a]) => `{"defaultCategory":${JSON.stringify(d)},"categoryAffinity":${a}}`)),
        ),
      ),
    })
    .map(({ type, affinity, limits, category }) => {
      const parts = [`"type":${JSON.stringify(type)}`];
      if (affinity) parts.push(`"affinityConfig":{"affinity":${affinity[0]},"strong":${affinity[1]}}`);
      if (limits) parts.push(`"taskLimits":{"maxSlotCountByType":${limits[0]},"maxSlotRatioByType":${limits[1]}}`);
      if (category && type.endsWith("CategorySpec")) parts.push(`"workerCategorySpec":{"strong":${category[0]},"categoryMap":${category[1]}}`);
      return `{"type":"default","selectStrategy":{${parts.join(",")}}}`;
    });
  const template = {
    type: "default",
    selectStrategy: { type: "fillCapacityWithAffinity", affinityConfig: { affinity: { ds: ["h1"] }, strong: false }, taskLimits: { maxSlotCountByType: { noop: 5 }, maxSlotRatioByType: { noop: 0.5 } } },
  };
  const WRONG: Array<{ path: Path; values: fc.Arbitrary<string> }> = [
    { path: ["type"], values: bad("fill", 5, null, "") },
    { path: ["selectStrategy"], values: bad(5, "x", { type: "roundRobin" }, {}, []) },
    { path: ["selectStrategy", "type"], values: bad("roundRobin", 5, "FILLCAPACITY", null) },
    { path: ["selectStrategy", "affinityConfig"], values: bad("x", 5, []) },
    { path: ["selectStrategy", "affinityConfig", "strong"], values: bad("true", 1) },
    { path: ["selectStrategy", "affinityConfig", "affinity"], values: bad("x", [], { ds: "h1" }, { ds: [5] }, { ds: null }) },
    { path: ["selectStrategy", "taskLimits", "maxSlotCountByType"], values: bad({ noop: -1 }, { noop: 1.5 }, { noop: "1" }, "RAW:{\"noop\":1e400}", []) },
    { path: ["selectStrategy", "taskLimits", "maxSlotRatioByType"], values: bad({ noop: 1.5 }, { noop: -0.1 }, { noop: "0.5" }, "RAW:{\"noop\":1e400}") },
    { path: ["selectStrategy", "workerCategorySpec"], values: bad({}) },
    { path: ["selectStrategy", "extra"], values: bad(1) },
    { path: ["autoScaler"], values: bad({}, 5, "x") },
    { path: ["extra"], values: bad(1) },
  ];
  const configCase = fc.oneof(
    { arbitrary: validConfig.map((text) => ({ kind: "valid" as const, text })), weight: 3 },
    fc.tuple(fc.constantFrom<Path>(["extra"], ["selectStrategy", "affinityConfig", "affinity", "ds"], ["selectStrategy", "taskLimits", "maxSlotCountByType"], ["selectStrategy", "type"]), invalidJson).map(([path, frag]) => ({ kind: "poison" as const, text: place(template, path, frag) })),
    fc.constantFrom(...WRONG).chain((w) => w.values.map((v) => ({ kind: "wrong" as const, text: place(template, w.path, v) }))),
  );

  it("(a) refused untouched, or (b) stored, served by GET /worker and audited as sent", { timeout: TIMEOUT }, async () => {
    const seen = { refused: 0, accepted: 0 };
    await fc.assert(
      fc.asyncProperty(configCase, async ({ kind, text }) => {
        const why = mustRefuse(text, MAX_BODY) ?? (kind === "valid" ? null : `${kind} ${text.slice(0, 120)}`);
        const before = await snapshot();
        const r = await post("/druid/indexer/v1/worker", text);
        if (why) {
          seen.refused++;
          expectRefused(r, why);
          await expectUnchanged(before);
        } else {
          seen.accepted++;
          expectOk(r, "hostile but valid worker config");
          const got = await api("GET", "/druid/indexer/v1/worker");
          expect(got.status).toBe(200);
          expectDeepContains(got.json, canonical(text), "GET /worker ⊇ the config sent");
          const [row] = await rows<{ payload: string }>("SELECT payload FROM config WHERE name = 'worker.config'");
          expect(stable(JSON.parse(row!.payload)), "D1 config row = GET /worker").toBe(stable(got.json));
          const history = await api("GET", "/druid/indexer/v1/worker/history?count=1");
          expect(history.status).toBe(200);
          expect(stable(JSON.parse(history.json[0].payload)), "audit entry = GET /worker").toBe(stable(got.json));
          expectOk(await api("POST", "/druid/indexer/v1/worker", DEFAULT), "restoring the default config");
        }
        await stillServing(ds);
      }),
      { numRuns: 30 },
    );
    expect(seen.refused, "the run reached the refused branch").toBeGreaterThan(0);
    expect(seen.accepted, "the run reached the accepted branch").toBeGreaterThan(0);
  });

  it("enable/disable: known hosts flip (memory and D1 agree), unknown or malformed ones change nothing, bodies are ignored", { timeout: TIMEOUT }, async () => {
    const sims = [simAgent(0, `hostile.w-1_~x${++hostN}:8091`), simAgent(0, `[::${(++hostN).toString(16)}]:8091`)];
    for (const s of sims) expect((await s.poll()).status).toBe(200);
    const disabled = new Map(sims.map((s) => [s.host, false] as [string, boolean]));
    const op = fc.record({
      action: fc.constantFrom("enable", "disable"),
      target: fc.oneof(fc.integer({ min: 0, max: sims.length - 1 }).map((i) => ({ known: sims[i]!.host })), hostileSegment.map((seg) => ({ seg }))),
      body: anyJson,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 5 }), async (ops) => {
        for (const s of sims) await s.poll({ timeoutMs: 1 }); // keep their leases
        for (const o of ops) {
          const seg = "known" in o.target ? enc(o.target.known) : o.target.seg;
          const before = await snapshot();
          const r = await post(`/druid/indexer/v1/worker/${seg}/${o.action}`, o.body);
          if ("known" in o.target) {
            const host = o.target.known;
            expect(r.status, r.text).toBe(200);
            expect(r.json).toEqual({ [host]: o.action === "enable" ? "enabled" : "disabled" });
            disabled.set(host, o.action === "disable");
          } else if (r.status === 500) {
            // Druid's answer for a worker it does not know: 500 {"error": ...}
            expect(Object.keys(r.json ?? {})).toEqual(["error"]);
            await expectUnchanged(before);
          } else {
            expectRefused(r, `host ${seg}`);
            await expectUnchanged(before);
          }
        }
        const workers = (await api("GET", "/druid/indexer/v1/workers")).json as Array<{ worker: { host: string; disabled: boolean } }>;
        for (const [host, d] of disabled) {
          expect(workers.find((w) => w.worker.host === host)?.worker.disabled, `GET /workers ${host}`).toBe(d);
          const [row] = await rows<{ host: string; disabled: number }>("SELECT host, disabled FROM workers WHERE host = ?", host);
          expect(row, `D1 workers row of ${host}`).toEqual({ host, disabled: d ? 1 : 0 });
        }
        await stillServing(ds);
      }),
      { numRuns: 12 },
    );
    for (const s of sims) await disableWorker(s.host);
  });
});

describe("hostile agent polls (POST /druid-internal/v1/agent/poll)", () => {
  const ds = uniqueDs("hostile_poll");
  const agent = simAgent();
  beforeAll(() => onlyAgent(agent));
  afterAll(() => disableWorker(agent.host));

  const newHost = () => `hostile-poller-${Date.now().toString(36)}-${++hostN}:8091`;
  const keyHeaders = () => ({ ...AGENT, "X-Druid-Worker-Key": `hostile-key-${crypto.randomUUID()}` });
  const pollTemplate = (host: string) => ({
    worker: { host, ip: "10.0.0.1", capacity: 0, category: "hostile", version: "1" },
    term: null,
    counter: null,
    timeoutMs: 5,
    full: true,
    tasks: [{ id: "hostile-ghost-task", status: "RUNNING", duration: -1, location: { host: "h", port: 1, tlsPort: -1 } }],
  });
  const POLL_KEYS = { top: new Set(["worker", "term", "counter", "timeoutMs", "full", "tasks"]), worker: new Set(["host", "ip", "capacity", "category", "version", "prefetch"]), task: new Set(["id", "status", "duration", "errorMsg", "location", "log", "reports"]) };
  const freePollPath: fc.Arbitrary<Path> = fc.oneof(
    hostileKey.filter((k) => !POLL_KEYS.top.has(k)).map((k) => [k]),
    hostileKey.filter((k) => !POLL_KEYS.worker.has(k)).map((k) => ["worker", k]),
    hostileKey.filter((k) => !POLL_KEYS.task.has(k)).map((k) => ["tasks", 0, k]),
    hostileKey.map((k) => ["tasks", 0, "reports", k]),
  );
  const WRONG: Array<{ path: Path; values: fc.Arbitrary<string> }> = [
    { path: ["worker"], values: bad(5, "x", [], null) },
    { path: ["worker", "host"], values: bad("", 5, "a b", "a/b", "x".repeat(256), "h\u00f4st:1", "a\u0000:1", "a\ud800:1", null, []) },
    { path: ["worker", "ip"], values: bad(5, "x".repeat(256), [], true) },
    { path: ["worker", "capacity"], values: bad(-1, 1.5, "2", "RAW:1e400", 100_001, null, true) },
    { path: ["worker", "category"], values: bad("", 5, "x".repeat(256), []) },
    { path: ["worker", "version"], values: bad(5, "x".repeat(256), []) },
    { path: ["worker", "prefetch"], values: bad(-1, "1", 1.5, 100_001) },
    { path: ["term"], values: bad("1", 1.5, true, [], {}) },
    { path: ["counter"], values: bad(5, "x", { counter: -1, hash: 0 }, { counter: "0", hash: 0 }, { counter: 0, hash: "x" }, { counter: 0 }, []) },
    { path: ["timeoutMs"], values: bad(0, -1, 600_001, "50", 1.5, "RAW:1e400") },
    { path: ["full"], values: bad("true", 1, [], null) },
    { path: ["tasks"], values: bad("x", 5, {}, [5], [null]) },
    { path: ["tasks", 0, "id"], values: bad("", 5, "x".repeat(256), null) },
    { path: ["tasks", 0, "status"], values: bad("DONE", "running", 5, null, "") },
    { path: ["tasks", 0, "duration"], values: bad(1.5, "1", true) },
    { path: ["tasks", 0, "errorMsg"], values: bad(5, [], {}, "x".repeat(100_001)) },
    { path: ["tasks", 0, "location"], values: bad("x", 5, { host: 5, port: 1, tlsPort: 1 }, { host: "h", port: "1", tlsPort: 1 }, { host: "h", port: 1.5, tlsPort: 1 }, { host: "h" }) },
    { path: ["tasks", 0, "log"], values: bad(5, [], {}) },
    { path: ["tasks", 0, "reports"], values: bad("x", 5, [], true) },
  ];

  it("(a)+(b) hostile JSON at free places and wrong types at every field: refused untouched, or the worker registered as sent", { timeout: TIMEOUT }, async () => {
    const req = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant("free" as const), path: freePollPath, frag: anyJson }), weight: 3 },
      fc.constantFrom(...WRONG).chain((w) => w.values.map((value) => ({ kind: "wrong" as const, path: w.path, value }))),
      fc.constantFrom("short", "has space in it but is long enough!!", "x".repeat(257), "semicolon;is-not-a-key-character-0000000").map((key) => ({ kind: "key" as const, key })),
    );
    const seen = { refused: 0, accepted: 0 };
    await fc.assert(
      fc.asyncProperty(req, async (c) => {
        const host = newHost();
        const text = c.kind === "free" ? place(pollTemplate(host), c.path, c.frag) : c.kind === "wrong" ? place(pollTemplate(host), c.path, c.value) : JSON.stringify(pollTemplate(host));
        const headers = c.kind === "key" ? { ...AGENT, "X-Druid-Worker-Key": c.key } : keyHeaders();
        const why = c.kind === "free" ? mustRefuse(text, 8 * MAX_BODY) : c.kind === "wrong" ? `${c.path.join(".")} = ${c.value.slice(0, 40)}` : `worker key ${c.key}`;
        const before = why ? await snapshot() : null;
        const r = await api("POST", "/druid-internal/v1/agent/poll", text, headers);
        if (why) {
          seen.refused++;
          expectRefused(r, why);
          await expectUnchanged(before!);
          expect(await rows("SELECT host FROM workers WHERE host = ?", host)).toEqual([]);
        } else {
          seen.accepted++;
          expectOk(r, "hostile but valid poll");
          const w = ((await api("GET", "/druid/indexer/v1/workers")).json as Array<{ worker: Record<string, unknown> }>).find((x) => x.worker["host"] === host);
          expect(w?.worker, "the worker as registered").toMatchObject({ host, ip: "10.0.0.1", capacity: 0, category: "hostile", version: "1" });
          expect(await rows("SELECT host FROM workers WHERE host = ?", host)).toEqual([{ host }]);
        }
        await stillServing(ds);
      }),
      { numRuns: 40 },
    );
    expect(seen.refused, "the run reached the refused branch").toBeGreaterThan(0);
    expect(seen.accepted, "the run reached the accepted branch").toBeGreaterThan(0);
  });

  it("(a)+(b) hostile reports, logs, errors and locations of a task: refused untouched, or read back as sent", { timeout: TIMEOUT }, async () => {
    const reportsText = fc.oneof(
      fc.array(fc.tuple(hostileKey, anyJson), { maxLength: 4 }).map(objText),
      fc.array(fc.tuple(hostileKey, validJson), { maxLength: 4 }).map(objText),
    );
    const report = fc.record({
      status: fc.constantFrom("SUCCESS", "FAILED"),
      errorMsg: fc.option(fc.oneof(hostileString, fc.string({ unit: "binary", minLength: 1000, maxLength: 1100 }))),
      log: fc.option(hostileString),
      location: fc.option(fc.record({ host: fc.option(hostileString.filter((x) => x.length <= 255)), port: fc.integer({ min: -1, max: 65535 }), tlsPort: fc.integer({ min: -1, max: 65535 }) })),
      reports: fc.option(reportsText),
      duration: fc.oneof(fc.integer(), fc.constantFrom(2 ** 53 + 1, -0, 0)),
    });
    const seen = { refused: 0, accepted: 0 };
    await fc.assert(
      fc.asyncProperty(report, async (rep) => {
        const sub = await api("POST", "/druid/indexer/v1/task", { type: "noop", dataSource: ds });
        const id = sub.json.task as string;
        await agent.take(id);
        const fields = [`"id":${JSON.stringify(id)}`, `"status":"${rep.status}"`, `"duration":${JSON.stringify(rep.duration)}`];
        if (rep.errorMsg !== null) fields.push(`"errorMsg":${JSON.stringify(rep.errorMsg)}`);
        if (rep.log !== null) fields.push(`"log":${JSON.stringify(rep.log)}`);
        if (rep.location !== null) fields.push(`"location":${JSON.stringify(rep.location)}`);
        if (rep.reports !== null) fields.push(`"reports":${rep.reports}`);
        const tasksText = `[{${fields.join(",")}}]`;
        // durations are Java longs, taken as JavaScript safe integers (2^53 + 1 is refused)
        const why = mustRefuse(tasksText, 8 * MAX_BODY) ?? (Number.isSafeInteger(rep.duration) ? null : `duration ${rep.duration}`);
        const before = why ? await snapshot([ds]) : null;
        const r = await agent.pollRaw(tasksText);
        if (why) {
          seen.refused++;
          expectRefused(r, why);
          await expectUnchanged(before!, [ds]);
          await agent.poll({ tasks: [done(id)] });
        } else {
          seen.accepted++;
          expectOk(r, "hostile but valid final report");
          const fixed = (x: string) => x.replace(new RegExp(LONE.source, "g"), "\ufffd"); // deliberate: D1 text must be well-formed
          const st = await api("GET", `/druid/indexer/v1/task/${enc(id)}/status`);
          expect(st.status).toBe(200);
          expect(st.json.status.statusCode).toBe(rep.status);
          const msg = rep.errorMsg === null ? null : fixed(rep.errorMsg);
          expect(st.json.status.errorMsg, "errorMsg read back").toBe(msg === null ? null : msg.length > 1024 ? msg.slice(0, 1021) + "..." : msg);
          if (rep.location) expect(st.json.status.location, "location read back").toEqual(rep.location);
          expect(st.json.status.duration).toBe(Object.is(rep.duration, -0) ? 0 : rep.duration);
          if (rep.log !== null) expect(await logBytes(id), "log read back (bytes)").toEqual(new TextEncoder().encode(fixed(rep.log)));
          if (rep.reports !== null) {
            const got = await api("GET", `/druid/indexer/v1/task/${enc(id)}/reports`);
            expect(got.status, got.text.slice(0, 200)).toBe(200);
            expect(stable(got.json), "reports read back").toBe(stable(canonical(rep.reports)));
          }
        }
        await stillServing(ds);
      }),
      { numRuns: 40 },
    );
    expect(seen.refused, "the run reached the refused branch").toBeGreaterThan(0);
    expect(seen.accepted, "the run reached the accepted branch").toBeGreaterThan(0);
  });

  it("(a)+(b) polls near and over the caps: reports of 1M characters, logs of 4M, bodies of 8 MiB", { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          field: fc.constantFrom("reports" as const, "log" as const, "body" as const),
          delta: fc.oneof(fc.integer({ min: -200, max: -50 }), fc.integer({ min: 1, max: 200 })),
          unit: fc.constantFrom("x", "\u00e9", "\u{1F600}"),
        }),
        async ({ field, delta, unit }) => {
          const sub = await api("POST", "/druid/indexer/v1/task", { type: "noop", dataSource: ds });
          const id = sub.json.task as string;
          await agent.take(id);
          const u = unit.length; // UTF-16 units per character
          let tasksText: string;
          let over: boolean;
          let expected: string;
          if (field === "reports") {
            const skeleton = JSON.stringify({ pad: "" }).length;
            const pad = unit.repeat(Math.floor((1024 * 1024 + delta - skeleton) / u));
            expected = JSON.stringify({ pad });
            over = expected.length > 1024 * 1024;
            tasksText = `[{"id":${JSON.stringify(id)},"status":"SUCCESS","duration":1,"reports":${expected}}]`;
          } else if (field === "log") {
            // around the 1M characters kept (in any unit), or around the 4M accepted (in ASCII)
            const long = delta % 2 === 0;
            const log = long ? "x".repeat(4 * 1024 * 1024 + delta) : unit.repeat(Math.floor((1024 * 1024 + delta) / u));
            const tail = log.length > 1024 * 1024 ? log.slice(log.length - 1024 * 1024) : log;
            expected = tail.replace(new RegExp(LONE.source, "g"), "\ufffd"); // a tail cut inside a pair starts with U+FFFD
            over = log.length > 4 * 1024 * 1024;
            tasksText = `[{"id":${JSON.stringify(id)},"status":"SUCCESS","duration":1,"log":${JSON.stringify(log)}}]`;
          } else {
            // a body over 8 MiB in bytes (a log within its character limit, in multi-byte characters)
            const log = "\u{1F600}".repeat(Math.floor((8 * MAX_BODY + Math.abs(delta) * 4) / 4));
            expected = "";
            over = true;
            tasksText = `[{"id":${JSON.stringify(id)},"status":"SUCCESS","duration":1,"log":${JSON.stringify(log)}}]`;
          }
          const before = over ? await snapshot([ds]) : null;
          const r = await agent.pollRaw(tasksText);
          if (over) {
            expectRefused(r, `${field} over its cap`, field === "body" ? { statuses: [413] } : {});
            await expectUnchanged(before!, [ds]);
            await agent.poll({ tasks: [done(id)] });
          } else {
            expectOk(r, `${field} within its cap`);
            if (field === "reports") expect((await api("GET", `/druid/indexer/v1/task/${enc(id)}/reports`)).text).toBe(expected);
            else {
              const got = await logBytes(id);
              const want = new TextEncoder().encode(expected);
              expect(got.length).toBe(want.length);
              expect(got.every((b, i) => b === want[i]), "the log's last 1M characters").toBe(true);
            }
          }
          await stillServing(ds);
        },
      ),
      { numRuns: 8 },
    );
  });
});

describe("hostile segment marking, task actions and deep-storage writes", () => {
  const ds = uniqueDs("hostile_seg");
  const agent = simAgent();
  const DAYS = 7;
  const day = (i: number) => new Date(Date.UTC(2024, 2, 1 + i)).toISOString();
  const WEEK = `${day(0)}/${day(DAYS)}`;
  let taskId = "";
  let credential = "";
  const ds2 = uniqueDs("hostile_seg2");
  let task2 = "";
  let version = "";
  const ids: string[] = [];
  const segment = (i: number, v = version) => ({
    dataSource: ds,
    interval: `${day(i)}/${day(i + 1)}`,
    version: v,
    loadSpec: { type: "r2", key: `segments/${ds}/${i}.parquet` },
    dimensions: "page,user",
    metrics: "count",
    shardSpec: { type: "numbered", partitionNum: 0, partitions: 1 },
    binaryVersion: 9,
    size: 10,
    totalRows: 5,
  });
  const actHeaders = (cred = credential) => ({ ...AGENT, "X-Druid-Task-Credential": cred });
  const act = (body: string, cred = credential) => api("POST", "/druid/indexer/v1/action", body, actHeaders(cred));
  const envelope = (action: unknown) => JSON.stringify({ task: { id: taskId, type: "index_parallel" }, action });

  beforeAll(async () => {
    await onlyAgent(agent);
    const r = await api("POST", "/druid/indexer/v1/task", indexTask(ds, [WEEK]));
    expect(r.status, r.text).toBe(200);
    taskId = r.json.task;
    credential = (await agent.take(taskId)).credential;
    await agent.poll({ tasks: [running(taskId, "hostile-sim")] });
    const locks = await act(envelope({ type: "lockList" }));
    expect(locks.status, locks.text).toBe(200);
    version = locks.json.result[0].version;
    const pub = await act(envelope({ type: "segmentTransactionalInsert", segments: Array.from({ length: DAYS }, (_, i) => segment(i)) }));
    expect(pub.json?.result?.success, pub.text).toBe(true);
    for (let i = 0; i < DAYS; i++) ids.push(`${ds}_${day(i)}_${day(i + 1)}_${version}`);
    // a second data source with a segment whose version has "\ufffd\ufffd\ufffd", what D1 makes of a lone surrogate
    const t2 = await api("POST", "/druid/indexer/v1/task", indexTask(ds2, [`${day(0)}/${day(1)}`]));
    task2 = t2.json.task;
    const cred2 = (await agent.take(task2)).credential;
    await agent.poll({ tasks: [running(task2, "hostile-sim")] });
    const pub2 = await api("POST", "/druid/indexer/v1/action", JSON.stringify({ task: task2, action: { type: "segmentTransactionalInsert", segments: [{ ...segment(0, "0\ufffd\ufffd\ufffdv"), dataSource: ds2 }] } }), actHeaders(cred2));
    expect(pub2.json?.result?.success, pub2.text).toBe(true);
  });
  afterAll(async () => {
    await agent.poll({ tasks: [done(task2)] });
    await agent.poll({ tasks: [done(taskId)] });
    await disableWorker(agent.host);
  });

  const usedInD1 = async () => new Map((await rows<{ id: string; used: number }>("SELECT id, used FROM segments WHERE datasource = ?", ds)).map((r) => [r.id, r.used === 1] as [string, boolean]));

  it("markUsed/markUnused (Overlord and Coordinator paths), one segment, all segments: numChangedSegments and D1 follow a model; bad filters change nothing", { timeout: TIMEOUT }, async () => {
    const BAD_FILTERS = bad({}, { interval: 5 }, { segmentIds: [] }, { segmentIds: "x" }, { interval: WEEK, segmentIds: ["x"] }, { versions: ["v"] }, { segmentIds: ["a"], versions: ["v"] }, { interval: "nope" }, { interval: `${day(2)}/${day(1)}` }, { extra: 1 }, [], "x", null, { segmentIds: [5] }, { segmentIds: Array(10_001).fill("a") }, { interval: WEEK, versions: Array(1001).fill("v") });
    const base = fc.constantFrom("/druid/indexer/v1/datasources", "/druid/coordinator/v1/datasources");
    const op = fc.oneof(
      fc.record({ kind: fc.constant("interval" as const), used: fc.boolean(), base, a: fc.integer({ min: 0, max: DAYS }), len: fc.integer({ min: 0, max: DAYS }), versions: fc.option(fc.oneof(fc.constant<string[]>(["@version@"]), fc.array(hostileString.filter((x) => x.length >= 1 && x.length <= 255), { minLength: 1, maxLength: 3 }))) }),
      fc.record({ kind: fc.constant("ids" as const), used: fc.boolean(), base, pick: fc.subarray([...Array(DAYS).keys()]), extra: fc.array(hostileString.filter((x) => x.length >= 1 && x.length <= 2048), { maxLength: 3 }) }),
      // (not "..": the URL parser resolves /segments/%2e%2e to the data source itself, the mark-all route)
      fc.record({ kind: fc.constant("one" as const), used: fc.boolean(), base, i: fc.integer({ min: 0, max: DAYS - 1 }), seg: fc.option(hostileSegment.filter((x) => !/^(\.|%2e){1,2}$/i.test(x))) }),
      fc.record({ kind: fc.constant("all" as const), used: fc.boolean() }),
      fc.record({ kind: fc.constant("bad" as const), used: fc.boolean(), base, body: fc.oneof(BAD_FILTERS, invalidJson) }),
      fc.record({ kind: fc.constant("otherDs" as const), used: fc.boolean(), base, seg: hostileSegment, body: fc.constantFrom(JSON.stringify({ interval: WEEK }), JSON.stringify({ segmentIds: ["x"] })) }),
      fc.record({ kind: fc.constant("query" as const), body: fc.oneof(anyJson, bad([WEEK], ["nope"], [5], WEEK, Array(1001).fill(WEEK))) }),
      // ids and versions with a lone surrogate where ds2's segment has three U+FFFD: they name nothing
      fc.record({
        kind: fc.constant("lookalike" as const),
        used: fc.boolean(),
        base,
        body: fc.constantFrom(
          `{"segmentIds":[${JSON.stringify(`${ds2}_${day(0)}_${day(1)}_0@v`).replace("@", "\\ud800")}]}`,
          `{"interval":${JSON.stringify(`${day(0)}/${day(1)}`)},"versions":["0\\udfffv"]}`,
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
        const model = await usedInD1();
        for (const o of ops) {
          const before = await snapshot();
          let r: Res;
          let expected: number | null = null; // null: must be refused and change nothing
          const flip = (target: boolean, which: (id: string, i: number) => boolean) => {
            let n = 0;
            ids.forEach((id, i) => {
              if (which(id, i) && model.get(id) !== target) {
                model.set(id, target);
                n++;
              }
            });
            return n;
          };
          if (o.kind === "interval") {
            const b = Math.min(DAYS, o.a + o.len);
            const versions = o.versions?.map((v) => (v === "@version@" ? version : v));
            r = await post(`${o.base}/${ds}/${o.used ? "markUsed" : "markUnused"}`, JSON.stringify({ interval: `${day(o.a)}/${day(b)}`, ...(versions ? { versions } : {}) }));
            expected = flip(o.used, (_, i) => i >= o.a && i + 1 <= b && (!versions || versions.includes(version)));
          } else if (o.kind === "ids") {
            const chosen = new Set(o.pick.map((i) => ids[i]!));
            const list = [...chosen, ...o.extra];
            r = await post(`${o.base}/${ds}/${o.used ? "markUsed" : "markUnused"}`, JSON.stringify({ segmentIds: list }));
            if (list.length > 0) expected = flip(o.used, (id) => chosen.has(id) || o.extra.includes(id)); // [] is a bad filter
          } else if (o.kind === "one") {
            const seg = o.seg ?? enc(ids[o.i]!);
            r = await api(o.used ? "POST" : "DELETE", `${o.base}/${ds}/segments/${seg}`);
            if (o.seg === null) expected = flip(o.used, (id) => id === ids[o.i]);
            else if (r.status === 200) expected = 0;
          } else if (o.kind === "all") {
            r = await api(o.used ? "POST" : "DELETE", `/druid/indexer/v1/datasources/${ds}`);
            expected = flip(o.used, () => true);
          } else if (o.kind === "otherDs") {
            r = await post(`${o.base}/${o.seg}/${o.used ? "markUsed" : "markUnused"}`, o.body);
            if (r.status === 200) expected = 0;
          } else if (o.kind === "lookalike") {
            r = await post(`${o.base}/${ds2}/${o.used ? "markUsed" : "markUnused"}`, o.body);
            expect(r.status, r.text).toBe(200);
            expect(r.json, `${o.body} names no segment`).toEqual({ numChangedSegments: 0, segmentStateChanged: false });
            await expectUnchanged(before);
            continue;
          } else if (o.kind === "query") {
            r = await post(`/druid/coordinator/v1/metadata/datasources/${ds}/segments`, o.body);
            expect(r.status, r.text.slice(0, 200)).toBeLessThan(500);
            if (r.status === 200) expect(Array.isArray(r.json)).toBe(true);
            else expectRefused(r, `query ${o.body.slice(0, 60)}`, { plainText: true });
            await expectUnchanged(before);
            continue;
          } else {
            r = await post(`${o.base}/${ds}/${o.used ? "markUsed" : "markUnused"}`, o.body);
          }
          if (expected === null) {
            expectRefused(r, `${o.kind} ${"body" in o ? o.body.slice(0, 80) : ""}`, { plainText: true });
            await expectUnchanged(before);
          } else {
            expect(r.status, `${o.kind} → ${r.text.slice(0, 200)}`).toBe(200);
            expect(r.json).toEqual({ numChangedSegments: expected, segmentStateChanged: expected > 0 });
          }
          expect(await usedInD1(), "D1 used flags = the model").toEqual(model);
        }
        await stillServing(ds);
      }),
      { numRuns: 15 },
    );
  });

  const actionCases = (plainLocks: string) => {
    const allocate = (timestamp: unknown, sequenceName: unknown) => ({ type: "segmentAllocate", dataSource: ds, timestamp, queryGranularity: "none", preferredSegmentGranularity: "day", sequenceName, previousSegmentId: null, skipSegmentLineageCheck: false });
    const retrieve = { type: "retrieveUsedSegments", dataSource: ds, intervals: [WEEK], visibility: "INCLUDING_OVERSHADOWED" };
    const insert = () => ({ type: "segmentTransactionalInsert", segments: [segment(0, `0${++idN}`)] });
    const WRONG: Array<{ action: () => unknown; path: Path; values: fc.Arbitrary<string> }> = [
      { action: () => ({ type: "lockList" }), path: ["task"], values: bad(5, null, [], {}, { id: 5 }, "", "a/b", "other_task") },
      { action: () => ({ type: "lockList" }), path: ["action"], values: bad(5, "x", null, [], {}, { type: 5 }, { type: "nope" }, "RAW:{\"type\":\"lockList\",\"__proto__\":1}") },
      { action: () => ({ type: "lockTryAcquire", interval: WEEK }), path: ["action", "interval"], values: bad(5, "", "nope", "x".repeat(201), "2024-02-01/2024-01-01", `${day(1)}/${day(1)}`, "2024-03-01T00:00+24:00/2024-03-02") },
      { action: () => ({ type: "lockTryAcquire", interval: WEEK }), path: ["action", "lockType"], values: bad("exclusive", 5, "KILL") },
      { action: () => ({ type: "lockAcquire", interval: WEEK }), path: ["action", "timeoutMs"], values: bad(-1, 1.5, "1", "RAW:1e400") },
      ...(["dataSource", "timestamp", "sequenceName", "previousSegmentId", "skipSegmentLineageCheck", "partialShardSpec", "lockGranularity", "taskLockType", "queryGranularity", "preferredSegmentGranularity"] as const).map((f) => ({
        action: () => allocate(`${day(2).slice(0, 10)}T10:00:00Z`, `seq-${idN}`),
        path: ["action", f] as Path,
        values: {
          dataSource: bad(5, "", "other_ds"),
          timestamp: bad(true, [], {}, "nope", "RAW:1e400", "2024-03-02T25:00:00Z"),
          sequenceName: bad("", 5, "x".repeat(1025)),
          previousSegmentId: bad(5, "x".repeat(2049)),
          skipSegmentLineageCheck: bad("true", 1),
          partialShardSpec: bad({ type: "hashed" }, 5),
          lockGranularity: bad("SEGMENT"),
          taskLockType: bad("x", 5),
          queryGranularity: bad("fortnight", 5),
          preferredSegmentGranularity: bad("fortnight", 5),
        }[f],
      })),
      { action: insert, path: ["action", "segments"], values: bad(5, "x", {}, [5], [{}], []) },
      ...(
        [
          ["dataSource", bad(5, "", "other_ds", "a/b")],
          ["interval", bad("nope", `${day(1)}/${day(1)}`, 5, "2024-04-01/2024-04-02")],
          ["version", bad("", 5, "x".repeat(256), "9999")],
          ["shardSpec", bad(5, "x", { type: 5 }, { type: "numbered", partitionNum: -1, partitions: 1 }, { type: "numbered", partitionNum: "0", partitions: 1 }, { type: "numbered", partitionNum: 1.5, partitions: 1 }, { type: "numbered", partitionNum: 1e300, partitions: 1 }, { type: "numbered", partitionNum: 2 ** 53 + 1, partitions: 1 }, { type: "building_numbered", partitionNum: 0 }, { type: "nope" })],
          ["loadSpec", bad("x", 5, [])],
          ["size", bad(-1, 1.5, "10")],
          ["binaryVersion", bad("9", 1.5)],
          ["totalRows", bad(-1, "5")],
          ["dimensions", bad(["a"], 5)],
          ["metrics", bad(5)],
        ] as Array<[string, fc.Arbitrary<string>]>
      ).map(([f, values]) => ({ action: insert, path: ["action", "segments", 0, f] as Path, values })),
      { action: () => ({ type: "markSegmentsAsUnused", dataSource: ds, interval: "2024-04-01/2024-04-02" }), path: ["action", "versions"], values: bad(5, "x", [5]) },
      { action: () => ({ type: "segmentNuke", segments: [segment(0)] }), path: ["action", "segments"], values: bad(5, "x", [5]) },
      { action: () => retrieve, path: ["action", "intervals"], values: bad(["nope"], [5], "x") },
      { action: () => retrieve, path: ["action", "visibility"], values: bad("ALL", 5) },
      { action: () => ({ type: "retrieveUnusedSegments", dataSource: ds, interval: WEEK }), path: ["action", "limit"], values: bad(0, -1, 1.5, "1") },
      { action: () => ({ type: "retrieveUnusedSegments", dataSource: ds, interval: WEEK }), path: ["action", "maxUsedStatusLastUpdatedTime"], values: bad(5, []) },
    ];
    const timestamp = fc.oneof(
      fc.integer({ min: 0, max: DAYS - 1 }).map((i) => `${day(i).slice(0, 10)}T10:00:00Z`),
      fc.constantFrom(Date.UTC(2024, 2, 3, 12), 1e300, -1e300, 2 ** 53 + 1, -0, 1.5, 8.64e15, -8.64e15, 8.64e15 + 1, "2024-03-02T10:00:00+23:59", "+275760-09-13T00:00:00Z", "-271821-04-20T00:00:00Z", "2024-03-02"),
    );
    const freeKey = (reserved: string[]) => hostileKey.filter((k) => !reserved.includes(k));
    const seen = { refused: 0, accepted: 0 };
    const run = async (x: ActionCase) => {
      const before = await snapshot([ds]);
      if (x.kind === "bogus") {
        const body = x.body === "@lockList@" ? envelope({ type: "lockList" }) : x.body;
        const r = await api("POST", "/druid/indexer/v1/action", body, x.cred === "" ? AGENT : actHeaders(x.cred));
        seen.refused++;
        expectRefused(r, `credential ${x.cred.slice(0, 10)}`, { statuses: [400, 403] });
        await expectUnchanged(before, [ds]);
      } else if (x.kind === "wrong") {
        const r = await act(place(JSON.parse(envelope(x.w.action())), x.w.path, x.value));
        seen.refused++;
        expectRefused(r, `${x.w.path.join(".")} = ${x.value.slice(0, 60)}`);
        await expectUnchanged(before, [ds]);
      } else if (x.kind === "lockList" || x.kind === "retrieve") {
        const body =
          x.kind === "lockList"
            ? place({ task: { id: taskId, type: "index_parallel" }, action: "@action@" }, ["task", x.k1], x.f1).replace('"@action@"', place({ type: "lockList" }, [x.k2], x.f2))
            : place({ task: taskId, action: retrieve }, ["action", x.k], x.f);
        const why = mustRefuse(body, 16 * MAX_BODY);
        const r = await act(body);
        if (why) {
          seen.refused++;
          expectRefused(r, why);
        } else {
          seen.accepted++;
          expectOk(r, `${x.kind} with hostile extra fields`);
          expect(r.text, "the hostile fields change nothing").toBe(x.kind === "lockList" ? plainLocks : (await act(JSON.stringify({ task: taskId, action: retrieve }))).text);
        }
        await expectUnchanged(before, [ds]);
      } else if (x.kind === "allocate") {
        const body = envelope(allocate(x.t, x.seq));
        const r = await act(body);
        expect(r.status, `allocate ${String(x.t)} → ${r.text.slice(0, 200)}`).toBeLessThan(500);
        if (r.status >= 400) {
          seen.refused++;
          expectRefused(r, `allocate at ${String(x.t)} → ${r.status} ${r.text.slice(0, 300)}`);
          await expectUnchanged(before, [ds]);
        } else {
          seen.accepted++;
          const again = await act(body);
          expect(again.text, "allocation is idempotent per sequence").toBe(r.text);
          const id = r.json.result;
          if (id !== null) {
            expect(id).toMatchObject({ dataSource: ds, version: expect.any(String), shardSpec: expect.any(Object) });
            const n = id.shardSpec.partitionNum ?? 0;
            const sid = `${ds}_${id.interval.replace("/", "_")}_${id.version}${n === 0 ? "" : `_${n}`}`;
            expect(await rows("SELECT id FROM pending_segments WHERE id = ?", sid), "the pending segment is in D1").toEqual([{ id: sid }]);
          }
        }
      } else {
        const seg = { ...segment(x.i, `0${++idN}${x.suffix}`), ...(x.dims === null ? {} : { dimensions: x.dims }) };
        const segText = place(seg, x.path, x.f);
        const body = `{"task":${JSON.stringify(taskId)},"action":{"type":"segmentTransactionalInsert","segments":[${segText}]}}`;
        const why =
          mustRefuse(body, 16 * MAX_BODY) ??
          (seg.version.length > 255 ? "version too long" : /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(seg.version) ? "a lone surrogate in the version" : null);
        const r = await act(body);
        if (why) {
          seen.refused++;
          expectRefused(r, why);
          await expectUnchanged(before, [ds]);
          return;
        }
        seen.accepted++;
        expectOk(r, "a segment with hostile extra fields");
        expect(r.json.result.success, r.text.slice(0, 300)).toBe(true);
        const sent = canonical(segText) as Record<string, unknown>;
        const full = (await api("GET", `/druid/coordinator/v1/metadata/datasources/${ds}/segments?full`)).json as Array<Record<string, unknown>>;
        const stored = full.filter((s) => s["version"] === seg.version);
        expect(stored.length, "the published segment is listed once").toBe(1);
        expectDeepContains(stored[0], sent, "published segment ⊇ the segment sent");
        const listed = (await api("GET", `/druid/coordinator/v1/metadata/datasources/${ds}/segments`)).json as string[];
        const id = `${ds}_${day(x.i)}_${day(x.i + 1)}_${seg.version}`;
        const near = listed.filter((l) => l.startsWith(`${ds}_${day(x.i)}_${day(x.i + 1)}_${/^0\d+/.exec(seg.version)![0]}`));
        expect(listed.includes(id), `its id ${JSON.stringify(id)} is listed as Druid spells it (listed: ${JSON.stringify(near)})`).toBe(true);
      }
      await stillServing(ds);
    };
    type ActionCase =
      | { kind: "bogus"; cred: string; body: string }
      | { kind: "wrong"; w: (typeof WRONG)[number]; value: string }
      | { kind: "lockList"; k1: string; f1: string; k2: string; f2: string }
      | { kind: "retrieve"; k: string; f: string }
      | { kind: "allocate"; t: unknown; seq: string }
      | { kind: "publish"; i: number; path: Path; f: string; suffix: string; dims: string | null };
    const cases: Record<string, fc.Arbitrary<ActionCase>> = {
      junk: fc.oneof(
        fc.record({ kind: fc.constant("lockList" as const), k1: freeKey(["id"]), f1: anyJson, k2: freeKey(["type"]), f2: anyJson }),
        fc.record({ kind: fc.constant("retrieve" as const), k: freeKey(Object.keys(retrieve)), f: anyJson }),
      ),
      wrong: fc.constantFrom(...WRONG).chain((w) => w.values.map((value) => ({ kind: "wrong" as const, w, value }))),
      bogus: fc.record({ kind: fc.constant("bogus" as const), cred: fc.constantFrom("forged", "x".repeat(512), "x".repeat(513), ""), body: fc.oneof(fc.constant("@lockList@"), anyJson) }),
      allocate: fc.record({ kind: fc.constant("allocate" as const), t: timestamp, seq: fc.oneof(hostileString.filter((x) => x.length >= 1), fc.constant("s".repeat(1024))) }),
      publish: fc.record({
        kind: fc.constant("publish" as const),
        i: fc.integer({ min: 0, max: DAYS - 1 }),
        path: fc.oneof(freeKey(Object.keys(segment(0))).map((k): Path => [k]), hostileKey.filter((k) => k !== "type").map((k): Path => ["loadSpec", k]), hostileKey.filter((k) => !["type", "partitionNum", "partitions"].includes(k)).map((k): Path => ["shardSpec", k])),
        f: anyJson,
        suffix: fc.oneof(fc.constant(""), hostileString, fc.constantFrom("\ud800", "\udc00x", "a\udbff", "\ufffd")),
        dims: fc.option(hostileString, { nil: null }),
      }),
    };
    return { cases, run, seen };
  };

  let actions: ReturnType<typeof actionCases> | null = null;
  const actionsOnce = async () => (actions ??= actionCases((await act(envelope({ type: "lockList" }))).text));

  it("POST /action, bogus credentials: every hostile body is refused (400/403), nothing changes", { timeout: TIMEOUT }, async () => {
    const a = await actionsOnce();
    await fc.assert(fc.asyncProperty(a.cases["bogus"]!, a.run), { numRuns: 12 });
  });

  it("POST /action, wrong types at every interpreted field of every action: refused, nothing changes", { timeout: TIMEOUT }, async () => {
    const a = await actionsOnce();
    await fc.assert(fc.asyncProperty(a.cases["wrong"]!, a.run), { numRuns: 40 });
  });

  it("POST /action, hostile extra fields in lockList / retrieveUsedSegments: refused untouched, or the same answer as without them", { timeout: TIMEOUT }, async () => {
    const a = await actionsOnce();
    await fc.assert(fc.asyncProperty(a.cases["junk"]!, a.run), { numRuns: 30 });
  });

  // Fails until fixed in taskActions.ts: a timestamp at or past JavaScript's last instant (8.64e15,
  // 2^53, "+275760-09-13T00:00:00Z") is refused with 400 after an empty lock was taken and stored.
  it("POST /action segmentAllocate, hostile timestamps and sequence names: never 5xx; a refusal changes nothing; an allocation is idempotent and stored", { timeout: TIMEOUT }, async () => {
    const a = await actionsOnce();
    await fc.assert(fc.asyncProperty(a.cases["allocate"]!, a.run), { numRuns: 30 });
  });

  // Fails until fixed in the DataSegment validation: a version with a lone surrogate ("\ud800") is
  // accepted, and D1 reads the segment's id back with "\ufffd\ufffd\ufffd" in its place.
  it("POST /action segmentTransactionalInsert, hostile fields: refused untouched, or the segment reads back as sent under the id Druid would give it", { timeout: TIMEOUT }, async () => {
    const a = await actionsOnce();
    await fc.assert(fc.asyncProperty(a.cases["publish"]!, a.run), { numRuns: 30 });
    expect(a.seen.accepted, "the run reached the accepted branch").toBeGreaterThan(0);
  });

  it("PUT /deep-storage: hostile keys, credentials and bytes; refused writes store nothing, accepted ones read back byte for byte", { timeout: TIMEOUT }, async () => {
    const seen = { refused: 0, accepted: 0 };
    const prefix = `segments/${ds}/`;
    const nameChars = fc.constantFrom("\u{1F600}", "\u202E", "\u200B", "\uFEFF", "e\u0301", "\u05E9", "%", "?", "#", "&", "+", " ", "'", '"', ";", "=", "x", "..x", ":", "*");
    const key = fc.oneof(
      fc.array(nameChars, { minLength: 1, maxLength: 6 }).map((a) => ({ valid: true, query: enc(`${prefix}${a.join("")}_${++idN}.parquet`) })),
      // malformed UTF-8 in the query decodes to U+FFFD
      fc.constantFrom("%ED%A0%80", "%FF", "%C0%AF").map((raw) => ({ valid: true, query: `${enc(prefix)}${raw}_${++idN}` })),
      fc
        .constantFrom("", "/" + prefix + "x", `${prefix}../x`, `${prefix}./x`, `${prefix}/x`, `${prefix}a\u0000b`, `${prefix}a\nb`, `${prefix}a\\b`, prefix + "x".repeat(1100), "segments/other/x", `segments/${ds}`, `${prefix}`, "x")
        .map((k) => ({ valid: false, query: enc(k) })),
      fc.constant({ valid: false, query: `${enc(prefix)}%00x` }),
    );
    const req = fc.record({
      key,
      auth: fc.constantFrom("real", "real", "real", "forged", "noCredential", "otherTask", "noTaskId"),
      bytes: fc.oneof(fc.uint8Array({ maxLength: 4096 }), anyJson.map((t) => new TextEncoder().encode(t))),
    });
    await fc.assert(
      fc.asyncProperty(req, async ({ key, auth, bytes }) => {
        const headers: Record<string, string> = { ...AGENT, "content-type": "application/octet-stream" };
        if (auth !== "noTaskId") headers["X-Druid-Task-Id"] = auth === "otherTask" ? "hostile_not_running" : taskId;
        if (auth !== "noCredential") headers["X-Druid-Task-Credential"] = auth === "forged" ? "forged" : credential;
        const before = await snapshot([ds]);
        const r = await api("PUT", `/druid-internal/v1/deep-storage?key=${key.query}`, bytes, headers);
        if (key.valid && auth === "real") {
          seen.accepted++;
          expectOk(r, `PUT ${key.query}`);
          expect(r.json).toMatchObject({ size: bytes.byteLength });
          const raw = await worker.fetch(new Request(`http://druid.test/druid-internal/v1/deep-storage?key=${key.query}`, { headers: AGENT }), testEnv());
          expect(raw.status).toBe(200);
          expect(new Uint8Array(await raw.arrayBuffer()), "the bytes read back").toEqual(bytes);
        } else {
          seen.refused++;
          expectRefused(r, `${auth} ${key.query.slice(0, 60)}`);
          const got = await api("GET", `/druid-internal/v1/deep-storage?key=${key.query}`, undefined, AGENT); // keys are unique per run
          expect([400, 404], `nothing stored under ${key.query.slice(0, 60)} → ${got.status}`).toContain(got.status);
          await expectUnchanged(before, [ds]);
        }
        await stillServing(ds);
      }),
      { numRuns: 30 },
    );
    expect(seen.refused, "the run reached the refused branch").toBeGreaterThan(0);
    expect(seen.accepted, "the run reached the accepted branch").toBeGreaterThan(0);
  });
});

describe("bodies near and over each endpoint's cap (in bytes, multi-byte padding)", () => {
  const ds = uniqueDs("hostile_cap");
  const agent = simAgent();
  let taskId = "";
  let credential = "";
  beforeAll(async () => {
    await onlyAgent(agent);
    taskId = (await api("POST", "/druid/indexer/v1/task", indexTask(ds, ["2024-05-01/2024-05-02"]))).json.task;
    credential = (await agent.take(taskId)).credential;
    await agent.poll({ tasks: [running(taskId, "hostile-sim")] });
  });
  afterAll(async () => {
    await agent.poll({ tasks: [done(taskId)] });
    await disableWorker(agent.host);
    await api("POST", "/druid/indexer/v1/worker", { type: "default", selectStrategy: { type: "equalDistribution" } });
  });

  const PAD = "@pad@";
  /** Each endpoint: its cap, a body with a free string to pad, and what a too-large body gets. */
  const ENDPOINTS: Array<{ name: string; path: () => string; cap: number; body: () => unknown; headers?: () => Record<string, string>; over?: "413" | "plain400" | "ignored" }> = [
    { name: "task", path: () => "/druid/indexer/v1/task", cap: MAX_BODY, body: () => ({ type: "noop", dataSource: ds, context: { pad: PAD } }) },
    { name: "tasks", path: () => "/druid/indexer/v1/tasks", cap: 16 * MAX_BODY, body: () => [{ type: "noop", dataSource: ds, context: { pad: PAD } }] },
    { name: "taskStatus", path: () => "/druid/indexer/v1/taskStatus", cap: MAX_BODY, body: () => ["x", PAD] },
    { name: "lockedIntervals", path: () => "/druid/indexer/v1/lockedIntervals/v2", cap: MAX_BODY, body: () => [{ datasource: ds, priority: 0, context: { pad: PAD } }] },
    { name: "activeLocks", path: () => "/druid/indexer/v1/activeLocks", cap: MAX_BODY, body: () => [{ datasource: ds, priority: 0, context: { pad: PAD } }] },
    { name: "worker", path: () => "/druid/indexer/v1/worker", cap: MAX_BODY, body: () => ({ type: "default", selectStrategy: { type: "equalDistributionWithAffinity", affinityConfig: { affinity: { [`hostile_unused_${ds}`]: [PAD] } } } }) },
    {
      name: "poll",
      path: () => "/druid-internal/v1/agent/poll",
      cap: 8 * MAX_BODY,
      body: () => ({ worker: { host: `hostile-cap-${++hostN}:1`, capacity: 0 }, timeoutMs: 1, full: true, pad: PAD }),
      headers: () => ({ ...AGENT, "X-Druid-Worker-Key": `hostile-key-${crypto.randomUUID()}` }),
    },
    { name: "action", path: () => "/druid/indexer/v1/action", cap: 16 * MAX_BODY, body: () => ({ task: taskId, action: { type: "lockList", pad: PAD } }), headers: () => ({ ...AGENT, "X-Druid-Task-Credential": credential }) },
    { name: "markUnused", path: () => `/druid/indexer/v1/datasources/${ds}/markUnused`, cap: MAX_BODY, body: () => ({ segmentIds: [PAD] }), over: "plain400" },
    { name: "coordinator markUsed", path: () => `/druid/coordinator/v1/datasources/${ds}/markUsed`, cap: MAX_BODY, body: () => ({ segmentIds: [PAD] }), over: "plain400" },
    { name: "metadata segments query", path: () => `/druid/coordinator/v1/metadata/datasources/${ds}/segments`, cap: MAX_BODY, body: () => [PAD] },
    { name: "rules", path: () => `/druid/coordinator/v1/rules/${ds}`, cap: MAX_BODY, body: () => [{ type: "dropForever", pad: PAD }] },
    { name: "coordinator config", path: () => "/druid/coordinator/v1/config", cap: MAX_BODY, body: () => ({ pad: PAD }) },
    { name: "shutdown", path: () => `/druid/indexer/v1/task/hostile_no_such_task/shutdown`, cap: MAX_BODY, body: () => ({ pad: PAD }), over: "ignored" },
    { name: "shutdownAllTasks", path: () => `/druid/indexer/v1/datasources/hostile_no_such_ds/shutdownAllTasks`, cap: MAX_BODY, body: () => ({ pad: PAD }), over: "ignored" },
  ];

  it("over the cap: 413 (Druid's plain 400 for marking) and nothing changes; just under: never a 413 or 5xx", { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ e: fc.constantFrom(...ENDPOINTS), over: fc.boolean(), slack: fc.integer({ min: 1, max: 2000 }), unit: fc.constantFrom("x", "\u00e9", "\u{1F600}", "\u202E") }),
        async ({ e, over, slack, unit }) => {
          const skeleton = JSON.stringify(e.body());
          const room = (over ? e.cap + slack : e.cap - slack) - utf8(skeleton) + PAD.length;
          const pad = unit.repeat(Math.max(0, over ? Math.ceil(room / utf8(unit)) : Math.floor(room / utf8(unit))));
          const body = skeleton.replace(PAD, pad);
          const bytes = utf8(body);
          expect(bytes > e.cap).toBe(over);
          const before = over ? await snapshot([ds]) : null;
          const r = await api("POST", e.path(), body, e.headers?.() ?? ADMIN);
          if (!over) {
            expect(r.status, `${e.name}, ${bytes} bytes → ${r.text.slice(0, 200)}`).toBeLessThan(500);
            expect(r.status, `${e.name}, ${bytes} bytes`).not.toBe(413);
            if (e.name === "worker" && r.status === 200) await api("POST", "/druid/indexer/v1/worker", { type: "default", selectStrategy: { type: "equalDistribution" } });
          } else {
            if (e.over === "ignored") expect([200, 404], `${e.name} ignores its body → ${r.status}`).toContain(r.status);
            else if (e.over === "plain400") expectRefused(r, `${e.name}, ${bytes} bytes`, { plainText: true, statuses: [400] });
            else {
              expectRefused(r, `${e.name}, ${bytes} bytes`, { statuses: [413] });
              expect(r.json.errorCode).toBe("requestTooLarge");
            }
            await expectUnchanged(before!, [ds]);
          }
          await stillServing(ds);
        },
      ),
      { numRuns: 26 },
    );
  });
});
