// Compaction of sealed days into the history tier: Parquet per day and channel read back equal to
// SQLite (by ticktape's reader and by Polars), bars equal a direct aggregation of the trades, the
// journal compressed and still the source of truth (rebuild and journal replay read it).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pl from 'nodejs-polars';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactDay } from '../storage/compact.js';
import { HISTORY_CHANNELS, historyFile, listHistoryDays, readManifest } from '../storage/history-format.js';
import { dayJournalFiles, readJournalRecords } from '../storage/journal-archive.js';
import { readJournal } from '../storage/journal.js';
import { readParquetBatches } from '../storage/parquet-read.js';
import { rebuildDay } from '../followers/rebuild.js';
import { inventory } from '../storage/reader-inventory.js';
import { replay } from '../replay/index.js';
import { databasePath } from '../storage/reader.js';
import { STORE_DAYS, writeStore } from './history-store.js';

const log = pino({ level: 'silent' });
let dir: string;
let plainRecords: Map<string, { seq: number; frame: number; recvNs: bigint; channel: number; bytes: string }[]>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-compact-'));
  await writeStore(dir);
  plainRecords = new Map(STORE_DAYS.map((d) => [d, [...readJournal(dayJournalFiles(dir, d)[0])].map((r) => ({ seq: r.seq, frame: r.frame, recvNs: r.recvNs, channel: r.channel, bytes: r.bytes.toString('base64') }))]));
  for (const d of STORE_DAYS) await compactDay(dir, d, log);
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function sqliteRows(sql: string, ...params: unknown[]): unknown[][] {
  const db = new Database(databasePath(dir), { readonly: true });
  try {
    return db.prepare(sql).raw(true).safeIntegers(true).all(...params) as unknown[][];
  } finally {
    db.close();
  }
}

describe('compaction', () => {
  it('writes every channel of every day as Parquet, rows equal to SQLite', async () => {
    expect(listHistoryDays(dir)).toEqual([...STORE_DAYS]);
    for (const day of STORE_DAYS) {
      const m = readManifest(dir, day)!;
      for (const spec of HISTORY_CHANNELS) {
        const entry = m.channels.find((c) => c.channel === spec.channel)!;
        expect(fs.existsSync(historyFile(dir, day, spec.channel)), `${day} ${spec.channel}`).toBe(entry.rows > 0);
        if (spec.table === null) continue;
        const [[count]] = sqliteRows(`SELECT count(*) FROM ${spec.table} WHERE day = ?`, day) as [[bigint]];
        expect(entry.rows, `${day} ${spec.channel}`).toBe(Number(count));
      }
      for (const ch of ['trades', 'snapshots', 'sector_flows', 'quotes', 'order_books', 'symbols', 'sessions']) expect(m.channels.find((c) => c.channel === ch)!.rows, ch).toBeGreaterThan(0);
    }
  });

  it('keeps every trade value: the Parquet trades equal SQLite row for row, in receive order', async () => {
    const day = STORE_DAYS[1];
    const want = sqliteRows('SELECT market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx FROM trades WHERE day = ? ORDER BY recv_ns, src_seq, src_idx', day);
    const got: unknown[][] = [];
    for await (const b of readParquetBatches(historyFile(dir, day, 'trades'))) {
      for (let i = 0; i < b.numRows; i++) {
        const d = (n: string) => b.getChild(n)!.data[0];
        const ns = (n: string) => (d(n).getValid(i) ? (d(n).values as BigInt64Array)[i] : null);
        got.push([b.getChild('market')!.get(i), b.getChild('symbol')!.get(i), ns('exch_ts'), ns('price'), ns('qty'), ns('recv_ns'), ns('src_seq'), BigInt(b.getChild('src_idx')!.get(i) as number)]);
      }
    }
    expect(got.length).toBeGreaterThan(500);
    expect(got).toEqual(want);
  });

  it('is read by Polars (a reader ticktape does not use) over the whole history dataset', () => {
    const df = pl.scanParquet(path.join(dir, 'history', '*', 'channel=trades', '*.parquet'), { hivePartitioning: true } as never).collectSync();
    expect(String(df.schema.recv_ns)).toBe(String(pl.Datetime('ns', 'Asia/Seoul')));
    expect(String(df.schema.symbol)).toBe(String(pl.String));
    const [[count, volume]] = sqliteRows('SELECT count(*), sum(qty) FROM trades') as [[bigint, bigint]];
    expect(df.height).toBe(Number(count));
    expect(Number(df.getColumn('qty').sum())).toBe(Number(volume));
  });

  it('builds 1-minute bars equal to a direct aggregation of the trades', () => {
    const day = STORE_DAYS[2];
    const trades = sqliteRows('SELECT symbol, COALESCE(exch_ts, recv_ns), price, qty FROM trades WHERE day = ? ORDER BY symbol, exch_ts, recv_ns, src_seq, src_idx', day) as [string, bigint, bigint, bigint][];
    const want = new Map<string, { open: number; high: number; low: number; close: number; volume: number; value: number; trades: number }>();
    for (const [symbol, t, p, q] of trades) {
      const key = `${symbol} ${t / 60_000_000_000n}`;
      const price = Number(p);
      const qty = Number(q);
      const b = want.get(key);
      if (!b) want.set(key, { open: price, high: price, low: price, close: price, volume: qty, value: price * qty, trades: 1 });
      else Object.assign(b, { high: Math.max(b.high, price), low: Math.min(b.low, price), close: price, volume: b.volume + qty, value: b.value + price * qty, trades: b.trades + 1 });
    }
    const df = pl.readParquet(historyFile(dir, day, 'bars_1m'));
    const rows = df.withColumns(pl.col('minute').cast(pl.Int64).cast(pl.String)).toRecords() as Record<string, unknown>[];
    expect(rows.length).toBe(want.size);
    for (const r of rows) {
      const b = want.get(`${r.symbol as string} ${BigInt(r.minute as string) / 60_000_000_000n}`)!;
      expect(b).toBeDefined();
      expect({ open: Number(r.open), high: Number(r.high), low: Number(r.low), close: Number(r.close), volume: Number(r.volume), value: Number(r.value), trades: Number(r.trades) }).toEqual(b);
      expect(r.vwap as number).toBeCloseTo(b.value / b.volume, 6);
    }
  });

  it('compresses the journal, removes the plain one, and reads the archive back record for record', async () => {
    for (const day of STORE_DAYS) {
      const files = dayJournalFiles(dir, day);
      expect(files.map((f) => path.basename(f))).toEqual([`${day}.journal.br`]);
      const m = readManifest(dir, day)!;
      expect(m.journals[0].bytes).toBeLessThan(m.journals[0].rawBytes / 3);
      const back = [];
      for await (const r of readJournalRecords(files[0])) back.push({ seq: r.seq, frame: r.frame, recvNs: r.recvNs, channel: r.channel, bytes: r.bytes.toString('base64') });
      expect(back).toEqual(plainRecords.get(day));
    }
  });

  it('does nothing the second time, and refuses a day that is not sealed', async () => {
    expect((await compactDay(dir, STORE_DAYS[0], log)).compacted).toBe(false);
    await expect(compactDay(dir, '2025-03-04', log)).rejects.toThrow(/2025-03-04 is not sealed/);
  });
});

describe('the compressed journal stays the source of truth', () => {
  it('replays raw frames from the archive (replay --source journal)', async () => {
    const day = STORE_DAYS[0];
    const frames = [];
    for await (const e of replay({ dataDir: dir, day, source: 'journal' })) if (e.type === 'frame') frames.push({ recvNs: e.recvNs, bytes: Buffer.from(e.bytes).toString('base64') });
    expect(frames).toEqual(plainRecords.get(day)!.map((r) => ({ recvNs: r.recvNs, bytes: r.bytes })));
  });

  it('rebuilds a compacted day from its archive, rows as before, the archive kept', async () => {
    const day = STORE_DAYS[1];
    const before = sqliteRows('SELECT count(*), sum(qty), sum(price) FROM trades WHERE day = ?', day);
    const r = await rebuildDay({ dataDir: dir, day, log });
    expect(r.sealed).toBe(true);
    expect(sqliteRows('SELECT count(*), sum(qty), sum(price) FROM trades WHERE day = ?', day)).toEqual(before);
    expect(dayJournalFiles(dir, day).map((f) => path.basename(f))).toEqual([`${day}.journal.br`]);
  });

  it('ticktape compact: compacts a day from the command line and says what it wrote', () => {
    const day = STORE_DAYS[2];
    const r = spawnSync(process.execPath, [path.resolve('bin/ticktape.js'), 'compact', '--day', day, '--data-dir', dir, '--force'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^trades +\d+ rows/m);
    expect(r.stdout).toContain(`compacted ${day}`);
    const bad = spawnSync(process.execPath, [path.resolve('bin/ticktape.js'), 'compact', '--day', '2025-02-30', '--data-dir', dir], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('"2025-02-30" is not a date');
  });
});

describe('inspect reads the compressed journal', () => {
  it('decodes an archived journal as the tape would: its trades are the day\u2019s trades', async () => {
    const day = STORE_DAYS[0];
    const [inv] = await inventory(dir, day);
    expect(inv.journals!.map((j) => j.journal)).toEqual([`${day}.journal`]);
    expect(inv.journals![0].frames).toBe(plainRecords.get(day)!.length);
    expect(inv.journals![0].rows.trades).toBe(readManifest(dir, day)!.channels.find((c) => c.channel === 'trades')!.rows);
  });
});
