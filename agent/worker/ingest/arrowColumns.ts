/**
 * A segment's columns as an Apache Arrow table (the Parquet writer's input, see parquet.ts),
 * built straight from typed arrays: string dimensions arrive dictionary-encoded (a per-segment
 * dictionary and row ids, as the incremental index holds them), so no value is materialised
 * per row and no string is encoded twice. Arrow's builders would box every value instead.
 */
import {
  Dictionary, Field, Float64, Int32, Int64, List, RecordBatch, Schema, Struct, Table, TimestampMillisecond, Utf8,
  makeData, makeVector, type Data, type DataType,
} from "apache-arrow";

/** A string dimension as the index holds it: row i has `dictionary[ids[i]]`, or null for id -1. */
export interface DictionaryColumn {
  dictionary: readonly (string | readonly string[])[];
  ids: Int32Array;
}

export interface ArrowColumn {
  name: string;
  data: Data;
  nullable: boolean;
}

const TWO_32 = 4294967296;
/** Index of the low 32-bit word of a 64-bit integer in memory (0 on little-endian machines). */
const LOW_WORD = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 0 : 1;

function validity(n: number, isNull: (i: number) => boolean): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (isNull(i)) nullCount++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { nullBitmap: nullCount > 0 ? bitmap : undefined, nullCount };
}

/**
 * 64-bit integers written as two 32-bit words in the machine's byte order: a BigInt per value
 * would be allocated otherwise. Exact for |v| < 2^53, which is what a JavaScript number holds
 * exactly.
 */
function int64Words(values: ArrayLike<number | null>): BigInt64Array {
  const words = new Int32Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null || x === undefined) continue;
    const v = Math.trunc(x);
    const hi = Math.floor(v / TWO_32);
    words[2 * i + LOW_WORD] = (v - hi * TWO_32) | 0;
    words[2 * i + 1 - LOW_WORD] = hi | 0;
  }
  return new BigInt64Array(words.buffer);
}

/** UTF-8 bytes and offsets of `strings` (Arrow's Utf8 layout). */
function utf8(strings: readonly string[]): { valueOffsets: Int32Array; data: Uint8Array } {
  const valueOffsets = new Int32Array(strings.length + 1);
  let total = 0;
  for (let i = 0; i < strings.length; i++) {
    total += Buffer.byteLength(strings[i]!, "utf8");
    valueOffsets[i + 1] = total;
  }
  const data = Buffer.allocUnsafe(total);
  for (let i = 0; i < strings.length; i++) data.write(strings[i]!, valueOffsets[i]!, "utf8");
  return { valueOffsets, data };
}

export function timeColumn(name: string, time: ArrayLike<number>): ArrowColumn {
  const type = new TimestampMillisecond("UTC");
  return { name, nullable: false, data: makeData({ type, length: time.length, nullCount: 0, data: int64Words(time) }) };
}

export function int64Column(name: string, values: ArrayLike<number | null>): ArrowColumn {
  const type = new Int64();
  const { nullBitmap, nullCount } = validity(values.length, (i) => values[i] === null);
  return { name, nullable: true, data: makeData({ type, length: values.length, nullCount, nullBitmap, data: int64Words(values) }) };
}

export function float64Column(name: string, values: ArrayLike<number | null>): ArrowColumn {
  const type = new Float64();
  const data = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = values[i] ?? 0;
  const { nullBitmap, nullCount } = validity(values.length, (i) => values[i] === null);
  return { name, nullable: true, data: makeData({ type, length: values.length, nullCount, nullBitmap, data }) };
}

/** A single-valued string dimension: Dictionary<Utf8, Int32>. */
export function stringColumn(name: string, col: DictionaryColumn, dictionaryId: number): ArrowColumn {
  const type = new Dictionary(new Utf8(), new Int32(), dictionaryId);
  const n = col.ids.length;
  const { valueOffsets, data: bytes } = utf8(col.dictionary as string[]);
  const dictionary = makeData({ type: new Utf8(), length: col.dictionary.length, nullCount: 0, valueOffsets, data: bytes });
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = col.ids[i]! < 0 ? 0 : col.ids[i]!;
  const { nullBitmap, nullCount } = validity(n, (i) => col.ids[i]! < 0);
  return {
    name, nullable: true,
    data: makeData({ type, length: n, nullCount, nullBitmap, data: ids, dictionary: makeVector(dictionary) }),
  };
}

/** A multi-value string dimension: List<Utf8>, a single value becoming a one-element list. */
export function stringListColumn(name: string, col: DictionaryColumn): ArrowColumn {
  const n = col.ids.length;
  const offsets = new Int32Array(n + 1);
  const elements: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = col.ids[i]!;
    if (id >= 0) {
      const v = col.dictionary[id]!;
      if (typeof v === "string") elements.push(v);
      else for (const e of v) elements.push(e);
    }
    offsets[i + 1] = elements.length;
  }
  const { valueOffsets, data: bytes } = utf8(elements);
  const child = makeData({ type: new Utf8(), length: elements.length, nullCount: 0, valueOffsets, data: bytes });
  const elementField = new Field("element", new Utf8(), true);
  const type = new List(elementField);
  const { nullBitmap, nullCount } = validity(n, (i) => col.ids[i]! < 0);
  return { name, nullable: true, data: makeData({ type, length: n, nullCount, nullBitmap, valueOffsets: offsets, child }) };
}

/** One record batch holding `columns` (all of one length). */
export function arrowTable(columns: ArrowColumn[], length: number): Table {
  const fields = columns.map((c) => new Field(c.name, c.data.type as DataType, c.nullable));
  const children = columns.map((c) => c.data);
  const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children });
  return new Table([new RecordBatch(new Schema(fields), struct)]);
}
