/**
 * Reading tasks: from memory while they are active or recently finished, from D1 otherwise,
 * merged so that a completion decided in memory but not yet committed still shows. Task JSON
 * and lists leave as text: one string crosses the RPC boundary instead of thousands of objects,
 * and a structured clone never has to walk a stored payload.
 */
import { OverlordStore, parseLocation, runnerStateOf, type TaskRow } from "../../metadata/overlordStore.ts";
import type { OverlordCore } from "../../overlord/overlordCore.ts";
import { statusJson, statusPlus, type TaskStatusJson, type TaskStatusPlus } from "../../overlord/types.ts";
import { toIso } from "../../shared/intervals.ts";

export interface TaskListFilter {
  state?: "running" | "complete" | "waiting" | "pending";
  dataSource?: string;
  type?: string;
  /** Look-back for complete tasks in ms (Druid uses createdTimeInterval only as a duration). */
  lookbackMs?: number;
  max?: number;
}

function rowToStatusPlus(row: TaskRow): TaskStatusPlus {
  return {
    id: row.id,
    groupId: row.group_id,
    type: row.type,
    createdTime: toIso(row.created_ms),
    queueInsertionTime: "1970-01-01T00:00:00.000Z",
    statusCode: row.status,
    status: row.status,
    runnerStatusCode: runnerStateOf(row),
    duration: row.duration,
    location: parseLocation(row.location),
    dataSource: row.datasource,
    errorMsg: row.error_msg,
  };
}

export class TaskReads {
  constructor(
    private readonly core: () => OverlordCore,
    private readonly store: OverlordStore,
    private readonly now: () => number,
    private readonly recentlyFinishedThresholdMs: number,
  ) {}

  /** The task's JSON as text, as stored (a payload failed as unreadable at restore is read from D1, whole). */
  async taskJson(id: string): Promise<string | null> {
    const active = this.core().queue.active.get(id);
    if (active) return JSON.stringify(active.task.payload);
    const row = await this.store.getTask(id);
    if (row) return row.payload;
    const recent = this.core().queue.get(id);
    return recent ? JSON.stringify(recent.task.payload) : null;
  }

  async status(id: string): Promise<TaskStatusPlus | null> {
    const s = this.core().statusOf(id);
    if (s) return s;
    const row = await this.store.getTask(id);
    return row ? rowToStatusPlus(row) : null;
  }

  async statuses(ids: string[]): Promise<Record<string, TaskStatusJson>> {
    const out: Record<string, TaskStatusJson> = {};
    const missing: string[] = [];
    for (const id of ids) {
      const e = this.core().queue.get(id);
      if (e) out[id] = statusJson(e);
      else missing.push(id);
    }
    if (missing.length > 0) {
      for (const row of await this.store.getTasks(missing)) {
        out[row.id] = { id: row.id, status: row.status, duration: row.duration, errorMsg: row.error_msg, location: parseLocation(row.location) };
      }
    }
    return out;
  }

  /** Druid's task list order: complete (newest first, from D1 and memory), then active. */
  async list(filter: TaskListFilter): Promise<TaskStatusPlus[]> {
    const core = this.core();
    const match = (ds: string, type: string) =>
      (filter.dataSource === undefined || ds === filter.dataSource) && (filter.type === undefined || type === filter.type);
    const active = filter.state === "complete" ? [] : core.activeEntries(filter.state).filter((e) => match(e.task.dataSource, e.task.type)).map(statusPlus);
    let complete: TaskStatusPlus[] = [];
    if (filter.state === undefined || filter.state === "complete") {
      const sinceMs = this.now() - (filter.lookbackMs ?? this.recentlyFinishedThresholdMs);
      const rows = await this.store.listComplete({ dataSource: filter.dataSource, type: filter.type, sinceMs, max: filter.max });
      const fromRows = rows.map(rowToStatusPlus);
      // Completions decided in memory but maybe not committed yet are shown from memory.
      const seen = new Set(fromRows.map((r) => r.id));
      const recent = [...core.queue.recent.values()]
        .filter((e) => !seen.has(e.task.id) && e.createdMs >= sinceMs && match(e.task.dataSource, e.task.type))
        .map(statusPlus);
      complete = [...recent, ...fromRows].sort((a, b) => (a.createdTime < b.createdTime ? 1 : a.createdTime > b.createdTime ? -1 : 0));
      if (filter.max !== undefined) complete = complete.slice(0, filter.max);
    }
    return [...complete, ...active];
  }
}
