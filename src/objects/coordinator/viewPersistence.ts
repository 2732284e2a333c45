/**
 * When the Coordinator's segment view is loaded from its snapshot and when the snapshot is
 * written again. A cold start restores the snapshot (if there is a readable one) and the sync
 * goes on from its position; without one it reads every row from D1. While the view changes,
 * the snapshot is rewritten at most once a period (an alarm duty), so a restart reads back at
 * most a period's changes from D1. The write holds the object still (the view must not change
 * while its columns are copied out), ~0.3–0.8 s at a million segments.
 */
import type { SegmentSync } from "./segmentSync.ts";
import type { ViewSnapshotStore } from "./viewSnapshotStore.ts";

export interface ViewPersistenceHost {
  store: ViewSnapshotStore;
  sync(): SegmentSync;
  now(): number;
  periodMs: number;
  /** Runs `fn` with no other event delivered to the object (blockConcurrencyWhile). */
  exclusively<T>(fn: () => Promise<T>): Promise<T>;
}

/** What /status shows of the view's persistence. */
export interface ViewPersistenceStatus {
  loadedFrom: "snapshot" | "metadataStore" | null;
  snapshot: { takenAt: number; watermark: number; segments: number; bytes: number | null } | null;
  lastWriteMs: number | null;
  lastError: string | null;
}

/** A failed write is tried again after this long (not at once: it may be the storage's limit). */
const RETRY_MS = 60_000;

export class ViewPersistence {
  private taken: { at: number; watermark: number; rebuilds: number; segments: number; bytes: number | null } | null = null;
  private loadedFrom: ViewPersistenceStatus["loadedFrom"] = null;
  private lastWriteMs: number | null = null;
  private lastError: string | null = null;
  private failedAt = 0;

  constructor(private readonly host: ViewPersistenceHost) {}

  /** Restores the snapshot into the sync when there is one; the caller then syncs (the delta or every row). */
  async load(): Promise<void> {
    const snap = await this.host.store.read();
    const sync = this.host.sync();
    this.taken = null;
    if (snap) {
      sync.restore(snap.view, snap.meta);
      this.taken = { at: snap.meta.takenAt, watermark: snap.meta.watermark.seq, rebuilds: sync.rebuilds, segments: snap.meta.segments, bytes: snap.meta.totalBytes };
    }
    this.loadedFrom = snap ? "snapshot" : "metadataStore";
  }

  /** The view differs from the snapshot (or there is none). */
  private stale(): boolean {
    const sync = this.host.sync();
    if (!sync.consistent) return false; // a rebuild is pending: nothing worth keeping
    return this.taken === null || this.taken.watermark !== sync.watermarkSeq || this.taken.rebuilds !== sync.rebuilds;
  }

  nextRunAt(): number | null {
    if (this.loadedFrom === null || !this.stale()) return null;
    const due = this.taken === null ? 0 : this.taken.at + this.host.periodMs;
    return Math.max(due, this.failedAt + (this.failedAt ? RETRY_MS : 0));
  }

  /** Writes the snapshot now (the alarm duty; tests). */
  async write(): Promise<void> {
    const sync = this.host.sync();
    await this.host.exclusively(async () => {
      const started = Date.now();
      const at = this.host.now();
      try {
        const position = sync.position();
        const view = sync.view;
        const written = await this.host.store.write(view, { ...position, takenAt: at });
        this.taken = { at, watermark: position.watermark.seq, rebuilds: sync.rebuilds, segments: view.size, bytes: written.bytes };
        this.lastError = null;
        this.failedAt = 0;
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : String(err);
        this.failedAt = at;
        console.error("writing the segment view's snapshot failed; the next cold start reads more from the metadata store:", err);
      } finally {
        this.lastWriteMs = Date.now() - started;
      }
    });
  }

  toJSON(): ViewPersistenceStatus {
    const t = this.taken;
    return { loadedFrom: this.loadedFrom, snapshot: t ? { takenAt: t.at, watermark: t.watermark, segments: t.segments, bytes: t.bytes } : null, lastWriteMs: this.lastWriteMs, lastError: this.lastError };
  }
}
