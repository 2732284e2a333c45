/**
 * Segment metadata read from D1: the Coordinator's metadata views
 * (`/druid/coordinator/v1/metadata/...`) and `task/{id}/segments`. Only reads: marking segments
 * is the Overlord's (routes/overlord/segmentMarking.ts), the one writer of `segments`.
 */
import type { RouterType } from "itty-router";
import { z } from "zod";
import { MAX_FILTER_DATASOURCES } from "../../shared/filterLimits.ts";
import { SegmentStore, type SegmentRecord } from "../../metadata/segmentStore.ts";
import { invalidInput } from "../../shared/errors.ts";
import type { DataSegment } from "../../segments/dataSegment.ts";
import { parseInterval, toIso } from "../../shared/intervals.ts";
import { validateId, validateTaskId } from "../../shared/ids.ts";
import { coordinator } from "../common/coordinatorStub.ts";
import { flag, json, param, query, readJson, text, type Ctx, type Req } from "../common/http.ts";

const store = (ctx: Ctx) => new SegmentStore(ctx.env.DB);
const dsParam = (req: Req) => validateId(param(req, "ds"), "dataSource");

function immutableDataSource(name: string, segments: DataSegment[]) {
  return { name, properties: { created: toIso(Date.now()) }, segments };
}

/** Druid's SegmentStatusInCluster; overshadowed status comes from the Coordinator's view (synced first). */
function withStatus(records: SegmentRecord[], overshadowed: ReadonlySet<string>) {
  return records.map((r) => ({
    ...r.segment,
    overshadowed: overshadowed.has(r.id),
    replicationFactor: 0,
    numRows: r.numRows ?? (typeof r.segment["totalRows"] === "number" ? r.segment["totalRows"] : 0),
    realtime: false,
  }));
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
    if (!includeUnused && flag(req, "full")) {
      const used = await store(ctx).allUsed(null);
      const by = new Map<string, DataSegment[]>();
      for (const r of used) {
        const list = by.get(r.segment.dataSource) ?? [];
        list.push(r.segment);
        by.set(r.segment.dataSource, list);
      }
      return json([...by].map(([name, segs]) => immutableDataSource(name, segs)));
    }
    return json((await store(ctx).dataSources(includeUnused)).map((d) => d.name));
  });

  router.get(`${M}/segments`, async (req, ctx) => {
    const raw = req.query["datasources"];
    const dataSources = raw === undefined ? null : (Array.isArray(raw) ? raw : [raw]).map((d) => validateId(d, "datasources"));
    if (dataSources && dataSources.length > MAX_FILTER_DATASOURCES) throw invalidInput(`Invalid [datasources]: at most [${MAX_FILTER_DATASOURCES}] data sources per request`);
    const used = await store(ctx).allUsed(dataSources);
    if (flag(req, "includeOvershadowedStatus")) return json(withStatus(used, new Set(await coordinator(ctx.env).overshadowedIds(dataSources))));
    return json(used.map((r) => r.segment));
  });

  router.get(`${M}/datasources/:ds`, async (req, ctx) => {
    const ds = dsParam(req);
    const used = await store(ctx).overlapping(ds, null, true);
    if (used.length === 0) return json({ error: `Datasource [${ds}] not found` }, 404);
    return json(immutableDataSource(ds, used.map((r) => r.segment)));
  });

  router.get(`${M}/datasources/:ds/segments`, async (req, ctx) => {
    const used = await store(ctx).overlapping(dsParam(req), null, true);
    return json(flag(req, "full") ? used.map((r) => r.segment) : used.map((r) => r.id));
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
    let rows = await store(ctx).unusedWithin(ds, interval, {});
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (order === "DESC") rows.reverse();
    const last = query(req, "lastSegmentId");
    if (last !== undefined) rows = rows.filter((r) => (order === "ASC" ? r.id > last : r.id < last));
    if (limitText !== undefined) rows = rows.slice(0, Number(limitText));
    return json(
      rows.map((r) => ({
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

