/**
 * The Overlord's metadata in D1 (druid_tasks, druid_tasklocks, druid_config, druid_audit and
 * our workers/logs/reports/terms tables). The only place that knows the SQL; everything
 * the Overlord decides reaches D1 through `commit(writes)` as one atomic `batch()`.
 */
import { AuditLog } from "./auditLog.ts";
import { chunks, placeholders, selectInChunks } from "./d1.ts";
import type { TaskLock } from "../protocol/taskLocks.ts";
import type { TaskEntry, TaskLocation, TaskState, RunnerState } from "../overlord/types.ts";
import type { AuditRecord, RawWrite, WorkerRecord, WriteSet } from "../overlord/writes.ts";
import { toIso } from "../shared/intervals.ts";

export interface TaskRow {
  id: string;
  created_ms: number;
  datasource: string;
  type: string;
  group_id: string;
  priority: number;
  payload: string;
  status: TaskState;
  error_msg: string | null;
  duration: number;
  active: number;
  worker: string | null;
  assigned_term: number | null;
  runner_status: string | null;
  location: string | null;
}

export interface StoredLock {
  taskId: string;
  lock: TaskLock;
}

/** A worker as read back (rows written before worker keys have none). */
export type WorkerRow = Omit<WorkerRecord, "lastSeenMs" | "payload"> & { payload: Omit<WorkerRecord["payload"], "keyDigest"> & { keyDigest?: string | null } };



function locationText(l: TaskLocation): string | null {
  return l.host === null && l.port === -1 ? null : JSON.stringify(l);
}

export function parseLocation(text: string | null): TaskLocation {
  if (!text) return { host: null, port: -1, tlsPort: -1 };
  return JSON.parse(text) as TaskLocation;
}

/** Rows as JSON arrays, chunked so no parameter exceeds ~900 KB (D1 caps a value near 2 MB). */
function jsonChunks(rows: unknown[][], maxChars = 900_000): string[] {
  const out: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const r of rows) {
    const j = JSON.stringify(r);
    if (parts.length > 0 && size + j.length + 1 > maxChars) {
      out.push(`[${parts.join(",")}]`);
      parts = [];
      size = 2;
    }
    parts.push(j);
    size += j.length + 1;
  }
  if (parts.length > 0) out.push(`[${parts.join(",")}]`);
  return out;
}

export class OverlordStore {
  private readonly audit: AuditLog;

  constructor(public db: D1Database) {
    this.audit = new AuditLog(db, "audit");
  }

  // ---- writes -------------------------------------------------------------------------------

  /**
   * Task rows as few statements: each statement carries many rows as one JSON parameter and
   * unpacks them with json_each, so a commit of hundreds of changes is a handful of statements
   * (D1 allows 100 bound parameters per statement; per-statement overhead dominates small rows).
   */
  private taskStatements(ws: WriteSet, now: number): D1PreparedStatement[] {
    const inserts: unknown[][] = [];
    const updates: unknown[][] = [];
    for (const { inserted, entry: e } of ws.tasks.values()) {
      const active = e.status === "RUNNING" ? 1 : 0;
      const runner = e.status === "RUNNING" ? e.runner : null;
      if (inserted) {
        inserts.push([
          e.task.id, toIso(e.createdMs), e.createdMs, e.task.dataSource, e.task.type, e.task.groupId, e.task.priority,
          JSON.stringify(e.task.payload), e.status, e.errorMsg, e.duration, active, e.worker, e.assignedTerm, runner,
          locationText(e.location), now,
        ]);
      } else {
        updates.push([e.task.id, e.status, e.errorMsg, e.duration, active, e.worker, e.assignedTerm, runner, locationText(e.location), now]);
      }
    }
    const col = (i: number) => `json_extract(value, '$[${i}]')`;
    const out: D1PreparedStatement[] = [];
    for (const chunk of jsonChunks(inserts)) {
      out.push(
        this.db
          .prepare(
            `INSERT INTO tasks (id, created_date, created_ms, datasource, type, group_id, priority, payload, status, error_msg,
              duration, active, worker, assigned_term, runner_status, location, updated_ms)
             SELECT ${Array.from({ length: 17 }, (_, i) => col(i)).join(", ")} FROM json_each(?)`,
          )
          .bind(chunk),
      );
    }
    for (const chunk of jsonChunks(updates)) {
      out.push(
        this.db
          .prepare(
            `UPDATE tasks SET status = ${col(1)}, error_msg = ${col(2)}, duration = ${col(3)}, active = ${col(4)}, worker = ${col(5)},
              assigned_term = ${col(6)}, runner_status = ${col(7)}, location = ${col(8)}, updated_ms = ${col(9)}
             FROM json_each(?) WHERE tasks.id = ${col(0)}`,
          )
          .bind(chunk),
      );
    }
    return out;
  }

  /** Task logs (many per commit when agents send them with final statuses) as JSON-packed upserts. */
  private logStatements(ws: WriteSet): D1PreparedStatement[] {
    const rows = ws.raw.flatMap((w) => (w.kind === "log" ? [[w.data.taskId, w.data.log, w.data.now]] : []));
    return jsonChunks(rows).map((chunk) =>
      this.db
        .prepare(
          `INSERT INTO task_logs (task_id, log, updated_ms)
           SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?) WHERE true
           ON CONFLICT (task_id) DO UPDATE SET log = excluded.log, updated_ms = excluded.updated_ms`,
        )
        .bind(chunk),
    );
  }

  private lockStatements(ws: WriteSet): D1PreparedStatement[] {
    const put = this.db.prepare(
      `INSERT INTO tasklocks (task_id, lock_key, lock_payload) VALUES (?, ?, ?)
       ON CONFLICT (task_id, lock_key) DO UPDATE SET lock_payload = excluded.lock_payload`,
    );
    const del = this.db.prepare(`DELETE FROM tasklocks WHERE task_id = ? AND lock_key = ?`);
    const out: D1PreparedStatement[] = [];
    for (const l of ws.locks.values()) {
      out.push(l.lock ? put.bind(l.taskId, l.key, JSON.stringify(l.lock)) : del.bind(l.taskId, l.key));
    }
    return out;
  }

  /** One statement per write that is not a task, lock or log row (logs go in bulk: logStatements). */
  private rawStatement(w: Exclude<RawWrite, { kind: "log" }>): D1PreparedStatement {
    switch (w.kind) {
      case "config":
        return this.db
          .prepare(`INSERT INTO config (name, payload) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET payload = excluded.payload`)
          .bind(w.data.name, JSON.stringify(w.data.payload));
      case "audit":
        return this.audit.insert(w.data);
      case "worker":
        return this.db
          .prepare(
            `INSERT INTO workers (host, payload, disabled, last_seen_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT (host) DO UPDATE SET payload = excluded.payload, disabled = excluded.disabled, last_seen_ms = excluded.last_seen_ms`,
          )
          .bind(w.data.host, JSON.stringify(w.data.payload), w.data.disabled ? 1 : 0, w.data.lastSeenMs);
      case "report":
        return this.db
          .prepare(`INSERT INTO task_reports (task_id, payload, updated_ms) VALUES (?, ?, ?) ON CONFLICT (task_id) DO UPDATE SET payload = excluded.payload, updated_ms = excluded.updated_ms`)
          .bind(w.data.taskId, JSON.stringify(w.data.payload), w.data.now);
      case "term":
        // a record, not a guard (terms live in the object's storage): an Overlord whose storage
        // was lost starts again at term 1 and must not be refused by an old row
        return this.db.prepare(`INSERT INTO overlord_terms (term, started_at) VALUES (?, ?) ON CONFLICT (term) DO UPDATE SET started_at = excluded.started_at`).bind(w.data.term, w.data.startedAt);
    }
  }

  /** Commits a write set atomically. Statements are built now, from the entries' current state. */
  async commit(ws: WriteSet, now: number): Promise<void> {
    const statements = [
      ...this.taskStatements(ws, now),
      ...this.lockStatements(ws),
      ...this.logStatements(ws),
      ...ws.raw.flatMap((w) => (w.kind === "log" ? [] : [this.rawStatement(w)])),
    ];
    if (statements.length === 0) return;
    await this.db.batch(statements);
  }

  // ---- reads --------------------------------------------------------------------------------

  async loadActiveTasks(): Promise<TaskRow[]> {
    const r = await this.db.prepare(`SELECT * FROM tasks WHERE active = 1 ORDER BY created_ms, id`).all<TaskRow>();
    return r.results;
  }

  async loadLocks(): Promise<StoredLock[]> {
    const r = await this.db.prepare(`SELECT task_id, lock_payload FROM tasklocks`).all<{ task_id: string; lock_payload: string }>();
    return r.results.map((row) => ({ taskId: row.task_id, lock: JSON.parse(row.lock_payload) as TaskLock }));
  }

  async loadWorkers(): Promise<WorkerRow[]> {
    const r = await this.db.prepare(`SELECT host, payload, disabled FROM workers`).all<{ host: string; payload: string; disabled: number }>();
    return r.results.map((row) => ({ host: row.host, payload: JSON.parse(row.payload), disabled: row.disabled === 1 }));
  }

  async loadConfig<T>(name: string): Promise<T | null> {
    const row = await this.db.prepare(`SELECT payload FROM config WHERE name = ?`).bind(name).first<{ payload: string }>();
    return row ? (JSON.parse(row.payload) as T) : null;
  }

  /** Which of these ids already exist in storage. */
  async existingIds(ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    // one batch (one round trip) for every chunk: a submission waits on this
    const statements = chunks(ids).map((part) => this.db.prepare(`SELECT id FROM tasks WHERE id IN (${placeholders(part.length)})`).bind(...part));
    if (statements.length === 0) return found;
    const results = await this.db.batch<{ id: string }>(statements);
    for (const r of results) for (const row of r.results) found.add(row.id);
    return found;
  }

  async getTask(id: string): Promise<TaskRow | null> {
    return this.db.prepare(`SELECT * FROM tasks WHERE id = ?`).bind(id).first<TaskRow>();
  }

  async getTasks(ids: string[]): Promise<TaskRow[]> {
    return selectInChunks<TaskRow>(this.db, ids, (inList) => `SELECT * FROM tasks WHERE id IN (${inList})`);
  }

  async listComplete(filter: { dataSource?: string; type?: string; sinceMs: number; max?: number }): Promise<TaskRow[]> {
    const where = ["active = 0", "created_ms >= ?"];
    const params: unknown[] = [filter.sinceMs];
    if (filter.dataSource !== undefined) {
      where.push("datasource = ?");
      params.push(filter.dataSource);
    }
    if (filter.type !== undefined) {
      where.push("type = ?");
      params.push(filter.type);
    }
    params.push(filter.max ?? -1);
    const r = await this.db
      .prepare(`SELECT * FROM tasks WHERE ${where.join(" AND ")} ORDER BY created_ms DESC, id DESC LIMIT ?`)
      .bind(...params)
      .all<TaskRow>();
    return r.results;
  }

  async getLog(taskId: string): Promise<string | null> {
    const row = await this.db.prepare(`SELECT log FROM task_logs WHERE task_id = ?`).bind(taskId).first<{ log: string }>();
    return row?.log ?? null;
  }

  async getReports(taskId: string): Promise<unknown | null> {
    const row = await this.db.prepare(`SELECT payload FROM task_reports WHERE task_id = ?`).bind(taskId).first<{ payload: string }>();
    return row ? JSON.parse(row.payload) : null;
  }

  deleteAuditBefore(ms: number): Promise<number> {
    return this.audit.deleteBefore(ms);
  }

  async auditHistory(filter: { key: string; sinceMs?: number; count?: number }): Promise<AuditRecord[]> {
    return this.audit.history(filter);
  }
}

export function runnerStateOf(row: TaskRow): RunnerState {
  if (row.active !== 1) return "NONE";
  return (row.runner_status as RunnerState | null) ?? "WAITING";
}
