// A small known trading day for the replay tests, written through the real storage sinks:
// 09:00–09:10 KST, a trade frame every ~100 ms (1–3 trades, both markets), BM_ pushes every
// 5 s, a seed snapshot at 08:50 and a periodic one at 09:05. Exchange stamps trail receive time
// by 50–900 ms so exchange order differs from receive order; the first frames carry trdTm 0.
import pino from 'pino';
import { SqliteSink } from '../storage/sqlite-sink.js';
import { FLAG, Journal, journalPath, type ChannelSpec } from '../storage/journal.js';
import { encodeTradeFrame } from '../protocol/koscom.js';
import { encodeOhlcLists, encodeQuoteLists, encodeStockList, multiquotePath, stockListPath } from '../protocol/koscom-rest.js';
import { encodeSectorFlowPush } from '../protocol/ls.js';
import { ArrowSink } from '../storage/arrow-sink.js';
import { TradeColumns, MARKET_CODE, type FlowRecord, type RowBatch, type SnapshotRecord } from '../storage/batch.js';
import { formatHhmmsscc, kstMidnight, kstMsOfDay } from '../protocol/time.js';
import type { Market } from '../protocol/market.js';
import type { ReplayEvent, SectorFlowEvent, SnapshotEvent, TradeEvent } from '../replay/event.js';
import { Random } from '../sim/random.js';

export const DAY = '2025-03-14';
const MIDNIGHT_MS = kstMidnight(DAY);
export const SYMBOLS: Readonly<Record<Market, readonly string[]>> = { kospi: ['005930', '000660', '035420'], kosdaq: ['247540', '086520'] };

/** ns since the epoch of KST `h:m:s` + `ms` on DAY. */
export function kstNs(h: number, m: number, s: number, ms = 0): bigint {
  return BigInt(MIDNIGHT_MS + ((h * 60 + m) * 60 + s) * 1000 + ms) * 1_000_000n;
}

export interface KnownDay {
  trades: TradeEvent[];
  flows: SectorFlowEvent[];
  snapshots: SnapshotEvent[];
  /** Everything in receive order (recv_ns, src_seq, src_idx). */
  all: ReplayEvent[];
}


export function knownDay(): KnownDay {
  const random = new Random(20250314);
  const rnd = () => random.next();
  const trades: TradeEvent[] = [];
  const flows: SectorFlowEvent[] = [];
  const snapshots: SnapshotEvent[] = [];
  let seq = 0;
  const snapshot = (takenNs: bigint, kind: 'seed' | 'periodic', market: Market): void => {
    const srcSeq = seq++;
    for (const symbol of SYMBOLS[market]) {
      const price = 10_000 + Math.floor(rnd() * 90_000);
      snapshots.push({ type: 'snapshot', day: DAY, takenNs, kind, market, symbol, price, open: price - 100, high: price + 200, low: price - 300, accVolume: Math.floor(rnd() * 1e6), accValue: Math.floor(rnd() * 1e10), recvNs: takenNs, exchNs: null, srcSeq, srcIdx: snapshots.length });
    }
  };
  snapshot(kstNs(8, 50, 0), 'seed', 'kospi');
  snapshot(kstNs(8, 50, 0, 40), 'seed', 'kosdaq');
  let flowAt = kstNs(9, 0, 2);
  for (let f = 0; f < 6000; f++) {
    const recvNs = kstNs(9, 0, 0, f * 100) + BigInt(Math.floor(rnd() * 90_000_000));
    while (flowAt <= recvNs) {
      for (const upcode of ['001', '301']) {
        const exchMs = Number(flowAt / 1_000_000n) - 120;
        const msvolume = Math.floor(rnd() * 100_000);
        const mdvolume = Math.floor(rnd() * 100_000);
        flows.push({ type: 'sectorFlow', day: DAY, upcode, tjjcode: '0008', tjjtime: formatHhmmsscc(kstMsOfDay(exchMs)), msvolume, mdvolume, msvol: msvolume - mdvolume, p_msvol: 3, msvalue: 400, mdvalue: 300, msval: 100, p_msval: 1, recvNs: flowAt, exchNs: BigInt(Math.floor(exchMs / 10) * 10) * 1_000_000n, srcSeq: seq++, srcIdx: 0 });
        flowAt += 1_000_000n;
      }
      flowAt += 4_998_000_000n;
    }
    if (f === 3000) snapshot(kstNs(9, 5, 0), 'periodic', 'kospi');
    const market: Market = rnd() < 0.6 ? 'kospi' : 'kosdaq';
    const n = 1 + Math.floor(rnd() * 3);
    const srcSeq = seq++;
    for (let i = 0; i < n; i++) {
      const lagMs = 50 + Math.floor(rnd() * 850);
      const exchMs = Math.floor((Number(recvNs / 1_000_000n) - lagMs) / 10) * 10; // trdTm has hundredths
      const symbols = SYMBOLS[market];
      const qty = 1 + Math.floor(rnd() * 500);
      trades.push({ type: 'trade', day: DAY, market, symbol: symbols[Math.floor(rnd() * symbols.length)], exchNs: f < 5 ? null : BigInt(exchMs) * 1_000_000n, price: 50_000 + Math.floor(rnd() * 1000) * 10, qty, recvNs, srcSeq, srcIdx: i, trdVol: qty, kind: 'regular' });
    }
  }
  const all: ReplayEvent[] = [...trades, ...flows, ...snapshots].sort((a, b) => (a.recvNs !== b.recvNs ? (a.recvNs < b.recvNs ? -1 : 1) : a.srcSeq - b.srcSeq || a.srcIdx - b.srcIdx));
  return { trades, flows, snapshots, all };
}

/** The day as the tape hands it to the sinks: journal-order batches of ~1000 frames. */
function rowBatches(d: KnownDay): RowBatch[] {
  const bySeq = new Map<number, ReplayEvent[]>();
  for (const e of d.all) bySeq.set(e.srcSeq, [...(bySeq.get(e.srcSeq) ?? []), e]);
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  const batches: RowBatch[] = [];
  for (let from = 0; from < seqs.length; from += 1000) {
    const to = Math.min(from + 1000, seqs.length);
    const batch: RowBatch = { day: DAY, trades: new TradeColumns(4000), flows: [], snapshots: [], listings: [], signals: [], quarantine: [], journal: { file: `${DAY}.journal`, fromOffset: from * 100, toOffset: to * 100, fromSeq: from, toSeq: to } };
    if (from === 0) for (const market of ['kospi', 'kosdaq'] as const) for (const symbol of SYMBOLS[market]) batch.listings.push({ market, symbol, isin: `KR7${symbol}003`, name: `종목${symbol}`, abbr: `종목${symbol}` });
    for (const s of seqs.slice(from, to)) {
      for (const e of bySeq.get(s)!) {
        if (e.type === 'trade') batch.trades.push(MARKET_CODE[e.market], e.symbol, e.exchNs === null ? 0 : Number(e.exchNs / 1_000_000n), e.price, e.qty, e.recvNs, e.srcSeq, e.srcIdx);
        else if (e.type === 'sectorFlow') batch.flows.push(flowRecord(e));
        else if (e.type === 'snapshot') batch.snapshots.push(snapshotRecord(e));
      }
    }
    batches.push(batch);
  }
  return batches;
}

const silent = pino({ level: 'silent' });

/** Writes the day through the real Arrow sink (parts of 5,000 rows, so a day spans several). */
export function writeArrowDay(dataDir: string, d: KnownDay): void {
  const sink = ArrowSink.open({ dataDir, day: DAY, log: silent, partRows: 5000 });
  for (const b of rowBatches(d)) sink.write(b);
  sink.close();
}

/** Writes the day through the real SQLite sink, then seals it (trades move to the indexed table). */
export async function writeSqliteDay(dataDir: string, d: KnownDay): Promise<void> {
  const sink = SqliteSink.open({ dataDir, log: silent, walCheckpointMs: 0 });
  for (const b of rowBatches(d)) sink.write(b);
  sink.sealDay(DAY);
  await sink.close();
}

function flowRecord(e: SectorFlowEvent): FlowRecord {
  const { upcode, tjjcode, tjjtime, msvolume, mdvolume, msvol, p_msvol, msvalue, mdvalue, msval, p_msval, recvNs, srcSeq } = e;
  return { upcode, tjjcode, tjjtime, msvolume, mdvolume, msvol, p_msvol, msvalue, mdvalue, msval, p_msval, recvNs, srcSeq, exchMs: e.exchNs === null ? 0 : Number(e.exchNs / 1_000_000n) };
}

function snapshotRecord(e: SnapshotEvent): SnapshotRecord {
  const { market, symbol, price, open, high, low, accVolume, accValue, takenNs, kind, srcSeq } = e;
  return { market, symbol, price, open, high, low, accVolume, accValue, takenNs, kind, srcSeq };
}

/** A recorded frame of the journal fixture, as the vendor sent it. */
export interface RecordedFrame {
  route: `koscom.${Market}` | `ls.${string}` | `rest:${string}`;
  text: string;
}

/**
 * Writes the day as a collector's journal would hold it: the vendors' frames (trade frames, BM_
 * pushes, REST bodies) with their receive times, plus an outgoing init per socket. Returns the
 * incoming frames in journal order. `seedAfterFrames`: journal the seed (stock lists and seed
 * snapshot) after that many stream frames, as a collector that opens the streams first does.
 */
export function writeJournalDay(dataDir: string, d: KnownDay, options: { seedAfterFrames?: number } = {}): RecordedFrame[] {
  const journal = Journal.open(journalPath(dataDir, DAY), { log: pino({ level: 'silent' }), fsync: 'off' });
  const ids = new Map<string, number>();
  const channel = (spec: ChannelSpec): number => {
    let id = ids.get(spec.name);
    if (id === undefined) ids.set(spec.name, (id = journal.channel(spec)));
    return id;
  };
  const out: RecordedFrame[] = [];
  let streamFrames = 0;
  const held: (() => void)[] = [];
  const write = (spec: ChannelSpec, route: RecordedFrame['route'], text: string, recvNs: bigint): void => {
    journal.append(channel(spec), FLAG.incoming, text, recvNs);
    out.push({ route, text });
  };
  const append = (spec: ChannelSpec, route: RecordedFrame['route'], text: string, recvNs: bigint): void => {
    const seed = spec.kind === 'stock-list' || spec.snapshotKind === 'seed';
    if (seed && options.seedAfterFrames !== undefined && streamFrames < options.seedAfterFrames) return void held.push(() => write(spec, route, text, recvNs));
    write(spec, route, text, recvNs);
    if (spec.kind === 'trades' || spec.kind === 'ls.ws') streamFrames++;
    if (streamFrames === options.seedAfterFrames) held.splice(0).forEach((w) => w());
  };
  for (const market of ['kospi', 'kosdaq'] as const) {
    const path = stockListPath(market);
    const listings = SYMBOLS[market].map((symbol) => ({ market, symbol, isin: `KR7${symbol}003`, name: `종목${symbol}`, abbr: `종목${symbol}` }));
    append({ name: `koscom.stock-list.${market}`, vendor: 'koscom', endpoint: path, kind: 'stock-list', market }, `rest:${path}`, encodeStockList({ day: DAY, mktEndTm: '1540', listings }), kstNs(8, 45, 0));
  }
  for (const market of ['kospi', 'kosdaq'] as const) {
    const spec: ChannelSpec = { name: `koscom.trades.${market}`, vendor: 'koscom', endpoint: market === 'kospi' ? '/ws_ksp' : '/ws_kdq', kind: 'trades', market };
    journal.append(channel(spec), FLAG.outgoing, '{"jsonrpc":"2.0","id":1,"method":"init","params":{"key":"[redacted]","membername":"ticktape"}}', kstNs(8, 59, 0));
  }
  const bySeq = new Map<number, ReplayEvent[]>();
  for (const e of d.all) bySeq.set(e.srcSeq, [...(bySeq.get(e.srcSeq) ?? []), e]);
  for (const seq of [...bySeq.keys()].sort((a, b) => a - b)) {
    const group = bySeq.get(seq)!;
    const first = group[0];
    if (first.type === 'trade') {
      const wire = (group as TradeEvent[]).map((t) => ({ symbol: t.symbol, price: t.price, qty: t.qty, msOfDay: t.exchNs === null ? -1 : kstMsOfDay(Number(t.exchNs / 1_000_000n)) }));
      append({ name: `koscom.trades.${first.market}`, vendor: 'koscom', endpoint: first.market === 'kospi' ? '/ws_ksp' : '/ws_kdq', kind: 'trades', market: first.market }, `koscom.${first.market}`, encodeTradeFrame(wire), first.recvNs);
    } else if (first.type === 'sectorFlow') {
      append({ name: 'ls.bm', vendor: 'ls', endpoint: '/websocket', kind: 'ls.ws' }, `ls.${first.upcode}`, encodeSectorFlowPush(first), first.recvNs);
    } else if (first.type === 'snapshot') {
      const rows = group as SnapshotEvent[];
      const m = first.market;
      const takenMs = Number(first.takenNs / 1_000_000n);
      const lists = multiquotePath(m, 'lists');
      const ohlc = multiquotePath(m, 'ohlclists');
      append({ name: `koscom.multiquote-lists.${m}.${first.kind}`, vendor: 'koscom', endpoint: lists, kind: 'multiquote-lists', market: m, snapshotKind: first.kind }, `rest:${lists}`, encodeQuoteLists({ day: DAY, takenMs, rows }), first.takenNs);
      append({ name: `koscom.multiquote-ohlclists.${m}.${first.kind}`, vendor: 'koscom', endpoint: ohlc, kind: 'multiquote-ohlclists', market: m, snapshotKind: first.kind }, `rest:${ohlc}`, encodeOhlcLists({ day: DAY, takenMs, rows }), first.takenNs);
    }
  }
  journal.close();
  return out;
}
