/**
 * The rows of one segment-granularity bucket while they are being indexed — Druid's
 * IncrementalIndex, columnar. Rows are (truncated time, dimension values, metric values). With
 * rollup, a row whose time and every dimension value equal an existing row's is folded into it
 * (metrics aggregate); without rollup every row is kept. `sortedOrder` gives Druid's segment
 * order: by time, then by each dimension in dimension order (nulls first).
 *
 * Dimensions live in a `DimensionRegistry` shared by all buckets: discovered dimensions are
 * appended, so rows added before a discovery simply have null there (trailing nulls are left out
 * of the rollup key, so such rows still roll up with later ones).
 */
import type { Interval } from "../../../src/shared/intervals.ts";
import { fold, type AggregatorSpec } from "./aggregators.ts";
import { compareDimValues, GrowableF64, GrowableI32, GrowableU8, NULL_ID, StringDictionary } from "./columns.ts";
import type { DimensionSchema } from "./dimensions.ts";

export class DimensionRegistry {
  readonly schemas: DimensionSchema[] = [];
  /** The dictionary of each string dimension (null for numeric ones), by index. */
  readonly dictionaries: (StringDictionary | null)[] = [];
  private readonly index = new Map<string, number>();

  constructor(explicit: DimensionSchema[]) {
    for (const d of explicit) this.add(d);
  }

  get size(): number { return this.schemas.length; }
  indexOf(name: string): number | undefined { return this.index.get(name); }

  add(schema: DimensionSchema): number {
    const i = this.schemas.length;
    this.schemas.push(schema);
    this.dictionaries.push(schema.type === "string" ? new StringDictionary() : null);
    this.index.set(schema.name, i);
    return i;
  }
}

/** One input row, encoded: a dictionary id per string dimension, a value per numeric one (NaN = null), by dimension index. */
export interface EncodedRow {
  time: number;
  codes: number[];
  /** Metric inputs by aggregator index (null = no input). */
  metrics: (number | null)[];
}

export class IncrementalIndex {
  readonly times = new GrowableF64();
  private readonly strCols: (GrowableI32 | null)[] = [];
  private readonly numCols: (GrowableF64 | null)[] = [];
  private readonly metVals: GrowableF64[];
  private readonly metHas: GrowableU8[];
  /** Rollup lookup: hash of (time, dimension codes) → the row, or the rows sharing that hash. */
  private readonly rollupIndex: Map<number, number | number[]> | null;

  constructor(
    readonly interval: Interval,
    private readonly registry: DimensionRegistry,
    private readonly aggregators: AggregatorSpec[],
    rollup: boolean,
  ) {
    this.metVals = aggregators.map(() => new GrowableF64());
    this.metHas = aggregators.map(() => new GrowableU8());
    this.rollupIndex = rollup ? new Map() : null;
  }

  get numRows(): number { return this.times.length; }

  add(row: EncodedRow): void {
    const dims = this.registry.size;
    if (this.rollupIndex) {
      const hash = this.hashOf(row, dims);
      const found = this.rollupIndex.get(hash);
      if (found !== undefined) {
        if (typeof found === "number") {
          if (this.sameKey(found, row, dims)) { this.aggregate(found, row); return; }
          this.rollupIndex.set(hash, [found, this.times.length]);
        } else {
          for (const at of found) if (this.sameKey(at, row, dims)) { this.aggregate(at, row); return; }
          found.push(this.times.length);
        }
      } else this.rollupIndex.set(hash, this.times.length);
    }
    const n = this.times.length;
    for (let d = 0; d < dims; d++) {
      const code = row.codes[d] ?? (this.registry.dictionaries[d] ? NULL_ID : Number.NaN);
      if (this.registry.dictionaries[d]) {
        let col = this.strCols[d];
        if (!col) { col = this.strCols[d] = new GrowableI32(); col.padTo(n, NULL_ID); }
        col.push(code);
      } else {
        let col = this.numCols[d];
        if (!col) { col = this.numCols[d] = new GrowableF64(); col.padTo(n, Number.NaN); }
        col.push(code);
      }
    }
    this.times.push(row.time);
    for (let m = 0; m < this.aggregators.length; m++) {
      const input = this.aggregators[m]!.op === "count" ? 1 : row.metrics[m] ?? null;
      this.metVals[m]!.push(input ?? 0);
      this.metHas[m]!.push(input === null ? 0 : 1);
    }
  }

  /**
   * FNV-1a over the time and the dimension codes up to the last non-null one (so rows added
   * before a dimension was discovered hash like later rows where it is null).
   */
  private hashOf(row: EncodedRow, dims: number): number {
    let last = dims - 1;
    while (last >= 0 && this.isNull(last, row.codes[last])) last--;
    const f = this.scratch;
    f[0] = row.time;
    let h = Math.imul(0x811c9dc5 ^ this.scratchInts[0]!, 0x01000193);
    h = Math.imul(h ^ this.scratchInts[1]!, 0x01000193);
    for (let d = 0; d <= last; d++) {
      const c = row.codes[d];
      if (this.isNull(d, c)) h = Math.imul(h ^ 0x5bd1e995, 0x01000193);
      else if (this.registry.dictionaries[d]) h = Math.imul(h ^ c!, 0x01000193);
      else {
        f[0] = c! === 0 ? 0 : c!; // -0 and 0 are one value
        h = Math.imul(h ^ this.scratchInts[0]!, 0x01000193);
        h = Math.imul(h ^ this.scratchInts[1]!, 0x01000193);
      }
    }
    return h >>> 0;
  }

  private readonly scratch = new Float64Array(1);
  private readonly scratchInts = new Int32Array(this.scratch.buffer);

  /** Whether stored row `at` has the time and dimension values of `row`. */
  private sameKey(at: number, row: EncodedRow, dims: number): boolean {
    if (this.times.data[at] !== row.time) return false;
    for (let d = 0; d < dims; d++) {
      const a = row.codes[d], b = this.code(d, at);
      const na = this.isNull(d, a), nb = this.isNull(d, b);
      if (na !== nb) return false;
      if (!na && a !== b) return false;
    }
    return true;
  }

  private isNull(d: number, c: number | undefined): boolean {
    return c === undefined || (this.registry.dictionaries[d] ? c === NULL_ID : Number.isNaN(c));
  }

  private aggregate(at: number, row: EncodedRow): void {
    for (let m = 0; m < this.aggregators.length; m++) {
      const agg = this.aggregators[m]!;
      const input = agg.op === "count" ? 1 : row.metrics[m] ?? null;
      if (input === null) continue;
      const vals = this.metVals[m]!.data, has = this.metHas[m]!.data;
      vals[at] = fold(agg, vals[at]!, has[at] === 1, input);
      has[at] = 1;
    }
  }

  /** Dictionary id (string) or value (numeric, NaN = null) of dimension `d` at `row`. */
  code(d: number, row: number): number {
    if (this.registry.dictionaries[d]) {
      const col = this.strCols[d];
      return col && row < col.length ? col.data[row]! : NULL_ID;
    }
    const col = this.numCols[d];
    return col && row < col.length ? col.data[row]! : Number.NaN;
  }

  /**
   * The raw column of dimension `d`: dictionary ids (string) or values (numeric, NaN = null);
   * rows at or past `length` are null (the dimension was discovered after them).
   */
  column(d: number): { data: Int32Array | Float64Array; length: number } | null {
    return (this.registry.dictionaries[d] ? this.strCols[d] : this.numCols[d]) ?? null;
  }

  /** Metric `m` at `row`, null when it never received an input. */
  metric(m: number, row: number): number | null {
    return this.metHas[m]!.data[row] === 1 ? this.metVals[m]!.data[row]! : null;
  }

  /** Compares two rows by their dimension values in dimension order (nulls first). */
  private compareDims(a: number, b: number, ranks: (Int32Array | null)[] | null): number {
    const dicts = this.registry.dictionaries;
    for (let d = 0; d < dicts.length; d++) {
      const ca = this.code(d, a), cb = this.code(d, b);
      const dict = dicts[d];
      if (dict) {
        if (ca === cb) continue;
        if (ca === NULL_ID) return -1;
        if (cb === NULL_ID) return 1;
        const rank = ranks?.[d];
        const c = rank ? rank[ca]! - rank[cb]! : compareDimValues(dict.values[ca]!, dict.values[cb]!);
        if (c !== 0) return c;
      } else {
        const na = Number.isNaN(ca), nb = Number.isNaN(cb);
        if (na !== nb) return na ? -1 : 1;
        if (na || ca === cb) continue;
        return ca < cb ? -1 : 1;
      }
    }
    return 0;
  }

  /** Whether dimension `d` has any non-null value in the given rows. */
  hasValues(d: number, rows: ArrayLike<number>): boolean {
    for (let i = 0; i < rows.length; i++) {
      if (!this.isNull(d, this.code(d, rows[i]!))) return true;
    }
    return false;
  }

  /**
   * Row numbers in Druid's segment order: time, then dimensions in order, nulls first. Sorted by
   * time first; only runs of equal times are ordered by dimension values — directly for short
   * runs, through dictionary ranks (computed once) for long ones, as in rolled-up data.
   */
  sortedOrder(): Int32Array {
    const n = this.numRows;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const times = this.times.data;
    order.sort((a, b) => times[a]! - times[b]! || a - b);
    const dims = this.registry.size;
    if (dims === 0) return order;
    const direct = (a: number, b: number) => this.compareDims(a, b, null) || a - b;
    let ranks: (Int32Array | null)[] | null = null;
    for (let i = 0; i < n; ) {
      let j = i + 1;
      while (j < n && times[order[j]!] === times[order[i]!]) j++;
      if (j - i > 1) {
        const run = order.subarray(i, j);
        if (j - i <= 64) run.sort(direct);
        else {
          ranks ??= this.registry.dictionaries.map((d) => d?.rank() ?? null);
          const r = ranks;
          run.sort((a, b) => this.compareDims(a, b, r) || a - b);
        }
      }
      i = j;
    }
    return order;
  }
}
