// Every recipe of docs/cookbook.md, read from the doc itself and run against a known day: SQLite
// on the database, DuckDB and Polars on the Parquet export, `ticktape query` on the data directory.
// The answers must agree.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { DuckDBInstance } from '@duckdb/node-api';
import pl from 'nodejs-polars';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDay } from '../storage/export-dataset.js';
import { openStoreQuery } from '../storage/query.js';
import { DAY, INVESTORS, UPCODES, writeDay } from './export-day.js';

type Row = Record<string, unknown>;
type Engine = 'sqlite' | 'duckdb' | 'polars' | 'ticktape';

const doc = fs.readFileSync(fileURLToPath(new URL('../docs/cookbook.md', import.meta.url)), 'utf8');
const recipes = new Map<string, string>();
for (const m of doc.matchAll(/<!-- recipe: (\S+) (sqlite|duckdb|polars|ticktape) -->\s*```\w+\n([\s\S]*?)```/g)) recipes.set(`${m[1]} ${m[2]}`, m[3]);

let dir: string;
let dataDir: string;
let out: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-cookbook-'));
  dataDir = path.join(dir, 'data');
  out = path.join(dir, 'export');
  await writeDay({ dataDir, minutes: 6 });
  await exportDay({ dataDir, day: DAY, outDir: out, format: 'parquet', log: pino({ level: 'silent' }) });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Plain numbers and strings, so the engines' answers compare. */
const plain = (rows: Row[]): Row[] => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));

async function run(name: string, engine: Engine): Promise<Row[]> {
  const code = recipes.get(`${name} ${engine}`);
  if (code === undefined) throw new Error(`docs/cookbook.md has no ${engine} recipe for ${name}`);
  if (engine === 'sqlite') {
    const db = new Database(path.join(dataDir, 'ticktape.db'), { readonly: true });
    try {
      return plain(db.prepare(code).all({ day: DAY }) as Row[]);
    } finally {
      db.close();
    }
  }
  if (engine === 'ticktape') {
    // `ticktape query`'s views over the data directory (the day is live: read from SQLite).
    const q = await openStoreQuery(dataDir, code);
    try {
      return plain((await q.con.runAndReadAll(code, { day: DAY })).getRowObjectsJS() as Row[]);
    } finally {
      q.close();
    }
  }
  if (engine === 'duckdb') {
    const duck = await DuckDBInstance.create(':memory:');
    const con = await duck.connect();
    try {
      const r = await con.runAndReadAll(code.replaceAll("'export/", `'${out}/`), { day: DAY });
      return plain(r.getRowObjectsJS() as Row[]);
    } finally {
      con.closeSync();
      duck.closeSync();
    }
  }
  const recipe = new Function(`return (${code});`)() as (p: typeof pl, dataset: string) => pl.DataFrame;
  return plain(recipe(pl, out).toRecords() as Row[]);
}

describe('docs/cookbook.md', () => {
  it('has every recipe for every engine', () => {
    expect([...recipes.keys()].sort()).toEqual(['movers duckdb', 'movers polars', 'movers sqlite', 'movers ticktape', 'sector-net duckdb', 'sector-net polars', 'sector-net sqlite', 'sector-net ticktape', 'vwap duckdb', 'vwap polars', 'vwap sqlite', 'vwap ticktape']);
  });

  it('VWAP per symbol per minute: SQLite, DuckDB, Polars and ticktape query agree', async () => {
    const sqlite = await run('vwap', 'sqlite');
    // 10 symbols over 6 minutes (+ a few trades stamped in the minute before the first frame).
    expect(sqlite.length).toBeGreaterThanOrEqual(60);
    expect(sqlite[0]).toMatchObject({ symbol: '000660', minute: expect.stringMatching(/^0[89]:\d\d$/) });
    for (const engine of ['duckdb', 'polars', 'ticktape'] as const) {
      const other = await run('vwap', engine);
      expect(other.map((r) => [r.symbol, r.minute, r.volume])).toEqual(sqlite.map((r) => [r.symbol, r.minute, r.volume]));
      other.forEach((r, i) => expect(r.vwap as number).toBeCloseTo(sqlite[i].vwap as number, 2));
    }
  });

  it('top movers: SQLite, DuckDB, Polars and ticktape query agree', async () => {
    const sqlite = await run('movers', 'sqlite');
    expect(sqlite).toHaveLength(5);
    expect(Math.abs(sqlite[0].change_pct as number)).toBeGreaterThanOrEqual(Math.abs(sqlite[4].change_pct as number));
    for (const engine of ['duckdb', 'polars', 'ticktape'] as const) expect(await run('movers', engine)).toEqual(sqlite);
  });

  it('sector investor net buying: SQLite, DuckDB, Polars and ticktape query agree', async () => {
    const sqlite = await run('sector-net', 'sqlite');
    expect(sqlite.map((r) => `${r.upcode}/${r.tjjcode}`)).toEqual(UPCODES.flatMap((u) => INVESTORS.map((t) => `${u}/${t}`)));
    expect(sqlite.some((r) => r.net_value !== 0)).toBe(true);
    for (const engine of ['duckdb', 'polars', 'ticktape'] as const) expect(await run('sector-net', engine)).toEqual(sqlite);
  });
});
