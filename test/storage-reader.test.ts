import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DataType } from 'apache-arrow';
import { ArrowSink } from '../storage/arrow-sink.js';
import { TickReader, databasePath, kstTimeNs, type ReadQuery, type SectorFlowRow, type StoredSnapshotRow, type TradeRow } from '../storage/reader.js';
import { compareExchange, compareReceive } from '../storage/reader-query.js';
import type { RowBatch } from '../storage/batch.js';
import { plainTrades, sqliteWithSchema, symbolName, syntheticDay } from './storage-arrow-fixtures.js';

const DAYS = ['2026-11-19', '2026-11-20'];
const log = pino({ level: 'silent' });
let dir: string;
const trades: TradeRow[] = [];
const snapshots: StoredSnapshotRow[] = [];
const flows: SectorFlowRow[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-reader-'));
  const { db, insert } = sqliteWithSchema(databasePath(dir));
  for (const [d, day] of DAYS.entries()) {
    // Small parts, so that ordering across part edges is exercised.
    const sink = ArrowSink.open({ dataDir: dir, day, log, partRows: 1500 });
    for (const b of syntheticDay({ day, batches: d === 0 ? 2 : 12, framesPerBatch: 120, tradesPerFrame: 5, noExchEvery: 37 })) {
      sink.write(b);
      insert(b, day === DAYS[0]); // the first day sealed, the second still live
      if (day === DAYS[1]) collect(b);
    }
    sink.close();
  }
  db.close();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function collect(b: RowBatch): void {
  for (const t of plainTrades(b)) trades.push({ day: b.day, ...t } as TradeRow);
  for (const s of b.snapshots) {
    const { takenNs, kind, market, symbol, price, open, high, low, accVolume, accValue, srcSeq } = s;
    snapshots.push({ day: b.day, takenNs, kind, market, symbol, price, open, high, low, accVolume, accValue, srcSeq });
  }
  for (const f of b.flows) {
    const { exchMs, ...rest } = f;
    flows.push({ ...rest, day: b.day, exchNs: exchMs === 0 ? null : BigInt(exchMs) * 1_000_000n });
  }
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Reads a query from both stores; they must agree. */
async function both<T>(read: (r: TickReader) => AsyncIterable<T>): Promise<T[]> {
  const sqlite = TickReader.open({ dataDir: dir, source: 'sqlite' });
  const arrow = TickReader.open({ dataDir: dir, source: 'arrow' });
  try {
    const [a, b] = await Promise.all([all(read(sqlite)), all(read(arrow))]);
    expect(b).toEqual(a);
    return a;
  } finally {
    sqlite.close();
    arrow.close();
  }
}

const day = DAYS[1];

describe('TickReader', () => {
  it('lists days and channels from SQLite and from Arrow', () => {
    for (const source of ['sqlite', 'arrow'] as const) {
      const r = TickReader.open({ dataDir: dir, source });
      expect(r.days()).toEqual(DAYS);
      expect(r.channels(day).sort()).toEqual(['sector_flows', 'snapshots', 'trades']);
      expect(r.channels('2026-11-21')).toEqual([]);
      r.close();
    }
    expect(TickReader.open({ dataDir: dir }).source).toBe('sqlite');
  });

  it('reads a whole day of trades in receive order, the same from both stores', async () => {
    const got = await both((r) => r.trades({ day }));
    expect(got.length).toBe(trades.length);
    expect(got).toEqual([...trades].sort(compareReceive));
  });

  it('reads a sealed day (trades_sealed behind the trades view) the same as Arrow', async () => {
    const sealed = await both((r) => r.trades({ day: DAYS[0], symbols: [symbolName(5), symbolName(6)] }));
    expect(sealed.length).toBeGreaterThan(10);
    expect(sealed.every((t) => t.day === DAYS[0])).toBe(true);
    expect([...sealed].sort(compareReceive)).toEqual(sealed);
  });

  it('filters by symbols, market and a receive-time window', async () => {
    const symbols = [symbolName(1), symbolName(2), symbolName(4)];
    const q: ReadQuery = { day, symbols, markets: ['kospi'], from: kstTimeNs(day, '09:00:01'), to: kstTimeNs(day, '09:00:03.5') };
    const got = await both((r) => r.trades(q));
    const want = trades.filter((t) => t.market === 'kospi' && symbols.includes(t.symbol) && t.recvNs >= q.from! && t.recvNs < q.to!);
    expect(want.length).toBeGreaterThan(20);
    expect(got).toEqual(want.sort(compareReceive));
  });

  it('orders by exchange time across part edges and windows on it', async () => {
    const q: ReadQuery = { day, time: 'exchange', from: kstTimeNs(day, '09:00:02'), to: kstTimeNs(day, '09:00:04') };
    const got = await both((r) => r.trades(q));
    const key = (t: TradeRow) => t.exchNs ?? t.recvNs;
    const want = trades.filter((t) => key(t) >= q.from! && key(t) < q.to!).sort(compareExchange);
    expect(want.some((t) => t.exchNs === null)).toBe(true);
    expect(got).toEqual(want);
    // The exchange order really differs from the receive order here.
    expect(got).not.toEqual([...want].sort(compareReceive));
    const whole = await both((r) => r.trades({ day, time: 'exchange' }));
    expect(whole).toEqual([...trades].sort(compareExchange));
  });

  it('reads snapshots and sector flows identically from both stores', async () => {
    expect(await both((r) => r.snapshots({ day }))).toEqual(snapshots);
    expect(await both((r) => r.snapshots({ day, symbols: [symbolName(1)], markets: ['kosdaq'] }))).toEqual(snapshots.filter((s) => s.symbol === symbolName(1) && s.market === 'kosdaq'));
    expect(await both((r) => r.sectorFlows({ day }))).toEqual(flows);
    expect(await both((r) => r.sectorFlows({ day, time: 'exchange' }))).toEqual([...flows].sort(compareExchange));
  });

  it('returns Arrow record batches in the files’ schema', async () => {
    for (const source of ['sqlite', 'arrow'] as const) {
      const r = TickReader.open({ dataDir: dir, source });
      const batches = await all(r.tradeBatches({ day, symbols: [symbolName(3)] }, 100));
      r.close();
      const want = trades.filter((t) => t.symbol === symbolName(3)).sort(compareReceive);
      expect(batches.length).toBe(Math.ceil(want.length / 100));
      expect(batches.reduce((n, b) => n + b.numRows, 0)).toBe(want.length);
      const type = batches[0].schema.fields.find((f) => f.name === 'recv_ns')!.type;
      expect(DataType.isTimestamp(type) && type.timezone).toBe('Asia/Seoul');
      const recv = batches.flatMap((b) => [...(b.getChild('recv_ns')!.data[0].values as BigInt64Array)]);
      expect(recv).toEqual(want.map((t) => t.recvNs));
      expect(batches.flatMap((b) => b.getChild('symbol')!.toArray())).toEqual(want.map((t) => t.symbol));
    }
  });

  it('rejects a malformed query with a message naming the field', () => {
    const r = TickReader.open({ dataDir: dir, source: 'arrow' });
    expect(() => r.tradeChunks({ day: '20261120' })).toThrow(/day must be YYYY-MM-DD/);
    expect(() => kstTimeNs(day, '9h')).toThrow(/HH:MM/);
    r.close();
  });
});
