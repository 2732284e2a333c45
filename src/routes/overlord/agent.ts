/**
 * The agent protocol endpoints (docs/agent-protocol.md): the agent token, plus the worker key
 * that identifies one agent among all holders of that token.
 */
import type { RouterType } from "itty-router";
import { logTail, MAX_LOG_CHARS, pollRequestSchema, reportsSchema, workerHostSchema } from "../../protocol/agent.ts";
import { WORKER_HEADER, WORKER_KEY_HEADER } from "../../protocol/headers.ts";
import { validateTaskId } from "../../shared/ids.ts";
import { forbidden } from "../../shared/errors.ts";
import { validateWorkerKey } from "../../shared/workerKey.ts";
import { empty, json, jsonText, param, readJson, readText, validate, type Ctx, type Req } from "../common/http.ts";
import { overlord } from "../common/overlordStub.ts";

function agentOnly(ctx: Ctx) {
  if (ctx.principal !== "agent") throw forbidden("This endpoint is for worker agents (AGENT_TOKEN)");
}

/** `X-Druid-Worker: host:port`, the worker a log or report upload speaks for. */
function workerHeader(req: Req): string {
  return validate(workerHostSchema, req.headers.get(WORKER_HEADER) ?? "", `${WORKER_HEADER} header`);
}

const workerKey = (req: Req) => validateWorkerKey(req.headers.get(WORKER_KEY_HEADER));

export function agentRoutes(router: RouterType<Req, [Ctx]>) {
  router.post("/druid-internal/v1/agent/poll", async (req, ctx) => {
    agentOnly(ctx);
    const key = workerKey(req);
    const body = validate(pollRequestSchema, await readJson(req, ctx.maxBodyBytes * 8), "poll");
    const reply = await overlord(ctx.env).poll(body, key);
    return reply === null ? empty(204) : jsonText(reply);
  });

  router.post("/druid-internal/v1/agent/tasks/:id/log", async (req, ctx) => {
    agentOnly(ctx);
    const id = validateTaskId(param(req, "id"));
    const host = workerHeader(req);
    const key = workerKey(req);
    const log = logTail(await readText(req, MAX_LOG_CHARS * 4));
    await overlord(ctx.env).upload(host, key, id, { log });
    return json({ task: id });
  });

  router.post("/druid-internal/v1/agent/tasks/:id/reports", async (req, ctx) => {
    agentOnly(ctx);
    const id = validateTaskId(param(req, "id"));
    const host = workerHeader(req);
    const key = workerKey(req);
    const reports = validate(reportsSchema, await readJson(req, MAX_LOG_CHARS), "reports");
    await overlord(ctx.env).upload(host, key, id, { reports });
    return json({ task: id });
  });
}
