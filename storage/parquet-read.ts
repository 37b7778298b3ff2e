// Reads a Parquet file back as apache-arrow record batches with parquet-wasm, streaming: the file
// is opened as a Blob (read in slices, never whole) and decoded a batch at a time.
import fs from 'node:fs';
import { tableFromIPC, type RecordBatch } from 'apache-arrow';
import { ParquetFile, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';

export interface ParquetReadOptions {
  /** Only these columns. */
  columns?: string[];
  /** Rows per batch (default 65,536). */
  batchSize?: number;
}

export async function* readParquetBatches(file: string, opts: ParquetReadOptions = {}): AsyncGenerator<RecordBatch> {
  const pf = await ParquetFile.fromFile(await fs.openAsBlob(file));
  try {
    if (pf.metadata().fileMetadata().numRows() === 0) return;
    const stream = (await pf.stream({ batchSize: opts.batchSize ?? 65_536, columns: opts.columns })) as ReadableStream<WasmRecordBatch>;
    for await (const wb of stream as unknown as AsyncIterable<WasmRecordBatch>) {
      for (const b of tableFromIPC(wb.intoIPCStream()).batches) yield b;
    }
  } finally {
    pf.free();
  }
}

/** Rows in a Parquet file, from its footer. */
export async function parquetRows(file: string): Promise<number> {
  const pf = await ParquetFile.fromFile(await fs.openAsBlob(file));
  try {
    return pf.metadata().fileMetadata().numRows();
  } finally {
    pf.free();
  }
}
