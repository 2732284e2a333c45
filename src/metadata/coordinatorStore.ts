/**
 * The Coordinator's own tables (retention rules, its dynamic config, its audit log): it is their
 * only writer. Writes are statements collected for the Coordinator's group commit; reads load
 * what the Coordinator rebuilds itself from at start.
 */
import type { AuditRecord } from "../overlord/writes.ts";
import { AuditLog, type AuditFilter } from "./auditLog.ts";

export class CoordinatorStore {
  readonly audit: AuditLog;

  constructor(private readonly db: D1Database) {
    this.audit = new AuditLog(db, "coordinator_audit");
  }

  /** Every stored rule list by data source ("_default" included), as stored (parsed by the caller). */
  async loadRules(): Promise<Array<{ dataSource: string; payload: string; updatedMs: number }>> {
    const r = await this.db.prepare(`SELECT datasource, payload, updated_ms FROM coordinator_rules`).all<{ datasource: string; payload: string; updated_ms: number }>();
    return r.results.map((row) => ({ dataSource: row.datasource, payload: row.payload, updatedMs: row.updated_ms }));
  }

  /** Data sources (not the default) whose rules were set before `ms` and that have no segments at all, used or unused (Druid's KillRules). */
  async rulesOfEmptyDataSources(beforeMs: number): Promise<string[]> {
    const r = await this.db
      .prepare(`SELECT datasource FROM coordinator_rules r WHERE datasource != '_default' AND updated_ms < ? AND NOT EXISTS (SELECT 1 FROM segments s WHERE s.datasource = r.datasource)`)
      .bind(beforeMs)
      .all<{ datasource: string }>();
    return r.results.map((x) => x.datasource);
  }

  /** Deletes a data source's rules if they were not set again since `beforeMs`. */
  deleteRules(dataSource: string, beforeMs: number): D1PreparedStatement {
    return this.db.prepare(`DELETE FROM coordinator_rules WHERE datasource = ? AND updated_ms < ?`).bind(dataSource, beforeMs);
  }

  deleteAuditBefore(ms: number): Promise<number> {
    return this.audit.deleteBefore(ms);
  }

  async loadConfig(name: string): Promise<string | null> {
    const row = await this.db.prepare(`SELECT payload FROM coordinator_config WHERE name = ?`).bind(name).first<{ payload: string }>();
    return row?.payload ?? null;
  }

  putRules(dataSource: string, rules: unknown[], nowMs: number): D1PreparedStatement {
    return this.db
      .prepare(`INSERT INTO coordinator_rules (datasource, payload, updated_ms) VALUES (?, ?, ?) ON CONFLICT (datasource) DO UPDATE SET payload = excluded.payload, updated_ms = excluded.updated_ms`)
      .bind(dataSource, JSON.stringify(rules), nowMs);
  }

  putConfig(name: string, payload: unknown): D1PreparedStatement {
    return this.db
      .prepare(`INSERT INTO coordinator_config (name, payload) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET payload = excluded.payload`)
      .bind(name, JSON.stringify(payload));
  }

  putAudit(a: AuditRecord): D1PreparedStatement {
    return this.audit.insert(a);
  }

  history(filter: AuditFilter): Promise<AuditRecord[]> {
    return this.audit.history(filter);
  }

  async commit(statements: D1PreparedStatement[]): Promise<void> {
    if (statements.length > 0) await this.db.batch(statements);
  }
}
