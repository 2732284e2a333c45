/**
 * The agent protocol endpoints (docs/agent-protocol.md): the agent token, plus the worker key
 * that identifies one agent among all holders of that token.
 */
import type { RouterType } from "itty-router";
import { z } from "zod";
import { validateTaskId } from "../shared/ids.ts";
import { forbidden } from "../shared/errors.ts";
import { validateWorkerKey, WORKER_HEADER, WORKER_HOST_PATTERN, WORKER_KEY_HEADER } from "../shared/workerKey.ts";
import { DEFAULT_CATEGORY } from "../overlord/workerSelect.ts";
import { empty, json, jsonText, param, readJson, readText, validate, type Ctx, type Req } from "./http.ts";
import { overlord } from "./overlordStub.ts";

const MAX_LOG_BYTES = 1024 * 1024;
/** Reports (inline or uploaded) are stored as one JSON value of at most this many characters. */
const MAX_REPORTS_CHARS = 1024 * 1024;

/**
 * Text stored as a D1 column must be well-formed UTF-16: a lone surrogate (JSON allows
 * "\ud800") would be stored as something else than what was accepted. It becomes U+FFFD.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const wellFormed = (s: string) => s.replace(LONE_SURROGATE, "\ufffd");

/** The last `max` UTF-16 units of a log, well-formed (and so never starting inside a pair). */
function tailOf(log: string, max = MAX_LOG_BYTES): string {
  return wellFormed(log.length <= max ? log : log.slice(log.length - max));
}

const reportsSchema = z
  .record(z.string(), z.unknown())
  .refine((r) => JSON.stringify(r).length <= MAX_REPORTS_CHARS, `reports are larger than the limit of [${MAX_REPORTS_CHARS}] characters`);
const hostSchema = z.string().regex(WORKER_HOST_PATTERN, "must be host:port, 1-255 characters of letters, digits, '.', '-', '_', '~', ':', '[', ']'");
const location = z.object({ host: z.string().max(255).nullable(), port: z.number().int(), tlsPort: z.number().int() });

const pollSchema = z
  .object({
    worker: z.object({
      host: hostSchema,
      ip: z.string().max(255).default(""),
      capacity: z.number().int().min(0).max(100_000),
      category: z.string().min(1).max(255).default(DEFAULT_CATEGORY),
      version: z.string().max(255).default("0"),
      prefetch: z.number().int().min(0).max(100_000).default(0),
    }),
    term: z.number().int().nullable().default(null),
    counter: z.object({ counter: z.number().int().min(0), hash: z.number() }).nullable().default(null),
    timeoutMs: z.number().int().positive().max(600_000).default(20_000),
    full: z.boolean().default(false),
    tasks: z
      .array(
        z.object({
          id: z.string().min(1).max(255),
          status: z.enum(["RUNNING", "SUCCESS", "FAILED"]),
          duration: z.number().int().optional(),
          errorMsg: z.string().max(100_000).transform(wellFormed).nullish(),
          location: location.optional(),
          log: z.string().max(MAX_LOG_BYTES * 4).transform((l) => tailOf(l)).optional(),
          reports: reportsSchema.optional(),
        }),
      )
      .max(100_000)
      .default([]),
  });

function agentOnly(ctx: Ctx) {
  if (ctx.principal !== "agent") throw forbidden("This endpoint is for worker agents (AGENT_TOKEN)");
}

/** `X-Druid-Worker: host:port`, the worker a log or report upload speaks for. */
function workerHeader(req: Req): string {
  return validate(hostSchema, req.headers.get(WORKER_HEADER) ?? "", `${WORKER_HEADER} header`);
}

const workerKey = (req: Req) => validateWorkerKey(req.headers.get(WORKER_KEY_HEADER));

export function agentRoutes(router: RouterType<Req, [Ctx]>) {
  router.post("/druid-internal/v1/agent/poll", async (req, ctx) => {
    agentOnly(ctx);
    const key = workerKey(req);
    const body = validate(pollSchema, await readJson(req, ctx.maxBodyBytes * 8), "poll");
    const reply = await overlord(ctx.env).poll(body, key);
    return reply === null ? empty(204) : jsonText(reply);
  });

  router.post("/druid-internal/v1/agent/tasks/:id/log", async (req, ctx) => {
    agentOnly(ctx);
    const id = validateTaskId(param(req, "id"));
    const host = workerHeader(req);
    const key = workerKey(req);
    const log = tailOf(await readText(req, MAX_LOG_BYTES * 4));
    await overlord(ctx.env).putLog(host, key, id, log);
    return json({ task: id });
  });

  router.post("/druid-internal/v1/agent/tasks/:id/reports", async (req, ctx) => {
    agentOnly(ctx);
    const id = validateTaskId(param(req, "id"));
    const host = workerHeader(req);
    const key = workerKey(req);
    const reports = validate(reportsSchema, await readJson(req, MAX_LOG_BYTES), "reports");
    await overlord(ctx.env).putReports(host, key, id, reports);
    return json({ task: id });
  });
}
