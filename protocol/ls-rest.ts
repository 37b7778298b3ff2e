// LS Securities OpenAPI REST (shared/protocol/ls.md §2–§3): the OAuth2 token, and TR calls
// (`{tr_cd}InBlock` in, `rsp_cd`/`rsp_msg` + OutBlocks out, `tr_cont` paging) for t8436, t8407
// and t8424. Credentials never appear in error reasons. Pure functions, no I/O.

import { type Decoded, type Fields, decodeArray, decodeFields, encodeFields, fail, isRecord, ok, parseJsonObject, toInt, typeName } from './decoded.js';
import type { Listing, Market } from './market.js';

// ---- OAuth2 token (ls.md §2) ---------------------------------------------------------------

export const TOKEN_PATH = '/oauth2/token';
export const TOKEN_CONTENT_TYPE = 'application/x-www-form-urlencoded';

export interface TokenRequest {
  appkey: string;
  appsecretkey: string;
}

/** The form body of `POST /oauth2/token` (client-credentials grant, scope `oob`). */
export function encodeTokenRequest(r: TokenRequest): string {
  return new URLSearchParams({ grant_type: 'client_credentials', appkey: r.appkey, appsecretkey: r.appsecretkey, scope: 'oob' }).toString();
}

/** Reads a token request form (server side). */
export function decodeTokenRequest(body: string): Decoded<TokenRequest> {
  const form = new URLSearchParams(body);
  const grant = form.get('grant_type');
  if (grant !== 'client_credentials') return fail('grant_type', grant === null ? 'missing' : 'out of range (expected client_credentials)');
  const scope = form.get('scope');
  if (scope !== 'oob') return fail('scope', scope === null ? 'missing' : 'out of range (expected oob)');
  const appkey = form.get('appkey');
  if (!appkey) return fail('appkey', 'missing');
  const appsecretkey = form.get('appsecretkey');
  if (!appsecretkey) return fail('appsecretkey', 'missing');
  return ok({ appkey, appsecretkey });
}

export interface AccessToken {
  accessToken: string;
  expiresInSec: number;
  tokenType: string;
}

/** The token response as the example sends it: `expires_in` a number. */
export function encodeTokenResponse(t: AccessToken): string {
  return JSON.stringify({ access_token: t.accessToken, scope: 'oob', token_type: t.tokenType, expires_in: t.expiresInSec });
}

/** Reads `expires_in ?? expire_in`, a number or a numeric string (the table and the example disagree). */
export function decodeTokenResponse(text: string): Decoded<AccessToken> {
  const parsed = parseJsonObject(text, true);
  if (!parsed.ok) return parsed;
  const body = parsed.value;
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') return fail('access_token', accessToken === undefined ? 'missing' : `wrong type (${typeName(accessToken)}, expected a non-empty string)`);
  const rawExpiry = body.expires_in ?? body.expire_in;
  const expiresInSec = toInt(rawExpiry);
  const expiryField = body.expires_in !== undefined ? 'expires_in' : 'expire_in';
  if (Number.isNaN(expiresInSec)) return fail(expiryField, rawExpiry === undefined ? 'missing (neither expires_in nor expire_in)' : 'not an integer');
  if (expiresInSec <= 0) return fail(expiryField, `out of range (${expiresInSec}, expected > 0)`);
  const tokenType = body.token_type ?? 'Bearer';
  if (typeof tokenType !== 'string') return fail('token_type', `wrong type (${typeName(tokenType)}, expected a string)`);
  return ok({ accessToken, expiresInSec, tokenType });
}

// ---- TR calls (ls.md §3) -------------------------------------------------------------------

/** REST path of each TR used here. */
export const TR_PATH = {
  t8430: '/stock/etc',
  t8436: '/stock/etc',
  t8407: '/stock/market-data',
  t8424: '/indtp/market-data',
  t1511: '/indtp/market-data',
  t0167: '/etc/time-search',
} as const;
export type TrCode = keyof typeof TR_PATH;

/** `rsp_cd` of a successful call; anything else: inspect `rsp_msg`. */
export const RSP_OK = '00000';
export const TR_CONTENT_TYPE = 'application/json; charset=utf-8';

/** `{"<tr_cd>InBlock": {…}}`. */
export function encodeTrRequest(trCd: string, inBlock: Record<string, unknown>): string {
  return JSON.stringify({ [`${trCd}InBlock`]: inBlock });
}

/** The InBlock of a TR request body (server side). */
export function decodeTrRequest(trCd: string, text: string): Decoded<Record<string, unknown>> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const name = `${trCd}InBlock`;
  const block = parsed.value[name];
  return isRecord(block) ? ok(block) : fail(name, block === undefined ? 'missing' : `wrong type (${typeName(block)}, expected an object)`);
}

/** Request headers: first page without `contKey`, next pages with the key just received. */
export function trRequestHeaders(token: string, trCd: string, contKey?: string): Record<string, string> {
  return {
    'content-type': TR_CONTENT_TYPE,
    authorization: `Bearer ${token}`,
    tr_cd: trCd,
    tr_cont: contKey === undefined ? 'N' : 'Y',
    tr_cont_key: contKey ?? '',
    mac_address: '',
  };
}

/** Fetch `Headers`, or Node's lower-cased `IncomingHttpHeaders`. */
export type HeaderSource = { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

function header(h: HeaderSource, name: string): string | undefined {
  if (typeof h.get === 'function') return (h as { get(name: string): string | null }).get(name) ?? undefined;
  const v = (h as Readonly<Record<string, string | readonly string[] | undefined>>)[name];
  return typeof v === 'string' ? v : v?.[0];
}

export interface TrRequestHead {
  /** The access token, without the `Bearer ` prefix. */
  token: string;
  trCd: string;
  /** Set on a follow-up page request (`tr_cont: Y`). */
  contKey: string | undefined;
}

/** Reads the request headers of a TR call (server side). */
export function readTrRequestHeaders(h: HeaderSource): Decoded<TrRequestHead> {
  const auth = header(h, 'authorization');
  if (!auth) return fail('authorization', 'missing');
  const token = auth.startsWith('Bearer ') ? auth.slice(7) : auth;
  const trCd = header(h, 'tr_cd');
  if (!trCd) return fail('tr_cd', 'missing');
  const cont = header(h, 'tr_cont') ?? 'N';
  if (cont !== 'Y' && cont !== 'N') return fail('tr_cont', `out of range (${JSON.stringify(cont)}, expected Y or N)`);
  return ok({ token, trCd, contKey: cont === 'Y' ? (header(h, 'tr_cont_key') ?? '') : undefined });
}

/** A TR answer: body code and message, the blocks by suffix (`OutBlock`, `OutBlock1`), paging. */
export interface TrResponse {
  rspCd: string;
  rspMsg: string;
  blocks: Record<string, unknown>;
  /** The response header said `tr_cont: Y`: repeat the call with `trContKey`. */
  trCont: boolean;
  trContKey: string;
}

/** The body; `blocks` keyed by suffix, e.g. `{OutBlock1: rows}` → `"t8407OutBlock1"`. */
export function encodeTrResponse(trCd: string, rspCd: string, rspMsg: string, blocks: Record<string, unknown>): string {
  const body: Record<string, unknown> = { rsp_cd: rspCd, rsp_msg: rspMsg };
  for (const suffix in blocks) body[`${trCd}${suffix}`] = blocks[suffix];
  return JSON.stringify(body);
}

export function trResponseHeaders(trCd: string, contKey?: string): Record<string, string> {
  return { 'content-type': TR_CONTENT_TYPE, tr_cd: trCd, tr_cont: contKey === undefined ? 'N' : 'Y', tr_cont_key: contKey ?? '' };
}

export function decodeTrResponse(trCd: string, text: string, headers: HeaderSource): Decoded<TrResponse> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const body = parsed.value;
  const rspCd = body.rsp_cd;
  if (typeof rspCd !== 'string' && typeof rspCd !== 'number') return fail('rsp_cd', rspCd === undefined ? 'missing' : `wrong type (${typeName(rspCd)}, expected a string)`);
  const rspMsg = body.rsp_msg ?? '';
  if (typeof rspMsg !== 'string') return fail('rsp_msg', `wrong type (${typeName(rspMsg)}, expected a string)`);
  const blocks: Record<string, unknown> = {};
  for (const key in body) if (key.startsWith(trCd) && key.length > trCd.length) blocks[key.slice(trCd.length)] = body[key];
  const cont = header(headers, 'tr_cont') ?? 'N';
  if (cont !== 'Y' && cont !== 'N') return fail('tr_cont', `out of range (${JSON.stringify(cont)}, expected Y or N)`);
  return ok({
    rspCd: typeof rspCd === 'number' ? String(rspCd).padStart(5, '0') : rspCd,
    rspMsg,
    blocks,
    trCont: cont === 'Y',
    trContKey: header(headers, 'tr_cont_key') ?? '',
  });
}

/** An OutBlock of rows; a lone object (one row) is accepted as a one-row array. */
function decodeRows<S extends Parameters<typeof decodeFields>[1]>(resp: TrResponse, trCd: string, suffix: string, spec: S): Decoded<Fields<S>[]> {
  const block = resp.blocks[suffix];
  const path = `${trCd}${suffix}`;
  return decodeArray(isRecord(block) ? [block] : block, path, (el, p) => decodeFields(el, spec, p, 'loose'));
}

// ---- t8436: the stock universe of both markets --------------------------------------------

const T8436_SPEC = {
  hname: 'text', shcode: 'text', expcode: 'text', etfgubun: 'text', uplmtprice: 'int', dnlmtprice: 'int', jnilclose: 'int',
  memedan: 'text', recprice: 'int', gubun: 'text', bu12gubun: 'text?', spac_gubun: 'text?',
} as const;
export type T8436Row = Fields<typeof T8436_SPEC>;

/** `gubun`: 0 both markets, 1 KOSPI, 2 KOSDAQ. */
export function t8436InBlock(gubun: '0' | '1' | '2'): Record<string, unknown> {
  return { gubun };
}

export function encodeT8436Rows(rows: readonly T8436Row[]): Record<string, string | number>[] {
  return rows.map((r) => encodeFields(r, T8436_SPEC, 'decimalStrings'));
}

export function decodeT8436(resp: TrResponse): Decoded<T8436Row[]> {
  return decodeRows(resp, 't8436', 'OutBlock', T8436_SPEC);
}

/** A t8436 row as a Listing (LS has no separate abbreviation: `hname` serves both); undefined for an unknown `gubun`. */
export function listingFromT8436(row: T8436Row): Listing | undefined {
  const market: Market | undefined = row.gubun === '1' ? 'kospi' : row.gubun === '2' ? 'kosdaq' : undefined;
  return market && { market, symbol: row.shcode, isin: row.expcode, name: row.hname.trim(), abbr: row.hname.trim() };
}

// ---- t8407: multi-symbol current price, ≤ 50 symbols per call -----------------------------

export const MAX_T8407_SYMBOLS = 50;

/** `{nrec, shcode}` with the 6-digit codes concatenated; throws RangeError past 50 or on a non-6-digit code. */
export function t8407InBlock(symbols: readonly string[]): Record<string, unknown> {
  if (symbols.length === 0 || symbols.length > MAX_T8407_SYMBOLS) throw new RangeError(`t8407: ${symbols.length} symbols, expected 1..${MAX_T8407_SYMBOLS}`);
  for (const s of symbols) if (!/^[0-9A-Z]{6}$/.test(s)) throw new RangeError(`t8407: not a 6-character short code: ${s}`);
  return { nrec: symbols.length, shcode: symbols.join('') };
}

/** Reads a t8407 InBlock (server side) into the requested codes. */
export function decodeT8407InBlock(inBlock: Record<string, unknown>): Decoded<string[]> {
  const nrec = toInt(inBlock.nrec);
  if (Number.isNaN(nrec)) return fail('t8407InBlock.nrec', inBlock.nrec === undefined ? 'missing' : 'not an integer');
  if (nrec < 1 || nrec > MAX_T8407_SYMBOLS) return fail('t8407InBlock.nrec', `out of range (${nrec}, expected 1..${MAX_T8407_SYMBOLS})`);
  const shcode = inBlock.shcode;
  if (typeof shcode !== 'string') return fail('t8407InBlock.shcode', shcode === undefined ? 'missing' : `wrong type (${typeName(shcode)}, expected a string)`);
  if (shcode.length !== nrec * 6) return fail('t8407InBlock.shcode', `out of range (${shcode.length} characters, expected nrec × 6 = ${nrec * 6})`);
  const codes: string[] = [];
  for (let i = 0; i < shcode.length; i += 6) codes.push(shcode.slice(i, i + 6));
  return ok(codes);
}

const T8407_SPEC = {
  shcode: 'text', hname: 'text', price: 'int', sign: 'text', change: 'int', diff: 'dec', volume: 'int', offerho: 'int', bidho: 'int',
  cvolume: 'int', chdegree: 'dec', open: 'int', high: 'int', low: 'int', value: 'int', offerrem: 'int', bidrem: 'int',
  totofferrem: 'int', totbidrem: 'int', jnilclose: 'int', uplmtprice: 'int', dnlmtprice: 'int',
} as const;
/** One t8407 row; `value` is in 백만원, `change` unsigned (direction in `sign`), `diff` signed %. */
export type T8407Row = Fields<typeof T8407_SPEC>;

/** Rows as LS sends them: integers as numbers, the decimals `diff` and `chdegree` as strings. */
export function encodeT8407Rows(rows: readonly T8407Row[]): Record<string, string | number>[] {
  return rows.map((r) => encodeFields(r, T8407_SPEC, 'decimalStrings'));
}

export function decodeT8407(resp: TrResponse): Decoded<T8407Row[]> {
  return decodeRows(resp, 't8407', 'OutBlock1', T8407_SPEC);
}

// ---- t8424: all sectors (the valid IJ_ keys) -----------------------------------------------

const T8424_SPEC = { hname: 'text', upcode: 'text' } as const;
/** `hname` arrives space-padded (`"종       합"`), kept as sent. */
export type T8424Row = Fields<typeof T8424_SPEC>;

export function t8424InBlock(): Record<string, unknown> {
  return { gubun1: '' };
}

export function encodeT8424Rows(rows: readonly T8424Row[]): Record<string, string | number>[] {
  return rows.map((r) => encodeFields(r, T8424_SPEC, 'decimalStrings'));
}

export function decodeT8424(resp: TrResponse): Decoded<T8424Row[]> {
  return decodeRows(resp, 't8424', 'OutBlock', T8424_SPEC);
}
