/**
 * The segment view's snapshot in the Coordinator's own storage (KV API): chunks under a
 * generation's prefix, then the meta naming that generation. A snapshot is therefore whole or
 * absent: a write cut short leaves chunks no meta names (the next write, of the same generation,
 * overwrites them), never a meta over a mix of two generations' chunks. The caller keeps the view
 * still while it is written (the Coordinator writes inside blockConcurrencyWhile).
 */
import { SnapshotDecoder, SnapshotError, encodeSnapshot, type SnapshotMeta, type SnapshotPosition } from "../../coordinator/segmentViewSnapshot.ts";
import type { SegmentView } from "../../coordinator/segmentView.ts";

const META_KEY = "viewSnapshot";
/** Keys per storage call (the KV API's limit for put, get and delete of several keys). */
const KEYS_PER_CALL = 128;

interface StoredMeta extends SnapshotMeta {
  generation: number;
  /** A generation whose chunks may still be stored (deleted after this meta is written). */
  previous: { generation: number; chunks: number } | null;
}

const chunkKey = (generation: number, i: number) => `viewSnapshot/${generation}/${String(i).padStart(7, "0")}`;

export interface SnapshotWritten {
  bytes: number;
  chunks: number;
}

export class ViewSnapshotStore {
  constructor(private readonly storage: DurableObjectStorage) {}

  /** Writes the view as the new snapshot (the view must not change until this resolves). */
  async write(view: SegmentView, at: SnapshotPosition & { takenAt: number }): Promise<SnapshotWritten> {
    const old = await this.storage.get<StoredMeta>(META_KEY);
    if (old?.previous) await this.deleteChunks(old.previous.generation, old.previous.chunks);
    const generation = (old?.generation ?? 0) + 1;
    const { meta, chunks } = encodeSnapshot(view, at);
    let batch: Record<string, Uint8Array> = {};
    let n = 0;
    let i = 0;
    for (const chunk of chunks()) {
      batch[chunkKey(generation, i++)] = chunk;
      if (++n === KEYS_PER_CALL) {
        await this.storage.put(batch);
        batch = {};
        n = 0;
      }
    }
    if (n > 0) await this.storage.put(batch);
    const stored: StoredMeta = { ...meta, generation, previous: old ? { generation: old.generation, chunks: old.chunks } : null };
    await this.storage.put(META_KEY, stored);
    if (old) {
      await this.deleteChunks(old.generation, old.chunks);
      await this.storage.put(META_KEY, { ...stored, previous: null });
    }
    return { bytes: meta.totalBytes, chunks: meta.chunks };
  }

  /** The stored snapshot as a view with its position, or null (none, or not readable: logged). */
  async read(): Promise<{ view: SegmentView; meta: SnapshotMeta } | null> {
    const meta = await this.storage.get<StoredMeta>(META_KEY);
    if (!meta) return null;
    try {
      const decoder = new SnapshotDecoder(meta);
      for (let from = 0; from < meta.chunks; from += KEYS_PER_CALL) {
        const keys = Array.from({ length: Math.min(KEYS_PER_CALL, meta.chunks - from) }, (_, k) => chunkKey(meta.generation, from + k));
        const got = await this.storage.get<ArrayBuffer | Uint8Array>(keys);
        for (const key of keys) {
          const chunk = got.get(key);
          if (chunk === undefined) throw new SnapshotError(`snapshot chunk ${key} is missing`);
          decoder.push(chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk));
        }
      }
      return { view: decoder.finish(), meta };
    } catch (err) {
      if (!(err instanceof SnapshotError)) throw err;
      console.error("the segment view's snapshot is unreadable; the view is loaded from the metadata store instead:", err.message);
      return null;
    }
  }

  /** Removes the snapshot (tests; an operator's reset). */
  async clear(): Promise<void> {
    const meta = await this.storage.get<StoredMeta>(META_KEY);
    if (!meta) return;
    await this.storage.delete(META_KEY);
    await this.deleteChunks(meta.generation, meta.chunks);
    if (meta.previous) await this.deleteChunks(meta.previous.generation, meta.previous.chunks);
  }

  private async deleteChunks(generation: number, chunks: number): Promise<void> {
    for (let from = 0; from < chunks; from += KEYS_PER_CALL) {
      await this.storage.delete(Array.from({ length: Math.min(KEYS_PER_CALL, chunks - from) }, (_, k) => chunkKey(generation, from + k)));
    }
  }
}
