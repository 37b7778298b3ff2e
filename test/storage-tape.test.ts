// The tape end to end on real files: frames in, rows out of SQLite, identical to what was sent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeTradeFrame, type WireTrade } from '../protocol/koscom.js';
import { encodeOhlcLists, encodeQuoteLists, encodeStockList } from '../protocol/koscom-rest.js';
import { encodeSectorFlowPush } from '../protocol/ls.js';
import type { SectorFlow } from '../protocol/market.js';
import { kstMidnight } from '../protocol/time.js';
import { readJournal } from '../storage/journal.js';
import { rebuildDay } from '../followers/rebuild.js';
import { databaseFile } from '../storage/sqlite-sink.js';
import { Tape } from '../followers/tape.js';

const DAY = '2026-11-20';
const log = pino({ level: 'silent' });
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-tape-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

interface ExpectedTrade {
  market: string;
  symbol: string;
  exch_ts: bigint | null;
  price: number;
  qty: number;
  recv_ns: bigint;
  src_seq: number;
  src_idx: number;
}

function tradeFrames(n: number, seed: number): WireTrade[][] {
  let r = seed;
  const rand = (k: number) => {
    r = (Math.imul(r, 1103515245) + 12345) >>> 0;
    return r % k;
  };
  const frames: WireTrade[][] = [];
  for (let f = 0; f < n; f++) {
    const trades: WireTrade[] = [];
    const count = 1 + rand(50);
    for (let i = 0; i < count; i++) {
      trades.push({ symbol: String(100000 + rand(300) * 7), price: 1000 + rand(900_000), qty: 1 + rand(5000), msOfDay: rand(20) === 0 ? -1 : 9 * 3_600_000 + f * 100 + i * 10 });
    }
    frames.push(trades);
  }
  return frames;
}

function openDb(): Database.Database {
  const db = new Database(databaseFile(dir), { readonly: true });
  db.defaultSafeIntegers(true);
  return db;
}

describe('tape → SQLite', () => {
  it('stores a day of trades, flows, symbols and snapshots exactly as sent, and a reopen adds nothing', async () => {
    const tape = await Tape.open({ dataDir: dir, day: DAY, batchRows: 700, log, arrow: false });
    const kospi = tape.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
    const kosdaq = tape.channel({ name: 'koscom.trades.kosdaq', vendor: 'koscom', endpoint: '/ws_kdq', kind: 'trades', market: 'kosdaq' });
    const ls = tape.channel({ name: 'ls.ws', vendor: 'ls', endpoint: '/websocket', kind: 'ls.ws' });
    const list = tape.channel({ name: 'koscom.stock-list.kospi', vendor: 'koscom', endpoint: '/v2/market/stocks/kospi/lists', kind: 'stock-list', market: 'kospi' });
    const mqL = tape.channel({ name: 'koscom.lists.kospi.seed', vendor: 'koscom', endpoint: 'x', kind: 'multiquote-lists', market: 'kospi', snapshotKind: 'seed' });
    const mqO = tape.channel({ name: 'koscom.ohlclists.kospi.seed', vendor: 'koscom', endpoint: 'y', kind: 'multiquote-ohlclists', market: 'kospi', snapshotKind: 'seed' });
    expect(tape.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' })).toBe(kospi);

    const mid = kstMidnight(DAY);
    const expected: ExpectedTrade[] = [];
    let seq = 0;
    let recv = BigInt(mid + 8 * 3_600_000) * 1_000_000n;
    tape.append(list, encodeStockList({ day: DAY, mktEndTm: '1540', listings: [{ market: 'kospi', symbol: '005930', isin: 'KR7005930003', name: '삼성전자', abbr: '삼성전자' }] }), (recv += 1000n));
    seq++;
    tape.append(mqL, encodeQuoteLists({ day: DAY, takenMs: mid + 8 * 3_600_000, rows: [{ symbol: '005930', price: 70000, accVolume: 0, accValue: 0 }, { symbol: '000660', price: 150000, accVolume: 5, accValue: 750000 }] }), (recv += 1000n));
    seq++;
    const snapRecv = (recv += 1000n);
    tape.append(mqO, encodeOhlcLists({ day: DAY, takenMs: mid + 8 * 3_600_000, rows: [{ symbol: '000660', open: 149000, high: 151000, low: 148000, price: 150000 }] }), snapRecv);
    seq++;
    const flows: SectorFlow[] = [];
    // src_seq numbers the frames of each channel (one trades channel per market).
    const framesOn = { kospi: 0, kosdaq: 0 };
    for (const [f, trades] of tradeFrames(400, 7).entries()) {
      const market = f % 3 === 0 ? 'kosdaq' : 'kospi';
      recv += 1_000_003n;
      tape.append(market === 'kospi' ? kospi : kosdaq, encodeTradeFrame(trades), recv);
      const frame = framesOn[market]++;
      trades.forEach((t, i) => expected.push({ market, symbol: t.symbol, exch_ts: t.msOfDay < 0 ? null : BigInt(mid + t.msOfDay) * 1_000_000n, price: t.price, qty: t.qty, recv_ns: recv, src_seq: frame, src_idx: i }));
      seq++;
      if (f % 50 === 0) {
        const flow: SectorFlow = { upcode: '001', tjjcode: '0008', tjjtime: '09153012', msvolume: f, mdvolume: 2 * f, msvol: -(f + 1), p_msvol: 3, msvalue: 2 ** 40, mdvalue: 7, msval: -(2 ** 35), p_msval: 0 };
        flows.push(flow);
        tape.append(ls, encodeSectorFlowPush(flow), (recv += 1n));
        seq++;
      }
    }
    // A session signal element stays out of trades and lands in signals.
    tape.append(kospi, '[{"isuSrtCd":"005930","trdPrc":"0","trdVol":"0","trdTm":"31000000"}]', (recv += 1n));
    await tape.flush();
    const stats = tape.stats();
    expect(stats.find((s) => s.name === 'koscom.trades.kospi')!.quarantined).toBe(0);
    expect(stats.reduce((n, s) => n + s.frames, 0)).toBe(seq + 1);
    const volume = tape.streamedVolume('kosdaq');
    expect(volume.sum.get(expected.find((t) => t.market === 'kosdaq')!.symbol)).toBe(expected.filter((t) => t.market === 'kosdaq' && t.symbol === expected.find((e) => e.market === 'kosdaq')!.symbol).reduce((n, t) => n + t.qty, 0));
    await tape.close();

    const check = () => {
      const db = openDb();
      const rows = db.prepare('SELECT market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx FROM trades WHERE day = ? ORDER BY recv_ns, src_idx').all(DAY) as Record<string, unknown>[];
      expect(rows.length).toBe(expected.length);
      const norm = rows.map((r) => ({ ...r, price: Number(r.price), qty: Number(r.qty), src_seq: Number(r.src_seq), src_idx: Number(r.src_idx) }));
      expect(norm).toEqual(expected);
      const f = db.prepare('SELECT upcode, tjjcode, tjjtime, msvolume, mdvolume, msvol, p_msvol, msvalue, mdvalue, msval, p_msval, exch_ts FROM sector_flows ORDER BY src_seq').all() as Record<string, unknown>[];
      const asNumbers = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
      expect(f.map(({ exch_ts: _, ...r }) => asNumbers(r))).toEqual(flows);
      expect(f[0].exch_ts).toBe(BigInt(mid + ((9 * 60 + 15) * 60 + 30) * 1000 + 120) * 1_000_000n);
      expect(db.prepare('SELECT market, symbol, isin, name, abbr FROM symbols').all()).toEqual([{ market: 'kospi', symbol: '005930', isin: 'KR7005930003', name: '삼성전자', abbr: '삼성전자' }]);
      const snaps = db.prepare('SELECT taken_ns, kind, market, symbol, price, open, high, low, acc_volume, acc_value FROM snapshots ORDER BY symbol').all() as Record<string, unknown>[];
      expect(snaps).toEqual([
        { taken_ns: snapRecv, kind: 'seed', market: 'kospi', symbol: '000660', price: 150000n, open: 149000n, high: 151000n, low: 148000n, acc_volume: 5n, acc_value: 750000n },
        { taken_ns: snapRecv, kind: 'seed', market: 'kospi', symbol: '005930', price: 70000n, open: 0n, high: 0n, low: 0n, acc_volume: 0n, acc_value: 0n },
      ]);
      expect(db.prepare('SELECT market, symbol, code FROM signals').all()).toEqual([{ market: 'kospi', symbol: '005930', code: 31000000n }]);
      expect(db.prepare('SELECT count(*) FROM quarantine').pluck().get()).toBe(0n);
      db.close();
    };
    check();
    // Reopening replays nothing (checkpoint at the end) and still pairs later snapshot halves.
    const again = await Tape.open({ dataDir: dir, day: DAY, log, arrow: false });
    await again.sealDay();
    await again.close();
    check();
    const db = openDb();
    expect(db.prepare('SELECT count(*) FROM trades_live').pluck().get()).toBe(0n);
    expect(db.prepare('EXPLAIN QUERY PLAN SELECT * FROM trades WHERE day = ? AND symbol = ? ORDER BY exch_ts').all(DAY, '100007').map((r) => (r as { detail: string }).detail).join(' ')).toContain('trades_sealed_symbol');
    db.close();
    expect([...readJournal(path.join(dir, 'journal', `${DAY}.journal`))].length).toBe(seq + 1);

    // A rebuild from the journal gives the same rows, and the day stays sealed.
    const rebuilt = await rebuildDay({ dataDir: dir, day: DAY, log });
    expect(rebuilt.sealed).toBe(true);
    expect(rebuilt.rows.trades_sealed).toBe(expected.length);
    expect(rebuilt.rows.trades_live).toBe(0);
    check();
  });

  it('pairs a snapshot whose halves straddle a reopen', async () => {
    const mid = kstMidnight(DAY);
    const spec = (kind: 'multiquote-lists' | 'multiquote-ohlclists') => ({ name: `koscom.${kind}.kosdaq`, vendor: 'koscom' as const, endpoint: kind, kind, market: 'kosdaq' as const, snapshotKind: 'close' as const });
    const a = await Tape.open({ dataDir: dir, day: DAY, log, arrow: false });
    a.append(a.channel(spec('multiquote-lists')), encodeQuoteLists({ day: DAY, takenMs: mid + 15 * 3_600_000, rows: [{ symbol: '035720', price: 40000, accVolume: 10, accValue: 400000 }] }), 1n);
    await a.close();
    const b = await Tape.open({ dataDir: dir, day: DAY, log, arrow: false });
    b.append(b.channel(spec('multiquote-ohlclists')), encodeOhlcLists({ day: DAY, takenMs: mid + 15 * 3_600_000, rows: [{ symbol: '035720', open: 1, high: 2, low: 1, price: 40000 }] }), 2n);
    await b.close();
    const db = openDb();
    expect(db.prepare('SELECT symbol, kind, open, acc_volume, taken_ns FROM snapshots').all()).toEqual([{ symbol: '035720', kind: 'close', open: 1n, acc_volume: 10n, taken_ns: 2n }]);
    db.close();
  });
});
