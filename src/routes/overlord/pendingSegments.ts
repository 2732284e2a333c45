/**
 * `DELETE /druid/indexer/v1/pendingSegments/{dataSource}?interval=`: Druid's killPendingSegments,
 * deleting a data source's pending segments by their creation time (not their segment interval).
 * Refused while an active task of the data source was created inside the interval, as Druid
 * does: its allocations may still be published.
 */
import type { RouterType } from "itty-router";
import { validateId } from "../../shared/ids.ts";
import { parseInterval } from "../../shared/intervals.ts";
import { json, param, query, type Ctx, type Req } from "../common/http.ts";
import { overlord } from "../common/overlordStub.ts";

export function pendingSegmentRoutes(router: RouterType<Req, [Ctx]>) {
  router.delete("/druid/indexer/v1/pendingSegments/:ds", async (req, ctx) => {
    const ds = validateId(param(req, "ds"), "dataSource");
    const interval = parseInterval(query(req, "interval"), "interval");
    return json({ numDeleted: await overlord(ctx.env).deletePendingSegments(ds, interval) });
  });
}
