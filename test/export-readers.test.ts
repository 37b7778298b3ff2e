// The Arrow files the sink writes and the Parquet export, read back by readers other than
// apache-arrow: DuckDB (read_parquet over the Hive-partitioned directory) and Polars (Arrow IPC
// and Parquet). Answers must match SQLite's, and types must survive: timestamps with their time
// zone, symbols as strings, integers as integers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pl from 'nodejs-polars';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDay, type ExportResult } from '../storage/export-dataset.js';
import { DAY, LATE_SYMBOL, writeDay, type DayTotals } from './export-day.js';

const log = pino({ level: 'silent' });
let dir: string;
let dataDir: string;
let out: string;
let totals: DayTotals;
let exported: ExportResult;
let duck: DuckDBInstance;
let con: DuckDBConnection;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-export-'));
  dataDir = path.join(dir, 'data');
  out = path.join(dir, 'out');
  totals = await writeDay({ dataDir });
  exported = await exportDay({ dataDir, day: DAY, outDir: out, format: 'parquet', rowGroupRows: 8192, log });
  duck = await DuckDBInstance.create(':memory:');
  con = await duck.connect();
});

afterAll(() => {
  con?.closeSync();
  duck?.closeSync();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sqliteBySymbol = () => {
  const db = new Database(path.join(dataDir, 'ticktape.db'), { readonly: true });
  try {
    return db.prepare('SELECT symbol, count(*) AS n, sum(qty) AS volume, sum(price * qty) AS value FROM trades WHERE day = ? GROUP BY symbol ORDER BY symbol').all(DAY) as { symbol: string; n: number; volume: number; value: number }[];
  } finally {
    db.close();
  }
};

describe('parquet export', () => {
  it('writes one Hive-style file per channel with every row', () => {
    const rel = exported.files.map((f) => path.relative(out, f.path)).sort();
    expect(rel).toEqual([`day=${DAY}/channel=sector_flows/part.parquet`, `day=${DAY}/channel=snapshots/part.parquet`, `day=${DAY}/channel=trades/part.parquet`]);
    expect(exported.source).toBe('arrow');
    const byChannel = Object.fromEntries(exported.files.map((f) => [f.channel, f.rows]));
    expect(byChannel).toEqual({ trades: totals.trades, snapshots: totals.snapshots, sector_flows: totals.flows });
    // No temporaries left behind.
    expect(fs.readdirSync(path.join(out, `day=${DAY}`, 'channel=trades'))).toEqual(['part.parquet']);
  });

  it('DuckDB GROUP BY symbol over the partitioned directory matches SQLite', async () => {
    const r = await con.runAndReadAll(
      `SELECT symbol, count(*)::BIGINT AS n, sum(qty)::BIGINT AS volume, sum(price * qty)::BIGINT AS value
       FROM read_parquet('${out}/day=*/channel=trades/*.parquet', hive_partitioning = true)
       WHERE day = '${DAY}' GROUP BY symbol ORDER BY symbol`,
    );
    const rows = r.getRowObjectsJS().map((x) => ({ symbol: x.symbol, n: Number(x.n), volume: Number(x.volume), value: Number(x.value) }));
    expect(rows).toEqual(sqliteBySymbol());
  });

  it('DuckDB sees timestamps with time zone, strings and integers, with zstd row groups', async () => {
    const r = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${out}/day=${DAY}/channel=trades/*.parquet')`);
    const types = Object.fromEntries(r.getRowObjectsJS().map((x) => [x.column_name, x.column_type]));
    expect(types).toMatchObject({ market: 'VARCHAR', symbol: 'VARCHAR', exch_ts: 'TIMESTAMP WITH TIME ZONE', exch_ns: 'BIGINT', recv_ts: 'TIMESTAMP WITH TIME ZONE', recv_ns: 'BIGINT', price: 'BIGINT', qty: 'BIGINT', src_seq: 'BIGINT', src_idx: 'INTEGER' });
    const meta = await con.runAndReadAll(`SELECT DISTINCT compression, row_group_num_rows FROM parquet_metadata('${out}/day=${DAY}/channel=trades/part.parquet') ORDER BY row_group_num_rows DESC`);
    const m = meta.getRowObjectsJS();
    expect(new Set(m.map((x) => x.compression))).toEqual(new Set(['ZSTD']));
    expect(Number(m[0].row_group_num_rows)).toBe(8192);
    // The first trades had no exchange time: NULLs, not zeros.
    const nulls = await con.runAndReadAll(`SELECT count(*) FILTER (WHERE exch_ts IS NULL)::INT AS n FROM read_parquet('${out}/day=${DAY}/channel=trades/*.parquet')`);
    expect(Number(nulls.getRowObjectsJS()[0].n)).toBeGreaterThan(0);
  });

  it('DuckDB reads every time back at full nanosecond precision (*_ns), and *_ts is the same instant', async () => {
    const db = new Database(path.join(dataDir, 'ticktape.db'), { readonly: true });
    const stored = {
      trades: db.prepare('SELECT recv_ns, exch_ts FROM trades WHERE day = ? ORDER BY market, src_seq, src_idx').safeIntegers(true).all(DAY) as { recv_ns: bigint; exch_ts: bigint | null }[],
      snapshots: db.prepare('SELECT DISTINCT taken_ns FROM snapshots WHERE day = ? ORDER BY taken_ns').safeIntegers(true).pluck().all(DAY) as bigint[],
      flows: db.prepare('SELECT recv_ns, exch_ts FROM sector_flows WHERE day = ? ORDER BY src_seq').safeIntegers(true).all(DAY) as { recv_ns: bigint; exch_ts: bigint | null }[],
    };
    db.close();
    // The fixture's receive times carry sub-microsecond digits: a µs reader would lose them.
    expect(stored.trades.some((t) => t.recv_ns % 1000n !== 0n)).toBe(true);
    const file = (ch: string) => `read_parquet('${out}/day=${DAY}/channel=${ch}/*.parquet')`;
    const rows = async (sql: string) => (await con.runAndReadAll(sql)).getRows();
    const trades = await rows(`SELECT recv_ns, exch_ns, epoch_us(recv_ts), epoch_us(exch_ts) FROM ${file('trades')} ORDER BY market, src_seq, src_idx`);
    expect(trades.map((r) => [r[0], r[1]])).toEqual(stored.trades.map((t) => [t.recv_ns, t.exch_ts]));
    // *_ts is the same instant, as DuckDB can hold it (microseconds).
    expect(trades.map((r) => [r[2], r[3]])).toEqual(stored.trades.map((t) => [t.recv_ns / 1000n, t.exch_ts === null ? null : t.exch_ts / 1000n]));
    const snaps = await rows(`SELECT DISTINCT taken_ns FROM ${file('snapshots')} ORDER BY taken_ns`);
    expect(snaps.map((r) => r[0])).toEqual(stored.snapshots);
    const flows = await rows(`SELECT recv_ns, exch_ns FROM ${file('sector_flows')} ORDER BY src_seq`);
    expect(flows.map((r) => [r[0], r[1]])).toEqual(stored.flows.map((f) => [f.recv_ns, f.exch_ts]));
  });

  it('Polars reads the Parquet dataset with Datetime(ns, Asia/Seoul), strings and Int64', () => {
    const df = pl.readParquet(path.join(out, `day=${DAY}`, 'channel=trades', 'part.parquet'));
    expect(df.height).toBe(totals.trades);
    const schema = df.schema;
    expect(String(schema.recv_ts)).toBe(String(pl.Datetime('ns', 'Asia/Seoul')));
    expect(String(schema.exch_ts)).toBe(String(pl.Datetime('ns', 'Asia/Seoul')));
    expect(String(schema.recv_ns)).toBe(String(pl.Int64));
    expect(String(schema.symbol)).toBe(String(pl.String));
    expect(String(schema.price)).toBe(String(pl.Int64));
    const volume = df.getColumn('qty').sum() as number;
    expect(volume).toBe(totals.volume);
  });
});

describe('the Arrow files the sink writes', () => {
  const tradeParts = () => path.join(dataDir, 'arrow', `day=${DAY}`, 'channel=trades');

  it('Polars scans every Arrow IPC part with the ns timestamps, time zone and values intact', () => {
    const files = fs.readdirSync(tradeParts()).filter((n) => n.endsWith('.arrow'));
    expect(files.length).toBeGreaterThan(1);
    // readIPC(path) takes only *.ipc names as paths; scanIPC takes any path or glob.
    const df = pl.scanIPC(path.join(tradeParts(), '*.arrow')).collectSync();
    expect(String(df.schema.recv_ns)).toBe(String(pl.Datetime('ns', 'Asia/Seoul')));
    expect(String(df.schema.qty)).toBe(String(pl.Int64));
    expect(df.height).toBe(totals.trades);
    expect(df.getColumn('qty').sum()).toBe(totals.volume);
  });

  it('Polars GROUP BY symbol over the Arrow parts matches SQLite, with ns receive times exact', () => {
    const df = pl.scanIPC(path.join(tradeParts(), '*.arrow')).collectSync();
    const g = df
      .withColumns(pl.col('symbol').cast(pl.String))
      .groupBy('symbol')
      .agg(pl.len().alias('n'), pl.col('qty').sum().alias('volume'), pl.col('price').mul(pl.col('qty')).sum().alias('value'))
      .sort('symbol');
    const rows = (g.toRecords() as { symbol: string; n: number; volume: number; value: number }[]).map((r) => ({ symbol: r.symbol, n: Number(r.n), volume: Number(r.volume), value: Number(r.value) }));
    expect(rows).toEqual(sqliteBySymbol());
    // ns precision survives (the fixture puts sub-µs digits into recv_ns).
    const db = new Database(path.join(dataDir, 'ticktape.db'), { readonly: true });
    const maxRecv = db.prepare('SELECT max(recv_ns) FROM trades').safeIntegers(true).pluck().get() as bigint;
    db.close();
    const polarsMax = df.select(pl.col('recv_ns').cast(pl.Int64).max().cast(pl.String)).getColumn('recv_ns').toArray()[0] as string;
    expect(BigInt(polarsMax)).toBe(maxRecv);
  });

  it('Polars reads a part whose symbol dictionary grew during the part (a symbol first traded late)', async () => {
    const lateDir = path.join(dir, 'late');
    await writeDay({ dataDir: lateDir, minutes: 4, lateSymbol: true, sqlite: false });
    const df = pl.scanIPC(path.join(lateDir, 'arrow', `day=${DAY}`, 'channel=trades', '*.arrow')).collectSync();
    expect(df.filter(pl.col('symbol').cast(pl.String).eq(pl.lit(LATE_SYMBOL))).height).toBeGreaterThan(0);
  });
});

describe('arrow export', () => {
  it('writes plain-string Arrow IPC files that Polars reads even when the stored parts have dictionary deltas', async () => {
    const lateDir = path.join(dir, 'late-export');
    const t = await writeDay({ dataDir: lateDir, minutes: 4, lateSymbol: true, sqlite: false });
    const res = await exportDay({ dataDir: lateDir, day: DAY, outDir: path.join(dir, 'out-arrow'), format: 'arrow', channels: ['trades'], log });
    expect(res.files.map((f) => path.basename(f.path))).toEqual(['part.arrow']);
    const df = pl.readIPC(fs.readFileSync(res.files[0].path));
    expect(df.height).toBe(t.trades);
    expect(String(df.schema.symbol)).toBe(String(pl.String));
    expect(String(df.schema.exch_ts)).toBe(String(pl.Datetime('ns', 'Asia/Seoul')));
    expect(df.filter(pl.col('symbol').eq(pl.lit(LATE_SYMBOL))).height).toBeGreaterThan(0);
  });
});
