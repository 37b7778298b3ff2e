// A deterministic trading day written through the real storage sinks (SQLite and Arrow) and the
// journal, for the export, foreign-reader, cookbook, report and scale-out tests: 09:00 to
// 09:00+minutes KST, a trade frame every 50 ms (1–3 trades), BM_ pushes every 5 s for two sectors
// and three investor groups, seed / periodic / closing snapshots whose cumulative volume is the
// streamed volume (less a few missed trades), connection events, a session row, quarantined frames.
import pino from 'pino';
import { ArrowSink } from '../storage/arrow-sink.js';
import { TradeColumns, MARKET_CODE, type FlowRecord, type QuarantineRecord, type RowBatch, type SnapshotRecord } from '../storage/batch.js';
import { FLAG, Journal, journalPath } from '../storage/journal.js';
import { SqliteSink } from '../storage/sqlite-sink.js';
import { formatHhmmsscc, kstMidnight, kstMsOfDay } from '../protocol/time.js';
import type { Market } from '../protocol/market.js';
import { Random } from '../sim/random.js';

export const DAY = '2025-03-14';
export const SYMBOLS: Readonly<Record<Market, readonly string[]>> = {
  kospi: ['005930', '000660', '035420', '051910', '005380', '068270'],
  kosdaq: ['247540', '086520', '196170', '028300'],
};
export const UPCODES = ['001', '301'];
export const INVESTORS = ['0008', '0017', '0018'];

export interface DayOptions {
  dataDir: string;
  collectorId?: string;
  markets?: readonly Market[];
  /** Minutes of trading from 09:00 (default 20). */
  minutes?: number;
  seed?: number;
  /** Write SQLite too (default true). */
  sqlite?: boolean;
  /** A KOSDAQ symbol (LATE_SYMBOL) that trades only from the second batch on, as thin stocks do. */
  lateSymbol?: boolean;
}

export const LATE_SYMBOL = '950210';

export interface DayTotals {
  trades: number;
  volume: number;
  snapshots: number;
  flows: number;
  quarantined: number;
}


const FRAME_MS = 50;
const FRAMES_PER_BATCH = 2000;

export async function writeDay(o: DayOptions): Promise<DayTotals> {
  const log = pino({ level: 'silent' });
  const markets = o.markets ?? (['kospi', 'kosdaq'] as const);
  const minutes = o.minutes ?? 20;
  const random = new Random(o.seed ?? 20250314);
  const rnd = () => random.next();
  const open = kstMidnight(DAY) + 9 * 3_600_000;
  const journal = Journal.open(journalPath(o.dataDir, DAY, o.collectorId), { log, fsync: 'off' });
  const streams = markets.map((m) => journal.channel({ name: `koscom.trades.${m}`, vendor: 'koscom', endpoint: m === 'kospi' ? '/ws_ksp' : '/ws_kdq', kind: 'trades', market: m }));
  const arrow = ArrowSink.open({ dataDir: o.dataDir, day: DAY, collectorId: o.collectorId, log, partRows: 30_000 });
  const sqlite = o.sqlite === false ? null : SqliteSink.open({ dataDir: o.dataDir, log, walCheckpointMs: 0 });
  const journalFile = journalPath(o.dataDir, DAY, o.collectorId).split('/').pop()!;
  const prices = new Map<string, number>();
  for (const m of markets) for (const s of SYMBOLS[m]) prices.set(s, 10_000 + Math.floor(rnd() * 900) * 100);
  prices.set(LATE_SYMBOL, 25_000);
  const volume = new Map<string, number>();
  const totals: DayTotals = { trades: 0, volume: 0, snapshots: 0, flows: 0, quarantined: 0 };
  const flowState = new Map<string, { ms: number; md: number; msv: number; mdv: number }>();
  let seq = 0;
  let offset = 0;

  const event = (at: number, stream: number, e: object) => journal.append(stream, FLAG.event, JSON.stringify(e), BigInt(at) * 1_000_000n);
  const snapshot = (at: number, kind: 'seed' | 'periodic' | 'close', out: SnapshotRecord[]) => {
    const srcSeq = seq++;
    for (const m of markets) {
      for (const symbol of SYMBOLS[m]) {
        const price = prices.get(symbol)!;
        // A few streamed trades "missed" by the REST side of the story: reconciliation shows a gap.
        const acc = volume.get(symbol) ?? 0;
        out.push({ market: m, symbol, price, open: price, high: price + 100, low: price - 100, accVolume: symbol === '000660' && kind !== 'seed' ? acc + 37 : acc, accValue: acc * price, takenNs: BigInt(at) * 1_000_000n, kind, srcSeq });
        totals.snapshots++;
      }
    }
  };
  for (const [i, s] of streams.entries()) event(open - 60_000 + i, s, { stream: `koscom.trades.${markets[i]}`, type: 'connected', url: 'ws://127.0.0.1' });

  const frames = (minutes * 60_000) / FRAME_MS;
  let batchNo = 0;
  for (let f0 = 0; f0 < frames || batchNo === 0; f0 += FRAMES_PER_BATCH, batchNo++) {
    const trades = new TradeColumns(FRAMES_PER_BATCH * 3);
    const flows: FlowRecord[] = [];
    const snapshots: SnapshotRecord[] = [];
    const quarantine: QuarantineRecord[] = [];
    const fromSeq = seq;
    const fromOffset = offset;
    if (batchNo === 0) snapshot(open - 600_000, 'seed', snapshots);
    for (let f = f0; f < Math.min(frames, f0 + FRAMES_PER_BATCH); f++) {
      const at = open + f * FRAME_MS;
      const recvNs = BigInt(at) * 1_000_000n + BigInt(f % 997);
      if (f % 100 === 0) {
        for (const upcode of UPCODES) {
          for (const tjjcode of INVESTORS) {
            const k = upcode + tjjcode;
            const st = flowState.get(k) ?? { ms: 0, md: 0, msv: 0, mdv: 0 };
            const b = Math.floor(rnd() * 5000);
            const s = Math.floor(rnd() * 5000);
            st.ms += b;
            st.md += s;
            st.msv += b * 30;
            st.mdv += s * 30;
            flowState.set(k, st);
            const exchMs = at - 120;
            flows.push({ upcode, tjjcode, tjjtime: formatHhmmsscc(kstMsOfDay(exchMs)), msvolume: st.ms, mdvolume: st.md, msvol: st.ms - st.md, p_msvol: 0, msvalue: st.msv, mdvalue: st.mdv, msval: st.msv - st.mdv, p_msval: 0, recvNs, exchMs: Math.floor(exchMs / 10) * 10, srcSeq: seq++ });
            totals.flows++;
          }
        }
      }
      if (f % 1500 === 777) {
        quarantine.push({ recvNs, source: `koscom.trades.${markets[0]}`, raw: '[{"isuSrtCd":"005930","trdPrc":"x"}]', reason: 'trdPrc: not an integer', srcSeq: seq++ });
        totals.quarantined++;
        continue;
      }
      const market = markets[f % markets.length];
      const symbols = o.lateSymbol && batchNo > 0 && market === 'kosdaq' ? [...SYMBOLS.kosdaq, LATE_SYMBOL] : SYMBOLS[market];
      const srcSeq = seq++;
      const n = 1 + Math.floor(rnd() * 3);
      for (let i = 0; i < n; i++) {
        const symbol = symbols[Math.floor(rnd() * symbols.length)];
        const price = Math.max(1000, prices.get(symbol)! + (Math.floor(rnd() * 5) - 2) * 10 * (1 + (symbol.charCodeAt(5) % 3)));
        prices.set(symbol, price);
        const qty = 1 + Math.floor(rnd() * 300);
        volume.set(symbol, (volume.get(symbol) ?? 0) + qty);
        const exchMs = f < 3 ? 0 : Math.floor((at - 30 - Math.floor(rnd() * 400)) / 10) * 10;
        trades.push(MARKET_CODE[market], symbol, exchMs, price, qty, recvNs, srcSeq, i);
        totals.trades++;
        totals.volume += qty;
      }
      if (f % 12_000 === 11_999) snapshot(at, 'periodic', snapshots);
    }
    const last = f0 + FRAMES_PER_BATCH >= frames;
    if (last) snapshot(open + minutes * 60_000 + 5_000, 'close', snapshots);
    offset += (seq - fromSeq) * 100;
    const batch: RowBatch = { day: DAY, trades, flows, snapshots, listings: [], signals: [], quarantine, journal: { file: journalFile, fromOffset, toOffset: offset, fromSeq, toSeq: seq } };
    sqlite?.write(batch);
    arrow.write(batch);
  }
  // A short outage on the first stream halfway through the day.
  const mid = open + (minutes * 60_000) / 2;
  event(mid, streams[0], { stream: `koscom.trades.${markets[0]}`, type: 'disconnected', reason: 'closed by server (code 1006)', code: 1006 });
  event(mid + 2_500, streams[0], { stream: `koscom.trades.${markets[0]}`, type: 'reconnected', reason: 'closed by server (code 1006)', downMs: 2_500, attempts: 2 });
  arrow.close();
  journal.close();
  if (sqlite) {
    sqlite.writeSession({
      day: DAY,
      collector: o.collectorId ?? '',
      startedNs: BigInt(open - 600_000) * 1_000_000n,
      endedNs: BigInt(open + minutes * 60_000 + 10_000) * 1_000_000n,
      status: 'complete',
      counts: Object.fromEntries(markets.map((m) => [`koscom.trades.${m}`, { frames: frames / markets.length, rows: 0, quarantined: 0 }])),
      reconnects: 1,
      downtimeMs: 2_500,
    });
    await sqlite.close();
  }
  return totals;
}
