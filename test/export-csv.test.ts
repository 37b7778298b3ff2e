// The CSV export, read back by a reader other than ours (DuckDB's read_csv): per-symbol totals
// match SQLite, times keep all nine fraction digits in KST, nulls are empty cells.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportDay } from '../storage/export-dataset.js';
import { kstIsoNs } from '../storage/export-csv.js';
import { DAY, writeDay } from './export-day.js';

let dir: string;
let dataDir: string;
let out: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-csv-'));
  dataDir = path.join(dir, 'data');
  out = path.join(dir, 'out');
  await writeDay({ dataDir, minutes: 5 });
  await exportDay({ dataDir, day: DAY, outDir: out, format: 'csv', log: pino({ level: 'silent' }) });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function sqlite<T>(sql: string): T[] {
  const db = new Database(path.join(dataDir, 'ticktape.db'), { readonly: true });
  try {
    return db.prepare(sql).all(DAY) as T[];
  } finally {
    db.close();
  }
}

it('writes a Hive-style CSV dataset that DuckDB reads with the same per-symbol totals as SQLite', async () => {
  const file = path.join(out, `day=${DAY}`, 'channel=trades', 'part.csv');
  expect(fs.existsSync(file)).toBe(true);
  const duck = await DuckDBInstance.create(':memory:');
  const con = await duck.connect();
  try {
    const rows = (await con.runAndReadAll(`SELECT symbol, count(*)::BIGINT AS n, sum(qty)::BIGINT AS q FROM read_csv('${file}', types={'symbol': 'VARCHAR'}) GROUP BY symbol ORDER BY symbol`)).getRowObjects();
    const expected = sqlite<{ symbol: string; n: number; q: number }>('SELECT symbol, count(*) AS n, sum(qty) AS q FROM trades WHERE day = ? GROUP BY symbol ORDER BY symbol');
    expect(expected.length).toBeGreaterThan(3);
    expect(rows.map((r) => [r.symbol, Number(r.n), Number(r.q)])).toEqual(expected.map((r) => [r.symbol, r.n, r.q]));
  } finally {
    con.closeSync();
    duck.closeSync();
  }
});

it('keeps nanosecond KST times and writes a missing exchange time as an empty cell', () => {
  const file = path.join(out, `day=${DAY}`, 'channel=trades', 'part.csv');
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const cols = header.split(',');
  // The Parquet export's columns, in its order.
  expect(cols).toEqual(['market', 'symbol', 'exch_ts', 'exch_ns', 'price', 'qty', 'recv_ts', 'recv_ns', 'src_seq', 'src_idx', 'trd_vol', 'kind']);
  const recv = cols.indexOf('recv_ts');
  const exch = cols.indexOf('exch_ts');
  // As text: ns instants exceed 2^53, which a JS number cannot hold exactly.
  const first = sqlite<{ recv_ns: string }>('SELECT CAST(recv_ns AS TEXT) AS recv_ns FROM trades WHERE day = ? ORDER BY recv_ns, src_seq, src_idx LIMIT 1');
  const stored = new Set(lines.map((l) => l.split(',')[recv]));
  expect(stored).toContain(kstIsoNs(BigInt(first[0].recv_ns)));
  expect(lines[0].split(',')[recv]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}\+09:00$/);
  const nulls = sqlite<{ n: number }>('SELECT count(*) AS n FROM trades WHERE day = ? AND exch_ts IS NULL')[0].n;
  expect(nulls).toBeGreaterThan(0);
  expect(lines.filter((l) => l.split(',')[exch] === '').length).toBe(nulls);
  expect(lines.filter((l) => l.split(',')[cols.indexOf('exch_ns')] === '').length).toBe(nulls);
  // recv_ns: the integer, exact.
  expect(new Set(lines.map((l) => l.split(',')[cols.indexOf('recv_ns')]))).toContain(first[0].recv_ns);
});
