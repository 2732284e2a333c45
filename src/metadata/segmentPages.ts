/**
 * Used segments read from D1 a page at a time, for the metadata endpoints that stream their
 * answers (routes/coordinator/metadata.ts): at a million segments no one may hold them all.
 *
 * Keyset paging on the index `segments_used_order (used, datasource, start_ms, version,
 * partition_num, id)` (migrations/0005): each page is an index range scan starting after the last
 * row of the page before — no OFFSET (which would rescan every earlier row), no sort of the
 * table. The order is the one these endpoints answered in before they streamed; the id, last,
 * makes every key unique. A segment published while an answer streams appears in it at most
 * once: if its key sorts after the cursor it is read with a later page, else it is missed, but no
 * row already answered is read again and none after the cursor is skipped.
 */
import type { Interval } from "../shared/intervals.ts";
import { SEGMENT_COLUMNS, toRecord, type Row, type SegmentRecord } from "./segmentStore.ts";

/**
 * Rows per page: a page of DataSegment JSON is a few hundred KB, small beside the isolate's
 * 128 MB, and large enough that a million segments are a thousand queries. Tests shrink it and
 * count the reads (`onPageRead`) to see that answers are read as they are sent.
 */
export const segmentPaging = {
  pageSize: 1000,
  onPageRead: (_rows: number): void => {},
};

type PageRow = Row & { datasource: string; start_ms: number; end_ms: number; version: string; partition_num: number };

/** A used segment's record with its identifying tuple (what its id encodes), so no one parses the id again. */
export type KeyedRecord = SegmentRecord & { key: { dataSource: string; start: number; end: number; version: string; partitionNum: number } };

const keyed = (r: PageRow): KeyedRecord => ({ ...toRecord(r), key: { dataSource: r.datasource, start: r.start_ms, end: r.end_ms, version: r.version, partitionNum: r.partition_num } });
type Cursor = [datasource: string, startMs: number, version: string, partitionNum: number, id: string];

const COLUMNS = `${SEGMENT_COLUMNS}, datasource, start_ms, end_ms, version, partition_num`;

/** Code point order, which is SQLite's BINARY order of UTF-8 text (UTF-16 order is not, past the BMP). */
function codePointOrder(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

export class SegmentPages {
  constructor(
    private readonly db: D1Database,
    private readonly pageSize = segmentPaging.pageSize,
  ) {}

  /**
   * Used segments (of `dataSources` when given), page by page in (datasource, start, version,
   * partition, id) order. A page is read only when the one before has been taken.
   */
  async *used(dataSources: readonly string[] | null): AsyncGenerator<KeyedRecord[]> {
    if (dataSources === null) {
      yield* this.pages(null);
      return;
    }
    for (const ds of [...new Set(dataSources)].sort(codePointOrder)) yield* this.pages(ds);
  }

  /**
   * A data source's unused segments (contained in `interval` when given) in id order, ascending
   * or descending, after `afterId` when given, at most `limit` in all: Druid's unusedSegments
   * listing, keyset-paged on the index (datasource, used, id).
   */
  async *unused(dataSource: string, q: { interval: Interval | null; descending: boolean; afterId: string | null; limit: number | null }): AsyncGenerator<SegmentRecord[]> {
    let after = q.afterId;
    let left = q.limit ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      const where = ["datasource = ?", "used = 0"];
      const params: unknown[] = [dataSource];
      if (q.interval) {
        where.push("start_ms >= ? AND end_ms <= ?");
        params.push(q.interval.start, q.interval.end);
      }
      if (after !== null) {
        where.push(q.descending ? "id < ?" : "id > ?");
        params.push(after);
      }
      const size = Math.min(this.pageSize, left);
      params.push(size);
      const r = await this.db
        .prepare(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE ${where.join(" AND ")} ORDER BY id ${q.descending ? "DESC" : "ASC"} LIMIT ?`)
        .bind(...params)
        .all<Row>();
      segmentPaging.onPageRead(r.results.length);
      if (r.results.length > 0) yield r.results.map(toRecord);
      if (r.results.length < size) return;
      after = r.results[r.results.length - 1]!.id;
      left -= r.results.length;
    }
  }

  /** Whether the data source has a used segment: one index probe. */
  async hasUsed(dataSource: string): Promise<boolean> {
    return (await this.db.prepare(`SELECT 1 AS found FROM segments WHERE used = 1 AND datasource = ? LIMIT 1`).bind(dataSource).first()) !== null;
  }

  private async *pages(dataSource: string | null): AsyncGenerator<KeyedRecord[]> {
    let after: Cursor | null = null;
    for (;;) {
      const rows = await this.page(dataSource, after);
      segmentPaging.onPageRead(rows.length);
      if (rows.length > 0) yield rows.map(keyed);
      if (rows.length < this.pageSize) return;
      const last = rows[rows.length - 1]!;
      after = [last.datasource, last.start_ms, last.version, last.partition_num, last.id];
    }
  }

  private async page(dataSource: string | null, after: Cursor | null): Promise<PageRow[]> {
    const where = ["used = 1"];
    const params: unknown[] = [];
    if (dataSource !== null) {
      where.push("datasource = ?");
      params.push(dataSource);
    }
    // Row-value comparison: SQLite seeks the index to the cursor (EXPLAIN QUERY PLAN: SEARCH
    // USING INDEX segments_used_order (used=? AND (datasource,...)>(?,...))).
    const keyCols = dataSource === null ? ["datasource", "start_ms", "version", "partition_num", "id"] : ["start_ms", "version", "partition_num", "id"];
    if (after) {
      where.push(`(${keyCols.join(", ")}) > (${keyCols.map(() => "?").join(", ")})`);
      params.push(...(dataSource === null ? after : after.slice(1)));
    }
    params.push(this.pageSize);
    const r = await this.db
      .prepare(`SELECT ${COLUMNS} FROM segments WHERE ${where.join(" AND ")} ORDER BY ${keyCols.join(", ")} LIMIT ?`)
      .bind(...params)
      .all<PageRow>();
    return r.results;
  }
}
