// SQL over the whole store with DuckDB: views trades, sector_flows, snapshots, quotes,
// order_books, signals, sessions, symbols, bars_1m and days, each the union of
//   - the history tier: the compacted days' Parquet files (listed from their manifests, so a
//     compaction cut short never shows twice), Hive-partitioned by day — `WHERE day = …` prunes
//     files;
//   - the live days: the days SQLite holds that are not compacted yet. DuckDB's sqlite extension
//     is downloaded on first use, which this machine cannot do, so those rows are copied from
//     SQLite into DuckDB tables when the query starts — only for the views the SQL names.
// Times are TIMESTAMP WITH TIME ZONE (microseconds in DuckDB), shown in Asia/Seoul.
import fs from 'node:fs';
import { DuckDBInstance, DuckDBTimestampTZValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { TradingDay } from '../protocol/time.js';
import { listDays } from './days.js';
import { HISTORY_CHANNELS, historyFile, listHistoryDays, readManifest, type ColumnKind, type ColumnSpec, type HistoryChannel } from './history-format.js';
import type { CellValue } from './history-columns.js';
import { databasePath } from './reader.js';
import { openReadOnly } from './reader-sqlite.js';

const SQL_TYPE: Readonly<Record<ColumnKind, string>> = { ts: 'TIMESTAMPTZ', i64: 'BIGINT', i32: 'INTEGER', str: 'VARCHAR', f64: 'DOUBLE' };

export const QUERY_VIEWS: readonly string[] = [...HISTORY_CHANNELS.map((c) => c.channel), 'days'];

export interface StoreQueryOptions {
  /** Names the trading days the `days` view counts as missing when nothing holds them. */
  isTradingDay?: (day: TradingDay) => boolean;
}

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

function append(a: DuckDBAppender, kind: ColumnKind, v: CellValue): void {
  if (v === null) return a.appendNull();
  switch (kind) {
    case 'ts':
      return a.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(v) / 1000n));
    case 'i64':
      return a.appendBigInt(BigInt(v));
    case 'i32':
      return a.appendInteger(Number(v));
    case 'f64':
      return a.appendDouble(Number(v));
    case 'str':
      return a.appendVarchar(String(v));
  }
}

/** Copies the live days' rows of one SQLite table into `live_<channel>`. */
async function loadLive(con: DuckDBConnection, dataDir: string, table: string, channel: HistoryChannel, columns: readonly ColumnSpec[], days: readonly TradingDay[]): Promise<void> {
  const db = openReadOnly(databasePath(dataDir));
  const a = await con.createAppender(`live_${channel}`);
  try {
    const stmt = db.prepare(`SELECT ${columns.map((c) => c.name).join(', ')} FROM ${table} WHERE day = ?`).raw(true).safeIntegers(true);
    for (const day of days) {
      for (const r of stmt.iterate(day) as IterableIterator<CellValue[]>) {
        a.appendVarchar(day);
        for (let k = 0; k < columns.length; k++) append(a, columns[k].kind, r[k]);
        a.endRow();
      }
    }
    a.flushSync();
  } finally {
    a.closeSync();
    db.close();
  }
}

/** Bars of the live days, computed as compaction does (bars.ts): minute by exchange time, else receive time. */
const LIVE_BARS = `
  SELECT day, date_trunc('minute', coalesce(exch_ts, recv_ns)) AS minute, market, symbol,
         first(price ORDER BY exch_ts NULLS FIRST, recv_ns, src_seq, src_idx) AS open, max(price) AS high, min(price) AS low,
         last(price ORDER BY exch_ts NULLS FIRST, recv_ns, src_seq, src_idx) AS close, sum(qty)::BIGINT AS volume, sum(price * qty)::BIGINT AS value,
         sum(price * qty)::DOUBLE / sum(qty) AS vwap, count(*)::BIGINT AS trades
  FROM live_trades WHERE kind = 'regular' GROUP BY ALL`;

export interface StoreQuery {
  con: DuckDBConnection;
  /** Live days copied from SQLite. */
  liveDays: TradingDay[];
  historyDays: TradingDay[];
  close(): void;
}

/** A DuckDB connection with the store's views, ready for `sql` (only the views it names are loaded from SQLite). */
export async function openStoreQuery(dataDir: string, sql: string, opts: StoreQueryOptions = {}): Promise<StoreQuery> {
  if (!fs.existsSync(dataDir)) throw new Error(`no data directory at ${dataDir}`);
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    await con.run("SET TimeZone = 'Asia/Seoul'");
    // Parquet footers parsed once per connection, not per query: a day's trades file has thousands
    // of row groups (one per symbol-range cluster), and their statistics are what prunes.
    await con.run('SET parquet_metadata_cache = true');
    const historyDays = listHistoryDays(dataDir);
    const history = new Set(historyDays);
    const dbFile = databasePath(dataDir);
    let liveDays: TradingDay[] = [];
    if (fs.existsSync(dbFile)) {
      const db = openReadOnly(dbFile);
      try {
        liveDays = (db.prepare('SELECT DISTINCT day FROM (SELECT day FROM trades_live UNION SELECT day FROM trades_sealed UNION SELECT day FROM snapshots UNION SELECT day FROM sector_flows) ORDER BY day').pluck().all() as string[]).filter((d) => !history.has(d));
      } finally {
        db.close();
      }
    }
    const named = (name: string) => new RegExp(`\\b${name}\\b`, 'i').test(sql);
    for (const spec of HISTORY_CHANNELS) {
      const cols = spec.columns.map((c) => `${c.name} ${SQL_TYPE[c.kind]}`).join(', ');
      await con.run(`CREATE TABLE live_${spec.channel} (day VARCHAR, ${cols})`);
      if (spec.table !== null && liveDays.length > 0 && (named(spec.channel) || (spec.channel === 'trades' && named('bars_1m')))) await loadLive(con, dataDir, spec.table, spec.channel, spec.columns, liveDays);
      if (spec.channel === 'bars_1m') await con.run(`INSERT INTO live_bars_1m BY NAME ${LIVE_BARS}`);
      const files = historyDays.filter((d) => (readManifest(dataDir, d)?.channels.find((c) => c.channel === spec.channel)?.rows ?? 0) > 0).map((d) => quote(historyFile(dataDir, d, spec.channel)));
      const hist = files.length === 0 ? '' : `SELECT * EXCLUDE (channel) FROM read_parquet([${files.join(', ')}], hive_partitioning = true, hive_types_autocast = false, union_by_name = true) UNION ALL BY NAME `;
      await con.run(`CREATE VIEW ${spec.channel} AS ${hist}SELECT * FROM live_${spec.channel}`);
    }
    await con.run('CREATE TABLE days (day VARCHAR, condition VARCHAR, reasons VARCHAR, trades BIGINT, sqlite_trades BIGINT, arrow_bytes BIGINT, parquet_bytes BIGINT, journal_bytes BIGINT, journal_compressed BOOLEAN)');
    if (named('days')) {
      const a = await con.createAppender('days');
      try {
        for (const d of await listDays(dataDir, opts.isTradingDay)) {
          a.appendVarchar(d.day);
          a.appendVarchar(d.condition);
          a.appendVarchar(d.reasons.join('; '));
          for (const n of [d.trades, d.tiers.sqliteTrades, d.tiers.arrowBytes, d.tiers.parquetBytes, d.tiers.journalBytes]) append(a, 'i64', n);
          a.appendBoolean(d.tiers.journalCompressed);
          a.endRow();
        }
        a.flushSync();
      } finally {
        a.closeSync();
      }
    }
    return {
      con,
      liveDays,
      historyDays,
      close() {
        con.closeSync();
        instance.closeSync();
      },
    };
  } catch (e) {
    con.closeSync();
    instance.closeSync();
    throw e;
  }
}

export interface QueryResult {
  columns: string[];
  /** Values as JSON-safe text and numbers (timestamps in KST, 64-bit integers as strings). */
  rows: unknown[][];
}

/** Runs one SQL statement over the store. `params` fill `$name` placeholders. */
export async function queryStore(dataDir: string, sql: string, params: Record<string, string> = {}, opts: StoreQueryOptions = {}): Promise<QueryResult> {
  const q = await openStoreQuery(dataDir, sql, opts);
  try {
    const r = await q.con.runAndReadAll(sql, params);
    return { columns: r.columnNames(), rows: r.getRowsJson() as unknown[][] };
  } finally {
    q.close();
  }
}

/** Runs `sql` over the store and writes its result to `file` as Parquet (zstd). Returns rows written. */
export async function queryToParquet(dataDir: string, sql: string, file: string, params: Record<string, string> = {}, opts: StoreQueryOptions = {}): Promise<number> {
  const q = await openStoreQuery(dataDir, sql, opts);
  try {
    const body = sql.trim().replace(/;\s*$/, '');
    const r = await q.con.runAndReadAll(`COPY (${body}) TO ${quote(file)} (FORMAT parquet, COMPRESSION zstd)`, params);
    return Number(r.getRows()[0]?.[0] ?? 0);
  } finally {
    q.close();
  }
}
