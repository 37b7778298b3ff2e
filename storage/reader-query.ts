// The shapes the reader API returns and takes, shared by its SQLite and Arrow back ends.
import type { Market, SectorFlow, SnapshotKind, SnapshotRow } from '../protocol/market.js';
import { kstDay, type TradingDay } from '../protocol/time.js';
import type { TradeKind } from './batch.js';

export interface TradeRow {
  day: TradingDay;
  market: Market;
  symbol: string;
  /** The feed's time stamp, ns since the epoch; null when the feed sent none. */
  exchNs: bigint | null;
  price: number;
  /** The trade's own quantity (derived from trdVol, whichever way the feed sent it). */
  qty: number;
  recvNs: bigint;
  srcSeq: number;
  srcIdx: number;
  /** `trdVol` as the feed sent it: per-trade or cumulative (see the day's trade_modes). */
  trdVol: number;
  /** 'regular', or a block trade (대량매매): 'block_pre' | 'block_intraday' | 'block_post'. */
  kind: TradeKind;
}

export interface StoredSnapshotRow extends SnapshotRow {
  day: TradingDay;
  takenNs: bigint;
  kind: SnapshotKind;
  srcSeq: number;
}

export interface SectorFlowRow extends SectorFlow {
  day: TradingDay;
  recvNs: bigint;
  exchNs: bigint | null;
  srcSeq: number;
}

/**
 * Which clock a window applies to and rows are ordered by.
 * - receive: (recv_ns, src_seq, src_idx) — the order frames were received (journal order).
 * - exchange: (exch_ts, or recv_ns when the feed gave no time; then receive order).
 * Snapshots have only their taken time, which both clocks use.
 */
export type TimeBasis = 'receive' | 'exchange';

export interface ReadQuery {
  day: TradingDay;
  /** Only these symbols (trades, snapshots); default all. */
  symbols?: Iterable<string>;
  /** Only these markets (trades, snapshots); default both. */
  markets?: Iterable<Market>;
  /** Window start, ns since the epoch, inclusive. */
  from?: bigint;
  /** Window end, ns since the epoch, exclusive. */
  to?: bigint;
  /** Default 'receive'. */
  time?: TimeBasis;
}

/**
 * A query over a range of days: each day read from the best tier that holds it, the days one after
 * another. The range is `fromDay`…`toDay` (inclusive), else the KST days of the `from`/`to`
 * instants, else every stored day; `from`/`to` still bound the rows.
 */
export interface RangeQuery extends Omit<ReadQuery, 'day'> {
  fromDay?: TradingDay;
  toDay?: TradingDay;
}

/** The days of `q` among the stored `days` (ascending). */
export function daysOf(q: ReadQuery | RangeQuery, days: readonly TradingDay[]): TradingDay[] {
  if ('day' in q && q.day !== undefined) return [q.day];
  const r = q as RangeQuery;
  for (const d of [r.fromDay, r.toDay]) if (d !== undefined && !DAY.test(d)) throw new RangeError(`day must be YYYY-MM-DD, got ${JSON.stringify(d)}`);
  const first = r.fromDay ?? (r.from === undefined ? undefined : kstDay(Number(r.from / 1_000_000n)));
  const last = r.toDay ?? (r.to === undefined ? undefined : kstDay(Number((r.to - 1n) / 1_000_000n)));
  return days.filter((d) => (first === undefined || d >= first) && (last === undefined || d <= last));
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A query with its sets resolved, as the back ends take it. */
export interface ResolvedQuery {
  day: TradingDay;
  symbols: ReadonlySet<string> | null;
  markets: ReadonlySet<Market> | null;
  from: bigint | null;
  to: bigint | null;
  time: TimeBasis;
}

export function resolveQuery(q: ReadQuery): ResolvedQuery {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(q.day)) throw new RangeError(`day must be YYYY-MM-DD, got ${JSON.stringify(q.day)}`);
  const time = q.time ?? 'receive';
  if (time !== 'receive' && time !== 'exchange') throw new RangeError(`time must be 'receive' or 'exchange', got ${JSON.stringify(time)}`);
  return {
    day: q.day,
    symbols: q.symbols === undefined ? null : new Set(q.symbols),
    markets: q.markets === undefined ? null : new Set(q.markets),
    from: q.from ?? null,
    to: q.to ?? null,
    time,
  };
}

/** Rows come in chunks: callers that merge several streams compare in a loop and await per chunk, not per row. */
export const CHUNK_ROWS = 4096;

/** Receive order, then exchange order: a < b ⇒ negative. */
export function compareReceive(a: { recvNs: bigint; srcSeq: number; srcIdx?: number }, b: { recvNs: bigint; srcSeq: number; srcIdx?: number }): number {
  if (a.recvNs !== b.recvNs) return a.recvNs < b.recvNs ? -1 : 1;
  if (a.srcSeq !== b.srcSeq) return a.srcSeq - b.srcSeq;
  return (a.srcIdx ?? 0) - (b.srcIdx ?? 0);
}

export function exchangeKey(r: { recvNs: bigint; exchNs: bigint | null }): bigint {
  return r.exchNs ?? r.recvNs;
}

export function compareExchange(a: { recvNs: bigint; exchNs: bigint | null; srcSeq: number; srcIdx?: number }, b: { recvNs: bigint; exchNs: bigint | null; srcSeq: number; srcIdx?: number }): number {
  const ka = a.exchNs ?? a.recvNs;
  const kb = b.exchNs ?? b.recvNs;
  if (ka !== kb) return ka < kb ? -1 : 1;
  return compareReceive(a, b);
}
