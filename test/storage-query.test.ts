// `ticktape query` / queryStore: DuckDB views over a store of several days — two compacted (the
// history tier's Parquet), one live (SQLite only) — answer as a direct computation over SQLite does.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pl from 'nodejs-polars';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactDay } from '../storage/compact.js';
import { openStoreQuery, queryStore } from '../storage/query.js';
import { databasePath } from '../storage/reader.js';
import { STORE_DAYS, writeStore } from './history-store.js';

const log = pino({ level: 'silent' });
let dir: string;
const weekday = (d: string) => ![0, 6].includes(new Date(`${d}T12:00:00Z`).getUTCDay());

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-query-'));
  await writeStore(dir);
  for (const day of STORE_DAYS.slice(0, 2)) await compactDay(dir, day, log);
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function sqlite(sql: string, ...params: unknown[]): Record<string, unknown>[] {
  const db = new Database(databasePath(dir), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Rows as objects, 64-bit integers (JSON strings) as numbers; day and symbol stay text. */
const objects = (r: { columns: string[]; rows: unknown[][] }) =>
  r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, c !== 'day' && c !== 'symbol' && typeof row[i] === 'string' && /^-?\d+$/.test(row[i] as string) ? Number(row[i]) : row[i]])));

describe('ticktape query over history and live days', () => {
  it('counts every day once, from the history tier and from SQLite', async () => {
    const r = await queryStore(dir, 'SELECT day, count(*) AS n, sum(qty) AS volume, sum(price * qty) AS value FROM trades GROUP BY day ORDER BY day');
    expect(objects(r)).toEqual(sqlite('SELECT day, count(*) AS n, sum(qty) AS volume, sum(price * qty) AS value FROM trades GROUP BY day ORDER BY day'));
    const q = await openStoreQuery(dir, 'trades');
    try {
      expect(q.historyDays).toEqual(STORE_DAYS.slice(0, 2));
      expect(q.liveDays).toEqual([STORE_DAYS[2]]);
      // Partition pruning: a one-day query reads one of the two history files.
      const plan = (await q.con.runAndReadAll(`EXPLAIN SELECT count(*) FROM trades WHERE day = '${STORE_DAYS[0]}'`)).getRows().flat().join('\n');
      expect(plan).toMatch(/Scanning Files: 1\/2/);
    } finally {
      q.close();
    }
  });

  it("one symbol's trades over all days equal SQLite's, in order, with ns times kept as µs timestamps", async () => {
    const [{ symbol }] = sqlite('SELECT symbol FROM trades GROUP BY symbol ORDER BY count(*) DESC LIMIT 1') as { symbol: string }[];
    const r = await queryStore(dir, 'SELECT day, epoch_us(recv_ns) AS recv_us, price, qty FROM trades WHERE symbol = $symbol ORDER BY recv_ns, src_seq, src_idx', { symbol });
    const want = sqlite('SELECT day, recv_ns / 1000 AS recv_us, price, qty FROM trades WHERE symbol = ? ORDER BY recv_ns, src_seq, src_idx', symbol);
    expect(want.length).toBeGreaterThan(50);
    expect(new Set(want.map((w) => w.day)).size).toBe(3);
    expect(objects(r)).toEqual(want);
  });

  it('bars_1m: history and live bars equal a direct aggregation of the trades', async () => {
    const r = objects(await queryStore(dir, 'SELECT day, symbol, epoch_ns(minute) AS minute_ns, open, high, low, close, volume, value, trades FROM bars_1m ORDER BY day, symbol, minute'));
    const want = sqlite(`
      WITH t AS (SELECT day, symbol, coalesce(exch_ts, recv_ns) / 60000000000 * 60000000000 AS minute_ns, price, qty,
                        row_number() OVER (PARTITION BY day, symbol, coalesce(exch_ts, recv_ns) / 60000000000 ORDER BY exch_ts NULLS FIRST, recv_ns, src_seq, src_idx) AS k,
                        count(*) OVER (PARTITION BY day, symbol, coalesce(exch_ts, recv_ns) / 60000000000) AS n
                 FROM trades)
      SELECT day, symbol, minute_ns, max(CASE WHEN k = 1 THEN price END) AS open, max(price) AS high, min(price) AS low,
             max(CASE WHEN k = n THEN price END) AS close, sum(qty) AS volume, sum(price * qty) AS value, count(*) AS trades
      FROM t GROUP BY day, symbol, minute_ns ORDER BY day, symbol, minute_ns`);
    expect(r.length).toBe(want.length);
    expect(r).toEqual(want);
    expect(new Set(r.map((b) => b.day)).size).toBe(3);
  });

  it('days: each day with its condition and tiers, the missing trading day named', async () => {
    const r = objects(await queryStore(dir, 'SELECT day, condition, trades, parquet_bytes > 0 AS compacted, journal_compressed FROM days ORDER BY day', {}, { isTradingDay: weekday }));
    expect(r.map((d) => [d.day, d.condition, d.compacted, d.journal_compressed])).toEqual([
      [STORE_DAYS[0], 'complete', true, true],
      [STORE_DAYS[1], 'complete', true, true],
      ['2025-03-04', 'missing', null, false],
      [STORE_DAYS[2], 'complete', null, false],
    ]);
  });

  it('the CLI writes CSV and Parquet (read back by Polars), and names a bad query', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.resolve('bin/ticktape.js'), 'query', '--data-dir', dir, ...args], { encoding: 'utf8', env: { ...process.env, TICKTAPE_LOG_LEVEL: 'silent' } });
    const csv = cli('SELECT day, count(*) AS n FROM trades GROUP BY day ORDER BY day', '--format', 'csv');
    expect(csv.status, csv.stderr).toBe(0);
    const counts = sqlite('SELECT day, count(*) AS n FROM trades GROUP BY day ORDER BY day');
    expect(csv.stdout).toBe(['day,n', ...counts.map((c) => `${c.day as string},${c.n as number}`)].join('\n') + '\n');
    const out = path.join(dir, 'q.parquet');
    const pq = cli('SELECT * FROM trades WHERE day >= $d', '--param', `d=${STORE_DAYS[1]}`, '--format', 'parquet', '--out', out);
    expect(pq.status, pq.stderr).toBe(0);
    expect(pl.readParquet(out).height).toBe((counts[1].n as number) + (counts[2].n as number));
    const bad = cli('SELECT nope FROM trades');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/ticktape query: .*nope/s);
  });
});
