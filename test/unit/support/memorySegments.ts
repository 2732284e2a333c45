/**
 * An in-memory SegmentPort (what metadata/segmentStore.ts does over D1), for TaskActions tests.
 * `gate` makes the next call of a method wait until the test opens it.
 */
import type { PendingRecord, SegmentRecord } from "../../../src/metadata/segmentStore.ts";
import type { SegmentPort } from "../../../src/overlord/taskActions.ts";
import { intervalOf, segmentIdOf, type DataSegment } from "../../../src/segments/dataSegment.ts";
import { contains, overlaps, toIso, type Interval } from "../../../src/shared/intervals.ts";

export class MemorySegments implements SegmentPort {
  readonly segments = new Map<string, SegmentRecord>();
  readonly pending: PendingRecord[] = [];
  readonly calls: string[] = [];
  private readonly gates = new Map<string, Promise<void>>();

  /** The next call of `method` waits until the returned function is called. */
  gate(method: keyof SegmentPort): () => void {
    let open!: () => void;
    this.gates.set(method, new Promise<void>((r) => (open = r)));
    return open;
  }

  private async enter(method: string): Promise<void> {
    this.calls.push(method);
    const g = this.gates.get(method);
    if (g) {
      this.gates.delete(method);
      await g;
    }
  }

  /** Adds a segment as if published earlier. */
  put(segment: DataSegment, used = true): void {
    const id = segmentIdOf(segment);
    this.segments.set(id, { id, segment: { ...segment, identifier: id }, used, usedStatusLastUpdated: toIso(0), createdDate: toIso(0), taskId: null, numRows: null });
  }

  private of(dataSource: string) {
    return [...this.segments.values()].filter((r) => r.segment.dataSource === dataSource);
  }

  async overlapping(dataSource: string, intervals: Interval[] | null, used: boolean | null): Promise<SegmentRecord[]> {
    await this.enter("overlapping");
    return this.of(dataSource).filter(
      (r) => (used === null || r.used === used) && (!intervals || intervals.length === 0 || intervals.some((i) => overlaps(i, intervalOf(r.segment)))),
    );
  }

  async unusedWithin(dataSource: string, interval: Interval | null, opts: { versions?: string[] | null; limit?: number | null }): Promise<SegmentRecord[]> {
    await this.enter("unusedWithin");
    const rows = this.of(dataSource).filter(
      (r) => !r.used && (!interval || contains(interval, intervalOf(r.segment))) && (!opts.versions || opts.versions.includes(r.segment.version)),
    );
    return opts.limit ? rows.slice(0, opts.limit) : rows;
  }

  async byIds(ids: string[]): Promise<SegmentRecord[]> {
    await this.enter("byIds");
    return ids.flatMap((id) => (this.segments.has(id) ? [this.segments.get(id)!] : []));
  }

  async publish(segments: DataSegment[], taskId: string, nowMs: number): Promise<void> {
    await this.enter("publish");
    for (const s of segments) {
      this.put(s);
      const r = this.segments.get(segmentIdOf(s))!;
      r.taskId = taskId;
      r.createdDate = toIso(nowMs);
    }
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]!.taskAllocatorId === taskId) this.pending.splice(i, 1);
  }

  private mark(rows: SegmentRecord[], used: boolean): number {
    let n = 0;
    for (const r of rows) {
      if (r.used !== used) {
        r.used = used;
        n++;
      }
    }
    return n;
  }

  async markUnusedInInterval(dataSource: string, interval: Interval, versions: string[] | null): Promise<number> {
    await this.enter("markUnusedInInterval");
    return this.mark(this.of(dataSource).filter((r) => contains(interval, intervalOf(r.segment)) && (!versions || versions.includes(r.segment.version))), false);
  }

  async markUsedInInterval(dataSource: string, interval: Interval, versions: string[] | null): Promise<number> {
    await this.enter("markUsedInInterval");
    return this.mark(this.of(dataSource).filter((r) => contains(interval, intervalOf(r.segment)) && (!versions || versions.includes(r.segment.version))), true);
  }

  async setUsedByIds(dataSource: string, ids: string[], used: boolean): Promise<number> {
    await this.enter("setUsedByIds");
    return this.mark(this.of(dataSource).filter((r) => ids.includes(r.id)), used);
  }

  async nuke(ids: string[]): Promise<number> {
    await this.enter("nuke");
    let n = 0;
    for (const id of ids) if (this.segments.delete(id)) n++;
    return n;
  }

  async pendingBySha1(sha1: string): Promise<PendingRecord | null> {
    await this.enter("pendingBySha1");
    return this.pending.find((p) => p.sha1 === sha1) ?? null;
  }

  async pendingOverlapping(dataSource: string, interval: Interval): Promise<PendingRecord[]> {
    await this.enter("pendingOverlapping");
    return this.pending.filter((p) => p.segment.dataSource === dataSource && overlaps(interval, intervalOf(p.segment)));
  }

  async insertPending(p: PendingRecord): Promise<void> {
    await this.enter("insertPending");
    if (this.pending.some((x) => x.id === p.id || x.sha1 === p.sha1)) throw new Error(`duplicate pending segment ${p.id}`);
    this.pending.push(p);
  }
}
