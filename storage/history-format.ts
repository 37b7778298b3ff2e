// The history tier: a sealed day's long-term columnar copy, Parquet (zstd) per day and channel,
//   <dataDir>/history/day=YYYY-MM-DD/channel=<name>/part-0000.parquet
// Hive-style, so DuckDB, Polars and pyarrow read `history/` as one dataset partitioned by day
// and channel. `history/day=…/manifest.json` is written last (atomically) by compaction: a day
// without it is not in the tier. The manifest records each channel's rows, bytes and a checksum
// per column, which retention compares against a store before that store lets the day go.
import fs from 'node:fs';
import path from 'node:path';
import { Field, Float64, Int32, Int64, Schema, TimeUnit, Timestamp, Utf8, type DataType } from 'apache-arrow';
import type { TradingDay } from '../protocol/time.js';
import { ARROW_TIME_ZONE } from './arrow-format.js';
import { writeFileAtomic } from './journal.js';

export type HistoryChannel = 'trades' | 'sector_flows' | 'snapshots' | 'quotes' | 'order_books' | 'signals' | 'sessions' | 'symbols' | 'bars_1m';

/** How a column is typed in Parquet: a ns timestamp (KST), a 64-bit or 32-bit integer, a string, a double. */
export type ColumnKind = 'ts' | 'i64' | 'i32' | 'str' | 'f64';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  nullable: boolean;
}

export interface ChannelSpec {
  channel: HistoryChannel;
  columns: readonly ColumnSpec[];
  /** The SQLite table and ORDER BY that give the day's rows in the file's order (bars have none: built from trades). */
  table: string | null;
  orderBy: string;
}

const col = (name: string, kind: ColumnKind, nullable = false): ColumnSpec => ({ name, kind, nullable });
const ints = (names: readonly string[], nullable = false) => names.map((n) => col(n, 'i64', nullable));
const levels = (side: string, what: string) => Array.from({ length: 10 }, (_, i) => `${side}${i + 1}_${what}`);

export const HISTORY_CHANNELS: readonly ChannelSpec[] = [
  {
    channel: 'trades',
    table: 'trades',
    // Receive order, as compaction reads them; the file clusters them by symbol range within
    // receive-time windows (history-trades.ts), which readers merge back into this order.
    orderBy: 'recv_ns, src_seq, src_idx',
    columns: [col('market', 'str'), col('symbol', 'str'), col('exch_ts', 'ts', true), col('price', 'i64'), col('qty', 'i64'), col('recv_ns', 'ts'), col('src_seq', 'i64'), col('src_idx', 'i32'), col('trd_vol', 'i64'), col('kind', 'str')],
  },
  {
    channel: 'sector_flows',
    table: 'sector_flows',
    orderBy: 'recv_ns, src_seq, rowid',
    columns: [col('recv_ns', 'ts'), col('exch_ts', 'ts', true), col('upcode', 'str'), col('tjjcode', 'str'), col('tjjtime', 'str'), ...ints(['msvolume', 'mdvolume', 'msvol', 'p_msvol', 'msvalue', 'mdvalue', 'msval', 'p_msval', 'src_seq'])],
  },
  {
    channel: 'snapshots',
    table: 'snapshots',
    orderBy: 'taken_ns, src_seq, rowid',
    columns: [col('taken_ns', 'ts'), col('kind', 'str'), col('market', 'str'), col('symbol', 'str'), ...ints(['price', 'open', 'high', 'low', 'acc_volume', 'acc_value', 'src_seq'])],
  },
  {
    channel: 'quotes',
    table: 'quotes',
    orderBy: 'recv_ns, src_seq, rowid',
    columns: [col('recv_ns', 'ts'), col('exch_ts', 'ts', true), col('market', 'str'), col('symbol', 'str'), col('price', 'i64'), ...ints(['open', 'high', 'low', 'trdvol', 'acc_volume', 'acc_value', 'ask1', 'bid1'], true), col('src_seq', 'i64')],
  },
  {
    channel: 'order_books',
    table: 'order_books',
    orderBy: 'recv_ns, src_seq, rowid',
    columns: [
      col('recv_ns', 'ts'),
      col('market', 'str'),
      col('symbol', 'str'),
      ...ints([...levels('ask', 'price'), ...levels('bid', 'price'), ...levels('ask', 'qty'), ...levels('bid', 'qty')], true),
      ...ints(['ask_total', 'bid_total', 'after_hours_ask_total', 'after_hours_bid_total', 'expected_price', 'expected_qty', 'expected_acc_qty', 'acc_volume'], true),
      col('src_seq', 'i64'),
    ],
  },
  {
    channel: 'signals',
    table: 'signals',
    orderBy: 'recv_ns, src_seq, rowid',
    columns: [col('recv_ns', 'ts'), col('market', 'str'), col('symbol', 'str'), col('code', 'i64'), col('src_seq', 'i64')],
  },
  {
    channel: 'sessions',
    table: 'sessions',
    orderBy: 'id',
    columns: [col('id', 'i64'), col('collector', 'str'), col('started_ns', 'ts'), col('ended_ns', 'ts', true), col('status', 'str'), col('counts', 'str'), col('reconnects', 'i64'), col('downtime_ms', 'i64'), col('gaps', 'str'), col('reconciliation', 'str')],
  },
  {
    channel: 'symbols',
    table: 'symbols',
    orderBy: 'market, symbol',
    columns: [col('market', 'str'), col('symbol', 'str'), col('isin', 'str'), col('name', 'str'), col('abbr', 'str')],
  },
  {
    channel: 'bars_1m',
    table: null,
    orderBy: '',
    columns: [col('minute', 'ts'), col('market', 'str'), col('symbol', 'str'), ...ints(['open', 'high', 'low', 'close', 'volume', 'value']), col('vwap', 'f64'), col('trades', 'i64')],
  },
];

export function channelSpec(channel: HistoryChannel): ChannelSpec {
  return HISTORY_CHANNELS.find((c) => c.channel === channel)!;
}

function arrowType(kind: ColumnKind): DataType {
  switch (kind) {
    case 'ts':
      return new Timestamp(TimeUnit.NANOSECOND, ARROW_TIME_ZONE);
    case 'i64':
      return new Int64();
    case 'i32':
      return new Int32();
    case 'str':
      return new Utf8();
    case 'f64':
      return new Float64();
  }
}

export function historySchema(spec: ChannelSpec): Schema {
  return new Schema(spec.columns.map((c) => new Field(c.name, arrowType(c.kind), c.nullable)));
}

export function historyRoot(dataDir: string): string {
  return path.join(dataDir, 'history');
}

export function historyDayDir(dataDir: string, day: TradingDay): string {
  return path.join(historyRoot(dataDir), `day=${day}`);
}

export function historyFile(dataDir: string, day: TradingDay, channel: HistoryChannel): string {
  return path.join(historyDayDir(dataDir, day), `channel=${channel}`, 'part-0000.parquet');
}

export function manifestPath(dataDir: string, day: TradingDay): string {
  return path.join(historyDayDir(dataDir, day), 'manifest.json');
}

export interface ChannelManifest {
  channel: HistoryChannel;
  rows: number;
  bytes: number;
  /** Per column: an order-independent 64-bit checksum of its values (hex), see column-checksum.ts. */
  checksums: Record<string, string>;
  /** Trades and sector flows: the lowest exchange-or-receive time of each 65,536 rows in file order (for ordered reads on the exchange clock). */
  blockMinKeyNs?: string[];
  /**
   * Trades: rows per receive-time window, within which rows are clustered by symbol range (each
   * cluster in receive order; history-trades.ts). Absent: the file is in receive order.
   */
  windowRows?: number;
}

export interface JournalManifest {
  /** The archive's file name under <dataDir>/journal. */
  archive: string;
  rawBytes: number;
  bytes: number;
  sha256: string;
}

export interface DayManifest {
  day: TradingDay;
  compactedNs: string;
  channels: ChannelManifest[];
  journals: JournalManifest[];
}

export function readManifest(dataDir: string, day: TradingDay): DayManifest | null {
  const p = manifestPath(dataDir, day);
  if (!fs.existsSync(p)) return null;
  return JSON.parse(fs.readFileSync(p, 'utf8')) as DayManifest;
}

export function writeManifest(dataDir: string, m: DayManifest): void {
  writeFileAtomic(manifestPath(dataDir, m.day), JSON.stringify(m, null, 1));
}

/** Days whose compaction finished (a manifest), ascending. */
export function listHistoryDays(dataDir: string): TradingDay[] {
  const root = historyRoot(dataDir);
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((d) => /^day=\d{4}-\d{2}-\d{2}$/.test(d) && fs.existsSync(path.join(root, d, 'manifest.json')))
    .map((d) => d.slice(4))
    .sort();
}

/** Rows per block of the exchange-time bounds in the manifest, in file order (and per Parquet row group of the channels other than trades). */
export const HISTORY_BLOCK_ROWS = 65_536;
