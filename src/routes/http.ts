/**
 * HTTP plumbing shared by the routes: bounded body reading, JSON/text responses, Druid's error
 * JSON, query-parameter helpers and zod error formatting.
 */
import type { IRequest } from "itty-router";
import type { z } from "zod";
import type { Env } from "../env.ts";
import type { Principal } from "../shared/auth.ts";
import { parseBoundedJson } from "../shared/boundedJson.ts";
import { DruidError, asDruidError, invalidInput } from "../shared/errors.ts";

export interface Ctx {
  env: Env;
  principal: Principal;
  maxBodyBytes: number;
}

export type Req = IRequest;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/** A body already serialised as JSON (large lists are serialised once, inside the object). */
export function jsonText(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "application/json" } });
}

export function text(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

export function empty(status = 200): Response {
  return new Response(null, { status });
}

export function errorResponse(err: unknown): Response {
  const e = asDruidError(err);
  return json(e.toJSON(), e.status);
}

/** Reads the body as text, refusing more than `max` bytes (413 with Druid's error JSON). */
export async function readText(request: Request, max: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > max) throw tooLarge(max);
  if (!request.body) return "";
  // With a declared length within the cap the body cannot be longer (HTTP framing): read it
  // whole, one call into the runtime instead of a reader's call per chunk.
  if (Number.isFinite(declared)) return decodeUtf8(new Uint8Array(await request.arrayBuffer()));
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return decodeUtf8(all);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw invalidInput("Request body is not valid UTF-8");
  }
}

function tooLarge(max: number): DruidError {
  return new DruidError("INVALID_INPUT", `Request body is larger than the limit of [${max}] bytes`, "requestTooLarge", {}, 413);
}

export async function readJson(request: Request, max: number): Promise<unknown> {
  const body = await readText(request, max);
  if (body.trim() === "") throw invalidInput("Request body is empty; expected JSON");
  return parseBoundedJson(body);
}

/** Validates with zod; the first issue becomes a 400 naming its field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.length > 0 ? issue.path.join(".") : what;
  throw invalidInput(`Invalid [${path}]: ${issue.message}`);
}

/** Path parameters arrive percent-encoded. */
export function param(request: Req, name: string): string {
  const raw = request.params[name] ?? "";
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidInput(`Invalid path parameter [${name}]`);
  }
}

export function query(request: Req, name: string): string | undefined {
  const v = request.query[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function flag(request: Req, name: string): boolean {
  return request.query[name] !== undefined;
}

export function auditInfo(request: Request) {
  return {
    author: (request.headers.get("X-Druid-Author") ?? "").slice(0, 255),
    comment: (request.headers.get("X-Druid-Comment") ?? "").slice(0, 2048),
    ip: request.headers.get("CF-Connecting-IP") ?? "",
  };
}
