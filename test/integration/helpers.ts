import { env, runInDurableObject } from "cloudflare:test";
import worker from "../../src/index.ts";
import type { Env } from "../../src/env.ts";
import type { Overlord } from "../../src/objects/Overlord.ts";

/**
 * Each test has its own Overlord object (named in setup.ts's beforeEach) over freshly emptied
 * D1 tables, so tests never see each other's tasks, workers or locks.
 */
let overlordName = "overlord";
let perTest = true;
export function useOverlord(name: string): void {
  overlordName = name;
}

/**
 * For a file whose tests build on state set up once (beforeAll): one Overlord and one set of
 * tables for the whole file. Its tests must then compare before/after rather than assume empty.
 */
export function shareStateAcrossTests(): void {
  perTest = false;
}
export const isolatedPerTest = (): boolean => perTest;

/** The Worker's bindings as this test's requests see them. */
export function testEnv(): Env {
  return { ...(env as unknown as Env), OVERLORD_NAME: overlordName, COORDINATOR_NAME: overlordName.replace("overlord", "coordinator") };
}

export function coordinatorStub() {
  return env.COORDINATOR.getByName(overlordName.replace("overlord", "coordinator"));
}

/**
 * The Worker's fetch handler, called directly with this test's bindings (SELF.fetch cannot
 * change them, and each SELF.fetch of vitest-pool-workers 0.15 is slower than the one before).
 */
export function fetchWorker(url: string, init?: RequestInit): Promise<Response> {
  return worker.fetch(new Request(url, init), testEnv());
}

export const ADMIN = { Authorization: "Bearer test-admin-token" };
export const AGENT = { Authorization: "Bearer test-agent-token" };

/** A request as an HTTP client sends it: bytes or text as given, anything else as JSON, with its length. */
export async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    const bytes = body instanceof Uint8Array ? body : new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
    init.body = bytes;
    // the routes trust a declared length within the cap, as a client's framing guarantees it
    (init.headers as Record<string, string>)["content-length"] = String(bytes.byteLength);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  const res = await fetchWorker(`http://druid.test${path}`, init);
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* text body */
  }
  return { status: res.status, text, json: json as any, headers: res.headers };
}

export function overlordStub() {
  return env.OVERLORD.getByName(overlordName);
}

export function inOverlord<T>(fn: (o: Overlord) => T | Promise<T>): Promise<T> {
  return runInDurableObject(overlordStub(), (o) => fn(o as unknown as Overlord));
}

let n = 0;
/** A dataSource name unique to this test run, so tests sharing the object do not interfere. */
export function uniqueDs(prefix = "ds"): string {
  return `${prefix}_${Date.now().toString(36)}_${++n}`;
}

export const noop = (extra: Record<string, unknown> = {}) => ({ type: "noop", ...extra });

export function indexTask(dataSource: string, intervals: string[], extra: Record<string, unknown> = {}) {
  return {
    type: "index_parallel",
    spec: {
      dataSchema: { dataSource, timestampSpec: { column: "ts" }, dimensionsSpec: { dimensions: [] }, granularitySpec: { segmentGranularity: "day", intervals } },
      ioConfig: { type: "index_parallel", inputSource: { type: "inline", data: "{}" }, inputFormat: { type: "json" } },
    },
    ...extra,
  };
}

export async function rows<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]> {
  const r = await env.DB.prepare(sql).bind(...params).all<T>();
  return r.results;
}
