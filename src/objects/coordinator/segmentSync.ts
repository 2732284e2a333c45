/**
 * Keeping the Coordinator's segment view current from D1: rows past the watermark, in change
 * order, page by page (a cold start is a sync from the beginning). The watermark moves only after
 * a whole page is applied, so a failed read leaves the view as it was and the next sync retries
 * from the same place. One sync runs at a time; a request during a run makes exactly one more
 * (a failed run fails its callers and frees the next request).
 *
 * Deleted rows (a kill) leave no change row behind. After reading its pages a pass reads the
 * deletion floor (the highest change sequence any deleted row had): unchanged since the last
 * pass, or not past where this pass began, and every deleted row's last change was applied;
 * otherwise a row the view still holds may be gone, and the view is rebuilt from every row.
 * A view restored from a snapshot goes on from the snapshot's position the same way.
 */
import { SegmentView } from "../../coordinator/segmentView.ts";
import type { SnapshotPosition } from "../../coordinator/segmentViewSnapshot.ts";
import type { SegmentChangeRow, SegmentStore } from "../../metadata/segmentStore.ts";

/** Reads of every row a rebuild makes while deletions go on, before it leaves the rest to the next pass. */
const REBUILD_ATTEMPTS = 3;

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
  view = new SegmentView();
  /** The last change applied to the view: rows after it are news. */
  private watermark = { seq: -1, id: "" };
  /** The deletion floor as the last pass found it (null: not read yet, the view is empty). */
  private deletedSeen: number | null = null;
  /** Rebuilds since this sync was made (a deletion the view may have missed). */
  rebuilds = 0;
  /** A rebuild kept meeting deletions: the next pass tries again. */
  private rebuildDue = false;
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

  /** No rebuild is pending (a view worth a snapshot). */
  get consistent(): boolean {
    return !this.rebuildDue;
  }

  /** Where the view stands, for a snapshot of it. */
  position(): SnapshotPosition {
    return { watermark: { ...this.watermark }, deletedSeen: this.deletedSeen ?? 0 };
  }

  /** Starts from a snapshot's view and position (before any pass). */
  restore(view: SegmentView, at: SnapshotPosition): void {
    this.view = view;
    this.watermark = { ...at.watermark };
    this.deletedSeen = at.deletedSeen;
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
    if (this.deletedSeen === null) this.deletedSeen = await this.segments.deletedThrough(); // before the first page
    const began = this.watermark;
    const seen = this.deletedSeen;
    await this.pages();
    const deleted = await this.segments.deletedThrough();
    if (this.rebuildDue || (deleted !== seen && deleted > began.seq)) await this.rebuild();
    else this.deletedSeen = deleted;
    this.lastSyncAt = this.now();
    await this.synced();
  }

  /** Applies every row changed past the watermark, page by page. */
  private async pages(): Promise<void> {
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
  }

  /**
   * A new view from every row, swapped in once whole (the old one answers meanwhile); read again
   * if a deletion happened while it was read, a few times, then left for the next pass.
   */
  private async rebuild(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const fresh = new SegmentSync(this.segments, this.now, async () => {}, { pageSize: this.pageSize });
      const before = await this.segments.deletedThrough();
      await fresh.pages();
      const deleted = await this.segments.deletedThrough();
      const whole = deleted === before;
      if (!whole && attempt < REBUILD_ATTEMPTS) continue;
      this.view = fresh.view;
      this.watermark = fresh.watermark;
      this.deletedSeen = deleted;
      this.rebuildDue = !whole;
      this.rebuilds++;
      console.warn(`segment rows were deleted past what the view had read; it was rebuilt from the metadata store (${this.view.size} used segments${whole ? "" : ", deletions went on meanwhile: again at the next pass"})`);
      return;
    }
  }
}
