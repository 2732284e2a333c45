/** The agent protocol endpoints (docs/agent-protocol.md); agent token only. */
import type { RouterType } from "itty-router";
import { z } from "zod";
import { validateTaskId } from "../shared/ids.ts";
import { forbidden } from "../shared/errors.ts";
import { DEFAULT_CATEGORY } from "../overlord/workerSelect.ts";
import { empty, json, param, readJson, readText, validate, type Ctx, type Req } from "./http.ts";
import { overlord } from "./overlordStub.ts";

const MAX_LOG_BYTES = 1024 * 1024;
const hostSchema = z.string().min(1).max(255).regex(/^[^\s/]+$/, "must be host:port without spaces or '/'");
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
          errorMsg: z.string().max(100_000).nullish(),
          location: location.optional(),
          log: z.string().max(MAX_LOG_BYTES * 4).optional(),
          reports: z.record(z.string(), z.unknown()).optional(),
        }),
      )
      .max(100_000)
      .default([]),
  });

function agentOnly(ctx: Ctx) {
  if (ctx.principal !== "agent") throw forbidden("This endpoint is for worker agents (AGENT_TOKEN)");
}

/** Optional `X-Druid-Worker: host:port`; when given, the task must have been assigned to it. */
function workerHeader(req: Req): string | null {
  const h = req.headers.get("X-Druid-Worker");
  return h === null ? null : validate(hostSchema, h, "X-Druid-Worker header");
}

export function agentRoutes(router: RouterType<Req, [Ctx]>) {
  router.post("/druid-internal/v1/agent/poll", async (req, ctx) => {
    agentOnly(ctx);
    const body = validate(pollSchema, await readJson(req, ctx.maxBodyBytes * 8), "poll");
    const reply = await overlord(ctx.env).poll(body);
    return reply ? json(reply) : empty(204);
  });

  router.post("/druid-internal/v1/agent/tasks/:id/log", async (req, ctx) => {
    agentOnly(ctx);
    const id = validateTaskId(param(req, "id"));
    const host = workerHeader(req);
    let log = await readText(req, MAX_LOG_BYTES * 4);
    if (log.length > MAX_LOG_BYTES) log = log.slice(log.length - MAX_LOG_BYTES);
    await overlord(ctx.env).putLog(host, id, log);
    return json({ task: id });
  });

  router.post("/druid-internal/v1/agent/tasks/:id/reports", async (req, ctx) => {
    agentOnly(ctx);
    const id = validateTaskId(param(req, "id"));
    const host = workerHeader(req);
    const reports = validate(z.record(z.string(), z.unknown()), await readJson(req, MAX_LOG_BYTES), "reports");
    await overlord(ctx.env).putReports(host, id, reports);
    return json({ task: id });
  });
}
