/**
 * Segment metadata in D1 (`segments`, `pending_segments`, after Druid's druid_segments and
 * druid_pendingSegments). Publishing is one D1 batch, which D1 runs as a transaction: a set of
 * segments is either all there or none of it is.
 */
import { MAX_FILTER_INTERVALS } from "../shared/filterLimits.ts";
import { changeInChunks, chunks, isoText, placeholders, selectInChunks } from "./d1.ts";
import { PendingSegmentStore } from "./pendingSegmentStore.ts";
export type { PendingRecord } from "./pendingSegmentStore.ts";
import { corePartitionsOf, intervalOf, partitionNumOf, segmentIdOf, type DataSegment } from "../segments/dataSegment.ts";
import { toIso, type Interval } from "../shared/intervals.ts";


const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface SegmentRecord {
  id: string;
  segment: DataSegment;
  used: boolean;
  usedStatusLastUpdated: string;
  createdDate: string;
  taskId: string | null;
  numRows: number | null;
}


export interface DataSourceSummary {
  name: string;
  segmentCount: number;
  totalSize: number;
  minStartMs: number;
  maxEndMs: number;
}

/** A `segments` row as SEGMENT_COLUMNS reads it. */
export type Row = {
  id: string;
  payload: string;
  used: number;
  used_status_last_updated: string;
  created_date: string;
  task_id: string | null;
  num_rows: number | null;
};

export function toRecord(r: Row): SegmentRecord {
  return {
    id: r.id,
    // Druid's DataSegment JSON carries its id as "identifier" (the web console reads it there).
    segment: { ...(JSON.parse(r.payload) as DataSegment), identifier: r.id },
    used: r.used === 1,
    usedStatusLastUpdated: r.used_status_last_updated,
    createdDate: r.created_date,
    taskId: r.task_id,
    numRows: r.num_rows,
  };
}

/** The columns a SegmentRecord is read from (toRecord). */
export const SEGMENT_COLUMNS = "id, payload, used, used_status_last_updated, created_date, task_id, num_rows";

/**
 * The next change sequence, as SQL: every statement that inserts a segment row or changes its
 * used flag sets `change_seq` to it (one value per statement; statements in a batch run in
 * order, so the sequence only grows). Only the Overlord writes `segments`, so nothing races it.
 * Deleting rows first raises the floor to the highest sequence among them (`nuke`), so a
 * deletion never lets a sequence be used twice.
 */
const NEXT_CHANGE_SEQ = "(SELECT MAX(COALESCE((SELECT MAX(change_seq) FROM segments), 0), COALESCE((SELECT value FROM segment_change_floor WHERE id = 0), 0)) + 1)";

/** A segment row as the Coordinator's view syncs it: narrow columns, no payload. */
export interface SegmentChangeRow {
  id: string;
  datasource: string;
  start_ms: number;
  end_ms: number;
  version: string;
  partition_num: number;
  used: number;
  change_seq: number;
  size: number;
  /** The shard spec's core-partition count, as corePartitionsOf derives it. */
  core_partitions: number;
}

/** Segment rows (and, by inheritance, pending segments: pendingSegmentStore.ts). */
export class SegmentStore extends PendingSegmentStore {
  constructor(db: D1Database) {
    super(db);
  }

  /**
   * Segment rows changed after `(afterSeq, afterId)`, in change order, at most `limit`: the
   * Coordinator's sync reads only these (a cold start from (−1, "")). Keyset paging, so rows
   * sharing a sequence (one statement's changes) are never skipped or repeated.
   */
  async changesSince(afterSeq: number, afterId: string, limit: number): Promise<SegmentChangeRow[]> {
    // Narrow columns only (no payload JSON is parsed). The keyset is a row value, which SQLite
    // seeks in the (change_seq, id) index; `change_seq > ? OR (change_seq = ? AND id > ?)` was
    // planned by workerd's SQLite as a scan of the index from its start on every page.
    const r = await this.db
      .prepare(
        `SELECT id, datasource, start_ms, end_ms, version, partition_num, used, change_seq, size, core_partitions
         FROM segments WHERE (change_seq, id) > (?, ?) ORDER BY change_seq, id LIMIT ?`,
      )
      .bind(afterSeq, afterId, limit)
      .all<SegmentChangeRow>();
    return r.results;
  }

  /** Segments overlapping any of `intervals` (all of the dataSource when none given). */
  async overlapping(dataSource: string, intervals: Interval[] | null, used: boolean | null): Promise<SegmentRecord[]> {
    if (intervals && intervals.length > MAX_FILTER_INTERVALS) {
      // two bound parameters per interval: more than one statement can take, so merge chunks
      const byId = new Map<string, SegmentRecord>();
      for (const part of chunks(intervals, MAX_FILTER_INTERVALS)) for (const r of await this.overlapping(dataSource, part, used)) byId.set(r.id, r);
      return [...byId.values()].sort((a, b) => intervalOf(a.segment).start - intervalOf(b.segment).start || cmp(a.segment.version, b.segment.version) || partitionNumOf(a.segment.shardSpec) - partitionNumOf(b.segment.shardSpec));
    }
    const where: string[] = ["datasource = ?"];
    const params: unknown[] = [dataSource];
    if (used !== null) {
      where.push("used = ?");
      params.push(used ? 1 : 0);
    }
    if (intervals && intervals.length > 0) {
      where.push(`(${intervals.map(() => "(start_ms < ? AND end_ms > ?)").join(" OR ")})`);
      for (const i of intervals) params.push(i.end, i.start);
    }
    const r = await this.db
      .prepare(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE ${where.join(" AND ")} ORDER BY start_ms, version, partition_num`)
      .bind(...params)
      .all<Row>();
    return r.results.map(toRecord);
  }

  /** Unused segments of an interval (contained in it), Druid's retrieveUnusedSegments filters. */
  async unusedWithin(
    dataSource: string,
    interval: Interval | null,
    opts: { versions?: string[] | null; limit?: number | null; maxUsedStatusLastUpdatedTime?: string | null } = {},
  ): Promise<SegmentRecord[]> {
    const where = ["datasource = ?", "used = 0"];
    const params: unknown[] = [dataSource];
    if (interval) {
      where.push("start_ms >= ? AND end_ms <= ?");
      params.push(interval.start, interval.end);
    }
    if (opts.versions && opts.versions.length > 0) {
      where.push(`version IN (${placeholders(opts.versions.length)})`);
      params.push(...opts.versions);
    }
    if (opts.maxUsedStatusLastUpdatedTime) {
      where.push("used_status_last_updated <= ?");
      params.push(opts.maxUsedStatusLastUpdatedTime);
    }
    params.push(opts.limit ?? -1);
    const r = await this.db
      .prepare(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE ${where.join(" AND ")} ORDER BY start_ms, version, partition_num LIMIT ?`)
      .bind(...params)
      .all<Row>();
    return r.results.map(toRecord);
  }

  async byIds(ids: string[]): Promise<SegmentRecord[]> {
    return (await selectInChunks<Row>(this.db, ids, (inList) => `SELECT ${SEGMENT_COLUMNS} FROM segments WHERE id IN (${inList})`)).map(toRecord);
  }

  async byTask(taskId: string): Promise<SegmentRecord[]> {
    const r = await this.db
      .prepare(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE task_id = ? ORDER BY start_ms, partition_num`)
      .bind(taskId)
      .all<Row>();
    return r.results.map(toRecord);
  }

  async dataSources(includeUnused: boolean): Promise<DataSourceSummary[]> {
    const r = await this.db
      .prepare(
        `SELECT datasource AS name, COUNT(*) AS segment_count, COALESCE(SUM(json_extract(payload, '$.size')), 0) AS total_size, MIN(start_ms) AS min_start, MAX(end_ms) AS max_end
         FROM segments ${includeUnused ? "" : "WHERE used = 1"} GROUP BY datasource ORDER BY datasource`,
      )
      .all<{ name: string; segment_count: number; total_size: number; min_start: number; max_end: number }>();
    return r.results.map((x) => ({ name: x.name, segmentCount: x.segment_count, totalSize: x.total_size, minStartMs: x.min_start, maxEndMs: x.max_end }));
  }

  /** Statements inserting published segments (used), for a batch. */
  insertStatements(segments: DataSegment[], taskId: string | null, nowMs: number): D1PreparedStatement[] {
    const now = toIso(nowMs);
    const stmt = this.db.prepare(
      `INSERT INTO segments (id, datasource, created_date, start_ms, end_ms, partitioned, version, partition_num, used, used_status_last_updated, task_id, num_rows, payload, size, core_partitions, change_seq)
       VALUES (?, ?, ?, ?, ?, 1, ?, ?, 1, ?, ?, ?, ?, ?, ?, ${NEXT_CHANGE_SEQ})`,
    );
    return segments.map((s) => {
      const i = intervalOf(s);
      const rows = typeof s["totalRows"] === "number" ? (s["totalRows"] as number) : null;
      const size = typeof s.size === "number" && Number.isSafeInteger(s.size) ? s.size : 0;
      return stmt.bind(segmentIdOf(s), s.dataSource, now, i.start, i.end, s.version, partitionNumOf(s.shardSpec), now, taskId, rows, JSON.stringify(s), size, corePartitionsOf(s.shardSpec));
    });
  }

  /** Statement deleting the pending segments a task allocated (after its publish). */
  deletePendingOfTask(taskId: string): D1PreparedStatement {
    return this.db.prepare(`DELETE FROM pending_segments WHERE task_allocator_id = ?`).bind(taskId);
  }

  /** Publishes segments as used and drops the task's pending segments: one transaction. */
  async publish(segments: DataSegment[], taskId: string, nowMs: number): Promise<void> {
    await this.db.batch([...this.insertStatements(segments, taskId, nowMs), this.deletePendingOfTask(taskId)]);
  }

  async batch(statements: D1PreparedStatement[]): Promise<void> {
    if (statements.length > 0) await this.db.batch(statements);
  }

  /** Marks used segments of an interval (optionally only some versions) unused; returns how many. */
  markUnusedInInterval(dataSource: string, interval: Interval, versions: string[] | null, nowMs: number): Promise<number> {
    return this.setUsedInInterval(false, dataSource, interval, versions, nowMs);
  }

  /** Marks unused segments of an interval used again; returns how many. */
  markUsedInInterval(dataSource: string, interval: Interval, versions: string[] | null, nowMs: number): Promise<number> {
    return this.setUsedInInterval(true, dataSource, interval, versions, nowMs);
  }

  private async setUsedInInterval(used: boolean, dataSource: string, interval: Interval, versions: string[] | null, nowMs: number): Promise<number> {
    const params: unknown[] = [used ? 1 : 0, toIso(nowMs), dataSource, used ? 0 : 1, interval.start, interval.end];
    let sql = `UPDATE segments SET used = ?, used_status_last_updated = ?, change_seq = ${NEXT_CHANGE_SEQ} WHERE datasource = ? AND used = ? AND start_ms >= ? AND end_ms <= ?`;
    if (versions && versions.length > 0) {
      sql += ` AND version IN (${placeholders(versions.length)})`;
      params.push(...versions);
    }
    const r = await this.db.prepare(sql).bind(...params).run();
    return r.meta.changes ?? 0;
  }

  /** Sets `used` on the given segment ids of a dataSource; returns how many changed. */
  async setUsedByIds(dataSource: string, ids: string[], used: boolean, nowMs: number): Promise<number> {
    return changeInChunks(
      this.db,
      ids,
      (inList) => `UPDATE segments SET used = ?, used_status_last_updated = ?, change_seq = ${NEXT_CHANGE_SEQ} WHERE datasource = ? AND used = ? AND id IN (${inList})`,
      [used ? 1 : 0, toIso(nowMs), dataSource, used ? 0 : 1],
    );
  }

  /**
   * Deletes segment rows (segmentNuke); returns how many went. Each chunk first raises the floor
   * to the highest change sequence among the rows it deletes, all in one batch: the sequence
   * never goes back, and a reader that had applied every change up to the floor knows it missed
   * no deleted row's last change (`deletedThrough`).
   */
  async nuke(ids: string[]): Promise<number> {
    const statements = chunks(ids).flatMap((part) => [
      this.db
        .prepare(
          `INSERT INTO segment_change_floor (id, value) VALUES (0, COALESCE((SELECT MAX(change_seq) FROM segments WHERE id IN (${placeholders(part.length)})), 0))
           ON CONFLICT (id) DO UPDATE SET value = MAX(value, excluded.value)`,
        )
        .bind(...part),
      this.db.prepare(`DELETE FROM segments WHERE id IN (${placeholders(part.length)})`).bind(...part),
    ]);
    if (statements.length === 0) return 0;
    const results = await this.db.batch(statements);
    return results.reduce((n, r, i) => (i % 2 === 1 ? n + (r.meta.changes ?? 0) : n), 0);
  }

  /**
   * The highest change sequence any deleted row had (0: none ever deleted). A view that applied
   * every change through `w` and then reads a value ≤ `w` here has missed no deletion; above it,
   * a row whose last change it never read may be gone, and only a rebuild removes it.
   */
  async deletedThrough(): Promise<number> {
    const r = await this.db.prepare(`SELECT value FROM segment_change_floor WHERE id = 0`).first<{ value: number }>();
    return r?.value ?? 0;
  }

  // ---- what the Coordinator's kill duty reads ------------------------------------------------

  /** Data sources that have unused segments. */
  async dataSourcesWithUnused(): Promise<string[]> {
    const r = await this.db.prepare(`SELECT DISTINCT datasource FROM segments WHERE used = 0`).all<{ datasource: string }>();
    return r.results.map((x) => x.datasource);
  }

  /**
   * Intervals of a data source's unused segments, one per segment by start: those starting at
   * or after `minStart` (null: any), ending by `maxEnd`, unused since at or before
   * `maxUsedStatusLastUpdated` (Druid's getUnusedSegmentIntervals).
   */
  async unusedIntervalsForKill(dataSource: string, q: { minStart: number | null; maxEnd: number; maxUsedStatusLastUpdated: number; limit: number }): Promise<Interval[]> {
    const r = await this.db
      .prepare(
        `SELECT start_ms, end_ms FROM segments WHERE datasource = ? AND used = 0 AND start_ms >= ? AND end_ms <= ? AND used_status_last_updated <= ?
         ORDER BY start_ms, end_ms LIMIT ?`,
      )
      .bind(dataSource, q.minStart ?? Number.MIN_SAFE_INTEGER, q.maxEnd, isoText(q.maxUsedStatusLastUpdated), q.limit)
      .all<{ start_ms: number; end_ms: number }>();
    return r.results.map((x) => ({ start: x.start_ms, end: x.end_ms }));
  }
}
