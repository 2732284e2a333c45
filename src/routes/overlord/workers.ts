/** Worker fleet endpoints: workers, enable/disable, WorkerBehaviorConfig + history, capacity. */
import type { RouterType } from "itty-router";
import { workerBehaviorConfigSchema } from "../../overlord/workerSelect.ts";
import { historyFilter } from "../common/auditHistory.ts";
import { auditInfo, empty, json, param, readJson, validate, type Ctx, type Req } from "../common/http.ts";
import { overlord } from "../common/overlordStub.ts";

export function workerRoutes(router: RouterType<Req, [Ctx]>) {
  router.get("/druid/indexer/v1/workers", async (_req, ctx) => json(await overlord(ctx.env).workers()));

  for (const action of ["enable", "disable"] as const) {
    router.post(`/druid/indexer/v1/worker/:host/${action}`, async (req, ctx) => {
      const host = param(req, "host");
      const ok = await overlord(ctx.env).setWorkerEnabled(host, action === "enable");
      if (!ok) return json({ error: `Worker [${host}] is not known to the Overlord` }, 500);
      return json({ [host]: action === "enable" ? "enabled" : "disabled" });
    });
  }

  router.get("/druid/indexer/v1/worker", async (_req, ctx) => {
    const cfg = await overlord(ctx.env).getWorkerConfig();
    return cfg ? json(cfg) : empty(200);
  });

  router.post("/druid/indexer/v1/worker", async (req, ctx) => {
    const body = await readJson(req, ctx.maxBodyBytes);
    const cfg = validate(workerBehaviorConfigSchema, body, "worker config");
    await overlord(ctx.env).setWorkerConfig({ ...cfg, autoScaler: null }, auditInfo(req));
    return empty(200);
  });

  router.get("/druid/indexer/v1/worker/history", async (req, ctx) => {
    const filter = historyFilter(req);
    return filter instanceof Response ? filter : json(await overlord(ctx.env).auditHistory("worker.config", filter));
  });

  router.get("/druid/indexer/v1/totalWorkerCapacity", async (_req, ctx) => json(await overlord(ctx.env).totalWorkerCapacity()));
}
