// The trades layout of the history tier (history-trades.ts) on days small enough for a test, with
// small windows and clusters so every day spans several of each: row groups hold narrow symbol
// ranges (Parquet statistics, read by DuckDB), a one-symbol query skips the other row groups, and
// reads and replay merge the clusters back into receive order — every row once, equal to SQLite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactDay } from '../storage/compact.js';
import { writeParquetFile } from '../storage/export-parquet.js';
import { RowBatchBuilder, type CellValue } from '../storage/history-columns.js';
import { channelSpec, historyFile, historySchema, readManifest } from '../storage/history-format.js';
import { clusteredTradeBatches, readTradeWindows, receiveOrder, windowTrades, type WindowTrade } from '../storage/history-trades.js';
import type { ResolvedQuery } from '../storage/reader-query.js';
import { queryStore } from '../storage/query.js';
import { databasePath, TickReader, type TradeRow } from '../storage/reader.js';
import { replay } from '../replay/index.js';
import { STORE_DAYS, writeStore } from './history-store.js';

const log = pino({ level: 'silent' });
const LAYOUT = { windowRows: 256, clusterRows: 32 };
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-history-trades-'));
  await writeStore(dir);
  for (const d of STORE_DAYS) await compactDay(dir, d, log, { tradeLayout: LAYOUT });
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const key = (t: { recvNs: bigint; srcSeq: number; srcIdx: number }) => `${t.recvNs}/${t.srcSeq}/${t.srcIdx}`;

function sqliteTrades(day: string, order: string): TradeRow[] {
  const db = new Database(databasePath(dir), { readonly: true });
  try {
    const rows = db.prepare(`SELECT market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx, trd_vol, kind FROM trades WHERE day = ? ORDER BY ${order}`).raw(true).safeIntegers(true).all(day) as [string, string, bigint | null, bigint, bigint, bigint, bigint, number, bigint, string][];
    return rows.map((r) => ({ day, market: r[0], symbol: r[1], exchNs: r[2], price: Number(r[3]), qty: Number(r[4]), recvNs: r[5], srcSeq: Number(r[6]), srcIdx: Number(r[7]), trdVol: Number(r[8]), kind: r[9] }) as TradeRow);
  } finally {
    db.close();
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('history trades layout', () => {
  it('writes row groups of narrow symbol ranges within receive-time windows (Parquet statistics)', async () => {
    const day = STORE_DAYS[0];
    const m = readManifest(dir, day)!.channels.find((c) => c.channel === 'trades')!;
    expect(m.windowRows).toBe(LAYOUT.windowRows);
    expect(m.rows).toBeGreaterThan(3 * LAYOUT.windowRows);
    const instance = await DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    try {
      const r = await con.runAndReadAll(`SELECT row_group_id, row_group_num_rows, stats_min_value, stats_max_value FROM parquet_metadata('${historyFile(dir, day, 'trades')}') WHERE path_in_schema = 'symbol' ORDER BY row_group_id`);
      const groups = r.getRows().map(([id, rows, min, max]) => ({ id: Number(id), rows: Number(rows), min: String(min), max: String(max) }));
      expect(groups.length).toBe(Math.ceil(m.rows / LAYOUT.clusterRows));
      expect(groups.slice(0, -1).every((g) => g.rows === LAYOUT.clusterRows)).toBe(true);
      const perWindow = LAYOUT.windowRows / LAYOUT.clusterRows;
      const symbols = new Set(sqliteTrades(day, 'symbol').map((t) => t.symbol));
      for (let w = 0; w * perWindow < groups.length; w++) {
        const win = groups.slice(w * perWindow, (w + 1) * perWindow);
        // File order within a window runs through the symbols in ascending ranges.
        for (let k = 1; k < win.length; k++) expect(win[k].min >= win[k - 1].min, `window ${w} row group ${k}`).toBe(true);
      }
      // What a reader skips on statistics: a symbol falls within few row groups' [min, max], where
      // in receive order (every symbol in every row group) it would fall within all of them.
      const covering = [...symbols].map((s) => groups.filter((g) => g.min <= s && s <= g.max).length / groups.length);
      const mean = covering.reduce((a, b) => a + b, 0) / covering.length;
      expect(mean).toBeLessThan(0.3);
    } finally {
      con.closeSync();
      instance.closeSync();
    }
  });

  it('a one-symbol query over the history counts what SQLite counts', async () => {
    const day = STORE_DAYS[1];
    const all = sqliteTrades(day, 'symbol');
    const symbol = all[Math.floor(all.length / 2)].symbol;
    const expected = all.filter((t) => t.symbol === symbol);
    const r = await queryStore(dir, `SELECT count(*) AS n, sum(qty) AS q FROM trades WHERE day = '${day}' AND symbol = '${symbol}'`);
    expect(r.rows[0].map(Number)).toEqual([expected.length, expected.reduce((n, t) => n + t.qty, 0)]);
  });

  it('reads every trade once, in receive order and in exchange order, equal to SQLite', async () => {
    const reader = TickReader.open({ dataDir: dir, source: 'parquet' });
    try {
      for (const day of STORE_DAYS) {
        expect(await collect(reader.trades({ day }))).toEqual(sqliteTrades(day, 'recv_ns, src_seq, src_idx'));
        const byExchange = await collect(reader.trades({ day, time: 'exchange' }));
        expect(byExchange).toEqual(sqliteTrades(day, 'coalesce(exch_ts, recv_ns), recv_ns, src_seq, src_idx'));
      }
      // A symbol filter and a time window, across the days.
      const sqlite = STORE_DAYS.flatMap((d) => sqliteTrades(d, 'recv_ns, src_seq, src_idx'));
      const symbol = sqlite[7].symbol;
      const from = sqlite[100].recvNs;
      const to = sqlite[sqlite.length - 100].recvNs;
      const got = await collect(reader.trades({ fromDay: STORE_DAYS[0], toDay: STORE_DAYS[2], symbols: [symbol], from, to }));
      expect(got.map(key)).toEqual(sqlite.filter((t) => t.symbol === symbol && t.recvNs >= from && t.recvNs < to).map(key));
    } finally {
      reader.close();
    }
  });

  it('replays the trades from Parquet as from SQLite: every event once, in order, across the days', async () => {
    const events = async (source: 'parquet' | 'sqlite') => (await collect(replay({ dataDir: dir, fromDay: STORE_DAYS[0], toDay: STORE_DAYS[2], channels: ['trades'], speed: 'max', source }))).filter((e) => e.type === 'trade');
    const fromParquet = await events('parquet');
    expect(fromParquet.length).toBe(STORE_DAYS.reduce((n, d) => n + sqliteTrades(d, 'recv_ns').length, 0));
    expect(fromParquet).toEqual(await events('sqlite'));
  });

  it('puts clusters back into receive order: by frames, else by merging runs on (recv_ns, src_seq, src_idx)', () => {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    type Row = { recv: bigint; seq: number; idx: number; market: number };
    const cmp = (a: Row, b: Row) => (a.recv !== b.recv ? (a.recv < b.recv ? -1 : 1) : a.seq - b.seq || a.idx - b.idx);
    // Rows tied on all three (two markets' frames) have no order between them.
    const keyOf = (r: Row) => `${r.recv}/${r.seq}/${r.idx}`;
    // Rows dealt into 9 clusters, each kept in receive order, concatenated: the order must equal a full sort.
    const check = (rows: Row[]) => {
      const runs = Array.from({ length: 9 }, (_, r) => rows.filter((_, i) => i % 9 === r).sort(cmp)).flat();
      const order = receiveOrder(BigInt64Array.from(runs.map((x) => x.recv)), BigInt64Array.from(runs.map((x) => BigInt(x.seq))), Int32Array.from(runs.map((x) => x.idx)), Uint16Array.from(runs.map((x) => x.market)));
      expect(new Set(order).size).toBe(runs.length);
      expect([...order].map((i) => keyOf(runs[i]))).toEqual([...runs].sort(cmp).map(keyOf));
    };
    const base = 1_780_000_000_000_000_000n;
    // Frames as one journal has them: per market a src_seq and its recv_ns, up to 50 trades each;
    // the two markets' frames numbered alike, some received at the same instant.
    const frames = (market: number) => Array.from({ length: 300 }, (_, seq) => Array.from({ length: 1 + rand(50) }, (_, idx) => ({ recv: base + BigInt(seq * 2 + rand(3)) * 1_000_000n, seq, idx, market }))).flat();
    check([...frames(0), ...frames(1)]);
    // A src_seq of a market under two receive times (two collectors' journals): the merge.
    check(Array.from({ length: 5000 }, () => ({ recv: base + BigInt(rand(50)) * 1_000_000n, seq: rand(40), idx: rand(50), market: 0 })));
  });

  it('reads receive and exchange times to the nanosecond, from a clustered file and from one in receive order', async () => {
    // Receive times as the capture stamps them (any nanosecond), exchange times off the
    // centisecond grid and null: both layouts (windows clustered by symbol range, and files
    // written before them, in receive order) must give every value exactly, in order.
    const spec = channelSpec('trades');
    const schema = historySchema(spec);
    let seed = 11;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const base = 1_780_000_000_123_456_789n;
    const rows: CellValue[][] = [];
    for (let seq = 0; seq < 120; seq++) {
      for (const [m, market] of ['kospi', 'kosdaq'].entries()) {
        const recv = base + BigInt(seq) * 1_000_003n + BigInt(m * 501 + rand(400));
        for (let idx = 0, n = 1 + rand(30); idx < n; idx++) {
          const exch = rand(5) === 0 ? null : recv - 40_000_000n + BigInt(rand(999));
          rows.push([market, `00${100 + rand(40)}0`, exch, BigInt(1000 + rand(9000)), BigInt(1 + rand(99)), recv, BigInt(seq), idx, BigInt(1 + rand(99)), rand(7) === 0 ? 'block_intraday' : 'regular']);
        }
      }
    }
    const expected = rows.map(([market, symbol, exch, price, qty, recv, seq, idx, trdVol, kind]) => ({ day: 'd', market, symbol, exchNs: exch, price: Number(price), qty: Number(qty), recvNs: recv, srcSeq: Number(seq), srcIdx: idx, trdVol: Number(trdVol), kind }));
    const q: ResolvedQuery = { day: 'd', symbols: null, markets: null, from: null, to: null, time: 'receive' };
    const read = async (file: string, windowRows: number | undefined) => {
      const out: WindowTrade[] = [];
      for await (const w of readTradeWindows(file, windowRows)) windowTrades(w, q, 0, w.rows, out, false);
      return out;
    };
    const fileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-history-ns-'));
    try {
      const clustered = path.join(fileDir, 'clustered.parquet');
      await writeParquetFile(clustered, clusteredTradeBatches(rows, schema, spec.columns, 256, 32), { rowGroupRows: 32 });
      expect(await read(clustered, 256)).toEqual(expected);
      const plain = path.join(fileDir, 'plain.parquet');
      const builder = new RowBatchBuilder(schema, spec.columns);
      for (const r of rows) builder.push(r);
      await writeParquetFile(plain, (async function* () { yield builder.take(); })(), { rowGroupRows: 500 });
      expect(await read(plain, undefined)).toEqual(expected);
    } finally {
      fs.rmSync(fileDir, { recursive: true, force: true });
    }
  });
});
