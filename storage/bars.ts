// 1-minute bars per symbol from a day's trades: the minute (KST, by exchange time, or receive time
// for a trade the feed sent without one), OHLC in trade order, volume (shares, from each trade's
// own quantity, derived from trdVol), value (원, Σ price × qty), VWAP (value ÷ volume) and the trade
// count. Block trades (대량매매, negotiated off the book) are left out.
import type { CellValue } from './history-columns.js';

export interface BarTrade {
  market: string;
  symbol: string;
  /** Exchange time, or receive time when there is none, ns since the epoch. */
  timeNs: bigint;
  price: number;
  qty: number;
}

interface Bar {
  minute: bigint;
  market: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  value: number;
  trades: number;
}

const MINUTE_NS = 60_000_000_000n;

/**
 * Bars from trades grouped by symbol (each symbol's trades together, in time order within it), as
 * rows in the bars_1m column order, by symbol then minute. Holds one symbol's bars at a time.
 */
export function* minuteBars(trades: Iterable<BarTrade>): Generator<CellValue[]> {
  let symbol: string | null = null;
  let bars = new Map<bigint, Bar>();
  const flush = function* (): Generator<CellValue[]> {
    for (const b of [...bars.values()].sort((x, y) => (x.minute < y.minute ? -1 : 1))) {
      yield [b.minute, b.market, symbol, b.open, b.high, b.low, b.close, b.volume, b.value, b.value / b.volume, b.trades];
    }
    bars = new Map();
  };
  for (const t of trades) {
    if (t.symbol !== symbol) {
      yield* flush();
      symbol = t.symbol;
    }
    const minute = t.timeNs - (t.timeNs % MINUTE_NS);
    const b = bars.get(minute);
    if (!b) {
      bars.set(minute, { minute, market: t.market, open: t.price, high: t.price, low: t.price, close: t.price, volume: t.qty, value: t.price * t.qty, trades: 1 });
      continue;
    }
    if (t.price > b.high) b.high = t.price;
    if (t.price < b.low) b.low = t.price;
    b.close = t.price;
    b.volume += t.qty;
    b.value += t.price * t.qty;
    b.trades++;
  }
  yield* flush();
}
