/**
 * Keeping the Coordinator's segment view current from D1: rows past the watermark, in change
 * order, page by page (a cold start is a sync from the beginning). The watermark moves only after
 * a whole page is applied, so a failed read leaves the view as it was and the next sync retries
 * from the same place. One sync runs at a time; a request during a run makes exactly one more
 * (a failed run fails its callers and frees the next request).
 */
import { SegmentView } from "../../coordinator/segmentView.ts";
import type { SegmentChangeRow, SegmentStore } from "../../metadata/segmentStore.ts";

/** Rows per D1 read. */
const PAGE = 5_000;

export interface SegmentSyncOptions {
  /** Rows per read (tests make it small to sync in many pages). */
  pageSize?: number;
}

/** A changed segment row as the view takes it (an unused row removes the segment). */
function viewRowOf(r: SegmentChangeRow) {
  return {
    id: r.id,
    dataSource: r.datasource,
    start: r.start_ms,
    end: r.end_ms,
    version: r.version,
    partitionNum: r.partition_num,
    corePartitions: r.core_partitions,
    size: r.size,
    used: r.used === 1,
  };
}

export class SegmentSync {
  readonly view = new SegmentView();
  /** The last change applied to the view: rows after it are news. */
  private watermark = { seq: -1, id: "" };
  lastSyncAt = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private readonly pageSize: number;

  constructor(
    private readonly segments: SegmentStore,
    private readonly now: () => number,
    /** After every sync (the object reschedules its duties and alarm). */
    private readonly synced: () => Promise<void>,
    options: SegmentSyncOptions = {},
  ) {
    this.pageSize = options.pageSize ?? PAGE;
  }

  get watermarkSeq(): number {
    return this.watermark.seq;
  }

  /** Brings the view up to date (coalesced). */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.once();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /**
   * One pass over every row changed past the watermark. Passes may overlap (the duty's pass
   * beside a nudge's sync): a page is applied only if the watermark is still where it was read
   * from, else another pass applied newer rows meanwhile and the page (which may hold older
   * states of them) is read again from there.
   */
  async once(): Promise<void> {
    for (;;) {
      const from = this.watermark;
      const rows = await this.segments.changesSince(from.seq, from.id, this.pageSize);
      if (this.watermark !== from) continue;
      for (const r of rows) this.view.upsert(viewRowOf(r));
      if (rows.length > 0) {
        const last = rows[rows.length - 1]!;
        this.watermark = { seq: last.change_seq, id: last.id };
      }
      if (rows.length < this.pageSize) break;
    }
    this.lastSyncAt = this.now();
    await this.synced();
  }
}
