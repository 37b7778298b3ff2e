// LS Securities OpenAPI (shared/protocol/ls.md §4–§5): WebSocket frames — register/release,
// the pushes of BM_ (sector investor flows), S3_/K3_ (trades), IJ_ (index), JIF (session
// events), and control frames. Every push body value is a JSON string. Pure functions, no I/O.

import {
  type Decoded, type Fields, decodeFields, encodeFields, fail, intReason, isRecord, ok, parseIntStrict, parseJsonObject, typeName,
} from './decoded.js';
import type { SectorFlow } from './market.js';
import { hhmmss } from './time.js';

/** BM_ market codes documented by LS (ls.md §5.1). */
export const BM_CODES = ['001', '101', '301', '550', '560', '600', '700', '800', '900', '940', '941', '942', '946', '947'] as const;

/** WebSocket `header.tr_type` values (ls.md §6.1). */
export const TR_TYPE = { register: '3', release: '4' } as const;

export const WS_PATH = '/websocket';

/** A register (tr_type 3) or release (tr_type 4) frame for a real-time TR. */
export function encodeSubscribe(token: string, trCd: string, trKey: string, register = true): string {
  return JSON.stringify({ header: { token, tr_type: register ? TR_TYPE.register : TR_TYPE.release }, body: { tr_cd: trCd, tr_key: trKey } });
}

const FLOW_INT_FIELDS = ['msvolume', 'mdvolume', 'msvol', 'p_msvol', 'msvalue', 'mdvalue', 'msval', 'p_msval'] as const;

/** Decodes the body of a BM_ push (all values are strings on the wire). */
export function decodeSectorFlowBody(body: unknown): Decoded<SectorFlow> {
  if (!isRecord(body)) return fail('body', 'expected an object');
  const upcode = body.upcode;
  if (typeof upcode !== 'string' || !/^\d{3}$/.test(upcode)) return fail('body.upcode', upcode === undefined ? 'missing' : 'expected a 3-digit code string');
  const tjjcode = body.tjjcode;
  if (typeof tjjcode !== 'string' || !/^\d{4}$/.test(tjjcode)) return fail('body.tjjcode', tjjcode === undefined ? 'missing' : 'expected a 4-digit code string');
  const tjjtime = body.tjjtime;
  if (typeof tjjtime !== 'string' || !/^\d{8}$/.test(tjjtime)) return fail('body.tjjtime', tjjtime === undefined ? 'missing' : 'expected HHMMSScc (8 digits)');
  const flow = { upcode, tjjcode, tjjtime } as SectorFlow;
  for (const f of FLOW_INT_FIELDS) {
    const raw = body[f];
    const v = typeof raw === 'string' ? parseIntStrict(raw) : NaN;
    if (Number.isNaN(v)) return fail(`body.${f}`, typeof raw === 'number' ? 'expected a string (LS sends every value as a string)' : intReason(raw));
    flow[f] = v;
  }
  return ok(flow);
}

/** Encodes a BM_ push as LS sends it: header {tr_cd, tr_key}, body of strings. */
export function encodeSectorFlowPush(flow: SectorFlow): string {
  return JSON.stringify({
    header: { tr_cd: 'BM_', tr_key: flow.upcode },
    body: {
      tjjcode: flow.tjjcode, tjjtime: flow.tjjtime,
      msvolume: String(flow.msvolume), mdvolume: String(flow.mdvolume), msvol: String(flow.msvol), p_msvol: String(flow.p_msvol),
      msvalue: String(flow.msvalue), mdvalue: String(flow.mdvalue), msval: String(flow.msval), p_msval: String(flow.p_msval),
      upcode: flow.upcode,
    },
  });
}

/**
 * A frame of the LS WebSocket: `data` is a push routed on (tr_cd, tr_key); `control` is anything
 * else the server says (acks, errors, PING) — a frame without a body, or one carrying `rsp_cd`
 * in its header or its body (LS documents neither, ls.md §4.2; REST puts it in the body).
 */
export type LsPush =
  | { kind: 'data'; trCd: string; trKey: string; body: Record<string, unknown> }
  | { kind: 'control'; header: Record<string, unknown>; control: LsControl };

/** What a control frame says: `trId` (e.g. PING), `rspCd`/`rspMsg` from the header or else the body. */
export interface LsControl {
  trId?: string;
  rspCd?: string;
  rspMsg?: string;
}

/** The success code of LS responses (ls.md §3). */
export const RSP_OK = '00000';

/** Splits an LS WebSocket frame into header and body (ls.md §4.1, §4.2). Never throws. */
export function decodePush(text: string): Decoded<LsPush> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const v = parsed.value;
  const header = v.header;
  if (!isRecord(header)) return fail('header', header === undefined ? 'missing' : 'expected an object');
  const body = v.body;
  if (body === undefined || body === null || (isRecord(body) && (Object.keys(body).length === 0 || 'rsp_cd' in body)) || 'rsp_cd' in header || 'tr_id' in header) {
    return ok({ kind: 'control', header, control: readControl(header, isRecord(body) ? body : undefined) });
  }
  if (!isRecord(body)) return fail('body', 'expected an object');
  const trCd = header.tr_cd;
  if (typeof trCd !== 'string') return fail('header.tr_cd', trCd === undefined ? 'missing' : 'expected a string');
  const trKey = header.tr_key;
  return ok({ kind: 'data', trCd, trKey: typeof trKey === 'string' ? trKey : '', body });
}

function readControl(header: Record<string, unknown>, body: Record<string, unknown> | undefined): LsControl {
  const text = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
  const out: LsControl = {};
  const trId = text(header.tr_id);
  const rspCd = text(header.rsp_cd) ?? text(body?.rsp_cd);
  const rspMsg = text(header.rsp_msg) ?? text(body?.rsp_msg);
  if (trId !== undefined) out.trId = trId;
  if (rspCd !== undefined) out.rspCd = rspCd;
  if (rspMsg !== undefined) out.rspMsg = rspMsg;
  return out;
}

/**
 * Whether a control frame refuses our token. LS documents no WebSocket error codes, so a failure
 * code (not 00000) whose message speaks of the token or authentication counts, in Korean or
 * English, as does the gateway's IGW001xx family of its REST authentication errors.
 */
export function isAuthError(c: LsControl): boolean {
  if (c.rspCd === undefined || c.rspCd === RSP_OK) return false;
  return /^IGW001\d\d$/.test(c.rspCd) || /토큰|인증|token|auth/i.test(c.rspMsg ?? '');
}

/** A BM_ frame as SectorFlow, or null for a control frame (ack, PING, empty body). */
export function decodeSectorFlowFrame(text: string): Decoded<SectorFlow | null> {
  const push = decodePush(text);
  if (!push.ok) return push;
  if (push.value.kind === 'control') return ok(null);
  if (push.value.trCd !== 'BM_') return fail('header.tr_cd', `out of range (${JSON.stringify(push.value.trCd)}, expected "BM_")`);
  return decodeSectorFlowBody(push.value.body);
}

// ---- register / release (server side) --------------------------------------------------------

/** A client frame `{header: {token, tr_type}, body: {tr_cd, tr_key}}`. */
export interface LsSubscribe {
  /** Absent in several vendor examples although required; the server decides. */
  token: string | undefined;
  /** '1'/'2' account register/release, '3'/'4' market-data register/release. */
  trType: '1' | '2' | '3' | '4';
  trCd: string;
  /** '' for account frames (tr_type 1/2), which need no key. */
  trKey: string;
}

/** Reads a register/release frame. Error reasons never quote the token. */
export function decodeSubscribe(text: string): Decoded<LsSubscribe> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const { header, body } = parsed.value;
  if (!isRecord(header)) return fail('header', header === undefined ? 'missing' : `wrong type (${typeName(header)}, expected an object)`);
  const token = header.token;
  if (token !== undefined && typeof token !== 'string') return fail('header.token', `wrong type (${typeName(token)}, expected a string)`);
  const trType = header.tr_type;
  if (trType !== '1' && trType !== '2' && trType !== '3' && trType !== '4') {
    return fail('header.tr_type', trType === undefined ? 'missing' : `out of range (${JSON.stringify(trType)}, expected "1".."4")`);
  }
  if (!isRecord(body)) return fail('body', body === undefined ? 'missing' : `wrong type (${typeName(body)}, expected an object)`);
  const trCd = body.tr_cd;
  if (typeof trCd !== 'string' || trCd === '') return fail('body.tr_cd', trCd === undefined ? 'missing' : 'expected a non-empty string');
  const trKey = body.tr_key ?? '';
  if (typeof trKey !== 'string') return fail('body.tr_key', `wrong type (${typeName(trKey)}, expected a string)`);
  if (trKey === '' && (trType === '3' || trType === '4')) return fail('body.tr_key', 'missing (market-data frames need a key)');
  return ok({ token: token === '' ? undefined : token, trType, trCd, trKey });
}

/**
 * SIMULATOR ONLY (ls.md §4.2 SIM): LS documents no acknowledgement; the simulator may send this
 * after a register frame so clients are tested against both. Clients read it as a control frame.
 */
export function encodeSimAck(trCd: string, trKey: string, rspMsg = 'simulator: registered'): string {
  return JSON.stringify({ header: { tr_cd: trCd, tr_key: trKey, rsp_cd: '00000', rsp_msg: rspMsg }, body: null });
}

/**
 * The undocumented keep-alive one public client answers (ls.md §4.2): both are control frames.
 * A PING is recognised by `header.tr_id`, whatever else the frame carries.
 */
export const PING_FRAME = '{"header":{"tr_id":"PING"}}';
export const PONG_FRAME = '{"header":{"tr_id":"PONG"}}';
export const PING = 'PING';
export const PONG = 'PONG';

// ---- S3_ / K3_: trades of one symbol ---------------------------------------------------------

const TRADE_BODY_SPEC = {
  chetime: 'text', sign: 'text', change: 'int', drate: 'dec', price: 'int', opentime: 'text', open: 'int', hightime: 'text',
  high: 'int', lowtime: 'text', low: 'int', cgubun: 'text', cvolume: 'int', volume: 'int', value: 'int', mdvolume: 'int',
  mdchecnt: 'int', msvolume: 'int', mschecnt: 'int', cpower: 'dec', w_avrg: 'int', offerho: 'int', bidho: 'int',
  status: 'text', jnilvolume: 'int', shcode: 'text', exchname: 'text',
} as const;

/**
 * An S3_ (KOSPI) / K3_ (KOSDAQ) body (ls.md §5.2). `chetime` HHMMSS KST (time.ts hhmmss);
 * `value` cumulative in 백만원; `cgubun` '+' buyer-, '-' seller-initiated; `change` may carry a '-'.
 */
export type LsTradeBody = Fields<typeof TRADE_BODY_SPEC>;

export function encodeTradePush(trCd: 'S3_' | 'K3_', body: LsTradeBody): string {
  return JSON.stringify({ header: { tr_cd: trCd, tr_key: body.shcode }, body: encodeFields(body, TRADE_BODY_SPEC, 'strings') });
}

export function decodeTradeBody(body: unknown): Decoded<LsTradeBody> {
  const r = decodeFields(body, TRADE_BODY_SPEC, 'body', 'strings');
  if (r.ok && !isHhmmss(r.value.chetime)) return fail('body.chetime', `not HHMMSS (${JSON.stringify(r.value.chetime)})`);
  return r;
}

// ---- IJ_: index level --------------------------------------------------------------------------

const INDEX_BODY_SPEC = {
  time: 'text', jisu: 'dec', sign: 'text', change: 'dec', drate: 'dec', cvolume: 'int', volume: 'int', value: 'int', upjo: 'int',
  highjo: 'int', unchgjo: 'int', lowjo: 'int', downjo: 'int', upjrate: 'dec', openjisu: 'dec', opentime: 'text', highjisu: 'dec',
  hightime: 'text', lowjisu: 'dec', lowtime: 'text', frgsvolume: 'int', orgsvolume: 'int', frgsvalue: 'int', orgsvalue: 'int',
  upcode: 'text',
} as const;

/** An IJ_ body (ls.md §5.3); `volume` likely 천주 and `value` 백만원 (inferred from examples). */
export type LsIndexBody = Fields<typeof INDEX_BODY_SPEC>;

export function encodeIndexPush(body: LsIndexBody): string {
  return JSON.stringify({ header: { tr_cd: 'IJ_', tr_key: body.upcode }, body: encodeFields(body, INDEX_BODY_SPEC, 'strings') });
}

export function decodeIndexBody(body: unknown): Decoded<LsIndexBody> {
  const r = decodeFields(body, INDEX_BODY_SPEC, 'body', 'strings');
  if (r.ok && !isHhmmss(r.value.time)) return fail('body.time', `not HHMMSS (${JSON.stringify(r.value.time)})`);
  return r;
}

// ---- JIF: session events -----------------------------------------------------------------------

const STATUS_BODY_SPEC = { jangubun: 'text', jstatus: 'text' } as const;

/** A JIF body (ls.md §5.4): `jangubun` market (1 KOSPI, 2 KOSDAQ …), `jstatus` event (21 장 시작, 41 장 마감 …). */
export type LsMarketStatus = Fields<typeof STATUS_BODY_SPEC>;

/** JIF is registered with key `"0"` in the vendor example. */
export function encodeMarketStatusPush(body: LsMarketStatus, trKey = '0'): string {
  return JSON.stringify({ header: { tr_cd: 'JIF', tr_key: trKey }, body: encodeFields(body, STATUS_BODY_SPEC, 'strings') });
}

export function decodeMarketStatusBody(body: unknown): Decoded<LsMarketStatus> {
  return decodeFields(body, STATUS_BODY_SPEC, 'body', 'strings');
}

function isHhmmss(s: string): boolean {
  if (s.length !== 6) return false;
  for (let i = 0; i < 6; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return !Number.isNaN(hhmmss(Number(s)));
}
