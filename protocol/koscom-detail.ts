// The per-symbol detail feed of Koscom /ws (koscom.md §6): `tick10` pushes (the §5.4 price
// preset) and `quote10` pushes (the 49-field order book of §5.5), and the snapshot a subscribe
// may answer with as a `result` instead of a push. Pure functions, no I/O.

import { type Decoded, decodeFields, fail, intReason, isRecord, ok, toInt } from './decoded.js';
import { decodeRpcMessage } from './jsonrpc.js';
import { decodePricePreset } from './koscom-rest.js';
import { trdTmCode } from './time.js';

export const BOOK_LEVELS = 10;

const levels = (side: 'ask' | 'bid', what: 'BstordPrc' | 'BstordRqty') => Array.from({ length: BOOK_LEVELS }, (_, i) => `${side}Step${i + 1}${what}`);

/**
 * The 48 numeric fields of the order book besides `isuSrtCd`, in the order storage keeps them:
 * ask prices 1–10, bid prices 1–10, ask quantities 1–10, bid quantities 1–10, then the totals,
 * the expected (예상) trade and the cumulative volume.
 */
export const BOOK_FIELDS: readonly string[] = [
  ...levels('ask', 'BstordPrc'),
  ...levels('bid', 'BstordPrc'),
  ...levels('ask', 'BstordRqty'),
  ...levels('bid', 'BstordRqty'),
  'askordTotRqty',
  'bidordTotRqty',
  'pstoffhrAskTotOrdRqty',
  'pstoffhrBidTotOrdRqty',
  'deemTrdPrc',
  'deemTrdvol',
  'deemAccTrdvol',
  'accTrdvol',
];

/** Fields only an order book has: their presence tells a book snapshot from a price snapshot. */
const BOOK_ONLY = BOOK_FIELDS.slice(0, BOOK_FIELDS.length - 1);

/** One order book; `values[i]` is BOOK_FIELDS[i], null where the feed left it out (every book field is optional, §5.5). */
export interface OrderBook {
  symbol: string;
  values: (number | null)[];
}

/** Reads a `quote10` push's params or an `/orderbook` result. */
export function decodeOrderBook(v: unknown, path: string): Decoded<OrderBook> {
  if (!isRecord(v)) return fail(path, 'expected an object');
  const symbol = v.isuSrtCd;
  if (typeof symbol !== 'string' || symbol === '') return fail(`${path}.isuSrtCd`, symbol === undefined ? 'missing' : 'expected a non-empty string');
  const values = new Array<number | null>(BOOK_FIELDS.length);
  for (let i = 0; i < BOOK_FIELDS.length; i++) {
    const raw = v[BOOK_FIELDS[i]];
    if (raw === undefined || raw === null) {
      values[i] = null;
      continue;
    }
    const n = toInt(raw);
    if (Number.isNaN(n)) return fail(`${path}.${BOOK_FIELDS[i]}`, intReason(raw));
    values[i] = n;
  }
  return ok({ symbol, values });
}

/** A price-preset state of one symbol; null where the frame did not carry the field. */
export interface DetailQuote {
  symbol: string;
  price: number;
  /** Raw `trdTm` code (time.ts exchTime); 0 when absent. */
  trdTm: number;
  open: number | null;
  high: number | null;
  low: number | null;
  trdvol: number | null;
  accVolume: number | null;
  accValue: number | null;
  ask1: number | null;
  bid1: number | null;
}

// A snapshot sent as a subscribe `result` is not the full preset: the one vendor example carries
// only isuSrtCd, trdPrc, trdvol, trdTm and mkStatTpCd.
const RESULT_QUOTE_SPEC = {
  isuSrtCd: 'text', trdPrc: 'int', trdvol: 'int?', opnprc: 'int?', hgprc: 'int?', lwprc: 'int?', accTrdvol: 'int?', accTrdval: 'int?', askordPrc_1: 'int?', bidordPrc_1: 'int?',
} as const;

export type DetailFrame = { kind: 'tick10'; quote: DetailQuote } | { kind: 'quote10'; book: OrderBook } | { kind: 'other' };

/**
 * Classifies and decodes one /ws frame. A push names its preset; a snapshot `result` does not, so
 * it is told by its fields (book fields → quote10, a price → tick10): the shapes are disjoint, and
 * decoding stays a function of the frame alone. OK replies, errors and other presets → `other`.
 */
export function decodeDetailFrame(text: string): Decoded<DetailFrame> {
  const m = decodeRpcMessage(text);
  if (!m.ok) return m;
  const msg = m.value;
  if (msg.kind === 'push') {
    if (msg.params.preset === 'tick10') {
      const p = decodePricePreset(msg.params, 'params');
      if (!p.ok) return p;
      const v = p.value;
      return ok({ kind: 'tick10', quote: { symbol: v.isuSrtCd, price: v.trdPrc, trdTm: v.trdTm, open: v.opnprc, high: v.hgprc, low: v.lwprc, trdvol: v.trdvol, accVolume: v.accTrdvol, accValue: v.accTrdval, ask1: v.askordPrc_1 ?? null, bid1: v.bidordPrc_1 ?? null } });
    }
    if (msg.params.preset === 'quote10') return bookFrame(msg.params, 'params');
    return ok({ kind: 'other' });
  }
  if (msg.kind !== 'result' || !isRecord(msg.result) || msg.result.isuSrtCd === undefined) return ok({ kind: 'other' });
  const r = msg.result;
  if (BOOK_ONLY.some((f) => r[f] !== undefined) || r.trdPrc === undefined) return bookFrame(r, 'result');
  const q = decodeFields(r, RESULT_QUOTE_SPEC, 'result', 'loose');
  if (!q.ok) return q;
  const trdTm = r.trdTm === undefined ? 0 : trdTmCode(r.trdTm);
  if (Number.isNaN(trdTm)) return fail('result.trdTm', `not a HHMMSScc time or signal (${JSON.stringify(r.trdTm)})`);
  const v = q.value;
  return ok({ kind: 'tick10', quote: { symbol: v.isuSrtCd, price: v.trdPrc, trdTm, open: v.opnprc ?? null, high: v.hgprc ?? null, low: v.lwprc ?? null, trdvol: v.trdvol ?? null, accVolume: v.accTrdvol ?? null, accValue: v.accTrdval ?? null, ask1: v.askordPrc_1 ?? null, bid1: v.bidordPrc_1 ?? null } });
}

function bookFrame(v: Record<string, unknown>, path: string): Decoded<DetailFrame> {
  const b = decodeOrderBook(v, path);
  return b.ok ? ok({ kind: 'quote10', book: b.value }) : b;
}
