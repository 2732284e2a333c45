/**
 * The segment view's interned intervals: each distinct (start, end) once, as Float64 columns
 * (epoch ms exceed 2^31), found through a hash index of interval numbers. Data sources mostly
 * share granularity boundaries, so the table is far smaller than the segments. It also keeps the
 * intervals' rank in start order (for overshadowing, recomputed only after intervals were added)
 * and the `start_end` ISO text of recently used intervals (ids are built often, intervals repeat).
 */
import { toIso } from "../shared/intervals.ts";
import { SlotIndex, grown, mixNumber } from "./segmentViewTables.ts";

const INITIAL = 1024;
/** Intervals whose id text is kept (bounded: a view may hold a million intervals). */
const TEXT_CACHE = 16_384;

const hashOf = (start: number, end: number) => mixNumber(mixNumber(0x9e3779b9, start), end);

export class IntervalTable {
  count = 0;
  start = new Float64Array(INITIAL);
  end = new Float64Array(INITIAL);
  private rankInStart = new Int32Array(0);
  private readonly index = new SlotIndex(INITIAL, (i) => hashOf(this.start[i], this.end[i]));
  private readonly text = new Map<number, string>();

  /** The interval's number, or -1. */
  find(start: number, end: number): number {
    return this.index.find(hashOf(start, end), (i) => this.start[i] === start && this.end[i] === end);
  }

  /** The interval's number, added if new. */
  intern(start: number, end: number): number {
    const found = this.find(start, end);
    if (found >= 0) return found;
    if (this.count === this.start.length) {
      const cap = Math.max(INITIAL, this.count * 2);
      this.start = grown(this.start, cap);
      this.end = grown(this.end, cap);
      this.index.reserve(cap);
    }
    const i = this.count++;
    this.start[i] = start;
    this.end[i] = end;
    this.index.insert(hashOf(start, end), i);
    return i;
  }

  /** Ranks in start order, current for every interval. */
  ranks(): Int32Array {
    if (this.rankInStart.length !== this.count) {
      const byStart = new Int32Array(this.count).map((_, i) => i);
      byStart.sort((a, b) => this.start[a] - this.start[b] || a - b);
      this.rankInStart = new Int32Array(this.count);
      for (let r = 0; r < byStart.length; r++) this.rankInStart[byStart[r]] = r;
    }
    return this.rankInStart;
  }

  /** `start_end` as a segment id writes it. */
  textOf(i: number): string {
    let t = this.text.get(i);
    if (t === undefined) {
      if (this.text.size >= TEXT_CACHE) this.text.clear();
      t = `${toIso(this.start[i])}_${toIso(this.end[i])}`;
      this.text.set(i, t);
    }
    return t;
  }

  /** The state a snapshot keeps. */
  exportState(): { start: Float64Array<ArrayBuffer>; end: Float64Array<ArrayBuffer>; index: Int32Array<ArrayBuffer> } {
    return { start: this.start.subarray(0, this.count), end: this.end.subarray(0, this.count), index: this.index.table };
  }

  /** Takes a snapshot's state (arrays taken, not copied). */
  load(start: Float64Array<ArrayBuffer>, end: Float64Array<ArrayBuffer>, index: Int32Array<ArrayBuffer>): void {
    this.count = start.length;
    this.start = start;
    this.end = end;
    this.index.load(index);
  }

  get bytes(): number {
    return this.index.bytes + this.start.byteLength + this.end.byteLength + this.rankInStart.byteLength;
  }
}
