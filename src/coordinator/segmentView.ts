/**
 * The Coordinator's in-memory view of every used segment, columnar (issue 14 "The segment view",
 * DESIGN.md decision 11). A segment is a numeric slot into typed-array columns; there is no
 * object and no id string per segment. Payloads (loadSpec, dimensions…) stay in D1.
 *
 * Per slot (29 B): data source index, interval index, version index, partition number, core
 * partitions (Int32 each), size (Float64: bytes can exceed 2^32), flags (Uint8: used,
 * overshadowed). A free slot's interval column links the free list, so removes reuse slots at
 * no cost. Intervals are interned (intervalTable.ts) into a table of Float64 start/end (epoch ms exceed 2^31;
 * data sources mostly share granularity boundaries, so the table is far smaller than the
 * segments); data sources and versions are interned strings. There is no per-data-source member
 * list (it would cost 4–8 B more per segment): a data source's slots are gathered by one scan of
 * the data-source column (~1 ms per million), once for all data sources being refreshed.
 *
 * Id → slot: an open-addressing index of slot numbers (SlotIndex, 4 B per entry, sized 1.5 × the
 * column capacity, so ≤ 6 B per segment) hashed on the (data source, interval, version,
 * partition) tuple, with the comparison made against the columns. It is exact (no collision can
 * alias two segments), keeps no key at all, and costs less than a Map<number, slot> (whose 53-bit
 * keys are heap numbers: ~40+ B per entry). A text id is resolved by Druid's parsings
 * (segmentId.ts), each tried against the index.
 *
 * Overshadowing (segmentViewOvershadow.ts) is per data source and incremental: a change marks
 * only its data source dirty, and a query recomputes only dirty data sources (whole data
 * source; narrowing it to the time chunks a change touches is not done yet).
 */
import { allPossibleSegmentIdParsings } from "../segments/segmentId.ts";
import { corePartitionsOf, intervalOf, partitionNumOf, type ShardSpec } from "../segments/dataSegment.ts";
import type { Interval } from "../shared/intervals.ts";
import { IntervalTable } from "./intervalTable.ts";
import { Interner, SlotIndex, SortedRanks, grown, mix } from "./segmentViewTables.ts";
import { FLAG_OVERSHADOWED, FLAG_USED, computeOvershadowed } from "./segmentViewOvershadow.ts";

/** A change row from the metadata store (`segments`); `used: false` removes the segment. */
export interface SegmentRow {
  id?: string;
  dataSource: string;
  start: number;
  end: number;
  version: string;
  partitionNum: number;
  corePartitions: number;
  size: number;
  used: boolean;
}

/** The identifying tuple of a segment (what its id encodes). */
export interface SegmentKey {
  dataSource: string;
  start: number;
  end: number;
  version: string;
  partitionNum: number;
}

/**
 * The view's whole state as plain columns, what a snapshot keeps (segmentViewSnapshot.ts
 * encodes it): every column up to the slots ever handed out, the interval table, both hash
 * indexes' tables (their hashes depend only on the interned numbers, so they are valid as they
 * are), and the interned strings in index order.
 */
export interface SegmentViewState {
  high: number;
  freeHead: number;
  count: number;
  dataSources: string[];
  versions: string[];
  columns: { ds: Int32Array<ArrayBuffer>; interval: Int32Array<ArrayBuffer>; version: Int32Array<ArrayBuffer>; partition: Int32Array<ArrayBuffer>; core: Int32Array<ArrayBuffer>; bytes: Float64Array<ArrayBuffer>; flags: Uint8Array<ArrayBuffer> };
  intervals: { start: Float64Array<ArrayBuffer>; end: Float64Array<ArrayBuffer> };
  index: Int32Array<ArrayBuffer>;
  intervalIndex: Int32Array<ArrayBuffer>;
}

/** A row for a DataSegment-like object (the shardSpec gives partition and core partitions). */
export function rowOf(seg: { dataSource: string; interval: string | Interval; version: string; shardSpec?: ShardSpec | null; size?: number }, used = true): SegmentRow {
  const { start, end } = intervalOf(seg);
  return { dataSource: seg.dataSource, start, end, version: seg.version, partitionNum: partitionNumOf(seg.shardSpec), corePartitions: corePartitionsOf(seg.shardSpec), size: seg.size ?? 0, used };
}

interface DataSourceState {
  count: number;
  dirty: boolean;
  overshadowed: number;
}

const INITIAL = 1024;

export class SegmentView {
  private capacity = INITIAL;
  private ds = new Int32Array(INITIAL);
  private interval = new Int32Array(INITIAL);
  private version = new Int32Array(INITIAL);
  private partition = new Int32Array(INITIAL);
  private core = new Int32Array(INITIAL);
  private bytes = new Float64Array(INITIAL);
  private flags = new Uint8Array(INITIAL);
  /** Slots ever handed out; slots below it are used or on the free list. */
  private high = 0;
  private freeHead = -1;
  private count = 0;
  /** Segments ever added to and removed from the view (published, or unused or gone): duties watch these for news. */
  additions = 0;
  removals = 0;

  private readonly dataSourceNames = new Interner();
  private readonly versionNames = new Interner();
  /** Versions' string order as ranks (overshadowing compares versions). */
  private readonly versionRanks = new SortedRanks();
  private readonly byDataSource: DataSourceState[] = []; // by data source index

  private readonly intervals = new IntervalTable();

  private readonly index = new SlotIndex(INITIAL, (s) => this.keyHash(this.ds[s], this.interval[s], this.version[s], this.partition[s]));

  /** Number of used segments in the view. */
  get size(): number {
    return this.count;
  }

  private keyHash(ds: number, iv: number, ver: number, part: number): number {
    return mix(mix(mix(mix(0x85ebca6b, ds), iv), ver), part);
  }

  /** The slot of a segment, or -1. */
  slotOf(key: SegmentKey): number {
    const ds = this.dataSourceNames.indexOf(key.dataSource);
    const ver = this.versionNames.indexOf(key.version);
    if (ds < 0 || ver < 0) return -1;
    const iv = this.intervals.find(key.start, key.end);
    if (iv < 0) return -1;
    return this.find(ds, iv, ver, key.partitionNum);
  }

  private find(ds: number, iv: number, ver: number, part: number): number {
    return this.index.find(this.keyHash(ds, iv, ver, part), (s) => this.ds[s] === ds && this.interval[s] === iv && this.version[s] === ver && this.partition[s] === part);
  }

  /** The slot of a Druid segment id (every reading of it is tried), or -1. */
  slotOfId(id: string): number {
    for (const p of allPossibleSegmentIdParsings(id)) {
      const slot = this.slotOf({ dataSource: p.dataSource, start: p.interval.start, end: p.interval.end, version: p.version, partitionNum: p.partitionNum });
      if (slot >= 0) return slot;
    }
    return -1;
  }

  /** Applies a change row: inserts or updates a used segment, removes an unused one. Returns its slot (-1 if removed/absent). */
  upsert(row: SegmentRow): number {
    if (!row.used) {
      this.remove(row);
      return -1;
    }
    const ds = this.dataSourceNames.intern(row.dataSource);
    const ver = this.versionNames.intern(row.version);
    const iv = this.intervals.intern(row.start, row.end);
    let slot = this.find(ds, iv, ver, row.partitionNum);
    if (slot < 0) {
      slot = this.allocate();
      this.ds[slot] = ds;
      this.interval[slot] = iv;
      this.version[slot] = ver;
      this.partition[slot] = row.partitionNum;
      this.flags[slot] = FLAG_USED;
      this.index.insert(this.keyHash(ds, iv, ver, row.partitionNum), slot);
      this.stateOf(ds).count++;
      this.count++;
      this.additions++;
    }
    this.core[slot] = row.corePartitions;
    this.bytes[slot] = row.size;
    this.stateOf(ds).dirty = true;
    return slot;
  }

  /** Removes a segment (by id or tuple); false when it was not in the view. */
  remove(key: string | SegmentKey): boolean {
    const slot = typeof key === "string" ? this.slotOfId(key) : this.slotOf(key);
    if (slot < 0) return false;
    this.removeSlot(slot);
    return true;
  }

  removeSlot(slot: number): void {
    if (!(this.flags[slot] & FLAG_USED)) return;
    const ds = this.ds[slot];
    this.index.delete(this.keyHash(ds, this.interval[slot], this.version[slot], this.partition[slot]), slot);
    const st = this.stateOf(ds);
    st.count--;
    st.dirty = true;
    this.flags[slot] = 0;
    this.interval[slot] = this.freeHead; // a free slot's interval column links the free list
    this.freeHead = slot;
    this.count--;
    this.removals++;
  }

  private allocate(): number {
    if (this.freeHead >= 0) {
      const slot = this.freeHead;
      this.freeHead = this.interval[slot];
      return slot;
    }
    if (this.high === this.capacity) this.grow(this.capacity * 2);
    return this.high++;
  }

  private grow(capacity: number): void {
    this.capacity = capacity;
    this.ds = grown(this.ds, capacity);
    this.interval = grown(this.interval, capacity);
    this.version = grown(this.version, capacity);
    this.partition = grown(this.partition, capacity);
    this.core = grown(this.core, capacity);
    this.bytes = grown(this.bytes, capacity);
    this.flags = grown(this.flags, capacity);
    this.index.reserve(capacity);
  }

  private stateOf(ds: number): DataSourceState {
    let st = this.byDataSource[ds];
    if (!st) {
      st = { count: 0, dirty: false, overshadowed: 0 };
      this.byDataSource[ds] = st;
    }
    return st;
  }

  /** Data sources with at least one used segment. */
  dataSources(): string[] {
    return this.byDataSource.flatMap((st, i) => (st && st.count > 0 ? [this.dataSourceNames.values[i]] : []));
  }

  /** The slots of a data source's used segments (a copy; order unspecified). */
  slotsOf(dataSource: string): Int32Array {
    return this.gather([this.dataSourceNames.indexOf(dataSource)])[0];
  }

  dataSourceOf(slot: number): string { return this.dataSourceNames.values[this.ds[slot]]; }
  versionOf(slot: number): string { return this.versionNames.values[this.version[slot]]; }
  intervalOf(slot: number): Interval { return { start: this.intervals.start[this.interval[slot]], end: this.intervals.end[this.interval[slot]] }; }
  partitionOf(slot: number): number { return this.partition[slot]; }
  corePartitionsOf(slot: number): number { return this.core[slot]; }
  sizeOf(slot: number): number { return this.bytes[slot]; }
  isUsed(slot: number): boolean { return slot >= 0 && slot < this.high && (this.flags[slot] & FLAG_USED) !== 0; }

  /** Druid's id of a slot's segment (built on demand, never stored; recent intervals' text is cached). */
  idOf(slot: number): string {
    const text = this.intervals.textOf(this.interval[slot]);
    const base = `${this.dataSourceOf(slot)}_${text}_${this.versionOf(slot)}`;
    return this.partition[slot] === 0 ? base : `${base}_${this.partition[slot]}`;
  }

  /** The used slots of each data source index in `dsList`, in one scan of the ds column. */
  private gather(dsList: number[]): Int32Array[] {
    const want = new Int32Array(this.byDataSource.length + 1).fill(-1);
    const out = dsList.map((ds, k) => {
      const st = ds >= 0 ? this.byDataSource[ds] : undefined;
      if (st) want[ds] = k;
      return new Int32Array(st ? st.count : 0);
    });
    const fill = new Int32Array(dsList.length);
    const dsCol = this.ds, flags = this.flags;
    for (let s = 0; s < this.high; s++) {
      if (!(flags[s] & FLAG_USED)) continue;
      const k = want[dsCol[s]];
      if (k >= 0) out[k][fill[k]++] = s;
    }
    return out;
  }

  /** Recomputes overshadowing of the dirty data sources among `dsList`. */
  private refresh(dsList: number[]): void {
    const dirty = dsList.filter((ds) => this.byDataSource[ds]?.dirty);
    if (dirty.length === 0) return;
    const members = this.gather(dirty);
    this.versionRanks.update(this.versionNames.values);
    const cols = { interval: this.interval, version: this.version, partition: this.partition, core: this.core, flags: this.flags, intervalStart: this.intervals.start, intervalEnd: this.intervals.end, intervalRank: this.intervals.ranks(), intervalCount: this.intervals.count, versionRank: this.versionRanks.rank, versionCount: this.versionNames.size };
    dirty.forEach((ds, k) => {
      const st = this.byDataSource[ds];
      st.overshadowed = computeOvershadowed(cols, members[k], members[k].length);
      st.dirty = false;
    });
  }

  /** Recomputes overshadowing of every data source changed since the last query. */
  refreshAll(): void {
    this.refresh(this.byDataSource.map((_, ds) => ds));
  }

  /** Marks every data source dirty (then `refreshAll` recomputes from scratch). */
  invalidateAll(): void {
    for (const st of this.byDataSource) if (st) st.dirty = true;
  }

  isOvershadowed(slot: number): boolean {
    if (!this.isUsed(slot)) return false;
    this.refresh([this.ds[slot]]);
    return (this.flags[slot] & FLAG_OVERSHADOWED) !== 0;
  }

  /** The overshadowed slots of a data source. */
  overshadowedSlots(dataSource: string): number[] {
    const ds = this.dataSourceNames.indexOf(dataSource);
    if (ds < 0) return [];
    this.refresh([ds]);
    const out: number[] = [];
    for (const s of this.gather([ds])[0]) if (this.flags[s] & FLAG_OVERSHADOWED) out.push(s);
    return out;
  }

  /** Every data source's overshadowed slots, refreshed first, found in one scan of the view. */
  overshadowedByDataSource(): Map<string, number[]> {
    this.refreshAll();
    const byDs: number[][] = [];
    for (let s = 0; s < this.high; s++) if (this.flags[s] & FLAG_OVERSHADOWED) (byDs[this.ds[s]] ??= []).push(s);
    const out = new Map<string, number[]>();
    byDs.forEach((slots, ds) => out.set(this.dataSourceNames.values[ds], slots));
    return out;
  }

  /** Ids of a data source's overshadowed segments (what MarkOvershadowedSegmentsAsUnused marks). */
  overshadowedIds(dataSource: string): string[] {
    return this.overshadowedSlots(dataSource).map((s) => this.idOf(s));
  }

  /** Overshadowed segments over all data sources (refreshing dirty ones). */
  overshadowedCount(): number {
    this.refreshAll();
    let n = 0;
    for (const st of this.byDataSource) if (st) n += st.overshadowed;
    return n;
  }

  /** Per data source with used segments: how many, their bytes, how many overshadowed (one scan). */
  dataSourceStats(): Array<{ dataSource: string; segments: number; bytes: number; overshadowed: number }> {
    this.refreshAll();
    const bytes = new Float64Array(this.byDataSource.length);
    for (let s = 0; s < this.high; s++) if (this.flags[s] & FLAG_USED) bytes[this.ds[s]] += this.bytes[s];
    return this.byDataSource.flatMap((st, i) => (st && st.count > 0 ? [{ dataSource: this.dataSourceNames.values[i], segments: st.count, bytes: bytes[i], overshadowed: st.overshadowed }] : []));
  }

  /** The state a snapshot keeps (views of the live columns: encode it before changing the view). */
  exportState(): SegmentViewState {
    const h = this.high;
    const iv = this.intervals.exportState();
    return {
      high: h,
      freeHead: this.freeHead,
      count: this.count,
      dataSources: this.dataSourceNames.values,
      versions: this.versionNames.values,
      columns: { ds: this.ds.subarray(0, h), interval: this.interval.subarray(0, h), version: this.version.subarray(0, h), partition: this.partition.subarray(0, h), core: this.core.subarray(0, h), bytes: this.bytes.subarray(0, h), flags: this.flags.subarray(0, h) },
      intervals: { start: iv.start, end: iv.end },
      index: this.index.table,
      intervalIndex: iv.index,
    };
  }

  /**
   * A view with a snapshot's state (its arrays are taken, not copied). Counts (`count` is not
   * trusted) are recounted from the used flags and every data source is dirty, so overshadowing is computed afresh when asked.
   */
  static fromState(s: SegmentViewState): SegmentView {
    const v = new SegmentView();
    const c = s.columns;
    v.capacity = s.high;
    v.ds = c.ds; v.interval = c.interval; v.version = c.version; v.partition = c.partition; v.core = c.core; v.bytes = c.bytes; v.flags = c.flags;
    v.high = s.high;
    v.freeHead = s.freeHead;
    for (const d of s.dataSources) v.dataSourceNames.intern(d);
    for (const x of s.versions) v.versionNames.intern(x);
    v.intervals.load(s.intervals.start, s.intervals.end, s.intervalIndex);
    v.index.load(s.index);
    for (let d = 0; d < s.dataSources.length; d++) v.stateOf(d).dirty = true;
    for (let slot = 0; slot < s.high; slot++) {
      if (!(c.flags[slot] & FLAG_USED)) continue;
      v.byDataSource[c.ds[slot]].count++;
      v.count++;
    }
    if (v.capacity < INITIAL) v.grow(INITIAL);
    return v;
  }

  /** Memory held: typed arrays' byteLength plus an estimate of the interned tables. */
  bytesUsed(): number {
    let b = this.ds.byteLength + this.interval.byteLength + this.version.byteLength + this.partition.byteLength + this.core.byteLength + this.bytes.byteLength + this.flags.byteLength;
    b += this.index.bytes + this.intervals.bytes;
    b += this.byDataSource.length * 48;
    return b + this.dataSourceNames.bytes() + this.versionNames.bytes() + this.versionRanks.bytes;
  }
}
