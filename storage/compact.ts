// Compaction of a sealed day into the history tier: every channel of the day from SQLite into
// Parquet (zstd), its 1-minute bars, and its journals compressed (journal-archive.ts). Each file is
// written under a temporary name, read back and checked against the source (rows and a checksum
// per column) before it is renamed; the manifest is written last, and only then are the plain
// journals removed (their archives hold the same bytes). A crash at any point leaves either the
// old state or the new one plus temporary files, and compacting again finishes the job.
//
// Call it after a day is sealed: the daemon, after SqliteSink.sealDay; `ticktape compact --day D`.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TradingDay } from '../protocol/time.js';
import { minuteBars, type BarTrade } from './bars.js';
import { writeParquetFile, type ParquetOptions } from './export-parquet.js';
import { checksumBatch, checksumRecord, checksums, RowBatchBuilder, type CellValue } from './history-columns.js';
import { HISTORY_BLOCK_ROWS, HISTORY_CHANNELS, historyFile, historySchema, readManifest, writeManifest, type ChannelManifest, type ChannelSpec, type DayManifest, type JournalManifest } from './history-format.js';
import { clusteredTradeBatches, HISTORY_CLUSTER_ROWS, HISTORY_WINDOW_ROWS } from './history-trades.js';
import { archiveJournal, dayJournalFiles, isArchive } from './journal-archive.js';
import { readParquetBatches } from './parquet-read.js';
import { databasePath } from './reader.js';
import { openReadOnly } from './reader-sqlite.js';
import type Database from 'better-sqlite3';
import { type RecordBatch, Schema } from 'apache-arrow';

/** Trades: times and sequence numbers, ascending within a cluster, delta-encoded. */
const TRADE_DELTA_COLUMNS = ['exch_ts', 'recv_ns', 'src_seq'];

/** How the trades file is laid out (history-trades.ts). */
export interface TradeLayout {
  windowRows: number;
  /** Rows of a cluster and of a row group; divides windowRows. */
  clusterRows: number;
}

export const DEFAULT_TRADE_LAYOUT: TradeLayout = { windowRows: HISTORY_WINDOW_ROWS, clusterRows: HISTORY_CLUSTER_ROWS };

/** How the trades file is written: a row group per cluster, the ascending columns delta-encoded. */
export function tradeParquetOptions(layout: TradeLayout): ParquetOptions {
  return { rowGroupRows: layout.clusterRows, deltaColumns: TRADE_DELTA_COLUMNS };
}

export interface CompactOptions {
  /** Compact again even if the day's manifest exists. */
  force?: boolean;
  /** Smaller windows and clusters than the default (tests exercise the layout on small days). */
  tradeLayout?: TradeLayout;
}

export interface CompactResult {
  day: TradingDay;
  /** False when the day was already compacted (and not forced). */
  compacted: boolean;
  manifest: DayManifest;
  seconds: number;
}

/** Positions of exch_ts and recv_ns in channels read on the exchange clock (for their block bounds). */
function keyColumns(spec: ChannelSpec): [exch: number, recv: number] | null {
  if (spec.channel !== 'trades' && spec.channel !== 'sector_flows') return null;
  const at = (name: string) => spec.columns.findIndex((c) => c.name === name);
  return [at('exch_ts'), at('recv_ns')];
}

function rowsOf(db: Database.Database, spec: ChannelSpec, day: TradingDay): IterableIterator<CellValue[]> {
  const cols = spec.columns.map((c) => c.name).join(', ');
  return db.prepare(`SELECT ${cols} FROM ${spec.table} WHERE day = ? ORDER BY ${spec.orderBy}`).raw(true).safeIntegers(true).iterate(day) as IterableIterator<CellValue[]>;
}

function* tradesBySymbol(db: Database.Database, day: TradingDay): Generator<BarTrade> {
  const stmt = db.prepare(`SELECT market, symbol, COALESCE(exch_ts, recv_ns), price, qty FROM trades WHERE day = ? AND kind = 'regular' ORDER BY symbol, exch_ts, recv_ns, src_seq, src_idx`).raw(true).safeIntegers(true);
  for (const r of stmt.iterate(day) as IterableIterator<[string, string, bigint, bigint, bigint]>) yield { market: r[0], symbol: r[1], timeNs: r[2], price: Number(r[3]), qty: Number(r[4]) };
}

/** Writes one channel's rows to its Parquet file (checked), returning its manifest entry. */
async function writeChannel(dataDir: string, day: TradingDay, spec: ChannelSpec, rows: Iterable<CellValue[]>, layout: TradeLayout): Promise<ChannelManifest> {
  const file = historyFile(dataDir, day, spec.channel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  // The day and channel ride in the schema's metadata, which the Parquet footer keeps.
  const plain = historySchema(spec);
  const schema = new Schema(plain.fields, new Map([...plain.metadata, ['ticktape.day', day], ['ticktape.channel', spec.channel]]));
  const sums = checksums(spec.columns);
  const key = keyColumns(spec);
  const blockMin: bigint[] = [];
  let count = 0;
  // Every row passes here once, in the SQLite order: the checksums and the count.
  function* counted(): Generator<CellValue[]> {
    for (const r of rows) {
      for (let k = 0; k < r.length; k++) sums[k].add(r[k]);
      count++;
      yield r;
    }
  }
  async function* plainBatches(): AsyncGenerator<RecordBatch> {
    const builder = new RowBatchBuilder(schema, spec.columns);
    for (const r of counted()) {
      builder.push(r);
      if (builder.length === HISTORY_BLOCK_ROWS) yield builder.take();
    }
    if (builder.length > 0) yield builder.take();
  }
  // The lowest exchange-or-receive time of each HISTORY_BLOCK_ROWS rows in file order.
  let written = 0;
  function boundBlocks(b: RecordBatch): void {
    if (!key) return;
    const exch = b.getChildAt(key[0])!.data[0];
    const recv = b.getChildAt(key[1])!.data[0].values as BigInt64Array;
    const exchValues = exch.values as BigInt64Array;
    for (let i = 0; i < b.numRows; i++, written++) {
      const r = recv[i];
      const k = exch.getValid(i) && exchValues[i] < r ? exchValues[i] : r;
      const block = Math.floor(written / HISTORY_BLOCK_ROWS);
      if (block === blockMin.length) blockMin.push(k);
      else if (k < blockMin[block]) blockMin[block] = k;
    }
  }
  async function* batches(): AsyncGenerator<RecordBatch> {
    const source = spec.channel === 'trades' ? clusteredTradeBatches(counted(), schema, spec.columns, layout.windowRows, layout.clusterRows) : plainBatches();
    for await (const b of source) {
      boundBlocks(b);
      yield b;
    }
  }
  try {
    const it = batches();
    const first = await it.next();
    if (first.done) {
      // An empty channel has no file (Parquet writers need a batch); the manifest says 0 rows.
      fs.rmSync(file, { force: true });
      return { channel: spec.channel, rows: 0, bytes: 0, checksums: checksumRecord(spec.columns, sums), ...(key ? { blockMinKeyNs: [] } : {}) };
    }
    async function* all() {
      yield first.value as RecordBatch;
      yield* it;
    }
    const out = await writeParquetFile(tmp, all(), spec.channel === 'trades' ? tradeParquetOptions(layout) : { rowGroupRows: HISTORY_BLOCK_ROWS });
    const expected = checksumRecord(spec.columns, sums);
    const back = checksums(spec.columns);
    let readRows = 0;
    for await (const b of readParquetBatches(tmp)) {
      checksumBatch(b, spec.columns, back);
      readRows += b.numRows;
    }
    const got = checksumRecord(spec.columns, back);
    const bad = spec.columns.filter((c) => got[c.name] !== expected[c.name]).map((c) => c.name);
    if (readRows !== count || bad.length > 0) throw new Error(`compaction of ${day} ${spec.channel}: the Parquet file read back differs (rows ${readRows} of ${count}; columns ${bad.join(', ') || 'none'})`);
    fs.renameSync(tmp, file);
    return { channel: spec.channel, rows: count, bytes: out.bytes, checksums: expected, ...(key ? { blockMinKeyNs: blockMin.map(String) } : {}), ...(spec.channel === 'trades' ? { windowRows: layout.windowRows } : {}) };
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export async function compactDay(dataDir: string, day: TradingDay, log: Logger, opts: CompactOptions = {}): Promise<CompactResult> {
  const started = performance.now();
  const layout = opts.tradeLayout ?? DEFAULT_TRADE_LAYOUT;
  if (layout.windowRows % layout.clusterRows !== 0) throw new RangeError(`trade layout: windowRows (${layout.windowRows}) must be a multiple of clusterRows (${layout.clusterRows})`);
  const existing = readManifest(dataDir, day);
  if (existing && !opts.force) return { day, compacted: false, manifest: existing, seconds: 0 };
  const dbFile = databasePath(dataDir);
  if (!fs.existsSync(dbFile)) throw new Error(`no SQLite database at ${dbFile}: compaction reads a sealed day from it`);
  const db = openReadOnly(dbFile);
  const channels: ChannelManifest[] = [];
  try {
    if (db.prepare('SELECT 1 FROM sealed_days WHERE day = ?').get(day) === undefined) throw new Error(`${day} is not sealed in ${dbFile}: compaction takes sealed days only (the collector seals a day at session end)`);
    for (const spec of HISTORY_CHANNELS) {
      const rows = spec.table === null ? minuteBars(tradesBySymbol(db, day)) : rowsOf(db, spec, day);
      const m = await writeChannel(dataDir, day, spec, rows, layout);
      channels.push(m);
      log.debug({ day, channel: spec.channel, rows: m.rows, bytes: m.bytes }, 'compact: channel written');
    }
  } finally {
    db.close();
  }
  const journals: JournalManifest[] = [];
  const plain: string[] = [];
  for (const f of dayJournalFiles(dataDir, day)) {
    if (isArchive(f)) {
      const before = existing?.journals.find((j) => j.archive === path.basename(f));
      journals.push(before ?? { archive: path.basename(f), rawBytes: 0, bytes: fs.statSync(f).size, sha256: '' });
      continue;
    }
    const a = await archiveJournal(f);
    journals.push({ archive: path.basename(a.archive), rawBytes: a.rawBytes, bytes: a.bytes, sha256: a.sha256 });
    plain.push(f);
  }
  const manifest: DayManifest = { day, compactedNs: String(BigInt(Date.now()) * 1_000_000n), channels, journals };
  writeManifest(dataDir, manifest);
  for (const f of plain) fs.rmSync(f);
  const seconds = (performance.now() - started) / 1000;
  const trades = channels.find((c) => c.channel === 'trades')?.rows ?? 0;
  const bytes = channels.reduce((n, c) => n + c.bytes, 0) + journals.reduce((n, j) => n + j.bytes, 0);
  log.info({ day, trades, bytes, seconds }, `compact ${day}: ${trades} trades, ${channels.length} channels to Parquet, ${journals.length} journal(s) compressed, ${bytes} bytes in the history tier`);
  return { day, compacted: true, manifest, seconds };
}
