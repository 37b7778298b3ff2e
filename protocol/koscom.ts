// Koscom Open API market data v2 (shared/protocol/koscom.md): the market-wide trade stream
// /ws_ksp, /ws_kdq. Pure functions, no I/O.

import { type DecodeError, intReason, isRecord, parseIntStrict, toInt, typeName } from './decoded.js';
import { scanTradeFrame } from './koscom-fast.js';
import { formatHhmmsscc, hhmmsscc } from './time.js';

/** Max elements in one /ws_ksp /ws_kdq frame (koscom.md §7). */
export const MAX_TRADES_PER_FRAME = 50;

/** WebSocket path of the market-wide trade stream of a market. */
export const TRADE_STREAM_PATH = { kospi: '/ws_ksp', kosdaq: '/ws_kdq' } as const;

/**
 * Receives the decoded elements of a trade frame, in order, without allocating an object per
 * trade (this is the capture hot path).
 */
export interface TradeSink {
  /**
   * A trade: `trdVol` as sent (per-trade or cumulative, koscom.md §7: the sink decides), `exchMs`
   * its absolute instant (epoch ms), or 0 when `trdTm` was 0 (no regular trade yet) or it is a
   * block trade; `block` = the block trade's `trdTm` code (51/61/71000000), 0 for a regular trade.
   */
  trade(symbol: string, price: number, trdVol: number, exchMs: number, idx: number, block: number): void;
  /** A session signal code found in `trdTm` (≥ 24h, e.g. 31000000 정규장마감), block trades excepted. */
  signal(symbol: string, code: number, idx: number): void;
}

/**
 * Block trades (대량매매) arrive as `trdTm` codes with a price and a quantity: 장전, 장중, 장후
 * (koscom.md §4). They carry no clock time. Each code → the trade's kind.
 */
export const BLOCK_TRADE_CODES = { 51000000: 'block_pre', 61000000: 'block_intraday', 71000000: 'block_post' } as const;
export type BlockTradeKind = (typeof BLOCK_TRADE_CODES)[keyof typeof BLOCK_TRADE_CODES];

/** Each block trade kind → its `trdTm` code. */
export const BLOCK_TRADE_CODE_OF: Readonly<Record<BlockTradeKind, number>> = { block_pre: 51000000, block_intraday: 61000000, block_post: 71000000 };

export function isBlockTradeCode(code: number): code is keyof typeof BLOCK_TRADE_CODES {
  return code === 51000000 || code === 61000000 || code === 71000000;
}

/** A `trdTm` code (HH may be ≥ 24) as the ms of day `encodeTradeFrame` writes back as that code. */
export function codeMsOfDay(code: number): number {
  const hh = Math.floor(code / 1_000_000);
  const mm = Math.floor(code / 10_000) % 100;
  const ss = Math.floor(code / 100) % 100;
  return ((hh * 60 + mm) * 60 + ss) * 1000 + (code % 100) * 10;
}

/**
 * Decodes a /ws_ksp or /ws_kdq frame: a bare JSON array of
 * `{isuSrtCd, trdPrc, trdVol, trdTm}` with every value a string (numbers accepted too).
 * `dayStartMs` = 00:00 KST of the trading day, which the feed does not carry.
 * Good elements go to `sink`; bad ones are returned as errors (the frame is then quarantined
 * with them, the good elements kept). Returns [] for a fully good frame. Never throws.
 */
export function decodeTradeFrame(text: string, dayStartMs: number, sink: TradeSink): DecodeError[] {
  return scanTradeFrame(text, dayStartMs, MAX_TRADES_PER_FRAME, sink) ? NO_ERRORS : decodeTradeJson(text, dayStartMs, sink);
}

/** decodeTradeFrame's general way, for any frame: JSON.parse, then each element judged on its own. */
export function decodeTradeJson(text: string, dayStartMs: number, sink: TradeSink): DecodeError[] {
  let arr: unknown;
  try {
    arr = JSON.parse(text);
  } catch (e) {
    return [{ field: '$', reason: `not JSON (${(e as Error).message})` }];
  }
  if (!Array.isArray(arr)) return [{ field: '$', reason: `expected a JSON array of trades, got ${typeName(arr)}` }];
  let errors: DecodeError[] | undefined;
  for (let i = 0; i < arr.length; i++) {
    const el = arr[i];
    const err = decodeElement(el, i, dayStartMs, sink);
    if (err !== undefined) (errors ??= []).push(err);
  }
  if (arr.length > MAX_TRADES_PER_FRAME) (errors ??= []).push({ field: '$', reason: `${arr.length} elements, more than ${MAX_TRADES_PER_FRAME} per frame` });
  return errors ?? NO_ERRORS;
}

const NO_ERRORS: DecodeError[] = [];

function decodeElement(el: unknown, i: number, dayStartMs: number, sink: TradeSink): DecodeError | undefined {
  if (!isRecord(el)) return { field: `[${i}]`, reason: `expected an object, got ${typeName(el)}` };
  const symbol = el.isuSrtCd;
  if (typeof symbol !== 'string' || symbol.length === 0 || symbol.length > 12) {
    return { field: `[${i}].isuSrtCd`, reason: symbol === undefined ? 'missing' : 'expected a short code string' };
  }
  const rawTm = el.trdTm;
  const tm = typeof rawTm === 'string' ? parseIntStrict(rawTm) : toInt(rawTm);
  if (Number.isNaN(tm)) return { field: `[${i}].trdTm`, reason: intReason(rawTm) };
  const msOfDay = hhmmsscc(tm);
  if (Number.isNaN(msOfDay)) return { field: `[${i}].trdTm`, reason: `not a HHMMSScc time (${tm})` };
  const block = msOfDay === -2 && isBlockTradeCode(tm) ? tm : 0;
  if (msOfDay === -2 && block === 0) {
    sink.signal(symbol, tm, i);
    return undefined;
  }
  const rawPrice = el.trdPrc;
  const price = typeof rawPrice === 'string' ? parseIntStrict(rawPrice) : toInt(rawPrice);
  if (!(price > 0)) return { field: `[${i}].trdPrc`, reason: Number.isNaN(price) ? intReason(rawPrice) : `not a positive price (${price})` };
  const rawQty = el.trdVol;
  const qty = typeof rawQty === 'string' ? parseIntStrict(rawQty) : toInt(rawQty);
  if (!(qty >= 0)) return { field: `[${i}].trdVol`, reason: Number.isNaN(qty) ? intReason(rawQty) : `negative quantity (${qty})` };
  sink.trade(symbol, price, qty, msOfDay < 0 ? 0 : dayStartMs + msOfDay, i, block);
  return undefined;
}

/** One element to encode: the vendor's wire form sends every value as a string. */
export interface WireTrade {
  symbol: string;
  price: number;
  /** `trdVol` as sent. */
  qty: number;
  /** ms since KST midnight, or -1 for `trdTm` 0; a signal or block trade code as codeMsOfDay gives it. */
  msOfDay: number;
}

/** Encodes a /ws_ksp /ws_kdq frame exactly as the vendor sends it (strings, `trdVol` with capital V). */
export function encodeTradeFrame(trades: readonly WireTrade[]): string {
  let s = '[';
  for (let i = 0; i < trades.length; i++) {
    const t = trades[i];
    if (i > 0) s += ',';
    s += `{"isuSrtCd":"${t.symbol}","trdPrc":"${t.price}","trdVol":"${t.qty}","trdTm":"${t.msOfDay < 0 ? '0' : formatHhmmsscc(t.msOfDay)}"}`;
  }
  return s + ']';
}

/** One element of a trade frame: its content and where its text lies in the frame. */
export interface TradeElement {
  /** `isuSrtCd`, `trdPrc`, `trdVol` and `trdTm` as sent: the trade's content, the same on every connection. */
  key: string;
  /** Its text is `text.slice(start, end)`. */
  start: number;
  end: number;
}

/**
 * A /ws_ksp /ws_kdq frame's elements, each with its content and its exact text's span (so that a
 * frame can be cut into others without re-encoding a trade); undefined for any frame that is not
 * a JSON array of objects each holding the four trade fields (a control reply, junk).
 */
export function tradeElements(text: string): TradeElement[] | undefined {
  const spans = arrayElementSpans(text);
  if (spans === undefined) return undefined;
  let arr: unknown;
  try {
    arr = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(arr) || arr.length * 2 !== spans.length) return undefined;
  const out: TradeElement[] = [];
  for (let i = 0; i < arr.length; i++) {
    const el: unknown = arr[i];
    if (!isRecord(el)) return undefined;
    const fields = [el.isuSrtCd, el.trdPrc, el.trdVol, el.trdTm];
    if (!fields.every((v) => typeof v === 'string' || typeof v === 'number')) return undefined;
    out.push({ key: fields.join('\u0000'), start: spans[2 * i], end: spans[2 * i + 1] });
  }
  return out;
}

const isJsonSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Start and end (exclusive) of each element of a JSON array's text, flat: [s0, e0, s1, e1, …];
 * undefined when the text is no array. Only the nesting is read: JSON.parse judges the rest.
 */
export function arrayElementSpans(text: string): number[] | undefined {
  const n = text.length;
  let i = 0;
  while (i < n && isJsonSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== 0x5b) return undefined;
  const spans: number[] = [];
  let depth = 0;
  let start = -1;
  /** The last character of the current element. */
  let last = -1;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (isJsonSpace(c)) continue;
    if (depth === 1 && (c === 0x2c || c === 0x5d)) {
      if (start >= 0) spans.push(start, last + 1);
      start = -1;
      if (c === 0x5d) return spans;
      continue;
    }
    if (depth === 1 && start < 0) start = i;
    if (c === 0x22) {
      for (i++; i < n && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (i >= n) return undefined;
    } else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) depth--;
    last = i;
  }
  return undefined;
}
