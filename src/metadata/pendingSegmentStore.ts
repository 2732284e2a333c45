/**
 * Pending segments in D1 (`pending_segments`, after Druid's druid_pendingSegments): ids allocated
 * to tasks and not yet published. SegmentStore extends this, so the Overlord's one segment port
 * serves both tables.
 */
import type { SegmentIdWithShardSpec } from "../segments/allocation.ts";
import { intervalOf } from "../segments/dataSegment.ts";
import { toIso, type Interval } from "../shared/intervals.ts";
import { isoText } from "./d1.ts";

export interface PendingRecord {
  id: string;
  sequenceName: string;
  sequencePrevId: string;
  sha1: string;
  taskAllocatorId: string | null;
  segment: SegmentIdWithShardSpec;
}

export class PendingSegmentStore {
  constructor(protected readonly db: D1Database) {}

  async pendingBySha1(sha1: string): Promise<PendingRecord | null> {
    const r = await this.db.prepare(`SELECT * FROM pending_segments WHERE sequence_name_prev_id_sha1 = ?`).bind(sha1).first<Record<string, unknown>>();
    return r ? pendingRecord(r) : null;
  }

  async pendingOverlapping(dataSource: string, interval: Interval): Promise<PendingRecord[]> {
    const r = await this.db
      .prepare(`SELECT * FROM pending_segments WHERE datasource = ? AND start_ms < ? AND end_ms > ?`)
      .bind(dataSource, interval.end, interval.start)
      .all<Record<string, unknown>>();
    return r.results.map(pendingRecord);
  }

  /** Deletes a data source's pending segments created in [fromMs, toMs) (Druid's killPendingSegments); returns how many. */
  async deletePendingCreatedIn(dataSource: string, fromMs: number, toMs: number): Promise<number> {
    const r = await this.db
      .prepare(`DELETE FROM pending_segments WHERE datasource = ? AND created_date >= ? AND created_date < ?`)
      .bind(dataSource, isoText(fromMs), isoText(toMs))
      .run();
    return r.meta.changes ?? 0;
  }

  async insertPending(p: PendingRecord, nowMs: number): Promise<void> {
    const i = intervalOf(p.segment);
    await this.db
      .prepare(
        `INSERT INTO pending_segments (id, datasource, created_date, start_ms, end_ms, sequence_name, sequence_prev_id, sequence_name_prev_id_sha1, task_allocator_id, payload)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(p.id, p.segment.dataSource, toIso(nowMs), i.start, i.end, p.sequenceName, p.sequencePrevId, p.sha1, p.taskAllocatorId, JSON.stringify(p.segment))
      .run();
  }
}

function pendingRecord(r: Record<string, unknown>): PendingRecord {
  return {
    id: String(r["id"]),
    sequenceName: String(r["sequence_name"]),
    sequencePrevId: String(r["sequence_prev_id"]),
    sha1: String(r["sequence_name_prev_id_sha1"]),
    taskAllocatorId: (r["task_allocator_id"] as string | null) ?? null,
    segment: JSON.parse(String(r["payload"])) as SegmentIdWithShardSpec,
  };
}
