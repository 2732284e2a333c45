/**
 * Marking segments used and unused (`/druid/indexer/v1/datasources/...`, also under the
 * deprecated Coordinator paths): parsed here, decided by the Overlord, the one writer of
 * `segments`, serialised with the data source's publishes. Druid's plain-text 400s are kept.
 */
import type { RouterType } from "itty-router";
import { z } from "zod";
import type { MarkRequest } from "../../overlord/segmentMarking.ts";
import { parseSegmentId } from "../../segments/segmentId.ts";
import { MAX_FILTER_VERSIONS } from "../../shared/filterLimits.ts";
import { issuedKillTaskId, validateId } from "../../shared/ids.ts";
import { parseInterval, toIso } from "../../shared/intervals.ts";
import { json, param, readJson, text, type Ctx, type Req } from "../common/http.ts";
import { overlord } from "../common/overlordStub.ts";
import { parseTasks } from "./tasks.ts";

const dsParam = (req: Req) => validateId(param(req, "ds"), "dataSource");

/** Druid's SegmentsToUpdateFilter. */
const updateFilter = z
  .object({
    interval: z.string().optional(),
    segmentIds: z.array(z.string().min(1).max(2048)).min(1).max(10_000).optional(),
    versions: z.array(z.string().min(1).max(255)).max(MAX_FILTER_VERSIONS).optional(),
  })
  .strict();
const BAD_FILTER =
  "Invalid request payload. Specify either 'interval' or 'segmentIds', but not both. Optionally, include 'versions' only when 'interval' is provided.";

async function markBy(req: Req, ctx: Ctx, used: boolean): Promise<Response> {
  const ds = dsParam(req);
  let body: unknown;
  try {
    body = await readJson(req, ctx.maxBodyBytes);
  } catch {
    return text(BAD_FILTER, 400);
  }
  const f = updateFilter.safeParse(body);
  if (!f.success || (f.data.interval === undefined) === (f.data.segmentIds === undefined) || (f.data.versions && !f.data.interval)) return text(BAD_FILTER, 400);
  const request: MarkRequest =
    f.data.interval !== undefined
      ? // Druid: an empty interval matches nothing
        { kind: "interval", used, interval: parseInterval(f.data.interval, "interval", { allowEmpty: true }), versions: f.data.versions ?? null }
      : { kind: "ids", used, ids: f.data.segmentIds! };
  return changed(await overlord(ctx.env).markSegments(ds, request));
}

const changed = (n: number) => json({ numChangedSegments: n, segmentStateChanged: n > 0 });

async function markOne(req: Req, ctx: Ctx, used: boolean): Promise<Response> {
  const ds = dsParam(req);
  const id = param(req, "segmentId");
  if (!parseSegmentId(id, ds)) return text(`Could not parse Segment ID[${id}] for DataSource[${ds}]`, 400);
  return changed(await overlord(ctx.env).markSegments(ds, { kind: "ids", used, ids: [id] }));
}

const markAllUsed = async (req: Req, ctx: Ctx) => changed(await overlord(ctx.env).markSegments(dsParam(req), { kind: "allUsed" }));
const markAllUnused = async (req: Req, ctx: Ctx) => changed(await overlord(ctx.env).markSegments(dsParam(req), { kind: "allUnused" }));

/**
 * Druid's deprecated Coordinator-path kill (`DELETE .../datasources/{ds}/intervals/{interval}`,
 * or `DELETE .../datasources/{ds}?kill=true&interval=`): a `kill` task with Druid's
 * `api-issued` id prefix, submitted to the Overlord like any task (it deletes unused segments).
 */
async function submitKill(req: Req, ctx: Ctx, intervalText: string | undefined): Promise<Response> {
  const ds = dsParam(req);
  const interval = parseInterval(intervalText, "interval", { allowUnderscore: true });
  const now = Date.now();
  const iso = `${toIso(interval.start)}/${toIso(interval.end)}`;
  const [task] = parseTasks([{ type: "kill", id: issuedKillTaskId("api-issued", ds, iso, now), dataSource: ds, interval: iso }], ctx, now);
  await overlord(ctx.env).submit([task!]);
  return text("", 200);
}

export function segmentMarkingRoutes(router: RouterType<Req, [Ctx]>) {
  for (const base of ["/druid/indexer/v1/datasources", "/druid/coordinator/v1/datasources"]) {
    router.post(`${base}/:ds/markUsed`, (req, ctx) => markBy(req, ctx, true));
    router.post(`${base}/:ds/markUnused`, (req, ctx) => markBy(req, ctx, false));
    router.post(`${base}/:ds/segments/:segmentId`, (req, ctx) => markOne(req, ctx, true));
    router.delete(`${base}/:ds/segments/:segmentId`, (req, ctx) => markOne(req, ctx, false));
  }
  router.post("/druid/indexer/v1/datasources/:ds", markAllUsed);
  router.delete("/druid/indexer/v1/datasources/:ds", markAllUnused);
  // the deprecated Coordinator paths, forwarded to the Overlord as Druid's Coordinator does
  router.post("/druid/coordinator/v1/datasources/:ds", markAllUsed);
  router.delete("/druid/coordinator/v1/datasources/:ds/intervals/:interval", (req, ctx) => submitKill(req, ctx, param(req, "interval")));
  router.delete("/druid/coordinator/v1/datasources/:ds", (req, ctx) =>
    req.query["kill"] === "true" ? submitKill(req, ctx, typeof req.query["interval"] === "string" ? req.query["interval"] : undefined) : markAllUnused(req, ctx),
  );

}
