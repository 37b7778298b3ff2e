// LS Securities OpenAPI (shared/protocol/ls.md): WebSocket frames for the sector investor-flow
// feed BM_. Pure functions, no I/O.

import { type Decoded, fail, intReason, isRecord, ok, parseIntStrict } from './decoded.js';
import type { SectorFlow } from './market.js';

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

/** A push frame of the LS WebSocket, routed on (tr_cd, tr_key); `control` = no body (acks, PING). */
export type LsPush =
  | { kind: 'data'; trCd: string; trKey: string; body: Record<string, unknown> }
  | { kind: 'control'; header: Record<string, unknown> };

/** Splits an LS WebSocket frame into header and body (ls.md §4.1, §4.2). Never throws. */
export function decodePush(text: string): Decoded<LsPush> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return fail('$', `not JSON (${(e as Error).message})`);
  }
  if (!isRecord(v)) return fail('$', 'expected an object {header, body}');
  const header = v.header;
  if (!isRecord(header)) return fail('header', header === undefined ? 'missing' : 'expected an object');
  const body = v.body;
  if (body === undefined || body === null || (isRecord(body) && Object.keys(body).length === 0) || 'rsp_cd' in header) {
    return ok({ kind: 'control', header });
  }
  if (!isRecord(body)) return fail('body', 'expected an object');
  const trCd = header.tr_cd;
  if (typeof trCd !== 'string') return fail('header.tr_cd', trCd === undefined ? 'missing' : 'expected a string');
  const trKey = header.tr_key;
  return ok({ kind: 'data', trCd, trKey: typeof trKey === 'string' ? trKey : '', body });
}
