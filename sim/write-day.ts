// A synthetic trading day written straight into a journal, as a collector would have received it,
// without a wall-clock wait: the stock lists, a seed snapshot, the market-wide trade frames of both
// markets, BM_ sector flows every 5 s, and the watchlist detail feed (tick10 after each trade of a
// watched symbol, quote10 once a minute) — all from the same SyntheticMarket the exchange streams.
// Tests and benchmarks build multi-day stores with it: the journal, then Tape.open replays it into
// SQLite and Arrow like a recovery would.
import pino from 'pino';
import { encodePushNotification } from '../protocol/jsonrpc.js';
import { encodeTradeFrame, MAX_TRADES_PER_FRAME, type WireTrade } from '../protocol/koscom.js';
import { encodeOhlcLists, encodeQuoteLists, encodeStockList, multiquotePath, stockListPath } from '../protocol/koscom-rest.js';
import { encodeSectorFlowPush } from '../protocol/ls.js';
import type { Market } from '../protocol/market.js';
import { kstMidnight, type TradingDay } from '../protocol/time.js';
import { FLAG, Journal, journalPath, type ChannelSpec } from '../storage/journal.js';
import { SyntheticMarket, TradeTape } from './market.js';
import { orderBook, pricePreset, trdTmNumber } from './quotes.js';
import { CLOSE_MS, OPEN_MS } from './session.js';

export interface SyntheticDayOptions {
  dataDir: string;
  day: TradingDay;
  /** Market seed (default 1): the symbol universe and the trades. Days of one store keep one seed (one universe) and vary `tradesPerDay`. */
  seed?: number;
  kospiSymbols?: number;
  kosdaqSymbols?: number;
  /** Expected trades over a full 09:00–15:30 session (default 500,000). */
  tradesPerDay?: number;
  /** Market time to stop at, ms of the day (default the 15:30 close): a short day for tests. */
  untilMs?: number;
  /** Watched symbols (detail feed): the first N KOSPI issues (default 2). */
  watch?: number;
  collectorId?: string;
}

export interface SyntheticDay {
  journal: string;
  trades: number;
  frames: number;
}

const MARKETS = ['kospi', 'kosdaq'] as const;
/** The collector receives a frame this long after its trades' market time. */
const LATENCY_MS = 30;
const STEP_MS = 100;
const FLOW_EVERY_MS = 5000;
const BOOK_EVERY_MS = 60_000;

export function writeSyntheticDay(o: SyntheticDayOptions): SyntheticDay {
  const market = new SyntheticMarket({ seed: o.seed ?? 1, kospiSymbols: o.kospiSymbols ?? 950, kosdaqSymbols: o.kosdaqSymbols ?? 1650, tradesPerDay: o.tradesPerDay ?? 500_000 });
  const file = journalPath(o.dataDir, o.day, o.collectorId);
  const journal = Journal.open(file, { log: pino({ level: 'silent' }), fsync: 'off' });
  const midnight = kstMidnight(o.day);
  // Records of one millisecond are received one after another within it, each stamped to the
  // nanosecond, as the capture's clock does (a whole-millisecond stamp would flatter the stores).
  let lastMs = -1;
  let inMs = 0;
  const ns = (msOfDay: number) => {
    inMs = msOfDay === lastMs ? inMs + 1 : 0;
    lastMs = msOfDay;
    return BigInt(midnight + msOfDay) * 1_000_000n + BigInt(Math.min(inMs * 1_000 + ((inMs * 7_919) % 1_000), 999_999));
  };
  const ids = new Map<string, number>();
  const append = (spec: ChannelSpec, text: string, msOfDay: number, flags: 0 | 1 = FLAG.incoming) => {
    let id = ids.get(spec.name);
    if (id === undefined) ids.set(spec.name, (id = journal.channel(spec)));
    journal.append(id, flags, text, ns(msOfDay));
  };
  try {
    for (const m of MARKETS) {
      const path = stockListPath(m);
      append({ name: `koscom.stock-list.${m}`, vendor: 'koscom', endpoint: path, kind: 'stock-list', market: m }, encodeStockList({ day: o.day, mktEndTm: '1530', listings: market.byMarket[m] }), 8 * 3_600_000 + 45 * 60_000);
    }
    const seedMs = 8 * 3_600_000 + 50 * 60_000;
    for (const m of MARKETS) {
      const rows = market.byMarket[m].map((i) => ({ symbol: i.symbol, price: i.basePrice, open: 0, high: 0, low: 0, accVolume: 0, accValue: 0 }));
      const lists = multiquotePath(m, 'lists');
      const ohlc = multiquotePath(m, 'ohlclists');
      append({ name: `koscom.multiquote-lists.${m}.seed`, vendor: 'koscom', endpoint: lists, kind: 'multiquote-lists', market: m, snapshotKind: 'seed' }, encodeQuoteLists({ day: o.day, takenMs: midnight + seedMs, rows }), seedMs);
      append({ name: `koscom.multiquote-ohlclists.${m}.seed`, vendor: 'koscom', endpoint: ohlc, kind: 'multiquote-ohlclists', market: m, snapshotKind: 'seed' }, encodeOhlcLists({ day: o.day, takenMs: midnight + seedMs, rows }), seedMs);
    }
    for (const m of MARKETS) {
      append({ name: `koscom.trades.${m}`, vendor: 'koscom', endpoint: m === 'kospi' ? '/ws_ksp' : '/ws_kdq', kind: 'trades', market: m }, '{"jsonrpc":"2.0","id":1,"method":"init","params":{"key":"[redacted]","membername":"ticktape"}}', OPEN_MS - 60_000, FLAG.outgoing);
    }
    const watched = new Set(market.byMarket.kospi.slice(0, o.watch ?? 2).map((i) => i.index));
    const detail: ChannelSpec = { name: 'koscom.detail.kospi', vendor: 'koscom', endpoint: '/ws', kind: 'detail', market: 'kospi' };
    const flows: ChannelSpec = { name: 'ls.bm', vendor: 'ls', endpoint: '/websocket', kind: 'ls.ws' };
    const tapes: Record<Market, TradeTape> = { kospi: new TradeTape(), kosdaq: new TradeTape() };
    const wire: WireTrade[] = Array.from({ length: MAX_TRADES_PER_FRAME }, () => ({ symbol: '', price: 0, qty: 0, msOfDay: 0 }));
    const until = Math.min(o.untilMs ?? CLOSE_MS, CLOSE_MS);
    let trades = 0;
    let frames = 0;
    for (let at = OPEN_MS + STEP_MS; at <= until; at += STEP_MS) {
      market.advance(at, tapes);
      const recvMs = at + LATENCY_MS;
      for (const m of MARKETS) {
        const tape = tapes[m];
        const spec: ChannelSpec = { name: `koscom.trades.${m}`, vendor: 'koscom', endpoint: m === 'kospi' ? '/ws_ksp' : '/ws_kdq', kind: 'trades', market: m };
        for (let k0 = 0; k0 < tape.length; k0 += MAX_TRADES_PER_FRAME) {
          const n = Math.min(MAX_TRADES_PER_FRAME, tape.length - k0);
          for (let j = 0; j < n; j++) {
            const k = k0 + j;
            const w = wire[j];
            w.symbol = market.issues[tape.issue[k]].symbol;
            w.price = tape.price[k];
            w.qty = tape.qty[k];
            w.msOfDay = tape.msOfDay[k];
          }
          append(spec, encodeTradeFrame(n === MAX_TRADES_PER_FRAME ? wire : wire.slice(0, n)), recvMs);
          frames++;
          for (let j = 0; j < n; j++) {
            const k = k0 + j;
            if (!watched.has(tape.issue[k])) continue;
            // The issue's state at the step's end, with this trade's own values.
            const preset = { ...pricePreset(market, market.issues[tape.issue[k]]), trdPrc: tape.price[k], trdvol: tape.qty[k], trdTm: trdTmNumber(tape.msOfDay[k]), accTrdvol: tape.accVolume[k], accTrdval: tape.accValue[k] };
            append(detail, encodePushNotification({ preset: 'tick10', ...preset }), recvMs);
          }
        }
        trades += tape.length;
        tape.length = 0;
      }
      if (at % FLOW_EVERY_MS === 0) for (const f of market.flows.emit(at)) append(flows, encodeSectorFlowPush(f), recvMs);
      if (at % BOOK_EVERY_MS === 0) for (const i of watched) append(detail, encodePushNotification({ preset: 'quote10', ...orderBook(market, market.issues[i]) }), recvMs);
    }
    return { journal: file, trades, frames };
  } finally {
    journal.close();
  }
}
