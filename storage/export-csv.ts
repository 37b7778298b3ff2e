// CSV from the export batches (the Parquet columns): a header row, `*_ts` times as ISO 8601 in KST
// with nanoseconds (2025-03-14T09:00:00.123456789+09:00), integers (`*_ns` too) as integers, empty = null.
import fsp from 'node:fs/promises';
import { DataType, type Data, type Int, type RecordBatch, type Schema } from 'apache-arrow';
import { int32View, int64At } from './arrow-format.js';

const KST_OFFSET_MS = 9 * 3_600_000;

/** An ns instant as ISO 8601 KST with all nine fraction digits. */
export function kstIsoNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const sub = Number(ns % 1_000_000_000n);
  const wall = new Date(ms + KST_OFFSET_MS).toISOString().slice(0, 19);
  return `${wall}.${String(sub).padStart(9, '0')}+09:00`;
}

function csvText(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

type Cell = (i: number) => string;

function cellReader(d: Data): Cell {
  const valid = d.nullCount === 0 ? null : (i: number) => d.getValid(i);
  let cell: Cell;
  const t = d.type;
  if (DataType.isDictionary(t)) {
    const values = (d.dictionary!.toArray() as string[]).map(csvText);
    const codes = d.values as Int8Array | Int32Array;
    cell = (i) => values[codes[d.offset + i]];
  } else if (DataType.isTimestamp(t)) {
    const v = d.values as BigInt64Array;
    cell = (i) => kstIsoNs(v[d.offset + i]);
  } else if (DataType.isInt(t) && (t as Int).bitWidth === 64) {
    const v = int32View(d.values as BigInt64Array);
    cell = (i) => String(int64At(v, d.offset + i));
  } else if (DataType.isInt(t)) {
    const v = d.values as Int8Array | Int32Array;
    cell = (i) => String(v[d.offset + i]);
  } else {
    const offsets = d.valueOffsets as Int32Array;
    const bytes = Buffer.from(d.values.buffer, d.values.byteOffset, d.values.byteLength);
    cell = (i) => csvText(bytes.toString('utf8', offsets[d.offset + i], offsets[d.offset + i + 1]));
  }
  return valid ? (i) => (valid(i) ? cell(i) : '') : cell;
}

/** Writes the batches to `file` as CSV, one batch at a time. */
export async function writeCsvFile(file: string, schema: Schema, batches: AsyncIterable<RecordBatch>): Promise<{ rows: number; bytes: number }> {
  const fh = await fsp.open(file, 'w');
  let rows = 0;
  let bytes = 0;
  try {
    const header = schema.fields.map((f) => f.name).join(',') + '\n';
    await fh.write(header);
    bytes += Buffer.byteLength(header);
    for await (const b of batches) {
      const cells = b.data.children.map(cellReader);
      const lines = new Array<string>(b.numRows);
      for (let i = 0; i < b.numRows; i++) {
        let line = cells[0](i);
        for (let c = 1; c < cells.length; c++) line += ',' + cells[c](i);
        lines[i] = line;
      }
      const text = lines.join('\n') + '\n';
      await fh.write(text);
      bytes += Buffer.byteLength(text);
      rows += b.numRows;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { rows, bytes };
}
