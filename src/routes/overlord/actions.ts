/**
 * `POST /druid/indexer/v1/action`: Druid's task-action envelope `{"task": <task JSON or id>,
 * "action": {...}}` → `{"result": ...}`. The caller proves which task it acts for with the
 * per-task credential it received with the assignment (header `X-Druid-Task-Credential`).
 */
import type { RouterType } from "itty-router";
import { actionEnvelopeSchema, actionSchema } from "../../protocol/taskAction.ts";
import { TASK_CREDENTIAL_HEADER } from "../../protocol/headers.ts";
import { validateTaskId } from "../../shared/ids.ts";
import { DruidError } from "../../shared/errors.ts";
import { json, readJson, validate, type Ctx, type Req } from "../common/http.ts";
import { overlord } from "../common/overlordStub.ts";


export function taskCredential(req: Req): string {
  const c = req.headers.get(TASK_CREDENTIAL_HEADER);
  if (!c || c.length > 512) throw new DruidError("FORBIDDEN", `Task actions need the task's credential in the ${TASK_CREDENTIAL_HEADER} header`, "taskCredentialMissing");
  return c;
}

export function actionRoutes(router: RouterType<Req, [Ctx]>) {
  router.post("/druid/indexer/v1/action", async (req, ctx) => {
    const credential = taskCredential(req);
    const body = validate(actionEnvelopeSchema, await readJson(req, ctx.maxBodyBytes * 16), "action envelope");
    const taskId = validateTaskId(typeof body.task === "string" ? body.task : body.task.id);
    const action = validate(actionSchema, body.action, "action");
    const result = await overlord(ctx.env).action(taskId, credential, action);
    return json({ result: result ?? null });
  });
}
