// Multi-day reads over a store whose days sit in different tiers — the first only in the Parquet
// history, the second in SQLite (its Arrow parts gone), the third in SQLite and Arrow — with a
// holiday between the second and third and a weekend between the first and second: the reader
// API and the replay (events and batches) return every row once, in order, each day from its tier.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay, replayBatches, type ReplayEvent } from '../replay/index.js';
import { dayDir } from '../storage/arrow-format.js';
import { compactDay } from '../storage/compact.js';
import { TickReader, type TradeRow } from '../storage/reader.js';
import { compareReceive } from '../storage/reader-query.js';
import { SqliteSink } from '../storage/sqlite-sink.js';
import { STORE_DAYS, writeStore } from './history-store.js';

const log = pino({ level: 'silent' });
let dir: string;
/** Every day's trades as SQLite gave them before any tier was dropped, receive and exchange order. */
let byReceive: TradeRow[];
let byExchange: TradeRow[];
let flows: number;
let snapshots: number;

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-range-'));
  await writeStore(dir);
  const r = TickReader.open({ dataDir: dir, source: 'sqlite' });
  byReceive = [];
  byExchange = [];
  flows = 0;
  snapshots = 0;
  for (const day of STORE_DAYS) {
    byReceive.push(...(await all(r.trades({ day }))));
    byExchange.push(...(await all(r.trades({ day, time: 'exchange' }))));
    flows += (await all(r.sectorFlows({ day }))).length;
    snapshots += (await all(r.snapshots({ day }))).length;
  }
  r.close();
  for (const day of STORE_DAYS.slice(0, 2)) await compactDay(dir, day, log);
  // Day 1: history only. Day 2: SQLite only (its Arrow parts removed).
  const sink = SqliteSink.open({ dataDir: dir, log, walCheckpointMs: 0 });
  sink.deleteDay(STORE_DAYS[0], []);
  await sink.close();
  for (const day of STORE_DAYS.slice(0, 2)) fs.rmSync(dayDir(dir, day), { recursive: true, force: true });
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('range reads across tiers', () => {
  it('reads each day from the best tier that holds it', () => {
    const r = TickReader.open({ dataDir: dir });
    try {
      expect(r.days()).toEqual([...STORE_DAYS]);
      expect(STORE_DAYS.map((d) => r.sourceOf(d))).toEqual(['parquet', 'sqlite', 'sqlite']);
      expect(r.sourceOf('2025-03-04')).toBeUndefined();
    } finally {
      r.close();
    }
  });

  it('returns every trade once, in receive order and in exchange order, across the days', async () => {
    const r = TickReader.open({ dataDir: dir });
    try {
      expect(byReceive.length).toBeGreaterThan(2000);
      expect(await all(r.trades({ fromDay: STORE_DAYS[0], toDay: STORE_DAYS[2] }))).toEqual(byReceive);
      expect(await all(r.trades({ time: 'exchange' }))).toEqual(byExchange);
      expect((await all(r.sectorFlows({}))).length).toBe(flows);
      expect((await all(r.snapshots({}))).length).toBe(snapshots);
    } finally {
      r.close();
    }
  });

  it('bounds a range by instants that cross days, and filters symbols in every tier', async () => {
    const from = byReceive.find((t) => t.day === STORE_DAYS[0])!.recvNs + 60_000_000_000n;
    const to = byReceive.find((t) => t.day === STORE_DAYS[1])!.recvNs + 60_000_000_000n;
    const symbol = byReceive[0].symbol;
    const want = byReceive.filter((t) => t.recvNs >= from && t.recvNs < to && t.symbol === symbol);
    const r = TickReader.open({ dataDir: dir });
    try {
      const got = await all(r.trades({ from, to, symbols: [symbol] }));
      expect(got.length).toBeGreaterThan(0);
      expect(got).toEqual(want);
    } finally {
      r.close();
    }
  });

  it('rejects a malformed day in a range', () => {
    const r = TickReader.open({ dataDir: dir });
    try {
      expect(() => r.trades({ fromDay: '2025-3-1' })).toThrow(/YYYY-MM-DD/);
    } finally {
      r.close();
    }
  });
});

describe('range replay', () => {
  it('replays every event of the days once, in order, with session boundaries', async () => {
    const events = await all(replay({ dataDir: dir, fromDay: STORE_DAYS[0], toDay: STORE_DAYS[2], channels: ['trades'], sessionEvents: true }));
    const sessions = events.filter((e) => e.type === 'session');
    expect(sessions.map((e) => `${e.day} ${(e as { boundary: string }).boundary}`)).toEqual(STORE_DAYS.flatMap((d) => [`${d} start`, `${d} end`]));
    const trades = events.filter((e): e is Extract<ReplayEvent, { type: 'trade' }> => e.type === 'trade');
    // In receive order; frames of the two markets can share (recv_ns, src_seq, src_idx), and those
    // ties may come in either order from different tiers.
    for (let i = 1; i < trades.length; i++) expect(compareReceive(trades[i - 1], trades[i])).toBeLessThanOrEqual(0);
    const key = (t: TradeRow) => `${t.day} ${t.recvNs} ${t.srcSeq} ${t.srcIdx} ${t.market} ${t.symbol} ${t.price} ${t.qty}`;
    expect(trades.map(key).sort()).toEqual(byReceive.map(key).sort());
    // Each session boundary sits between its day's events.
    expect(events[0].type).toBe('session');
    expect(events[events.length - 1].type).toBe('session');
  });

  it('at recorded timing skips the weekend and the holiday instead of sleeping through them', async () => {
    // 10 s of Friday, all of Monday's 4 minutes and 10 s of Wednesday at 200×: ~1.3 s of wall
    // time; waiting out the 5 days between would take ~36 minutes.
    const rp = replay({ dataDir: dir, fromDay: STORE_DAYS[0], toDay: STORE_DAYS[2], from: '09:03:50', to: '09:00:10', speed: 200, channels: ['trades'] });
    const days = new Set<string>();
    for await (const e of rp) if (e.type === 'trade') days.add(e.day);
    expect([...days]).toEqual([...STORE_DAYS]);
    expect(rp.progress().gapsSkipped).toBe(2);
    expect(rp.progress().day).toBe(STORE_DAYS[2]);
  }, 60_000);

  it('replayBatches covers the range, each day in order', async () => {
    let rows = 0;
    let lastDay = '';
    for await (const b of replayBatches({ dataDir: dir, fromDay: STORE_DAYS[0], channels: ['trades'], batchRows: 500 })) {
      expect(b.day >= lastDay).toBe(true);
      lastDay = b.day;
      rows += b.batch.numRows;
    }
    expect(rows).toBe(byReceive.length);
  });

  it('ticktape replay stats over a range names the days and the skipped gaps', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [path.resolve('bin/ticktape.js'), 'replay', 'stats', '--data-dir', dir, '--from-day', STORE_DAYS[0], '--to-day', STORE_DAYS[2], '--channels', 'trades'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`days ${STORE_DAYS.join(', ')}`);
    expect(r.stdout).toContain(`events       ${byReceive.length.toLocaleString('en-US')}`);
    const both = spawnSync(process.execPath, [path.resolve('bin/ticktape.js'), 'replay', 'print', '--data-dir', dir, '--day', STORE_DAYS[0], '--to-day', STORE_DAYS[2]], { encoding: 'utf8' });
    expect(both.status).not.toBe(0);
    expect(both.stderr).toContain('give --day or --from-day/--to-day, not both');
  });
});

describe('ticktape inspect shows the tiers', () => {
  it('per day: which tiers hold it, their bytes, its condition; a history-only day and a missing day too', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [path.resolve('bin/ticktape.js'), 'inspect', '--data-dir', dir, '--no-journal'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`day ${STORE_DAYS[0]}\\n  tiers +Parquet history [\\d.]+ KiB, journal [\\d.]+ [KM]iB \\(compressed\\)\\n  condition +complete`));
    expect(r.stdout).toMatch(new RegExp(`day ${STORE_DAYS[1]}\\n  tiers +SQLite \\([\\d,]+ trades\\), Parquet history [\\d.]+ KiB, journal [\\d.]+ [KM]iB \\(compressed\\)`));
    expect(r.stdout).toMatch(new RegExp(`day ${STORE_DAYS[2]}\\n  tiers +SQLite \\([\\d,]+ trades\\), Arrow [\\d.]+ KiB, journal [\\d.]+ [KM]iB\\n`));
    expect(r.stdout).toMatch(/day 2025-03-04\n {2}tiers +none\n {2}condition +missing/);
    const json = JSON.parse(spawnSync(process.execPath, [path.resolve('bin/ticktape.js'), 'inspect', '--data-dir', dir, '--no-journal', '--json'], { encoding: 'utf8' }).stdout) as { tiers: { day: string; condition: string }[] };
    expect(json.tiers.map((t) => `${t.day} ${t.condition}`)).toEqual([`${STORE_DAYS[0]} complete`, `${STORE_DAYS[1]} complete`, '2025-03-04 missing', `${STORE_DAYS[2]} complete`]);
  });
});

describe('ticktape report --overview', () => {
  it('lists every day with its condition, trades and volume (equal to the trades read back), the missing day too', async () => {
    const { spawnSync } = await import('node:child_process');
    const out = path.join(dir, 'overview.html');
    const r = spawnSync(process.execPath, [path.resolve('bin/ticktape.js'), 'report', '--overview', '--data-dir', dir, '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/overview of 4 days: .*overview\.html \(1 not complete\)/);
    const html = fs.readFileSync(out, 'utf8');
    const volume = new Map<string, number>();
    const reader = TickReader.open({ dataDir: dir });
    try {
      for (const t of await all(reader.trades({ fromDay: STORE_DAYS[0], toDay: STORE_DAYS[2] }))) volume.set(t.day, (volume.get(t.day) ?? 0) + t.qty);
    } finally {
      reader.close();
    }
    for (const day of STORE_DAYS) {
      const row = new RegExp(`<tr data-condition="complete"><td>${day}</td><td>.*?complete</td><td class="num">[\\d,]+</td><td class="num">${volume.get(day)!.toLocaleString('en-US')}</td>`);
      expect(html, day).toMatch(row);
    }
    expect(html).toMatch(/<tr data-condition="missing"><td>2025-03-04<\/td>/);
    expect(html).toContain('Noto Sans KR');
    // Bars in day order, coloured by condition.
    expect([...html.matchAll(/<rect data-day="([\d-]+)" data-condition="(\w+)"/g)].map((m) => `${m[1]} ${m[2]}`)).toEqual([`${STORE_DAYS[0]} complete`, `${STORE_DAYS[1]} complete`, '2025-03-04 missing', `${STORE_DAYS[2]} complete`]);
    const none = spawnSync(process.execPath, [path.resolve('bin/ticktape.js'), 'report', '--overview', '--data-dir', dir, '--from-day', '2030-01-01', '--out', out], { encoding: 'utf8' });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no days in .* from 2030-01-01 to the last/);
  });
});

describe('the journal tier', () => {
  it('reads a day held only as a journal by decoding it, and the range replay still covers every day', async () => {
    const day = STORE_DAYS[2];
    const sink = SqliteSink.open({ dataDir: dir, log, walCheckpointMs: 0 });
    sink.deleteDay(day, []);
    await sink.close();
    fs.rmSync(dayDir(dir, day), { recursive: true, force: true });
    const r = TickReader.open({ dataDir: dir });
    try {
      expect(r.sourceOf(day)).toBe('journal');
      const key = (t: TradeRow) => `${t.recvNs} ${t.srcSeq} ${t.srcIdx} ${t.market} ${t.symbol} ${t.exchNs} ${t.price} ${t.qty}`;
      const got = await all(r.trades({ day }));
      for (let i = 1; i < got.length; i++) expect(compareReceive(got[i - 1], got[i])).toBeLessThanOrEqual(0);
      expect(got.map(key).sort()).toEqual(byReceive.filter((t) => t.day === day).map(key).sort());
      await expect(r.trades({ day, time: 'exchange' }).next()).rejects.toThrow(/held only as a journal.*ticktape rebuild --day/);
    } finally {
      r.close();
    }
    const events = await all(replay({ dataDir: dir, fromDay: STORE_DAYS[0], channels: ['trades'] }));
    expect(events.length).toBe(byReceive.length);
  });
});
