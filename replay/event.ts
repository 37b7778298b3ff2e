// The events a replay emits: one per recorded row (trade, snapshot row, sector flow) or raw
// journal frame. Every event carries the stamps the merge orders by (recvNs, exchNs, srcSeq, srcIdx).
import type { Market, SectorFlow, SnapshotKind, SnapshotRow } from '../protocol/market.js';
import type { TradingDay } from '../protocol/time.js';
import type { TradeKind } from '../storage/batch.js';
import type { Stamped } from './merge.js';

/** What can be replayed: the stored channels, or the raw frames of the journal. */
export type ReplayChannel = 'trades' | 'snapshots' | 'sector_flows' | 'frames';
export const REPLAY_CHANNELS: readonly ReplayChannel[] = ['trades', 'snapshots', 'sector_flows', 'frames'];

/** One trade of the market-wide stream. `exchNs` null = the feed sent trdTm 0. */
export interface TradeEvent extends Stamped {
  type: 'trade';
  day: TradingDay;
  market: Market;
  symbol: string;
  price: number;
  /** The trade's own quantity. */
  qty: number;
  /** `trdVol` as the feed sent it (what `replay serve` sends back). */
  trdVol: number;
  kind: TradeKind;
}

/** One symbol's row of a full-market REST snapshot; `recvNs` = `takenNs`, `srcIdx` = row position. */
export interface SnapshotEvent extends Stamped, SnapshotRow {
  type: 'snapshot';
  day: TradingDay;
  takenNs: bigint;
  kind: SnapshotKind;
}

/** One LS BM_ push; `exchNs` = tjjtime on the trading day. */
export interface SectorFlowEvent extends Stamped, SectorFlow {
  type: 'sectorFlow';
  day: TradingDay;
}

/** One raw frame of the journal, bytes exactly as received; `srcSeq` = the journal record number. */
export interface FrameEvent extends Stamped {
  type: 'frame';
  /** Journal channel name, e.g. `koscom.trades.kospi`. */
  channel: string;
  /** What the channel carries (`trades`, `ls.ws`, `stock-list`, `multiquote-lists`, …). */
  kind: string;
  market?: Market;
  /** A frame the collector sent (init, registrations), not one it received. */
  outgoing: boolean;
  flags: number;
  bytes: Uint8Array;
}

/**
 * A range replay's session boundary (asked for with `sessionEvents`): `start` just before a day's
 * first event, `end` just after its last, both stamped with that event's instant.
 */
export interface SessionEvent extends Stamped {
  type: 'session';
  day: TradingDay;
  boundary: 'start' | 'end';
}

export type ReplayEvent = TradeEvent | SnapshotEvent | SectorFlowEvent | FrameEvent | SessionEvent;

/** JSON with bigints as decimal strings and bytes as UTF-8 text (frames are JSON text on the wire). */
export function eventToJson(e: ReplayEvent): string {
  // `type` first, for readers of the output; the rows are tagged after they are built.
  const { type, ...rest } = e;
  return JSON.stringify({ type, ...rest }, jsonValue);
}

function jsonValue(this: Record<string, unknown>, key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  // Read the holder: Buffer.toJSON has already turned `v` into {type, data} by now.
  const raw = this[key];
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  return v;
}
