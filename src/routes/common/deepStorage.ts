/**
 * Deep storage behind the Worker: segment files live in the R2 bucket bound as DEEP_STORAGE, and
 * agents move them through these endpoints with the agent token, so they need no cloud
 * credentials. Writes and deletes also need a running task's credential and may only touch
 * `segments/<dataSource of that task>/...`; reads need the agent or admin token.
 *
 *   PUT    /druid-internal/v1/deep-storage?key=K   (body: the file)
 *   GET    /druid-internal/v1/deep-storage?key=K
 *   DELETE /druid-internal/v1/deep-storage?key=K
 */
import type { RouterType } from "itty-router";
import { DruidError, invalidInput, notFound } from "../../shared/errors.ts";
import { validateTaskId } from "../../shared/ids.ts";
import { json, query, type Ctx, type Req } from "./http.ts";
import { taskCredential } from "../overlord/actions.ts";
import { overlord } from "./overlordStub.ts";

const PATH = "/druid-internal/v1/deep-storage";
/** Workers accept request bodies up to 100 MB on most plans; segments are capped below that. */
const MAX_SEGMENT_FILE_BYTES = 95 * 1024 * 1024;

/** The key prefix a task of `dataSource` may write under. */
export function segmentKeyPrefix(dataSource: string): string {
  return `segments/${encodeURIComponent(dataSource)}/`;
}

function keyOf(req: Req): string {
  const key = query(req, "key");
  if (!key || key.length > 1024 || key.startsWith("/") || key.split("/").some((p) => p === ".." || p === "." || p === "") || /[\u0000-\u001f\\]/.test(key)) {
    throw invalidInput("Invalid [key]: expected a relative object key like segments/<dataSource>/<file>");
  }
  return key;
}

async function authorizeWrite(req: Req, ctx: Ctx, key: string): Promise<void> {
  const taskId = validateTaskId(req.headers.get("X-Druid-Task-Id") ?? "");
  const dataSource = await overlord(ctx.env).verifyTaskCredential(taskId, taskCredential(req));
  if (!key.startsWith(segmentKeyPrefix(dataSource))) {
    throw new DruidError("FORBIDDEN", `Task [${taskId}] may only write under [${segmentKeyPrefix(dataSource)}]`, "wrongKeyPrefix");
  }
}

export function deepStorageRoutes(router: RouterType<Req, [Ctx]>) {
  router.put(PATH, async (req, ctx) => {
    const key = keyOf(req);
    await authorizeWrite(req, ctx, key);
    const length = Number(req.headers.get("content-length") ?? "NaN");
    if (!Number.isFinite(length)) throw new DruidError("INVALID_INPUT", "Content-Length is required", "lengthRequired", {}, 411);
    if (length > MAX_SEGMENT_FILE_BYTES) throw new DruidError("INVALID_INPUT", `Segment file larger than [${MAX_SEGMENT_FILE_BYTES}] bytes`, "requestTooLarge", {}, 413);
    const bytes = await req.arrayBuffer();
    if (bytes.byteLength !== length) throw invalidInput("Body length does not match Content-Length");
    const obj = await ctx.env.DEEP_STORAGE.put(key, bytes);
    return json({ key, size: obj?.size ?? bytes.byteLength, etag: obj?.etag ?? null });
  });

  router.get(PATH, async (req, ctx) => {
    const key = keyOf(req);
    const obj = await ctx.env.DEEP_STORAGE.get(key);
    if (!obj) throw notFound(`No object [${key}] in deep storage`);
    return new Response(obj.body, { headers: { "content-type": "application/octet-stream", "content-length": String(obj.size), etag: obj.httpEtag } });
  });

  router.delete(PATH, async (req, ctx) => {
    const key = keyOf(req);
    await authorizeWrite(req, ctx, key);
    await ctx.env.DEEP_STORAGE.delete(key);
    return json({ key, deleted: true });
  });
}
