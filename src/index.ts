/**
 * The Worker entry: authenticates every request (but `/status/health`), then routes Druid's
 * HTTP API to the Overlord object through typed RPC. Errors become Druid's error JSON.
 */
import { Router } from "itty-router";
import type { Env } from "./env.ts";
import { configOf } from "./overlord/config.ts";
import { principalOf } from "./shared/auth.ts";
import { DruidError, notFound, unauthorized } from "./shared/errors.ts";
import { errorResponse, json, type Ctx, type Req } from "./routes/common/http.ts";
import { actionRoutes } from "./routes/overlord/actions.ts";
import { agentRoutes } from "./routes/overlord/agent.ts";
import { deepStorageRoutes } from "./routes/common/deepStorage.ts";
import { metadataRoutes } from "./routes/coordinator/metadata.ts";
import { coordinatorConfigRoutes } from "./routes/coordinator/rulesAndConfig.ts";
import { segmentMarkingRoutes } from "./routes/overlord/segmentMarking.ts";
import { pendingSegmentRoutes } from "./routes/overlord/pendingSegments.ts";
import { lockRoutes } from "./routes/overlord/locks.ts";
import { statusRoutes } from "./routes/common/status.ts";
import { taskRoutes } from "./routes/overlord/tasks.ts";
import { workerRoutes } from "./routes/overlord/workers.ts";

export { Coordinator } from "./objects/Coordinator.ts";
export { Overlord } from "./objects/Overlord.ts";

const router = Router<Req, [Ctx]>();
statusRoutes(router);
taskRoutes(router);
lockRoutes(router);
workerRoutes(router);
agentRoutes(router);
actionRoutes(router);
deepStorageRoutes(router);
segmentMarkingRoutes(router);
pendingSegmentRoutes(router);
metadataRoutes(router);
coordinatorConfigRoutes(router);
router.all("*", (req) => {
  throw notFound(`No such endpoint: ${req.method} ${new URL(req.url).pathname}`);
});

const AGENT_PATHS = ["/druid-internal/v1/agent/", "/druid-internal/v1/deep-storage"];

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/status/health") return json(true);
    try {
      if (!env.ADMIN_TOKEN || !env.AGENT_TOKEN) {
        throw new DruidError("SERVICE_UNAVAILABLE", "ADMIN_TOKEN and AGENT_TOKEN must be configured (wrangler secret put / .dev.vars)", "notConfigured");
      }
      const principal = principalOf(request.headers.get("Authorization"), env.ADMIN_TOKEN, env.AGENT_TOKEN);
      const isAgentPath = AGENT_PATHS.some((p) => url.pathname.startsWith(p));
      const isActionPath = url.pathname === "/druid/indexer/v1/action";
      if (principal === "none") throw unauthorized("Unauthorized: a valid Authorization header is required");
      if (principal === "agent" && !isAgentPath && !isActionPath) throw new DruidError("FORBIDDEN", "The agent token does not open operator endpoints", "forbidden");
      const config = configOf(env);
      const ctx: Ctx = { env, principal, config, maxBodyBytes: config.maxBodyBytes };
      const res = (await router.fetch(request as Req, ctx)) as Response | undefined;
      return res ?? errorResponse(notFound("Not found"));
    } catch (err) {
      const res = errorResponse(err);
      if (res.status === 401) res.headers.set("WWW-Authenticate", 'Basic realm="druid-edge", charset="UTF-8"');
      return res;
    }
  },
} satisfies ExportedHandler<Env>;
