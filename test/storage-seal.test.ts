// Sealing a day in chunks: a seal SIGKILLed midway keeps the chunks it finished, readers of the
// `trades` view see every row exactly once throughout, and the next seal finishes the day sorted
// and indexed. A seal stopped by its AbortSignal between chunks is finished the same way.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseFile, type SealProgress, SqliteSink } from '../storage/sqlite-sink.js';

const root = mkdtempSync(path.join(tmpdir(), 'ticktape-seal-'));
const DAY = '2026-11-20';
const OTHER_DAY = '2026-11-21';
const log = pino({ level: 'silent' });

beforeAll(() => {
  // tsc emits even when someone else's file has a type error; what matters is that dist/ exists.
  spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'ignore', timeout: 120_000 });
  if (!existsSync('dist/storage/sqlite-sink.js')) throw new Error('npm run build produced no dist/storage/sqlite-sink.js');
}, 130_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A data directory whose trades_live holds `rows` trades, every tenth of another day, symbols and times out of order. */
async function liveDay(name: string, rows: number): Promise<string> {
  const dataDir = path.join(root, name);
  await SqliteSink.open({ dataDir, log, walCheckpointMs: 0 }).close();
  const db = new Database(databaseFile(dataDir));
  db.prepare(
    `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ? - 1)
     INSERT INTO trades_live (day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx)
     SELECT CASE WHEN i % 10 = 9 THEN '${OTHER_DAY}' ELSE '${DAY}' END, CASE WHEN i % 3 = 0 THEN 'kosdaq' ELSE 'kospi' END,
            printf('%06d', (i * 7919) % 2600), 1000000 + (i * 104729) % 1000003, 1000 + i % 50, 1 + i % 9, 1000 + i, i / 8, i % 8
     FROM c`,
  ).run(rows);
  db.close();
  return dataDir;
}

type Row = { symbol: string; exch_ts: number; src_seq: number; src_idx: number; qty: number };

function dayRows(db: Database.Database, table: string): Row[] {
  return db.prepare(`SELECT symbol, exch_ts, src_seq, src_idx, qty FROM ${table} WHERE day = ? ORDER BY src_seq, src_idx`).all(DAY) as Row[];
}

const count = (db: Database.Database, table: string, day = DAY) => db.prepare(`SELECT count(*) FROM ${table} WHERE day = ?`).pluck().get(day) as number;

/** Places in trades_sealed (rowid order) where the (symbol, exch_ts, src_seq, src_idx) order goes back: one per chunk boundary at most. */
function sortBreaks(db: Database.Database): number {
  let breaks = 0;
  let prev: Row | undefined;
  for (const r of db.prepare('SELECT symbol, exch_ts, src_seq, src_idx FROM trades_sealed WHERE day = ? ORDER BY rowid').iterate(DAY) as Iterable<Row>) {
    if (prev && (prev.symbol > r.symbol || (prev.symbol === r.symbol && (prev.exch_ts > r.exch_ts || (prev.exch_ts === r.exch_ts && (prev.src_seq > r.src_seq || (prev.src_seq === r.src_seq && prev.src_idx > r.src_idx))))))) breaks++;
    prev = r;
  }
  return breaks;
}

function exitOf(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.on('exit', resolve)));
}

describe('chunked seal', () => {
  it('survives a SIGKILL midway: every row once in `trades` throughout, and the next seal finishes it sorted and indexed', async () => {
    const dataDir = await liveDay('killed', 300_000);
    const reader = new Database(databaseFile(dataDir), { readonly: true });
    const original = dayRows(reader, 'trades');
    expect(original).toHaveLength(270_000);
    const chunkRows = 20_000;
    // The child seals with the real sink and, after its 4th chunk, waits for a byte on stdin: the
    // kill below then lands in its 5th chunk's transaction or just after it.
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      import { readSync } from 'node:fs';
      import { pino } from 'pino';
      import { SqliteSink } from ${JSON.stringify(path.resolve('dist/storage/sqlite-sink.js'))};
      const sink = SqliteSink.open({ dataDir: ${JSON.stringify(dataDir)}, log: pino({ level: 'silent' }), walCheckpointMs: 0 });
      sink.sealDay('${DAY}', { chunkRows: ${chunkRows}, onProgress(p) {
        process.stdout.write(JSON.stringify(p) + '\\n');
        if (p.chunks === 4) readSync(0, Buffer.alloc(1));
      } });
    `], { stdio: ['pipe', 'pipe', 'inherit'] });
    const progress: SealProgress[] = [];
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const l of lines) progress.push(JSON.parse(l) as SealProgress);
    });
    const viewCounts: number[] = [];
    const deadline = Date.now() + 60_000;
    try {
      while (progress.length < 4 && Date.now() < deadline && child.exitCode === null) {
        viewCounts.push(count(reader, 'trades'));
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(progress.at(-1)).toMatchObject({ day: DAY, chunks: 4 });
      expect(count(reader, 'trades_sealed')).toBe(progress.at(-1)!.moved);
      child.stdin!.write('x');
      child.kill('SIGKILL');
      await exitOf(child);
    } finally {
      child.kill('SIGKILL');
    }
    viewCounts.push(count(reader, 'trades'));
    // Every row exactly once, whenever read: before, during and after the kill.
    expect(new Set(viewCounts)).toEqual(new Set([270_000]));
    expect(dayRows(reader, 'trades')).toEqual(original);
    const movedByChild = count(reader, 'trades_sealed');
    expect(movedByChild).toBeGreaterThanOrEqual(progress.at(-1)!.moved);
    expect(count(reader, 'trades_live')).toBe(270_000 - movedByChild);

    const sink = SqliteSink.open({ dataDir, log, walCheckpointMs: 0 });
    try {
      expect(sink.isSealed(DAY)).toBe(false);
      expect(sink.isSealInProgress(DAY)).toBe(true);
      expect(sink.unfinishedSeals()).toEqual([DAY]);
      let chunks = 0;
      expect(sink.sealDay(DAY, { chunkRows, onProgress: (p) => (chunks = p.chunks) })).toEqual({ moved: 270_000 - movedByChild });
      expect(sink.isSealed(DAY)).toBe(true);
      expect(sink.isSealInProgress(DAY)).toBe(false);
      expect(sink.unfinishedSeals()).toEqual([]);
      expect(count(reader, 'trades_live')).toBe(0);
      expect(count(reader, 'trades_live', OTHER_DAY)).toBe(30_000);
      expect(dayRows(reader, 'trades_sealed')).toEqual(original);
      // Sorted within each chunk: at most one break per chunk boundary of the two runs.
      expect(sortBreaks(reader)).toBeLessThanOrEqual(progress.length + 1 + chunks - 1);
      expect(reader.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'trades_sealed' ORDER BY name").pluck().all()).toEqual(['trades_sealed_recv', 'trades_sealed_symbol']);
      const plan = reader.prepare('EXPLAIN QUERY PLAN SELECT * FROM trades WHERE day = ? AND symbol = ? ORDER BY exch_ts').all(DAY, '000001') as { detail: string }[];
      expect(plan.map((p) => p.detail).join('\n')).toContain('trades_sealed_symbol');
    } finally {
      await sink.close();
      reader.close();
    }
  });

  it('stops between chunks when its signal aborts, and a later seal finishes the day', async () => {
    const dataDir = await liveDay('aborted', 60_000);
    const sink = SqliteSink.open({ dataDir, log, walCheckpointMs: 0 });
    try {
      const stop = new AbortController();
      const stopped = await sink.sealDayInChunks(DAY, { chunkRows: 5_000, signal: stop.signal, onProgress: (p) => p.chunks === 2 && stop.abort() });
      expect(stopped).toMatchObject({ chunks: 2, sealed: false });
      expect(sink.isSealInProgress(DAY)).toBe(true);
      expect(count(sink.db, 'trades_sealed')).toBe(stopped.moved);
      expect(count(sink.db, 'trades')).toBe(54_000);
      const done = await sink.sealDayInChunks(DAY, { chunkRows: 5_000 });
      expect(done).toEqual({ moved: 54_000 - stopped.moved, chunks: 10, sealed: true });
      expect(sink.isSealed(DAY)).toBe(true);
      expect(count(sink.db, 'trades_live')).toBe(0);
      expect(count(sink.db, 'trades_sealed')).toBe(54_000);
    } finally {
      await sink.close();
    }
  });
});
