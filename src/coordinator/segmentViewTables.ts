/**
 * Building blocks of the columnar segment view (segmentView.ts): growable typed arrays, string
 * interning, and an open-addressing hash index that stores only slot numbers (the keys live in
 * the caller's columns and are compared there, so the index costs 4 bytes per table entry).
 */

/** A typed array grown to `capacity` elements, its contents kept. */
export function grown<T extends Int32Array | Float64Array | Uint8Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

/** 32-bit mixing (murmur3's finaliser) of `h` with one more 32-bit word. */
export function mix(h: number, word: number): number {
  h = Math.imul(h ^ word, 0x5bd1e995);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2d);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Mixes a double's bits (epoch milliseconds, possibly beyond 2^31 or negative) into `h`. */
export function mixNumber(h: number, x: number): number {
  const hi = Math.floor(x / 4294967296);
  return mix(mix(h, x - hi * 4294967296), hi);
}

/** Strings interned to dense indexes (data sources, versions). Entries are never removed. */
export class Interner {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  private chars = 0;

  intern(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(value);
      this.index.set(value, i);
      this.chars += value.length;
    }
    return i;
  }

  indexOf(value: string): number {
    return this.index.get(value) ?? -1;
  }

  get size(): number {
    return this.values.length;
  }

  /** Estimate: string bodies (2 B/char worst case) + header, array slot and Map entry (~64 B). */
  bytes(): number {
    return this.chars * 2 + this.values.length * 64;
  }
}

/**
 * Linear-probing hash index of slots. The table holds `slot + 1` (0 = empty); the caller gives
 * the hash of a probe key and a predicate testing a slot against it, and the hash of a stored
 * slot (`homeOf`) for backward-shift deletion (no tombstones). The table size is not a power of
 * two (index = hash × size / 2^32), so it can track the columns' capacity at a 1.5 ratio.
 */
export class SlotIndex {
  table: Int32Array<ArrayBuffer>;
  private count = 0;

  constructor(
    capacity: number,
    private readonly homeHashOf: (slot: number) => number,
  ) {
    this.table = new Int32Array(Math.max(8, Math.ceil(capacity * 1.5)));
  }

  private bucket(hash: number): number {
    return Math.floor((hash * this.table.length) / 4294967296);
  }

  /** The slot whose key hashes to `hash` and satisfies `matches`, or -1. */
  find(hash: number, matches: (slot: number) => boolean): number {
    const t = this.table, n = t.length;
    for (let i = this.bucket(hash); ; i = i + 1 === n ? 0 : i + 1) {
      const v = t[i];
      if (v === 0) return -1;
      if (matches(v - 1)) return v - 1;
    }
  }

  /** Adds `slot` (not present) under `hash`, growing the table beyond 2/3 load. */
  insert(hash: number, slot: number): void {
    if ((this.count + 1) * 3 > this.table.length * 2) this.rehash(Math.ceil(this.table.length * 2));
    this.place(hash, slot + 1);
    this.count++;
  }

  private place(hash: number, value: number): void {
    const t = this.table, n = t.length;
    let i = this.bucket(hash);
    while (t[i] !== 0) i = i + 1 === n ? 0 : i + 1;
    t[i] = value;
  }

  /** Removes `slot` (present under `hash`). */
  delete(hash: number, slot: number): void {
    const t = this.table, n = t.length;
    let i = this.bucket(hash);
    while (t[i] !== slot + 1) {
      if (t[i] === 0) return;
      i = i + 1 === n ? 0 : i + 1;
    }
    // backward-shift: move later members of the probe run into the hole when their home allows
    for (let j = i + 1 === n ? 0 : i + 1; t[j] !== 0; j = j + 1 === n ? 0 : j + 1) {
      const k = this.bucket(this.homeHashOf(t[j] - 1));
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      t[i] = t[j];
      i = j;
    }
    t[i] = 0;
    this.count--;
  }

  /** Re-sizes to `size` entries (called by the owner when its columns grow). */
  rehash(size: number): void {
    const old = this.table;
    this.table = new Int32Array(Math.max(8, size));
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.place(this.homeHashOf(old[i] - 1), old[i]);
  }

  /** Takes a table saved from an index with the same hashes (a snapshot's), as it was. */
  load(table: Int32Array<ArrayBuffer>): void {
    this.table = table;
    let n = 0;
    for (let i = 0; i < table.length; i++) if (table[i] !== 0) n++;
    this.count = n;
  }

  /** Keeps the table at ≥ 1.5 × `capacity` entries. */
  reserve(capacity: number): void {
    if (this.table.length < capacity * 1.5) this.rehash(Math.ceil(capacity * 1.5));
  }

  get bytes(): number {
    return this.table.byteLength;
  }
}

/**
 * The string order of an interner's values as ranks (rank[i] < rank[j] iff values[i] < values[j],
 * UTF-16 code unit order as Java's String.compareTo, which Druid compares versions with). Kept
 * current as values are added: the new ones are sorted and merged in, O(new · log new + all),
 * so one publish with a new version costs a merge, not a sort of every version.
 */
export class SortedRanks {
  /** Value indexes in string order. */
  private order = new Int32Array(0);
  rank = new Int32Array(0);
  private ranked = 0;

  update(values: readonly string[]): void {
    const total = values.length;
    if (total === this.ranked) return;
    const cmp = (a: number, b: number) => (values[a]! < values[b]! ? -1 : values[a]! > values[b]! ? 1 : 0);
    const fresh = Int32Array.from({ length: total - this.ranked }, (_, k) => this.ranked + k).sort(cmp);
    const merged = new Int32Array(total);
    let i = 0, j = 0, k = 0;
    while (i < this.ranked && j < fresh.length) merged[k++] = cmp(this.order[i]!, fresh[j]!) <= 0 ? this.order[i++]! : fresh[j++]!;
    while (i < this.ranked) merged[k++] = this.order[i++]!;
    while (j < fresh.length) merged[k++] = fresh[j++]!;
    this.order = merged;
    if (this.rank.length < total) this.rank = grown(this.rank, Math.max(total, 2 * this.rank.length));
    for (let r = 0; r < total; r++) this.rank[merged[r]!] = r;
    this.ranked = total;
  }

  get bytes(): number {
    return this.order.byteLength + this.rank.byteLength;
  }
}
