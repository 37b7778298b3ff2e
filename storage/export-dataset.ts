// `ticktape export`: a day of stored data as a Hive-style dataset other tools read as one table,
//   <out>/day=YYYY-MM-DD/channel=<name>/part[.<collectorId>].<parquet|arrow|csv>
// Every format has the same columns (exportSchema): symbols as plain strings, each time as
// `<name>_ts` (timestamp[ns], KST) beside `<name>_ns` (integer ns since the epoch). From the Arrow
// store, every collector's parts become that collector's own file, so several collectors (machines) export into one dataset without collisions; from SQLite (a data
// directory without Arrow files) one file per channel. Streaming: one part, one record batch at a
// time; files are written under a hidden temporary name and renamed when complete.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { RecordBatchFileWriter, RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import type { Logger } from 'pino';
import { ARROW_CHANNELS, ARROW_TIME_ZONE, META, SCHEMA_BY_CHANNEL, listParts, type ArrowChannel, type PartInfo } from './arrow-format.js';
import { writeCsvFile } from './export-csv.js';
import { exportSchema, toExportBatch, writeParquetFile } from './export-parquet.js';
import { inventory } from './reader-inventory.js';
import { TickReader, type StoreKind } from './reader.js';

export type ExportFormat = 'parquet' | 'arrow' | 'csv';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['parquet', 'arrow', 'csv'];

export interface ExportOptions {
  dataDir: string;
  day: string;
  outDir: string;
  format: ExportFormat;
  /** Default: every channel with rows. */
  channels?: readonly ArrowChannel[];
  /** Default: Arrow when the day has Arrow parts, else SQLite. */
  source?: StoreKind;
  /** Parquet rows per row group. */
  rowGroupRows?: number;
  log: Logger;
  /** Called after every record batch (and once per channel at its start). */
  onProgress?: (p: ExportProgress) => void;
}

export interface ExportProgress {
  channel: ArrowChannel;
  rowsDone: number;
  /** All rows of the export (every channel). */
  rowsTotal: number;
}

export interface ExportedFile {
  channel: ArrowChannel;
  path: string;
  rows: number;
  bytes: number;
}

export interface ExportResult {
  day: string;
  format: ExportFormat;
  source: StoreKind;
  files: ExportedFile[];
  rows: number;
  bytes: number;
  /** Bytes of the Arrow part files the export read (0 from SQLite). */
  sourceBytes: number;
}

/** One output file: its rows come from these batches. */
interface FileJob {
  channel: ArrowChannel;
  name: string;
  rows: number;
  batches: () => AsyncIterable<RecordBatch>;
}

async function* partBatches(parts: readonly PartInfo[]): AsyncGenerator<RecordBatch> {
  for (const p of parts) {
    const fh = await fsp.open(p.path, 'r');
    try {
      const reader = await RecordBatchReader.from(fh);
      for await (const b of reader) yield b;
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
}

function sqliteBatches(dataDir: string, day: string, channel: ArrowChannel): AsyncIterable<RecordBatch> {
  return {
    async *[Symbol.asyncIterator]() {
      const reader = TickReader.open({ dataDir, source: 'sqlite' });
      try {
        if (channel === 'trades') yield* reader.tradeBatches({ day });
        else if (channel === 'snapshots') yield* reader.snapshotBatches({ day });
        else yield* reader.sectorFlowBatches({ day });
      } finally {
        reader.close();
      }
    },
  };
}

/** Parts grouped by collector id (undefined = the unnamed collector), in part order. */
function byCollector(parts: readonly PartInfo[]): Map<string | undefined, PartInfo[]> {
  const groups = new Map<string | undefined, PartInfo[]>();
  for (const p of parts) {
    const g = groups.get(p.collectorId);
    if (g) g.push(p);
    else groups.set(p.collectorId, [p]);
  }
  return groups;
}

function outputName(collectorId: string | undefined, format: ExportFormat): string {
  return `part${collectorId ? '.' + collectorId : ''}.${format}`;
}

/** Exports one day; returns what was written. Rejects an unknown day or an empty selection. */
export async function exportDay(o: ExportOptions): Promise<ExportResult> {
  if (!EXPORT_FORMATS.includes(o.format)) throw new RangeError(`format must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(o.format)}`);
  const wanted = o.channels ?? ARROW_CHANNELS;
  const parts = new Map(wanted.map((ch) => [ch, listParts(o.dataDir, o.day, ch).filter((p) => p.rows > 0)]));
  const hasArrow = [...parts.values()].some((ps) => ps.length > 0);
  const source: StoreKind = o.source ?? (hasArrow ? 'arrow' : 'sqlite');
  const jobs: FileJob[] = [];
  let sourceBytes = 0;
  if (source === 'arrow') {
    for (const [channel, ps] of parts) {
      for (const [collectorId, group] of byCollector(ps)) {
        sourceBytes += group.reduce((n, p) => n + p.bytes, 0);
        jobs.push({ channel, name: outputName(collectorId, o.format), rows: group.reduce((n, p) => n + p.rows, 0), batches: () => partBatches(group) });
      }
    }
  } else {
    const inv = (await inventory(o.dataDir, o.day))[0];
    if (!inv?.database) throw new Error(`no SQLite database in ${o.dataDir} (and no Arrow parts for ${o.day})`);
    for (const c of inv.channels) {
      if (!wanted.includes(c.channel) || !c.sqlite) continue;
      jobs.push({ channel: c.channel, name: outputName(undefined, o.format), rows: c.sqlite.rows, batches: () => sqliteBatches(o.dataDir, o.day, c.channel) });
    }
  }
  if (jobs.length === 0) throw new Error(`nothing stored for ${o.day} in ${o.dataDir} (channels: ${wanted.join(', ')}; source: ${source})`);

  const rowsTotal = jobs.reduce((n, j) => n + j.rows, 0);
  let rowsDone = 0;
  const files: ExportedFile[] = [];
  for (const job of jobs) {
    const dir = path.join(o.outDir, `day=${o.day}`, `channel=${job.channel}`);
    fs.mkdirSync(dir, { recursive: true });
    o.onProgress?.({ channel: job.channel, rowsDone, rowsTotal });
    const dest = path.join(dir, job.name);
    const tmp = path.join(dir, `.${job.name}.tmp`);
    const schema = exportSchema(SCHEMA_BY_CHANNEL[job.channel], { [META.timeZone]: ARROW_TIME_ZONE, [META.day]: o.day, [META.channel]: job.channel });
    const counted = counting(job.batches(), schema, (n) => {
      rowsDone += n;
      o.onProgress?.({ channel: job.channel, rowsDone, rowsTotal });
    });
    let written: { rows: number; bytes: number };
    try {
      written =
        o.format === 'parquet'
          ? await writeParquetFile(tmp, counted, { rowGroupRows: o.rowGroupRows })
          : o.format === 'csv'
            ? await writeCsvFile(tmp, schema, counted)
            : await writeArrowFile(tmp, schema, counted);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fsp.rename(tmp, dest);
    files.push({ channel: job.channel, path: dest, rows: written.rows, bytes: written.bytes });
    o.log.debug({ file: dest, rows: written.rows, bytes: written.bytes }, 'export: file written');
  }
  const result: ExportResult = { day: o.day, format: o.format, source, files, rows: files.reduce((n, f) => n + f.rows, 0), bytes: files.reduce((n, f) => n + f.bytes, 0), sourceBytes };
  // Debug only: the caller shows the result (the CLI prints it once).
  o.log.debug({ day: o.day, format: o.format, source, files: files.length, rows: result.rows, bytes: result.bytes }, `export ${o.day}: ${result.rows} rows in ${files.length} file(s) under ${o.outDir}`);
  return result;
}

/** The stored batches in the export schema (the same columns in every format), counted as they go. */
async function* counting(batches: AsyncIterable<RecordBatch>, schema: Schema, onBatch: (rows: number) => void): AsyncGenerator<RecordBatch> {
  for await (const b of batches) {
    yield toExportBatch(b, schema);
    onBatch(b.numRows);
  }
}

/**
 * An Arrow IPC file of export batches: plain string columns, no dictionaries, hence no dictionary
 * deltas, which Polars ("delta dictionary batches not supported") and pyarrow refuse in IPC files.
 */
async function writeArrowFile(file: string, schema: Schema, batches: AsyncIterable<RecordBatch>): Promise<{ rows: number; bytes: number }> {
  const writer = new RecordBatchFileWriter();
  const fh = await fsp.open(file, 'w');
  let bytes = 0;
  let rows = 0;
  try {
    const drained = (async () => {
      for await (const chunk of writer) {
        await fh.write(chunk);
        bytes += chunk.byteLength;
      }
    })();
    try {
      writer.reset(undefined, schema);
      for await (const b of batches) {
        writer.write(b);
        rows += b.numRows;
      }
    } finally {
      writer.close();
    }
    await drained;
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { rows, bytes };
}
