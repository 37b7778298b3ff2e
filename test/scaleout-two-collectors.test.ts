// Two collectors (one per market, collector ids in file names) on one machine: each keeps its own
// SQLite database and journal (as on separate machines), their Arrow parts are shipped into one
// shared layout without collisions, `ticktape export` (the real CLI) merges them, and DuckDB and
// Polars read the result as one dataset whose answers equal the two databases' together.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { DuckDBInstance } from '@duckdb/node-api';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, writeDay, type DayTotals } from './export-day.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const COLLECTORS = [
  { id: 'kospi', market: 'kospi' },
  { id: 'kosdaq', market: 'kosdaq' },
] as const;

let dir: string;
let shared: string;
let out: string;
const totals = new Map<string, DayTotals>();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-scaleout-'));
  shared = path.join(dir, 'shared');
  out = path.join(dir, 'export');
  await Promise.all(
    COLLECTORS.map(async (c, i) => {
      totals.set(c.id, await writeDay({ dataDir: path.join(dir, c.id), collectorId: c.id, markets: [c.market], minutes: 5, seed: 100 + i }));
    }),
  );
  // Shipping partitions: copy each collector's Arrow tree into the shared layout (rsync / object storage in production).
  for (const c of COLLECTORS) fs.cpSync(path.join(dir, c.id, 'arrow'), path.join(shared, 'arrow'), { recursive: true, errorOnExist: true, force: false });
  execFileSync(process.execPath, [path.join(root, 'bin/ticktape.js'), 'export', '--day', DAY, '--data-dir', shared, '--out', out, '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TICKTAPE_LOG_LEVEL: 'warn' } });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Per-symbol counts and volumes from both collectors' own databases. */
function fromDatabases(): { symbol: string; n: number; volume: number }[] {
  const rows: { symbol: string; n: number; volume: number }[] = [];
  for (const c of COLLECTORS) {
    const db = new Database(path.join(dir, c.id, 'ticktape.db'), { readonly: true });
    rows.push(...(db.prepare('SELECT symbol, count(*) AS n, sum(qty) AS volume FROM trades WHERE day = ? GROUP BY symbol').all(DAY) as { symbol: string; n: number; volume: number }[]));
    db.close();
  }
  return rows.sort((a, b) => a.symbol.localeCompare(b.symbol));
}

describe('two collectors, one dataset', () => {
  it('keeps each collector in its own files: journals, Arrow parts, export files', () => {
    for (const c of COLLECTORS) expect(fs.readdirSync(path.join(dir, c.id, 'journal'))).toContain(`${DAY}.${c.id}.journal`);
    const parts = fs.readdirSync(path.join(shared, 'arrow', `day=${DAY}`, 'channel=trades'));
    for (const c of COLLECTORS) expect(parts.filter((p) => p.endsWith(`.${c.id}.arrow`)).length).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(out, `day=${DAY}`, 'channel=trades')).sort()).toEqual(['part.kosdaq.parquet', 'part.kospi.parquet']);
  });

  it('DuckDB reads the export as one dataset matching both databases together', async () => {
    const duck = await DuckDBInstance.create(':memory:');
    const con = await duck.connect();
    try {
      const r = await con.runAndReadAll(`SELECT symbol, count(*)::INT AS n, sum(qty)::BIGINT AS volume FROM read_parquet('${out}/day=*/channel=trades/*.parquet', hive_partitioning = true) WHERE day = '${DAY}' GROUP BY symbol ORDER BY symbol`);
      expect(r.getRowObjectsJS().map((x) => ({ symbol: x.symbol, n: Number(x.n), volume: Number(x.volume) }))).toEqual(fromDatabases());
      const flows = await con.runAndReadAll(`SELECT count(*)::INT AS n FROM read_parquet('${out}/day=*/channel=sector_flows/*.parquet', hive_partitioning = true)`);
      expect(Number(flows.getRowObjectsJS()[0].n)).toBe([...totals.values()].reduce((a, t) => a + t.flows, 0));
    } finally {
      con.closeSync();
      duck.closeSync();
    }
  });

  it('Polars reads the export as one dataset with both markets', () => {
    const df = pl.scanParquet(`${out}/day=*/channel=trades/*.parquet`).collectSync();
    expect(df.height).toBe([...totals.values()].reduce((a, t) => a + t.trades, 0));
    expect((df.getColumn('market').unique().sort().toArray() as string[])).toEqual(['kosdaq', 'kospi']);
    expect(df.getColumn('qty').sum()).toBe([...totals.values()].reduce((a, t) => a + t.volume, 0));
  });
});
