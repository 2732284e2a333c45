/**
 * Druid's audit log (druid_audit) over one table: each object keeps its own (`audit` for the
 * Overlord, `coordinator_audit` for the Coordinator), so each table has one writer. History reads
 * follow Druid: newest first when limited by a count, oldest first for an interval; insertion
 * order (id) stands for time, so an injected clock cannot reorder history.
 */
import type { AuditRecord } from "../overlord/writes.ts";

export type AuditTable = "audit" | "coordinator_audit";

/** Who made a change and why (Druid's AuditInfo, from X-Druid-Author / X-Druid-Comment). */
export interface AuditInfo {
  author: string;
  comment: string;
  ip: string;
}

export interface AuditFilter {
  key?: string;
  type?: string;
  sinceMs?: number;
  count?: number;
}

export class AuditLog {
  constructor(
    private readonly db: D1Database,
    private readonly table: AuditTable,
  ) {}

  insert(a: AuditRecord): D1PreparedStatement {
    return this.db
      .prepare(`INSERT INTO ${this.table} (audit_key, type, author, comment, ip, created_ms, payload, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .bind(a.key, a.type, a.author, a.comment, a.ip, a.createdMs, a.payload, a.request ? JSON.stringify(a.request) : null);
  }

  /** Deletes entries created before `ms` (Druid's KillAuditLog); returns how many. */
  async deleteBefore(ms: number): Promise<number> {
    return (await this.db.prepare(`DELETE FROM ${this.table} WHERE created_ms < ?`).bind(ms).run()).meta.changes ?? 0;
  }

  async history(filter: AuditFilter): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.key !== undefined) {
      where.push("audit_key = ?");
      params.push(filter.key);
    }
    if (filter.type !== undefined) {
      where.push("type = ?");
      params.push(filter.type);
    }
    if (filter.sinceMs !== undefined) {
      where.push("created_ms >= ?");
      params.push(filter.sinceMs);
    }
    let sql = `SELECT * FROM ${this.table}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}`;
    sql += filter.count !== undefined ? ` ORDER BY id DESC LIMIT ?` : ` ORDER BY id ASC LIMIT ?`;
    params.push(filter.count ?? -1);
    const r = await this.db.prepare(sql).bind(...params).all<Record<string, unknown>>();
    return r.results.map((row) => ({
      key: String(row["audit_key"]),
      type: String(row["type"]),
      author: String(row["author"]),
      comment: String(row["comment"]),
      ip: String(row["ip"]),
      createdMs: Number(row["created_ms"]),
      payload: String(row["payload"]),
      request: row["request"] ? (JSON.parse(String(row["request"])) as Record<string, unknown>) : null,
    }));
  }
}

/** An audit entry as Druid's history endpoints show it. */
export function auditEntryJson(r: AuditRecord, toIso: (ms: number) => string) {
  return {
    key: r.key,
    type: r.type,
    auditInfo: { author: r.author, comment: r.comment, identity: "", ip: r.ip },
    request: r.request,
    payload: r.payload,
    auditTime: toIso(r.createdMs),
  };
}
