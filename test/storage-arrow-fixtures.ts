// A deterministic synthetic trading day as the tape would hand it to the sinks: batches of
// decoded rows with the journal range each covers (frames of FRAME_BYTES bytes).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { kstMidnight } from '../protocol/time.js';
import { TRADE_KINDS, TradeColumns, type FlowRecord, type RowBatch, type SnapshotRecord } from '../storage/batch.js';

export const FRAME_BYTES = 100;
export const JOURNAL_FILE = 'journal-fixture.ttj';

export interface DayOptions {
  day: string;
  batches: number;
  framesPerBatch: number;
  tradesPerFrame: number;
  symbols?: number;
  /** Every Nth trade has no exchange time (0). */
  noExchEvery?: number;
  /** First journal seq (resume tests start mid-journal). */
  fromSeq?: number;
}

export function symbolName(i: number): string {
  return String(5930 + i * 7).padStart(6, '0');
}

/** Batches of one synthetic day. Trades are in receive order; exch time trails receive time by 0–40 ms. */
export function* syntheticDay(o: DayOptions): Generator<RowBatch> {
  const symbols = o.symbols ?? 50;
  const open = kstMidnight(o.day) + 9 * 3_600_000;
  let rng = 12345;
  const rand = (n: number) => {
    rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
    return rng % n;
  };
  let seq = o.fromSeq ?? 0;
  let k = 0;
  for (let b = 0; b < o.batches; b++) {
    // A fresh column set per batch so tests may keep batches (the tape reuses one; the sinks copy).
    const cols = new TradeColumns(o.framesPerBatch * o.tradesPerFrame);
    const flows: FlowRecord[] = [];
    const snapshots: SnapshotRecord[] = [];
    const fromSeq = seq;
    for (let f = 0; f < o.framesPerBatch; f++, seq++) {
      const recvMs = open + seq * 3;
      const recvNs = BigInt(recvMs) * 1_000_000n + BigInt(seq % 1000);
      if (seq % 97 === 5) {
        flows.push({ upcode: '001', tjjcode: String(seq % 17).padStart(4, '0'), tjjtime: '09000000', msvolume: seq * 10, mdvolume: seq * 9, msvol: -seq, p_msvol: -3, msvalue: 5_000_000_000 + seq, mdvalue: 4_999_999_999, msval: 2 ** 40 + seq, p_msval: 7, recvNs, exchMs: seq % 2 ? recvMs - 5 : 0, srcSeq: seq });
        continue;
      }
      if (seq % 211 === 7) {
        for (let s = 0; s < 3; s++) {
          snapshots.push({ market: s % 2 ? 'kosdaq' : 'kospi', symbol: symbolName(s), price: 70_000 + s, open: 69_000, high: 71_000, low: 68_500, accVolume: 1_000_000 * s + seq, accValue: 9_007_199_254_740_000 + s, takenNs: recvNs, kind: 'periodic', srcSeq: seq });
        }
        continue;
      }
      for (let i = 0; i < o.tradesPerFrame; i++, k++) {
        const sym = rand(symbols);
        const exch = o.noExchEvery && k % o.noExchEvery === 0 ? 0 : recvMs - rand(40);
        cols.push(sym % 3 === 0 ? 1 : 0, symbolName(sym), exch, 1000 + rand(100_000), 1 + rand(5000), recvNs, seq, i);
      }
    }
    yield {
      day: o.day,
      trades: cols,
      flows,
      snapshots,
      listings: [],
      signals: [],
      quarantine: [],
      journal: { file: JOURNAL_FILE, fromOffset: fromSeq * FRAME_BYTES, toOffset: seq * FRAME_BYTES, fromSeq, toSeq: seq },
    };
  }
}

/** Plain trade rows of a batch. */
export interface PlainTrade {
  market: string;
  symbol: string;
  exchNs: bigint | null;
  price: number;
  qty: number;
  recvNs: bigint;
  srcSeq: number;
  srcIdx: number;
  trdVol: number;
  kind: string;
}

export function plainTrades(b: RowBatch): PlainTrade[] {
  const t = b.trades;
  const out: PlainTrade[] = [];
  for (let i = 0; i < t.length; i++) {
    out.push({
      market: t.market[i] === 0 ? 'kospi' : 'kosdaq',
      symbol: t.symbol[i],
      exchNs: t.exchMs[i] === 0 ? null : BigInt(t.exchMs[i]) * 1_000_000n,
      price: t.price[i],
      qty: t.qty[i],
      recvNs: t.recvNs[i],
      srcSeq: t.srcSeq[i],
      srcIdx: t.srcIdx[i],
      trdVol: t.trdVol[i],
      kind: TRADE_KINDS[t.kind[i]],
    });
  }
  return out;
}

/**
 * A SQLite file with the migrations applied (as `ticktape migrate` would) and a batch inserter:
 * trades go to `trades_live` (a day being captured) or `trades_sealed` (a day closed), both
 * behind the `trades` view.
 */
export function sqliteWithSchema(file: string): { db: Database.Database; insert: (b: RowBatch, sealed?: boolean) => void } {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const dir = fileURLToPath(new URL('../migrations/', import.meta.url));
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.sql')).sort()) db.exec(fs.readFileSync(path.join(dir, f), 'utf8'));
  const trade = (sealed: boolean) => (sealed ? sealedTrade : liveTrade);
  const sealedTrade = db.prepare('INSERT INTO trades_sealed (day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const liveTrade = db.prepare('INSERT INTO trades_live (day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const snap = db.prepare('INSERT INTO snapshots (day, taken_ns, kind, market, symbol, price, open, high, low, acc_volume, acc_value, src_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const flow = db.prepare(
    'INSERT INTO sector_flows (day, recv_ns, exch_ts, upcode, tjjcode, tjjtime, msvolume, mdvolume, msvol, p_msvol, msvalue, mdvalue, msval, p_msval, src_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insert = db.transaction((b: RowBatch, sealed = false) => {
    const t = b.trades;
    const stmt = trade(sealed);
    for (let i = 0; i < t.length; i++) {
      stmt.run(b.day, t.market[i] === 0 ? 'kospi' : 'kosdaq', t.symbol[i], t.exchMs[i] === 0 ? null : BigInt(t.exchMs[i]) * 1_000_000n, t.price[i], t.qty[i], t.recvNs[i], t.srcSeq[i], t.srcIdx[i]);
    }
    for (const s of b.snapshots) snap.run(b.day, s.takenNs, s.kind, s.market, s.symbol, s.price, s.open, s.high, s.low, s.accVolume, s.accValue, s.srcSeq);
    for (const f of b.flows) {
      flow.run(b.day, f.recvNs, f.exchMs === 0 ? null : BigInt(f.exchMs) * 1_000_000n, f.upcode, f.tjjcode, f.tjjtime, f.msvolume, f.mdvolume, f.msvol, f.p_msvol, f.msvalue, f.mdvalue, f.msval, f.p_msval, f.srcSeq);
    }
  });
  return { db, insert };
}
