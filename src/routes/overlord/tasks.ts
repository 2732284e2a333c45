/**
 * Druid's task API (`/druid/indexer/v1/task*`, `tasks`, `taskStatus`, lists, shutdown) plus the
 * bulk submission `POST /druid/indexer/v1/tasks`. Parsing and validation happen here; the
 * Overlord object only sees valid tasks.
 */
import type { RouterType } from "itty-router";
import { z } from "zod";
import { parseTask, type Task } from "../../overlord/taskSpec.ts";
import { invalidInput } from "../../shared/errors.ts";
import { parseInterval } from "../../shared/intervals.ts";
import { empty, json, jsonText, param, query, readJson, text, validate, type Ctx, type Req } from "../common/http.ts";
import { overlord } from "../common/overlordStub.ts";

const STATES = ["pending", "waiting", "running", "complete"] as const;

export function parseTasks(inputs: unknown[], ctx: Ctx, now: number): Task[] {
  const { defaultContext, maxTaskPayloadBytes: maxPayloadBytes, testTaskTypes } = ctx.config;
  return inputs.map((input, i) => {
    try {
      return parseTask(input, { now, defaultContext, maxPayloadBytes, testTaskTypes });
    } catch (err) {
      if (inputs.length > 1 && err instanceof Error) err.message = `tasks[${i}]: ${err.message}`;
      throw err;
    }
  });
}

function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > Number.MAX_SAFE_INTEGER) throw invalidInput(`Invalid [${name}]: expected a non-negative integer`);
  return Number(v);
}

export function taskRoutes(router: RouterType<Req, [Ctx]>) {
  router.post("/druid/indexer/v1/task", async (req, ctx) => {
    const body = await readJson(req, ctx.maxBodyBytes);
    const [task] = parseTasks([body], ctx, Date.now());
    const [id] = await overlord(ctx.env).submit([task!]);
    return json({ task: id });
  });

  // Bulk submission (druid-edge): all-or-nothing, one group commit.
  router.post("/druid/indexer/v1/tasks", async (req, ctx) => {
    const body = await readJson(req, ctx.maxBodyBytes * 16);
    const list = Array.isArray(body) ? body : body && typeof body === "object" ? (body as { tasks?: unknown }).tasks : undefined;
    if (!Array.isArray(list) || list.length === 0) throw invalidInput('Invalid [tasks]: expected a non-empty array of tasks (or {"tasks": [...]})');
    const max = ctx.config.maxBulkTasks;
    if (list.length > max) throw invalidInput(`Invalid [tasks]: at most [${max}] tasks per request, got [${list.length}]`);
    const tasks = parseTasks(list, ctx, Date.now());
    const ids = await overlord(ctx.env).submit(tasks);
    return json({ tasks: ids });
  });

  router.get("/druid/indexer/v1/task/:id", async (req, ctx) => {
    const id = param(req, "id");
    const payload = await overlord(ctx.env).getTaskJson(id);
    // The stored JSON is passed through as text: it is never parsed or re-serialised here.
    return payload === null ? json({ task: id, payload: null }, 404) : jsonText(`{"task":${JSON.stringify(id)},"payload":${payload}}`);
  });

  router.get("/druid/indexer/v1/task/:id/status", async (req, ctx) => {
    const id = param(req, "id");
    const status = await overlord(ctx.env).taskStatus(id);
    return json({ task: id, status }, status ? 200 : 404);
  });

  router.get("/druid/indexer/v1/task/:id/log", async (req, ctx) => {
    const id = param(req, "id");
    const offsetText = query(req, "offset");
    let offset = 0;
    if (offsetText !== undefined) {
      if (!/^-?\d+$/.test(offsetText)) throw invalidInput("Invalid [offset]: expected an integer");
      offset = Number(offsetText);
    }
    const log = await overlord(ctx.env).getLog(id);
    if (log === null) return text(`No log was found for this task. The task may not exist, or it may not have begun running yet.`, 404);
    const bytes = new TextEncoder().encode(log);
    const slice = offset >= 0 ? bytes.slice(Math.min(offset, bytes.length)) : bytes.slice(Math.max(0, bytes.length + offset));
    return new Response(slice, { headers: { "content-type": "text/plain; charset=utf-8" } });
  });

  router.get("/druid/indexer/v1/task/:id/reports", async (req, ctx) => {
    const reports = await overlord(ctx.env).getReports(param(req, "id"));
    if (reports === null) return text("No task reports were found for this task. The task may not exist, or it may not have completed yet.", 404);
    return json(reports);
  });

  router.post("/druid/indexer/v1/task/:id/shutdown", async (req, ctx) => {
    const id = param(req, "id");
    await overlord(ctx.env).shutdown(id);
    return json({ task: id });
  });

  router.post("/druid/indexer/v1/datasources/:ds/shutdownAllTasks", async (req, ctx) => {
    const ds = param(req, "ds");
    const n = await overlord(ctx.env).shutdownAll(ds);
    return n > 0 ? json({ dataSource: ds }) : empty(404);
  });

  router.post("/druid/indexer/v1/taskStatus", async (req, ctx) => {
    const body = await readJson(req, ctx.maxBodyBytes);
    if (Array.isArray(body) && body.length === 0) return text("No Task IDs provided.", 400);
    const ids = validate(z.array(z.string().min(1).max(255)).max(10_000), body, "task ids");
    return json(await overlord(ctx.env).taskStatuses(ids));
  });

  router.get("/druid/indexer/v1/tasks", async (req, ctx) => {
    const stateText = query(req, "state");
    let state: (typeof STATES)[number] | undefined;
    if (stateText !== undefined) {
      const lower = stateText.toLowerCase();
      if (!(STATES as readonly string[]).includes(lower)) {
        return text(`Invalid task state[${stateText}]. Must be one of [pending, waiting, running, complete].`, 400);
      }
      state = lower as (typeof STATES)[number];
    }
    const createdTimeInterval = query(req, "createdTimeInterval");
    let lookbackMs: number | undefined;
    if (createdTimeInterval !== undefined) {
      const i = parseInterval(createdTimeInterval, "createdTimeInterval", { allowUnderscore: true, allowEmpty: true });
      lookbackMs = i.end - i.start;
    }
    return jsonText(
      await overlord(ctx.env).listTasksJson({
        state,
        dataSource: query(req, "datasource"),
        type: query(req, "type"),
        lookbackMs,
        max: positiveInt(query(req, "max"), "max"),
      }),
    );
  });

  router.get("/druid/indexer/v1/waitingTasks", (_req, ctx) => overlord(ctx.env).listTasksJson({ state: "waiting" }).then(jsonText));
  router.get("/druid/indexer/v1/pendingTasks", (_req, ctx) => overlord(ctx.env).listTasksJson({ state: "pending" }).then(jsonText));
  router.get("/druid/indexer/v1/runningTasks", (req, ctx) =>
    overlord(ctx.env).listTasksJson({ state: "running", type: query(req, "type") }).then(jsonText),
  );
  router.get("/druid/indexer/v1/completeTasks", async (req, ctx) =>
    jsonText(await overlord(ctx.env).listTasksJson({ state: "complete", max: positiveInt(query(req, "n"), "n") })),
  );

}
