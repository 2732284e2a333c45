/**
 * What the Overlord rebuilds itself from at start (Druid's becomeLeader): active tasks, locks,
 * workers and the worker config, read from D1 and turned into the core's StoredState. A stored
 * payload that no longer parses, or is nested too deep to use, is marked unreadable (the core
 * fails that task) instead of failing the start.
 */
import { OverlordStore, parseLocation, type TaskRow } from "../../metadata/overlordStore.ts";
import type { StoredState } from "../../overlord/overlordCore.ts";
import { workerBehaviorConfigSchema, type WorkerBehaviorConfig } from "../../overlord/workerSelect.ts";
import { depthWithin, MAX_JSON_DEPTH } from "../../shared/boundedJson.ts";

function readStoredPayload(r: TaskRow): { payload: Record<string, unknown>; unreadable?: string } {
  const minimal = { id: r.id, type: r.type, groupId: r.group_id, dataSource: r.datasource };
  try {
    const payload = JSON.parse(r.payload) as unknown;
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return { payload: minimal, unreadable: "it is not a JSON object" };
    if (!depthWithin(payload)) return { payload: minimal, unreadable: `it is nested deeper than [${MAX_JSON_DEPTH}] levels` };
    return { payload: payload as Record<string, unknown> };
  } catch (err) {
    return { payload: minimal, unreadable: err instanceof Error ? err.message : String(err) };
  }
}

export async function loadStoredState(store: OverlordStore): Promise<StoredState> {
  const [rows, locks, workers, workerConfig] = await Promise.all([
    store.loadActiveTasks(),
    store.loadLocks(),
    store.loadWorkers(),
    store.loadConfig<WorkerBehaviorConfig>("worker.config"),
  ]);
  const parsedConfig = workerConfig ? workerBehaviorConfigSchema.safeParse(workerConfig) : null;
  return {
    tasks: rows.map((r) => ({
      ...readStoredPayload(r),
      createdMs: r.created_ms,
      status: r.status,
      errorMsg: r.error_msg,
      duration: r.duration,
      worker: r.worker,
      assignedTerm: r.assigned_term,
      runnerStatus: r.runner_status as StoredState["tasks"][number]["runnerStatus"],
      location: parseLocation(r.location),
    })),
    locks,
    workers: workers.map((w) => ({ host: w.host, ...w.payload, keyDigest: w.payload.keyDigest ?? null, disabled: w.disabled })),
    workerConfig: parsedConfig?.success ? parsedConfig.data : null,
  };
}
