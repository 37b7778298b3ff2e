// Koscom Open API market data v2, REST bodies (shared/protocol/koscom.md §3–§5, §10, §11):
// the stock list, the multiquote full-market snapshots, the 14-field price preset, master,
// closeprice, history and the error bodies. Decoders accept the documented type deviations
// (strings-as-numbers, numbers-as-strings, times without their leading zero). Pure, no I/O.

import {
  type BadElement, type Decoded, type Fields, decodeArray, decodeElements, decodeFields, encodeFields, fail, isRecord, ok, parseJsonObject, toInt, typeName,
} from './decoded.js';
import { JSONRPC_VERSION, encodeResult } from './jsonrpc.js';
import type { Listing, Market, SnapshotRow } from './market.js';
import { type TradingDay, compactDay, formatHhmmss, hhmmss, kstMidnight, parseCompactDay, trdTmCode } from './time.js';

export const RATE_LIMIT_LIMIT_HEADER = 'X-RateLimit-Limit-Day';
export const RATE_LIMIT_REMAINING_HEADER = 'X-RateLimit-Remaining-Day';

/** Symbols per multiquote `price` call (koscom.md §5.3). */
export const MAX_MULTIQUOTE_SYMBOLS = 20;
/** Records per history/intraday answer; there is no paging (koscom.md §5.9). */
export const MAX_HISTORY_RECORDS = 100;

/** Gateway error messages (koscom.md §10), sent as `{"message": …}`. */
export const GATEWAY_MESSAGE = {
  invalidKey: 'Invalid authentication credentials',
  noKey: 'No API key found in request',
  noRoute: 'no Route matched with those values',
  rateLimited: 'API rate limit exceeded',
} as const;

/** HTTP 400 body of a close-type endpoint called before its data time (koscom.md §5.8). */
export const CLOSE_NOT_YET_MESSAGE = '당일 종가 제공 시간이 아닙니다.';

export type MultiquoteKind = 'lists' | 'ohlclists' | 'price';
export type StockTail = 'master' | 'closeprice' | 'price' | 'history';

export function stockListPath(mkt: Market): string {
  return `/v2/market/stocks/${mkt}/lists`;
}

export function multiquotePath(mkt: Market, kind: MultiquoteKind): string {
  return `/v2/market/multiquote/stocks/${mkt}/${kind}`;
}

export function stockPath(mkt: Market, code: string, tail: StockTail): string {
  return `/v2/market/stocks/${mkt}/${code}/${tail}`;
}

// ---- stock list: /v2/market/stocks/{mkt}/lists ---------------------------------------------

/** The symbol universe of one market. `mktEndTm` is undocumented (`"1540"` in every example). */
export interface StockList {
  day: TradingDay;
  mktEndTm: string;
  listings: Listing[];
  /** Elements that did not decode (absent when none): the rest of the list is still good. */
  bad?: BadElement[];
}

export function encodeStockList(list: StockList): string {
  return JSON.stringify({
    trdDd: compactDay(list.day),
    mktEndTm: list.mktEndTm,
    isuLists: list.listings.map((l) => ({ isuSrtCd: l.symbol, isuCd: l.isin, isuKorNm: l.name, isuKorAbbr: l.abbr })),
  });
}

const LISTING_SPEC = { isuSrtCd: 'text', isuCd: 'text', isuKorNm: 'text' } as const;

/** The examples send `isuKorAbbr`, the table spells `isuKorAbbrv`: either is accepted. */
export function decodeStockList(text: string, market: Market): Decoded<StockList> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const body = parsed.value;
  const day = readDay(body.trdDd, 'trdDd');
  if (!day.ok) return day;
  const mktEndTm = body.mktEndTm ?? '';
  if (typeof mktEndTm !== 'string' && typeof mktEndTm !== 'number') return fail('mktEndTm', `wrong type (${typeName(mktEndTm)}, expected a string)`);
  const listings = decodeElements(body.isuLists, 'isuLists', (el, path): Decoded<Listing> => {
    const r = decodeFields(el, LISTING_SPEC, path, 'loose');
    if (!r.ok) return r;
    const abbr = (el as Record<string, unknown>).isuKorAbbr ?? (el as Record<string, unknown>).isuKorAbbrv;
    if (typeof abbr !== 'string') return fail(`${path}.isuKorAbbr`, abbr === undefined ? 'missing' : `wrong type (${typeName(abbr)}, expected a string)`);
    return ok({ market, symbol: r.value.isuSrtCd, isin: r.value.isuCd, name: r.value.isuKorNm, abbr });
  });
  if (!listings.ok) return listings;
  return ok(withBad({ day: day.value, mktEndTm: String(mktEndTm), listings: listings.value.rows }, listings.value.bad));
}

// ---- multiquote lists / ohlclists: the full-market snapshot --------------------------------

export type QuoteRow = Pick<SnapshotRow, 'symbol' | 'price' | 'accVolume' | 'accValue'>;
export type OhlcRow = Pick<SnapshotRow, 'symbol' | 'open' | 'high' | 'low' | 'price'>;

/** One multiquote answer; `takenMs` = its `trdDd` + `trdTm` (HHMMSS) as an instant. */
export interface Multiquote<Row> {
  day: TradingDay;
  takenMs: number;
  rows: Row[];
  /** Elements that did not decode (absent when none); `rows` holds every other element. */
  bad?: BadElement[];
}

/** `value` with `bad` set only when there is any, so a clean answer has no such member. */
function withBad<T extends object>(value: T, bad: BadElement[]): T & { bad?: BadElement[] } {
  return bad.length === 0 ? value : { ...value, bad };
}

/** The symbol a bad list element names, if it names one readably. */
export function badElementSymbol(b: BadElement): string | undefined {
  const el = b.element;
  const s = isRecord(el) ? el.isuSrtCd : undefined;
  return typeof s === 'string' && s !== '' ? s : undefined;
}

const QUOTE_ROW_SPEC = { isuSrtCd: 'text', trdPrc: 'int', accTrdvol: 'int', accTrdval: 'int' } as const;
const OHLC_ROW_SPEC = { isuSrtCd: 'text', opnprc: 'int', hgprc: 'int', lwprc: 'int', trdPrc: 'int' } as const;

export function encodeQuoteLists(q: Multiquote<QuoteRow>): string {
  return encodeMultiquote(q, (r) => ({ isuSrtCd: r.symbol, trdPrc: r.price, accTrdvol: r.accVolume, accTrdval: r.accValue }));
}

export function decodeQuoteLists(text: string): Decoded<Multiquote<QuoteRow>> {
  return decodeMultiquote(text, (el, path) => {
    const r = decodeFields(el, QUOTE_ROW_SPEC, path, 'loose');
    return r.ok ? ok({ symbol: r.value.isuSrtCd, price: r.value.trdPrc, accVolume: r.value.accTrdvol, accValue: r.value.accTrdval }) : r;
  });
}

export function encodeOhlcLists(q: Multiquote<OhlcRow>): string {
  return encodeMultiquote(q, (r) => ({ isuSrtCd: r.symbol, opnprc: r.open, hgprc: r.high, lwprc: r.low, trdPrc: r.price }));
}

export function decodeOhlcLists(text: string): Decoded<Multiquote<OhlcRow>> {
  return decodeMultiquote(text, (el, path) => {
    const r = decodeFields(el, OHLC_ROW_SPEC, path, 'loose');
    return r.ok ? ok({ symbol: r.value.isuSrtCd, open: r.value.opnprc, high: r.value.hgprc, low: r.value.lwprc, price: r.value.trdPrc }) : r;
  });
}

/**
 * Merges `lists` and `ohlclists` by symbol into snapshot rows. Every symbol of `lists` (which
 * carries the cumulative volume reconciliation needs) gives one row, in `lists` order; O/H/L are
 * 0 for a symbol missing from `ohlc` (the vendor's value for "untraded"); `price` comes from `lists`.
 */
export function joinSnapshot(market: Market, lists: Multiquote<QuoteRow>, ohlc: Multiquote<OhlcRow>): SnapshotRow[] {
  const bySymbol = new Map<string, OhlcRow>();
  for (const r of ohlc.rows) bySymbol.set(r.symbol, r);
  return lists.rows.map((q) => {
    const o = bySymbol.get(q.symbol);
    return { market, symbol: q.symbol, price: q.price, open: o?.open ?? 0, high: o?.high ?? 0, low: o?.low ?? 0, accVolume: q.accVolume, accValue: q.accValue };
  });
}

function encodeMultiquote<Row>(q: Multiquote<Row>, wire: (r: Row) => object): string {
  const msOfDay = q.takenMs - kstMidnight(q.day);
  return JSON.stringify({ trdDd: compactDay(q.day), trdTm: formatHhmmss(msOfDay), isuLists: q.rows.map(wire) });
}

function decodeMultiquote<Row>(text: string, row: (el: unknown, path: string) => Decoded<Row>): Decoded<Multiquote<Row>> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const body = parsed.value;
  const day = readDay(body.trdDd, 'trdDd');
  if (!day.ok) return day;
  const tm = toInt(body.trdTm);
  const msOfDay = hhmmss(tm);
  if (Number.isNaN(msOfDay)) return fail('trdTm', body.trdTm === undefined ? 'missing' : `not a HHMMSS time (${JSON.stringify(body.trdTm)})`);
  const rows = decodeElements(body.isuLists, 'isuLists', row);
  if (!rows.ok) return rows;
  return ok(withBad({ day: day.value, takenMs: kstMidnight(day.value) + msOfDay, rows: rows.value.rows }, rows.value.bad));
}

// ---- the 14-field price preset (= WS tick10) -----------------------------------------------

const PRICE_SPEC = {
  isuSrtCd: 'text', cmpprevddTpCd: 'text', cmpprevddPrc: 'int', opnprc: 'int', hgprc: 'int', lwprc: 'int', trdPrc: 'int',
  trdvol: 'int', accTrdvol: 'int', accTrdval: 'int', lstAskbidTpCd: 'text', trdTm: 'int', askordPrc_1: 'int?', bidordPrc_1: 'int?',
} as const;

/**
 * The price preset (koscom.md §5.4) with the vendor's field names. `trdTm` is the raw integer
 * code (time.ts `exchTime` turns it into an instant or a signal); `askordPrc_1`/`bidordPrc_1` are
 * sent only when a trade and a best-quote change coincide.
 */
export type PricePreset = Fields<typeof PRICE_SPEC>;

/** The preset as the vendor types it: `trdTm` and `lstAskbidTpCd` as numbers (leading zero lost). */
export function pricePresetWire(p: PricePreset): Record<string, string | number> {
  const wire = encodeFields(p, PRICE_SPEC, 'native');
  wire.trdTm = p.trdTm;
  const side = toInt(p.lstAskbidTpCd);
  if (!Number.isNaN(side)) wire.lstAskbidTpCd = side;
  return wire;
}

/** Reads a price preset object (a REST `result`, a multiquote `isulist` element, a tick10 push's params). */
export function decodePricePreset(v: unknown, path: string): Decoded<PricePreset> {
  const r = decodeFields(v, PRICE_SPEC, path, 'loose');
  if (!r.ok) return r;
  const code = trdTmCode((v as Record<string, unknown>).trdTm);
  if (Number.isNaN(code)) return fail(`${path}.trdTm`, `not a HHMMSScc time or signal (${JSON.stringify((v as Record<string, unknown>).trdTm)})`);
  r.value.trdTm = code;
  return r;
}

/** `/v2/market/stocks/{mkt}/{code}/price`: `{jsonrpc, result: preset}`. */
export function encodePriceBody(p: PricePreset): string {
  return encodeResult(undefined, pricePresetWire(p));
}

export function decodePriceBody(text: string): Decoded<PricePreset> {
  const result = readResult(text);
  return result.ok ? decodePricePreset(result.value, 'result') : result;
}

/** `/v2/market/multiquote/stocks/{mkt}/price`: `{jsonrpc, result: {isulist: [preset…]}}` (lower-case `isulist`). */
export function encodeMultiquotePrice(presets: readonly PricePreset[]): string {
  return encodeResult(undefined, { isulist: presets.map(pricePresetWire) });
}

export function decodeMultiquotePrice(text: string): Decoded<PricePreset[]> {
  const result = readResult(text);
  if (!result.ok) return result;
  if (!isRecord(result.value)) return fail('result', `wrong type (${typeName(result.value)}, expected an object)`);
  return decodeArray(result.value.isulist, 'result.isulist', decodePricePreset);
}

// ---- master ----------------------------------------------------------------------------------

const MASTER_SPEC = {
  isuSrtCd: 'text', isuCd: 'text?', isuKorAbbrv: 'text?', isuEngNm: 'text?', secugrpId: 'text?', mktWarnTpCd: 'text?',
  admisuYn: 'text?', haltYn: 'text?', idxIndUpclssCd: 'text?', idxIndMidclssCd: 'text?', idxIndLwclssCd: 'text?',
  mktcapScaleCd: 'text?', mfindYn: 'text?', smeYn: 'text?', krx100IsuYn: 'text?', kospiYn: 'text?', kospi100Yn: 'text?',
  kospi50Yn: 'text?', basPrc: 'int?', prevddClsprc: 'int?', prevddAccTrdvol: 'int?', prevddAccTrdval: 'int?', uplmtprc: 'int?',
  lwlmtprc: 'int?', sbPrc: 'int?', parval: 'dec?', isuPrc: 'int?', listShrs: 'int?', arrantrdYn: 'text?',
  creditOrdPosblYn: 'text?', regulssQtyUnit: 'int?', invstcautnRemndIsuYn: 'text?', srttrmOverheatIsuTpCd: 'text?',
  eps: 'dec?', per: 'dec?', bps: 'dec?', pbr: 'dec?', dps: 'dec?', divYd: 'dec?', acntclsCd: 'text?', acntclsMm: 'text?',
  adjStkprcCalcYn: 'text?', prevddNav: 'dec?', isuTrdvol: 'text?',
} as const;

/**
 * The master preset (koscom.md §5.6): the documented fields, each optional except the short
 * code (the vendor's "58 fields" were never all listed); undocumented members are ignored.
 * `day` = `trdDd` or `BzDd`, `listDay` = `listDd`.
 */
export type Master = Fields<typeof MASTER_SPEC> & { day?: TradingDay; listDay?: TradingDay };

export function encodeMasterBody(m: Master): string {
  const wire: Record<string, string | number> = encodeFields(m, MASTER_SPEC, 'native');
  if (m.day !== undefined) wire.trdDd = compactDay(m.day);
  if (m.listDay !== undefined) wire.listDd = compactDay(m.listDay);
  return encodeResult(undefined, wire);
}

export function decodeMasterBody(text: string): Decoded<Master> {
  const result = readResult(text);
  if (!result.ok) return result;
  const r = decodeFields(result.value, MASTER_SPEC, 'result', 'loose');
  if (!r.ok) return r;
  const src = result.value as Record<string, unknown>;
  const m: Master = r.value;
  if (m.isuKorAbbrv === undefined && typeof src.isuKorAbbr === 'string') m.isuKorAbbrv = src.isuKorAbbr;
  const rawDay = src.trdDd ?? src.BzDd;
  if (rawDay !== undefined) {
    const day = readDay(rawDay, src.trdDd !== undefined ? 'result.trdDd' : 'result.BzDd');
    if (!day.ok) return day;
    m.day = day.value;
  }
  if (src.listDd !== undefined) {
    const listDay = readDay(src.listDd, 'result.listDd');
    if (!listDay.ok) return listDay;
    m.listDay = listDay.value;
  }
  return ok(m);
}

// ---- closeprice and history ----------------------------------------------------------------

const BAR_SPEC = {
  trdPrc: 'int', cmpprevddTpCd: 'text', opnprc: 'int', hgprc: 'int', lwprc: 'int', accTrdvol: 'int', accTrdval: 'int', cmpprevddPrc: 'int',
} as const;
const CLOSE_SPEC = { isuSrtCd: 'text', ...BAR_SPEC } as const;

/** `/closeprice` result (koscom.md §5.8); `trdPrc` is the close. */
export type ClosePrice = Fields<typeof CLOSE_SPEC>;

export function encodeClosePriceBody(c: ClosePrice): string {
  return encodeResult(undefined, encodeFields(c, CLOSE_SPEC, 'native'));
}

/** Decodes a 200 answer; a 400 close-not-yet body is read by decodeRestError. */
export function decodeClosePriceBody(text: string): Decoded<ClosePrice> {
  const result = readResult(text);
  return result.ok ? decodeFields(result.value, CLOSE_SPEC, 'result', 'loose') : result;
}

/** One daily/weekly/monthly bar; `day` = `BzDd` (the tables say `trdDd`; both accepted). */
export type HistoryBar = Fields<typeof BAR_SPEC> & { day: TradingDay };

/** `/history` result: newest first, at most 100 bars, no paging. */
export interface History {
  symbol: string;
  bars: HistoryBar[];
}

/** Throws RangeError past MAX_HISTORY_RECORDS: the server must cap, not the encoder silently. */
export function encodeHistoryBody(h: History): string {
  if (h.bars.length > MAX_HISTORY_RECORDS) throw new RangeError(`history: ${h.bars.length} bars, at most ${MAX_HISTORY_RECORDS}`);
  return encodeResult(undefined, {
    isuSrtCd: h.symbol,
    hisLists: h.bars.map((b) => ({ BzDd: Number(compactDay(b.day)), ...encodeFields(b, BAR_SPEC, 'native') })),
  });
}

export function decodeHistoryBody(text: string): Decoded<History> {
  const result = readResult(text);
  if (!result.ok) return result;
  const res = result.value;
  if (!isRecord(res)) return fail('result', `wrong type (${typeName(res)}, expected an object)`);
  const symbol = res.isuSrtCd;
  if (typeof symbol !== 'string') return fail('result.isuSrtCd', symbol === undefined ? 'missing' : `wrong type (${typeName(symbol)}, expected a string)`);
  const bars = decodeArray(res.hisLists, 'result.hisLists', (el, path): Decoded<HistoryBar> => {
    const r = decodeFields(el, BAR_SPEC, path, 'loose');
    if (!r.ok) return r;
    const src = el as Record<string, unknown>;
    const day = readDay(src.BzDd ?? src.trdDd, src.BzDd !== undefined ? `${path}.BzDd` : `${path}.trdDd`);
    return day.ok ? ok({ ...r.value, day: day.value }) : day;
  }, MAX_HISTORY_RECORDS);
  return bars.ok ? ok({ symbol, bars: bars.value }) : bars;
}

// ---- error bodies --------------------------------------------------------------------------

/**
 * A REST error body: the gateway's `{message}` (401/404/429), the close-not-yet
 * `{error: "…"}` (400; `error` is a string), or a JSON-RPC `{error: {code, message}}`.
 */
export interface RestError {
  message: string;
  closeNotYet: boolean;
  code?: number;
}

export function encodeGatewayError(message: string): string {
  return JSON.stringify({ message });
}

export function encodeCloseNotYet(): string {
  return JSON.stringify({ error: CLOSE_NOT_YET_MESSAGE });
}

export function decodeRestError(text: string): Decoded<RestError> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const body = parsed.value;
  if (typeof body.error === 'string') return ok({ message: body.error, closeNotYet: true });
  if (isRecord(body.error)) {
    const code = toInt(body.error.code);
    const message = body.error.message;
    if (Number.isNaN(code)) return fail('error.code', body.error.code === undefined ? 'missing' : 'expected an integer');
    if (typeof message !== 'string') return fail('error.message', message === undefined ? 'missing' : 'expected a string');
    return ok({ message, closeNotYet: false, code });
  }
  if (typeof body.message === 'string') return ok({ message: body.message, closeNotYet: false });
  return fail('message', body.message === undefined ? 'missing (no message or error member)' : `wrong type (${typeName(body.message)}, expected a string)`);
}

// ---- shared readers --------------------------------------------------------------------------

function readDay(v: unknown, field: string): Decoded<TradingDay> {
  if (v === undefined) return fail(field, 'missing');
  const day = parseCompactDay(v);
  return day === undefined ? fail(field, `not a YYYYMMDD date (${JSON.stringify(v)})`) : ok(day);
}

/** The `result` of a `{jsonrpc: "2.0", result}` body. */
function readResult(text: string): Decoded<unknown> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const body = parsed.value;
  if (body.jsonrpc !== undefined && body.jsonrpc !== JSONRPC_VERSION) return fail('jsonrpc', `expected "2.0", got ${JSON.stringify(body.jsonrpc)}`);
  if (body.result === undefined) return fail('result', body.error !== undefined ? 'missing (the body is an error)' : 'missing');
  return ok(body.result);
}
