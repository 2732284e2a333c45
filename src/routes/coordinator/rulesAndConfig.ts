/**
 * Druid's retention rules API (`/druid/coordinator/v1/rules`) and the Coordinator's dynamic
 * config (`/druid/coordinator/v1/config`), served by the Coordinator object (the one writer of
 * its tables). Bodies are validated here and again in the object; audit from `X-Druid-Author` /
 * `X-Druid-Comment`. Where Druid answers a bad rule list 500 (per its docs), druid-edge answers
 * 400 with Druid's error JSON.
 */
import type { RouterType } from "itty-router";
import { DEFAULT_RULES_KEY, parseRules } from "../../coordinator/rules.ts";
import { parseDynamicConfigPatch } from "../../coordinator/dynamicConfig.ts";
import { validateId } from "../../shared/ids.ts";
import { historyFilter } from "../common/auditHistory.ts";
import { coordinator } from "../common/coordinatorStub.ts";
import { auditInfo, empty, flag, json, param, readJson, type Ctx, type Req } from "../common/http.ts";

const R = "/druid/coordinator/v1/rules";
/** A data source name as Druid's rules API takes it (`_default` is the cluster default). */
const dataSourceOf = (req: Req) => {
  const ds = param(req, "ds");
  return ds === DEFAULT_RULES_KEY ? ds : validateId(ds, "dataSource");
};

export function coordinatorConfigRoutes(router: RouterType<Req, [Ctx]>) {
  router.get(R, async (_req, ctx) => json(await coordinator(ctx.env).allRules()));

  // before /rules/:ds, which would take "history" for a data source
  router.get(`${R}/history`, async (req, ctx) => {
    const filter = historyFilter(req);
    return filter instanceof Response ? filter : json(await coordinator(ctx.env).rulesHistory(null, filter));
  });

  router.get(`${R}/:ds`, async (req, ctx) => json(await coordinator(ctx.env).rulesOf(dataSourceOf(req), flag(req, "full"))));

  router.post(`${R}/:ds`, async (req, ctx) => {
    const ds = dataSourceOf(req);
    const rules = parseRules(await readJson(req, ctx.maxBodyBytes), ds);
    await coordinator(ctx.env).setRules(ds, rules, auditInfo(req));
    return empty(200);
  });

  router.get(`${R}/:ds/history`, async (req, ctx) => {
    const filter = historyFilter(req);
    return filter instanceof Response ? filter : json(await coordinator(ctx.env).rulesHistory(dataSourceOf(req), filter));
  });

  router.get("/druid/coordinator/v1/config", async (_req, ctx) => json(await coordinator(ctx.env).getDynamicConfig()));
  router.get("/druid/coordinator/v1/duties", async (_req, ctx) => json(await coordinator(ctx.env).duties()));

  router.post("/druid/coordinator/v1/config", async (req, ctx) => {
    const patch = await readJson(req, ctx.maxBodyBytes);
    parseDynamicConfigPatch(patch); // refuse before the object is asked
    await coordinator(ctx.env).setDynamicConfig(patch, auditInfo(req));
    return empty(200);
  });

  router.get("/druid/coordinator/v1/config/history", async (req, ctx) => {
    const filter = historyFilter(req);
    return filter instanceof Response ? filter : json(await coordinator(ctx.env).dynamicConfigHistory(filter));
  });
}
