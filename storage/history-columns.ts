// Rows of a history channel in columns: record batches for the Parquet writer, and a checksum per
// column that is the same whether the values come from SQLite (bigint, string, null), from a bar
// computed in JS, or from a Parquet file read back (Arrow columns) — so retention can check that a
// tier holds exactly what another holds before letting the other go.
import { makeData, RecordBatch, Struct, type Data, type DataType, type Schema } from 'apache-arrow';
import { utf8Data } from './arrow-batches.js';
import type { ColumnKind, ColumnSpec } from './history-format.js';

/** A value as SQLite (safeIntegers) or JS gives it. */
export type CellValue = bigint | number | string | null;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

/**
 * An order-independent checksum of a column: two 32-bit lanes, each the sum (mod 2^32) of a hash of
 * every value, so any one changed, lost or added value changes it. Integers hash by their 64-bit
 * two's-complement value whether given as number or bigint.
 */
export class ColumnChecksum {
  private a = 0;
  private b = 0;

  constructor(private readonly kind: ColumnKind) {}

  add(v: CellValue): void {
    let lo: number;
    let hi: number;
    if (v === null) {
      lo = 0x6e756c6c;
      hi = 0x7f7f7f7f;
    } else if (this.kind === 'str') {
      const s = v as string;
      let h = 0x811c9dc5;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
      lo = h >>> 0;
      hi = s.length;
    } else if (this.kind === 'f64') {
      f64[0] = Number(v);
      lo = f64Words[0];
      hi = f64Words[1];
    } else if (typeof v === 'bigint') {
      lo = Number(BigInt.asUintN(32, v));
      hi = Number(BigInt.asIntN(32, v >> 32n));
    } else {
      const n = v as number;
      lo = (n % 4294967296) >>> 0;
      hi = Math.floor(n / 4294967296) | 0;
    }
    this.a = (this.a + fmix32(lo ^ fmix32(hi + 0x9e3779b9))) >>> 0;
    this.b = (this.b + fmix32(hi ^ fmix32(lo + 0x7f4a7c15))) >>> 0;
  }

  hex(): string {
    return this.a.toString(16).padStart(8, '0') + this.b.toString(16).padStart(8, '0');
  }
}

export function checksums(columns: readonly ColumnSpec[]): ColumnChecksum[] {
  return columns.map((c) => new ColumnChecksum(c.kind));
}

export function checksumRecord(columns: readonly ColumnSpec[], sums: readonly ColumnChecksum[]): Record<string, string> {
  return Object.fromEntries(columns.map((c, i) => [c.name, sums[i].hex()]));
}

/** Adds every value of a record batch (Parquet read back, or an Arrow part) to the column checksums. */
export function checksumBatch(batch: RecordBatch, columns: readonly ColumnSpec[], sums: readonly ColumnChecksum[]): void {
  columns.forEach((c, k) => {
    const child = batch.getChild(c.name);
    if (!child) throw new Error(`column ${c.name} missing`);
    let row = 0;
    for (const d of child.data) {
      const values = d.values as ArrayLike<number | bigint>;
      for (let i = 0; i < d.length; i++, row++) {
        if (!d.getValid(i)) sums[k].add(null);
        // Dictionary strings (Arrow parts) through the vector; plain ones straight from the bytes.
        else if (c.kind === 'str') sums[k].add(d.dictionary ? (child.get(row) as string) : stringAt(d, i));
        else sums[k].add(values[d.offset + i]);
      }
    }
  });
}

const decoder = new TextDecoder();
function stringAt(d: Data, i: number): string {
  const offsets = d.valueOffsets as Int32Array;
  const at = d.offset + i;
  return decoder.decode((d.values as Uint8Array).subarray(offsets[at], offsets[at + 1]));
}

/** Collects rows (arrays in column order) and turns them into record batches of `schema`. */
export class RowBatchBuilder {
  private rows: CellValue[][] = [];

  constructor(
    private readonly schema: Schema,
    private readonly columns: readonly ColumnSpec[],
  ) {}

  get length(): number {
    return this.rows.length;
  }

  push(row: CellValue[]): void {
    this.rows.push(row);
  }

  /** The rows so far as one batch; the builder starts empty again. */
  take(): RecordBatch {
    const rows = this.rows;
    this.rows = [];
    const n = rows.length;
    const children = this.columns.map((c, k) => column(c, this.schema.fields[k].type, n, (i) => rows[i][k]));
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: n, nullCount: 0, children }));
  }
}

function column(c: ColumnSpec, type: DataType, n: number, at: (i: number) => CellValue): Data {
  let nullCount = 0;
  const valid = new Uint8Array((n + 7) >> 3);
  const isValid = (i: number): boolean => {
    if (at(i) === null) {
      nullCount++;
      return false;
    }
    valid[i >> 3] |= 1 << (i & 7);
    return true;
  };
  if (c.kind === 'str') {
    const values: string[] = [];
    for (let i = 0; i < n; i++) values.push(isValid(i) ? (at(i) as string) : '');
    const d = utf8Data(values);
    return nullCount === 0 ? d : makeData({ type: d.type, length: n, nullCount, nullBitmap: valid, valueOffsets: d.valueOffsets, data: d.values });
  }
  const values = c.kind === 'i32' ? new Int32Array(n) : c.kind === 'f64' ? new Float64Array(n) : new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    if (!isValid(i)) continue;
    const v = at(i)!;
    if (values instanceof BigInt64Array) values[i] = typeof v === 'bigint' ? v : BigInt(v as number);
    else values[i] = Number(v);
  }
  return makeData({ type, length: n, nullCount, nullBitmap: nullCount === 0 ? undefined : valid, data: values } as never);
}
