/**
 * Who may upload a task's log or reports: the agent holding worker `host` (proved by its worker
 * key), for a task that was assigned to that worker — while it runs or after it ended. Anything
 * else is refused (403 for a key that does not hold the worker, 404 for a task not assigned to it).
 */
import type { OverlordStore } from "../../metadata/overlordStore.ts";
import type { OverlordCore } from "../../overlord/overlordCore.ts";
import { DruidError, notFound } from "../../shared/errors.ts";
import type { WorkerKeyDigests } from "../../shared/workerKey.ts";

export async function assertUploadAllowed(
  deps: { core: OverlordCore; store: OverlordStore; workerKeys: WorkerKeyDigests },
  taskId: string,
  host: string,
  workerKey: string,
): Promise<void> {
  const keyDigest = await deps.workerKeys.digest(workerKey);
  if (!deps.core.runner.holdsWorker(host, keyDigest)) {
    throw new DruidError("FORBIDDEN", `The worker key does not belong to the agent holding worker [${host}]`, "workerKeyRefused");
  }
  const e = deps.core.queue.get(taskId);
  const worker = e ? e.worker : (await deps.store.getTask(taskId))?.worker;
  if (worker !== host) throw notFound(`Task [${taskId}] was not assigned to worker [${host}]`);
}
