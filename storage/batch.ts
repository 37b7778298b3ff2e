// The unit of work between the tape (journal → decode) and the sinks (SQLite, Arrow): one batch of
// decoded rows plus the journal range it covers. Trades, the hot channel, are columnar so that
// neither the batcher nor the sinks allocate an object per trade.

import type { BlockTradeKind } from '../protocol/koscom.js';
import type { DetailQuote, OrderBook } from '../protocol/koscom-detail.js';
import type { Listing, Market, SectorFlow, SnapshotKind, SnapshotRow } from '../protocol/market.js';
import type { TradingDay } from '../protocol/time.js';

/** Market codes in the columnar trade batch. */
export const MARKET_CODE: Readonly<Record<Market, number>> = { kospi: 0, kosdaq: 1 };
export const MARKET_BY_CODE: readonly Market[] = ['kospi', 'kosdaq'];

/** What a trade row is: a regular trade, or a block trade (대량매매) 장전 / 장중 / 장후. */
export type TradeKind = 'regular' | BlockTradeKind;
/** Kind codes in the columnar trade batch. */
export const TRADE_KINDS: readonly TradeKind[] = ['regular', 'block_pre', 'block_intraday', 'block_post'];
export const TRADE_KIND_CODE: Readonly<Record<TradeKind, number>> = { regular: 0, block_pre: 1, block_intraday: 2, block_post: 3 };

/** Trades in columns; valid rows are [0, length). Reused across batches: `length` resets. */
export class TradeColumns {
  length = 0;
  market: Uint8Array;
  symbol: string[];
  /** Exchange time, epoch ms; 0 = the feed gave no time (stored as NULL). */
  exchMs: Float64Array;
  price: Float64Array;
  /** The trade's own quantity, derived from `trdVol` (storage/trade-quantity.ts). */
  qty: Float64Array;
  /** `trdVol` as the feed sent it (per-trade or cumulative). */
  trdVol: Float64Array;
  /** TRADE_KINDS code. */
  kind: Uint8Array;
  /** Receive time of the frame, ns since the epoch. */
  recvNs: BigInt64Array;
  /** Journal sequence number of the frame (0-based within the day's journal). */
  srcSeq: Float64Array;
  /** Position of the trade inside its frame. */
  srcIdx: Uint16Array;

  constructor(readonly capacity: number) {
    this.market = new Uint8Array(capacity);
    this.symbol = new Array<string>(capacity);
    this.exchMs = new Float64Array(capacity);
    this.price = new Float64Array(capacity);
    this.qty = new Float64Array(capacity);
    this.trdVol = new Float64Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.recvNs = new BigInt64Array(capacity);
    this.srcSeq = new Float64Array(capacity);
    this.srcIdx = new Uint16Array(capacity);
  }

  /** `trdVol` defaults to `qty` (a per-trade feed), `kind` to a regular trade. */
  push(market: number, symbol: string, exchMs: number, price: number, qty: number, recvNs: bigint, srcSeq: number, srcIdx: number, trdVol = qty, kind = 0): void {
    const i = this.length++;
    this.trdVol[i] = trdVol;
    this.kind[i] = kind;
    this.market[i] = market;
    this.symbol[i] = symbol;
    this.exchMs[i] = exchMs;
    this.price[i] = price;
    this.qty[i] = qty;
    this.recvNs[i] = recvNs;
    this.srcSeq[i] = srcSeq;
    this.srcIdx[i] = srcIdx;
  }
}

export interface FlowRecord extends SectorFlow {
  recvNs: bigint;
  /** `tjjtime` on the trading day as an instant (epoch ms); 0 if unparseable. */
  exchMs: number;
  srcSeq: number;
}

export interface SnapshotRecord extends SnapshotRow {
  takenNs: bigint;
  kind: SnapshotKind;
  srcSeq: number;
}

export interface QuarantineRecord {
  recvNs: bigint;
  /** Channel name the frame came in on, e.g. `koscom.trades.kospi`. */
  source: string;
  raw: string;
  reason: string;
  srcSeq: number;
}

/** A session signal found in the trade stream (`trdTm` ≥ 24h, e.g. 31000000 정규장마감). */
export interface SignalRecord {
  recvNs: bigint;
  market: Market;
  symbol: string;
  code: number;
  srcSeq: number;
}

/** A tick10 state of a watchlist symbol (detail feed); null = not in the frame. */
export interface QuoteRecord extends DetailQuote {
  recvNs: bigint;
  market: Market;
  /** `trdTm` on the trading day as an instant (epoch ms); 0 = none (stored as NULL). */
  exchMs: number;
  srcSeq: number;
}

/** A quote10 order book of a watchlist symbol (detail feed). */
export interface BookRecord extends OrderBook {
  recvNs: bigint;
  market: Market;
  srcSeq: number;
}

/**
 * How a market's `trdVol` was read on a day (symbol ''), or one symbol's where the market's
 * reading does not fit it: decided once, from the trade stream alone (storage/trade-quantity.ts).
 */
export interface TradeModeRecord {
  market: Market;
  symbol: string;
  mode: 'per-trade' | 'cumulative';
  /** What decided it, in words. */
  basis: string;
  /** The frame that decided it; -1 when none did (the default, at a capture's or a store's end). */
  srcSeq: number;
}

/** The journal records a batch covers: [fromOffset, toOffset) bytes, [fromSeq, toSeq) records. */
export interface JournalRange {
  file: string;
  fromOffset: number;
  toOffset: number;
  fromSeq: number;
  toSeq: number;
}

export interface RowBatch {
  day: TradingDay;
  trades: TradeColumns;
  flows: FlowRecord[];
  snapshots: SnapshotRecord[];
  listings: Listing[];
  signals: SignalRecord[];
  /** trdVol readings decided within this batch; optional so that batches built without trades stay valid. */
  modes?: TradeModeRecord[];
  /** Detail feed rows; optional so that batches built without the detail feed stay valid. */
  quotes?: QuoteRecord[];
  books?: BookRecord[];
  quarantine: QuarantineRecord[];
  journal: JournalRange;
}
