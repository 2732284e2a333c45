/**
 * Segment metadata read from D1: the Coordinator's metadata views
 * (`/druid/coordinator/v1/metadata/...`) and `task/{id}/segments`. Only reads: marking segments
 * is the Overlord's (routes/overlord/segmentMarking.ts), the one writer of `segments`.
 *
 * The views of every used segment (all, of some data sources, of one) are streamed page by page
 * (metadata/segmentPages.ts, routes/common/streamedJson.ts): at a million segments their JSON
 * cannot be held at once. Their order is the pages' (datasource, start, version, partition, id),
 * the order they answered in before; Druid itself guarantees none.
 */
import type { RouterType } from "itty-router";
import { z } from "zod";
import { MAX_FILTER_DATASOURCES } from "../../shared/filterLimits.ts";
import { SegmentPages, type KeyedRecord } from "../../metadata/segmentPages.ts";
import { SegmentStore, type SegmentRecord } from "../../metadata/segmentStore.ts";
import { invalidInput } from "../../shared/errors.ts";
import { parseInterval, toIso } from "../../shared/intervals.ts";
import { validateId, validateTaskId } from "../../shared/ids.ts";
import { coordinator } from "../common/coordinatorStub.ts";
import { flag, json, param, query, readJson, text, type Ctx, type Req } from "../common/http.ts";
import { jsonArrayPieces, streamedJson } from "../common/streamedJson.ts";

const store = (ctx: Ctx) => new SegmentStore(ctx.env.DB);
const pages = (ctx: Ctx) => new SegmentPages(ctx.env.DB);
const dsParam = (req: Req) => validateId(param(req, "ds"), "dataSource");

/** ImmutableDruidDataSource's JSON up to its segments array, left open: `{"name",...,"segments":[`. */
const openDataSource = (name: string) => `${JSON.stringify({ name, properties: { created: toIso(Date.now()) } }).slice(0, -1)},"segments":[`;

/** Druid's SegmentStatusInCluster; overshadowed status comes from the Coordinator's view (synced first). */
function withStatus(records: SegmentRecord[], overshadowed: readonly boolean[]) {
  return records.map((r, i) => ({
    ...r.segment,
    overshadowed: overshadowed[i] === true,
    replicationFactor: 0,
    numRows: r.numRows ?? (typeof r.segment["totalRows"] === "number" ? r.segment["totalRows"] : 0),
    realtime: false,
  }));
}

/** Each page with its overshadowed flags: one Coordinator call per page, for that page's segments only (the first brings the view up to date). */
async function* withStatusPages(ctx: Ctx, used: AsyncIterable<KeyedRecord[]>) {
  const coord = coordinator(ctx.env);
  let first = true;
  for await (const page of used) {
    yield withStatus(page, await coord.overshadowedAmong(page.map((r) => r.key), first));
    first = false;
  }
}

/**
 * `[{name, properties, segments:[...]}, ...]` from pages in data source order: a data source's
 * object opens at its first segment and closes at the next data source's (or the end), so one
 * data source with a million segments is streamed like any other list.
 */
async function* dataSourcesPieces(used: AsyncIterable<SegmentRecord[]>): AsyncGenerator<string> {
  let current: string | null = null;
  for await (const page of used) {
    let piece = "";
    for (const r of page) {
      const ds = r.segment.dataSource;
      if (ds !== current) piece += (current === null ? "[" : "]},") + openDataSource(ds);
      else piece += ",";
      current = ds;
      piece += JSON.stringify(r.segment);
    }
    yield piece;
  }
  yield current === null ? "[]" : "]}]";
}

/** One ImmutableDruidDataSource whose segments are streamed. */
async function* dataSourcePieces(name: string, used: AsyncIterable<SegmentRecord[]>): AsyncGenerator<string> {
  yield openDataSource(name).slice(0, -1);
  yield* jsonArrayPieces(used, (r) => r.segment);
  yield "}";
}

export function metadataRoutes(router: RouterType<Req, [Ctx]>) {
  // ---- task/{id}/segments (druid-edge keeps the publishing task with each segment) -----------
  router.get("/druid/indexer/v1/task/:id/segments", async (req, ctx) => {
    const id = validateTaskId(param(req, "id"));
    return json((await store(ctx).byTask(id)).map((r) => r.segment));
  });

  // ---- Coordinator metadata views -------------------------------------------------------------
  const M = "/druid/coordinator/v1/metadata";
  router.get(`${M}/datasources`, async (req, ctx) => {
    const includeUnused = flag(req, "includeUnused") || flag(req, "includeDisabled");
    if (!includeUnused && flag(req, "full")) return streamedJson(dataSourcesPieces(pages(ctx).used(null)));
    return json((await store(ctx).dataSources(includeUnused)).map((d) => d.name));
  });

  router.get(`${M}/segments`, async (req, ctx) => {
    const raw = req.query["datasources"];
    const dataSources = raw === undefined ? null : (Array.isArray(raw) ? raw : [raw]).map((d) => validateId(d, "datasources"));
    if (dataSources && dataSources.length > MAX_FILTER_DATASOURCES) throw invalidInput(`Invalid [datasources]: at most [${MAX_FILTER_DATASOURCES}] data sources per request`);
    const used = pages(ctx).used(dataSources);
    if (flag(req, "includeOvershadowedStatus")) return streamedJson(jsonArrayPieces(withStatusPages(ctx, used)));
    return streamedJson(jsonArrayPieces(used, (r) => r.segment));
  });

  router.get(`${M}/datasources/:ds`, async (req, ctx) => {
    const ds = dsParam(req);
    // checked first: the 404 must be answered before any byte of the stream
    if (!(await pages(ctx).hasUsed(ds))) return json({ error: `Datasource [${ds}] not found` }, 404);
    return streamedJson(dataSourcePieces(ds, pages(ctx).used([ds])));
  });

  router.get(`${M}/datasources/:ds/segments`, async (req, ctx) => {
    const used = pages(ctx).used([dsParam(req)]);
    return streamedJson(jsonArrayPieces(used, flag(req, "full") ? (r) => r.segment : (r) => r.id));
  });

  router.post(`${M}/datasources/:ds/segments`, async (req, ctx) => {
    const body = z.array(z.string()).max(1000).safeParse(await readJson(req, ctx.maxBodyBytes));
    if (!body.success) return text("Expected a JSON array of intervals", 400);
    const intervals = body.data.map((i) => parseInterval(i, "intervals", { allowEmpty: true }));
    const used = await store(ctx).overlapping(dsParam(req), intervals, true);
    return json(flag(req, "full") ? used.map((r) => r.segment) : used.map((r) => r.id));
  });

  router.get(`${M}/datasources/:ds/unusedSegments`, async (req, ctx) => {
    const ds = dsParam(req);
    const intervalText = query(req, "interval");
    const interval = intervalText ? parseInterval(intervalText, "interval", { allowUnderscore: true, allowEmpty: true }) : null;
    const limitText = query(req, "limit");
    if (limitText !== undefined && (!/^\d+$/.test(limitText) || Number(limitText) <= 0)) return text(`Invalid limit[${limitText}]`, 400);
    const order = (query(req, "sortOrder") ?? "ASC").toUpperCase();
    if (order !== "ASC" && order !== "DESC") return text(`Invalid sortOrder[${order}]`, 400);
    const unused = pages(ctx).unused(ds, { interval, descending: order === "DESC", afterId: query(req, "lastSegmentId") ?? null, limit: limitText === undefined ? null : Number(limitText) });
    return streamedJson(
      jsonArrayPieces(unused, (r) => ({
        dataSegment: r.segment,
        createdDate: r.createdDate,
        usedStatusLastUpdatedDate: r.usedStatusLastUpdated,
        used: r.used,
        schemaFingerprint: null,
        numRows: r.numRows,
        upgradedFromSegmentId: null,
        indexingStateFingerprint: null,
      })),
    );
  });

  router.get(`${M}/datasources/:ds/segments/:segmentId`, async (req, ctx) => {
    const ds = dsParam(req);
    const id = param(req, "segmentId");
    const [r] = await store(ctx).byIds([id]);
    if (!r || r.segment.dataSource !== ds || (!r.used && query(req, "includeUnused") !== "true")) return json({ error: `Segment [${id}] not found` }, 404);
    return json(r.segment);
  });
}

