/**
 * Compact in-memory columns for rows being indexed: growable typed arrays and a per-dimension
 * string dictionary (each distinct value or multi-value list stored once, rows hold ids). This is
 * what keeps ingestion memory proportional to distinct values rather than to input rows.
 */
import type { StringDimValue } from "./dimensions.ts";

export class GrowableF64 {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) this.grow();
    this.data[this.length++] = v;
  }
  /** Pads with `fill` up to `n` entries. */
  padTo(n: number, fill: number): void {
    while (this.length < n) this.push(fill);
  }
  private grow(): void {
    const next = new Float64Array(this.data.length * 2);
    next.set(this.data);
    this.data = next;
  }
}

export class GrowableI32 {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  padTo(n: number, fill: number): void {
    while (this.length < n) this.push(fill);
  }
}

export class GrowableU8 {
  data = new Uint8Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint8Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  padTo(n: number, fill: number): void {
    while (this.length < n) this.push(fill);
  }
}

/** Id -1 is null. */
export const NULL_ID = -1;

const compareStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Order of string dimension values: string order (Java's String.compareTo, i.e. UTF-16 units,
 * which is also JavaScript's); a single value sorts as a one-element list, lists element-wise.
 */
export function compareDimValues(x: string | string[], y: string | string[]): number {
  if (typeof x === "string" && typeof y === "string") return x < y ? -1 : x > y ? 1 : 0;
  const xs = typeof x === "string" ? [x] : x, ys = typeof y === "string" ? [y] : y;
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const c = compareStr(xs[i]!, ys[i]!);
    if (c !== 0) return c;
  }
  return xs.length - ys.length;
}

/** Distinct values of one string dimension, shared by all time buckets of an ingestion. */
export class StringDictionary {
  readonly values: (string | string[])[] = [];
  private readonly single = new Map<string, number>();
  private readonly multi = new Map<string, number>();
  private ranks: Int32Array | null = null;
  /** Neighbouring rows often repeat a value: remember the last one. */
  private lastValue: string | null = null;
  private lastId = NULL_ID;

  idOf(v: StringDimValue): number {
    if (v === null) return NULL_ID;
    if (typeof v === "string") {
      if (v === this.lastValue) return this.lastId;
      let id = this.single.get(v);
      if (id === undefined) {
        id = this.values.length;
        this.values.push(v);
        this.single.set(v, id);
        this.ranks = null;
      }
      this.lastValue = v;
      this.lastId = id;
      return id;
    }
    const key = JSON.stringify(v);
    let id = this.multi.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(v);
      this.multi.set(key, id);
      this.ranks = null;
    }
    return id;
  }

  value(id: number): StringDimValue {
    return id === NULL_ID ? null : this.values[id]!;
  }

  /** Sort rank of each id, in `compareDimValues` order. */
  rank(): Int32Array {
    if (this.ranks) return this.ranks;
    const ids = Array.from(this.values.keys());
    const values = this.values;
    ids.sort((a, b) => compareDimValues(values[a]!, values[b]!));
    const ranks = new Int32Array(this.values.length);
    ids.forEach((id, r) => { ranks[id] = r; });
    this.ranks = ranks;
    return ranks;
  }
}
