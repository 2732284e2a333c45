/** `/lockedIntervals/v2` and `/activeLocks` (Druid's LockFilterPolicy bodies). */
import type { RouterType } from "itty-router";
import { z } from "zod";
import { parseInterval } from "../../shared/intervals.ts";
import { json, readJson, text, validate, type Ctx, type Req } from "../common/http.ts";
import { overlord } from "../common/overlordStub.ts";

const filterSchema = z.array(
  z
    .object({
      datasource: z.string().min(1).max(255),
      priority: z.number().int().default(0),
      intervals: z.array(z.string()).max(1000).nullish(),
      context: z.record(z.string(), z.unknown()).nullish(),
    })
    .strict(),
).max(1000);

async function readFilters(req: Req, ctx: Ctx) {
  const body = await readJson(req, ctx.maxBodyBytes);
  if (Array.isArray(body) && body.length === 0) return null;
  const filters = validate(filterSchema, body, "filters");
  for (const f of filters) for (const i of f.intervals ?? []) parseInterval(i, "intervals", { allowEmpty: true }); // a filter: matches nothing
  return filters.map((f) => ({ datasource: f.datasource, priority: f.priority, intervals: f.intervals ?? undefined, context: f.context ?? undefined }));
}

export function lockRoutes(router: RouterType<Req, [Ctx]>) {
  router.post("/druid/indexer/v1/lockedIntervals/v2", async (req, ctx) => {
    const filters = await readFilters(req, ctx);
    if (!filters) return text("No filter provided", 400);
    return json(await overlord(ctx.env).lockedIntervals(filters));
  });
  router.post("/druid/indexer/v1/activeLocks", async (req, ctx) => {
    const filters = await readFilters(req, ctx);
    if (!filters) return text("No filter provided", 400);
    return json({ datasourceToLocks: await overlord(ctx.env).activeLocks(filters) });
  });
}
