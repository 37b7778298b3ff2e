// Each trade's own quantity from Koscom's `trdVol`, which koscom.md §7 calls both the trade's
// quantity and the symbol's cumulative volume. The reading is decided per day and market from the
// trade stream alone, so that every store — and a rebuild — derives the same quantities:
//  - a symbol's value that does not rise over its previous one proves per-trade (a cumulative
//    volume only grows: each trade adds at least one share);
//  - CUMULATIVE_RUN rising pairs in a row (a symbol's value above its previous one, across
//    symbols) read as cumulative. Per-trade quantities rise from one trade of a symbol to its next
//    about half the time at most (ties count against), so a per-trade feed passes this with odds
//    of about 2^-30;
//  - no decision after HOLD_LIMIT trades of the market, at the end of the capture (the event it
//    journals as it stops), or when a store stops before one: per-trade (the documents' field
//    table, and every example, say 체결수량).
// Until its market is decided a trade is held in the batch with its raw value, and the batch is
// not written (the follower waits); the decision fixes the held rows up. Once a market is read as
// cumulative, a symbol whose value then does not rise is read per-trade from there on, and
// recorded so. Block trades carry their own quantity and take no part.
import type { TradeColumns, TradeModeRecord } from './batch.js';
import type { Market } from '../protocol/market.js';
import { MARKET_BY_CODE, MARKET_CODE } from './batch.js';

export type TrdVolMode = TradeModeRecord['mode'];

export const CUMULATIVE_RUN = 30;
export const HOLD_LIMIT = 50_000;

interface MarketState {
  mode: TrdVolMode | undefined;
  /** Rising pairs in a row while undecided. */
  rising: number;
  /** Symbol → its last raw `trdVol` (regular trades). */
  last: Map<string, number>;
  /** Cumulative market: symbols read per-trade since their value did not rise. */
  perTrade: Set<string>;
  /** Batch rows of this market waiting for the decision. */
  held: number[];
}

const newMarket = (): MarketState => ({ mode: undefined, rising: 0, last: new Map(), perTrade: new Set(), held: [] });

export class TradeQuantities {
  private readonly markets = MARKET_BY_CODE.map(newMarket);

  /** True while the batch holds rows whose quantity is not decided yet (it must not be written). */
  get holding(): boolean {
    return this.markets.some((m) => m.held.length > 0);
  }

  /** Whether a market's trades still change the reading's state (once read per-trade, none do). */
  follows(market: Market): boolean {
    return this.markets[MARKET_CODE[market]].mode !== 'per-trade';
  }

  /** The reading of each market decided so far. */
  modes(): ReadonlyMap<Market, TrdVolMode> {
    const out = new Map<Market, TrdVolMode>();
    this.markets.forEach((m, code) => m.mode !== undefined && out.set(MARKET_BY_CODE[code], m.mode));
    return out;
  }

  /** Sets `cols.qty[i]` of the regular trade just pushed at row `i` (its `trdVol` in place), or holds the row. */
  derive(cols: TradeColumns, i: number, seq: number, out: TradeModeRecord[]): void {
    const code = cols.market[i];
    const st = this.markets[code];
    const symbol = cols.symbol[i];
    const v = cols.trdVol[i];
    if (st.mode === 'per-trade') {
      cols.qty[i] = v;
      return;
    }
    const prev = st.last.get(symbol);
    if (st.mode === 'cumulative') {
      if (st.perTrade.has(symbol)) {
        cols.qty[i] = v;
        return;
      }
      if (prev !== undefined && v <= prev) {
        st.perTrade.add(symbol);
        out.push({ market: MARKET_BY_CODE[code], symbol, mode: 'per-trade', basis: `trdVol ${v} after ${prev} did not rise in a cumulative market`, srcSeq: seq });
        cols.qty[i] = v;
        return;
      }
      st.last.set(symbol, v);
      cols.qty[i] = prev === undefined ? v : v - prev;
      return;
    }
    st.last.set(symbol, v);
    st.held.push(i);
    if (prev !== undefined) {
      if (v <= prev) this.decide(cols, code, 'per-trade', `${symbol}: trdVol ${v} after ${prev} did not rise`, seq, out);
      else if (++st.rising >= CUMULATIVE_RUN) this.decide(cols, code, 'cumulative', `${CUMULATIVE_RUN} rising trdVol pairs in a row`, seq, out);
    }
    if (st.mode === undefined && st.held.length >= HOLD_LIMIT) this.decide(cols, code, 'per-trade', `no evidence in ${HOLD_LIMIT} trades (default)`, seq, out);
  }

  /** Decides every market still holding rows as per-trade (the capture ended, or a store stopped, before the evidence came). */
  settle(cols: TradeColumns, out: TradeModeRecord[]): void {
    this.markets.forEach((st, code) => st.held.length > 0 && this.decide(cols, code, 'per-trade', 'no evidence before the capture or the store stopped (default)', -1, out));
  }

  private decide(cols: TradeColumns, code: number, mode: TrdVolMode, basis: string, seq: number, out: TradeModeRecord[]): void {
    const st = this.markets[code];
    st.mode = mode;
    out.push({ market: MARKET_BY_CODE[code], symbol: '', mode, basis, srcSeq: seq });
    // Held rows kept their raw value: per-trade, that is their quantity; cumulative, the difference.
    if (mode === 'cumulative') {
      const last = new Map<string, number>();
      for (const i of st.held) {
        const prev = last.get(cols.symbol[i]);
        last.set(cols.symbol[i], cols.trdVol[i]);
        cols.qty[i] = prev === undefined ? cols.trdVol[i] : cols.trdVol[i] - prev;
      }
    }
    st.held = [];
  }
}
