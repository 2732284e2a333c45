import { SELF, env, runInDurableObject } from "cloudflare:test";
import type { Overlord } from "../../src/objects/Overlord.ts";

export const ADMIN = { Authorization: "Bearer test-admin-token" };
export const AGENT = { Authorization: "Bearer test-agent-token" };

export async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await SELF.fetch(`http://druid.test${path}`, init);
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
  return env.OVERLORD.getByName("overlord");
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
