// Parquet files from the record batches of the Arrow dataset, with parquet-wasm (the Rust
// arrow-rs writer compiled to WebAssembly: zstd, row groups, statistics, the Arrow schema kept in
// the footer so time zones survive). Streaming: one record batch at a time crosses into wasm
// memory, the writer holds at most one row group, and the file is written as it is encoded.
import fsp from 'node:fs/promises';
import { Data, DataType, Field, Int64, makeData, RecordBatch, Schema, Struct, Table, Utf8, tableToIPC, type Vector } from 'apache-arrow';
import { Compression, EnabledStatistics, Encoding, Table as WasmTable, WriterPropertiesBuilder, transformParquetStream, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';

export interface ParquetOptions {
  /** Rows per row group (default 524,288: large enough for zstd and scans, small enough to buffer). */
  rowGroupRows?: number;
  /** Integer or timestamp columns to write DELTA_BINARY_PACKED (no dictionary): ascending values. */
  deltaColumns?: readonly string[];
}

export const DEFAULT_ROW_GROUP_ROWS = 524_288;

/**
 * The schema as foreign readers should see it. Dictionary-encoded strings become plain strings
 * (Parquet dictionary-encodes them in its pages anyway; Polars and pandas would otherwise see
 * categoricals). Each time column is named for what it holds: `<name>_ts`, a timestamp[ns] in
 * Asia/Seoul, and beside it `<name>_ns`, the same instant as an integer of ns since the epoch —
 * DuckDB reads Parquet timestamps at microsecond precision and spreadsheets at milliseconds.
 */
export function exportSchema(schema: Schema, metadata?: Record<string, string>): Schema {
  const fields = schema.fields.flatMap((f) => {
    if (f.type.dictionary) return [new Field(f.name, new Utf8(), f.nullable, f.metadata)];
    if (!DataType.isTimestamp(f.type)) return [f];
    const base = f.name.replace(/_(ns|ts)$/, '');
    return [new Field(`${base}_ts`, f.type, f.nullable, f.metadata), new Field(`${base}_ns`, new Int64(), f.nullable)];
  });
  const meta = new Map(schema.metadata);
  for (const [k, v] of Object.entries(metadata ?? {})) meta.set(k, v);
  return new Schema(fields, meta);
}

/** A dictionary's strings as one UTF-8 buffer with offsets, encoded once per dictionary. */
interface EncodedDictionary {
  bytes: Buffer;
  offsets: Int32Array;
}
const encodedDictionaries = new WeakMap<Vector, EncodedDictionary>();

function encodedDictionary(dict: Vector): EncodedDictionary {
  let e = encodedDictionaries.get(dict);
  if (!e) {
    const values = dict.toArray() as string[];
    const offsets = new Int32Array(values.length + 1);
    for (let i = 0; i < values.length; i++) offsets[i + 1] = offsets[i] + Buffer.byteLength(values[i]);
    const bytes = Buffer.allocUnsafe(offsets[values.length]);
    for (let i = 0; i < values.length; i++) bytes.write(values[i], offsets[i], 'utf8');
    encodedDictionaries.set(dict, (e = { bytes, offsets }));
  }
  return e;
}

/** The values of a dictionary column as a plain UTF-8 column, by byte copies (no string per row). */
function decodeDictionary(d: Data): Data<Utf8> {
  const { bytes, offsets: dictOffsets } = encodedDictionary(d.dictionary!);
  const codes = d.values as Int8Array | Int16Array | Int32Array;
  const n = d.length;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const c = codes[d.offset + i];
    offsets[i + 1] = offsets[i] + dictOffsets[c + 1] - dictOffsets[c];
  }
  const out = Buffer.allocUnsafe(offsets[n]);
  for (let i = 0; i < n; i++) {
    const c = codes[d.offset + i];
    bytes.copy(out, offsets[i], dictOffsets[c], dictOffsets[c + 1]);
  }
  return makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: offsets, data: out });
}

/** `batch` (of a stored channel) in `schema`, its exportSchema: strings decoded, each time column beside its integer ns. */
export function toExportBatch(batch: RecordBatch, schema: Schema): RecordBatch {
  const children = batch.data.children.flatMap((c, i) => {
    const t = batch.schema.fields[i].type;
    if (t.dictionary) return [decodeDictionary(c)];
    if (!DataType.isTimestamp(t)) return [c];
    // The same 64-bit values typed as integers, copied: apache-arrow's IPC writer miscounts a body
    // whose columns share a buffer ("Expected to read 32 bytes for message body, but only read 24").
    return [c, makeData({ type: new Int64(), offset: c.offset, length: c.length, nullCount: c.nullCount, nullBitmap: c.nullBitmap?.slice(), data: (c.values as BigInt64Array).slice() })];
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }));
}

/** One apache-arrow batch into wasm memory (through the IPC stream format, the one both sides speak). */
function toWasm(batch: RecordBatch): WasmRecordBatch {
  const table = WasmTable.fromIPCStream(tableToIPC(new Table(batch), 'stream'));
  const rb = table.recordBatch(0);
  if (!rb) throw new Error('parquet: empty record batch crossing into wasm');
  return rb;
}

export interface ParquetWritten {
  rows: number;
  bytes: number;
}

/**
 * Writes the batches to `file` as Parquet (zstd), their Arrow schema (and its metadata) kept in the
 * footer. Batches are pulled one at a time.
 */
export async function writeParquetFile(file: string, batches: AsyncIterable<RecordBatch>, opts: ParquetOptions = {}): Promise<ParquetWritten> {
  let builder = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setMaxRowGroupSize(opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS)
    .setStatisticsEnabled(EnabledStatistics.Chunk)
    .setCreatedBy('ticktape');
  for (const c of opts.deltaColumns ?? []) builder = builder.setColumnDictionaryEnabled(c, false).setColumnEncoding(c, Encoding.DELTA_BINARY_PACKED);
  const props = builder.build();
  const it = batches[Symbol.asyncIterator]();
  let rows = 0;
  // highWaterMark 0: the writer asks for the next batch only when it has taken the previous one.
  const input = new ReadableStream<WasmRecordBatch>(
    {
      async pull(ctrl) {
        for (;;) {
          const next = await it.next();
          if (next.done) return ctrl.close();
          if (next.value.numRows === 0) continue;
          rows += next.value.numRows;
          return ctrl.enqueue(toWasm(next.value));
        }
      },
      async cancel() {
        await it.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  const output = (await transformParquetStream(input, props)) as ReadableStream<Uint8Array>;
  const fh = await fsp.open(file, 'w');
  let bytes = 0;
  try {
    for await (const chunk of output as unknown as AsyncIterable<Uint8Array>) {
      await fh.write(chunk);
      bytes += chunk.byteLength;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { rows, bytes };
}
