// Koscom's JSON-RPC 2.0 profile (shared/protocol/koscom.md §3, §6): the envelope of the
// per-symbol WebSocket /ws, of the init/heartbeat frames on /ws_ksp /ws_kdq, and of the REST
// `{jsonrpc, result}` bodies. Pure functions, no I/O.

import { type Decoded, decodeFields, fail, isRecord, ok, parseJsonObject, toInt, typeName } from './decoded.js';
import { trdTmCode } from './time.js';

export const JSONRPC_VERSION = '2.0';

/** The only JSON-RPC error code Koscom documents: malformed JSON-RPC message (koscom.md §10). */
export const RPC_MALFORMED = 47;
export const RPC_MALFORMED_MESSAGE = '정상적인 JSON-RPC 형식이 아닙니다';

/** WebSocket path of the per-symbol subscription feed. */
export const SUBSCRIPTION_PATH = '/ws';

/** Concurrent (symbol, preset) subscriptions per /ws session (koscom.md §6.1); 20 in the sandbox. */
export const MAX_SUBSCRIPTIONS = 200;
export const MAX_SUBSCRIPTIONS_SANDBOX = 20;

/** `params.preset` values of subscribe/unsubscribe (koscom.md §6.3). */
export const PRESETS = ['tick', 'quote', 'tick10', 'quote10', 'index', 'change'] as const;
export type Preset = (typeof PRESETS)[number];

/** The OK result the server sends for init, subscribe, unsubscribe and heartbeat. */
export const RESULT_OK = { message: 'ok' } as const;

export type RpcMessage =
  | { kind: 'request'; id: number; method: string; params: Record<string, unknown> }
  | { kind: 'result'; id: number | undefined; result: unknown }
  | { kind: 'push'; params: Record<string, unknown> }
  | { kind: 'error'; id?: number; code: number; message: string };

export function encodeRequest(id: number, method: string, params?: object): string {
  return JSON.stringify(params === undefined ? { jsonrpc: JSONRPC_VERSION, id, method } : { jsonrpc: JSONRPC_VERSION, id, method, params });
}

/** The first frame on every Koscom socket: the API key and the company name. */
export function encodeInit(id: number, key: string, membername: string): string {
  return encodeRequest(id, 'init', { key, membername });
}

export function encodeHeartbeat(id: number): string {
  return encodeRequest(id, 'heartbeat');
}

/** subscribe / unsubscribe of one (symbol, preset); `items` only for the `change` preset. */
export function encodeSubscription(id: number, method: 'subscribe' | 'unsubscribe', preset: Preset, symbol: string, items?: readonly string[]): string {
  return encodeRequest(id, method, items === undefined ? { preset, isuSrtCd: symbol } : { preset, isuSrtCd: symbol, items });
}

/** `{jsonrpc, id, result}`; without `id` it is the REST body wrapper `{jsonrpc, result}`. */
export function encodeResult(id: number | undefined, result: unknown): string {
  return JSON.stringify(id === undefined ? { jsonrpc: JSONRPC_VERSION, result } : { jsonrpc: JSONRPC_VERSION, id, result });
}

/** A real-time notification: `{jsonrpc, method: "push", params}`, no `id`. */
export function encodePushNotification(params: object): string {
  return JSON.stringify({ jsonrpc: JSONRPC_VERSION, method: 'push', params });
}

/** `{jsonrpc, error: {code, message}}`, with `id` when the request had a readable one. */
export function encodeRpcError(code: number, message: string, id?: number): string {
  const error = { code, message };
  return JSON.stringify(id === undefined ? { jsonrpc: JSONRPC_VERSION, error } : { jsonrpc: JSONRPC_VERSION, id, error });
}

/**
 * Classifies and checks a JSON-RPC frame. `init` with `data` instead of `params` (the flow
 * description's spelling) is read as params. Never throws.
 */
export function decodeRpcMessage(text: string): Decoded<RpcMessage> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  if (m.jsonrpc !== JSONRPC_VERSION) return fail('jsonrpc', m.jsonrpc === undefined ? 'missing' : `expected "2.0", got ${JSON.stringify(m.jsonrpc)}`);
  const id = readId(m.id);
  if (Number.isNaN(id)) return fail('id', `wrong type (${typeName(m.id)}, expected an integer)`);
  if (m.error !== undefined) {
    if (!isRecord(m.error)) return fail('error', `wrong type (${typeName(m.error)}, expected an object)`);
    const code = toInt(m.error.code);
    if (Number.isNaN(code)) return fail('error.code', m.error.code === undefined ? 'missing' : 'expected an integer');
    const message = m.error.message;
    if (typeof message !== 'string') return fail('error.message', message === undefined ? 'missing' : 'expected a string');
    return ok(id === undefined ? { kind: 'error', code, message } : { kind: 'error', id, code, message });
  }
  if ('result' in m) return ok({ kind: 'result', id, result: m.result });
  const method = m.method;
  if (typeof method !== 'string' || method === '') return fail('method', method === undefined ? 'missing (and no result or error)' : 'expected a non-empty string');
  let params = m.params;
  if (params === undefined && method === 'init') params = m.data;
  if (params !== undefined && !isRecord(params)) return fail('params', `wrong type (${typeName(params)}, expected an object)`);
  if (method === 'push' && id === undefined) {
    if (params === undefined) return fail('params', 'missing');
    return ok({ kind: 'push', params });
  }
  if (id === undefined) return fail('id', `missing (request "${method}")`);
  return ok({ kind: 'request', id, method, params: params ?? {} });
}

/** `id`: an integer, or absent/null (→ undefined); NaN for anything else. */
function readId(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : NaN;
}

export interface InitParams {
  key: string;
  membername: string;
}

/** The params of `init`. A missing `membername` reads as '' (the key is what authenticates). */
export function decodeInitParams(params: Record<string, unknown>): Decoded<InitParams> {
  const key = params.key;
  if (typeof key !== 'string' || key === '') return fail('params.key', key === undefined ? 'missing' : 'expected a non-empty string');
  const membername = params.membername ?? '';
  if (typeof membername !== 'string') return fail('params.membername', 'expected a string');
  return ok({ key, membername });
}

export interface SubscriptionParams {
  /** Absent on an unsubscribe that cancels everything registered under the request id. */
  preset?: Preset;
  symbol: string;
  items?: string[];
}

/** The params of subscribe/unsubscribe; `isuSrtCode` (the parameter table's spelling) = `isuSrtCd`. */
export function decodeSubscriptionParams(params: Record<string, unknown>): Decoded<SubscriptionParams> {
  const symbol = params.isuSrtCd ?? params.isuSrtCode;
  if (typeof symbol !== 'string' || symbol === '') return fail('params.isuSrtCd', symbol === undefined ? 'missing' : 'expected a non-empty string');
  const out: SubscriptionParams = { symbol };
  const preset = params.preset;
  if (preset !== undefined) {
    if (typeof preset !== 'string' || !(PRESETS as readonly string[]).includes(preset)) return fail('params.preset', `out of range (${JSON.stringify(preset)}, expected one of ${PRESETS.join(', ')})`);
    out.preset = preset as Preset;
  }
  const items = params.items;
  if (items !== undefined) {
    if (!Array.isArray(items) || !items.every((x) => typeof x === 'string')) return fail('params.items', 'expected an array of strings');
    out.items = items as string[];
  }
  return ok(out);
}

const TICK_SPEC = { isuSrtCd: 'text', trdPrc: 'int', trdvol: 'int', trdTm: 'int', accTrdvol: 'int?', accTrdval: 'int?' } as const;

/** A `tick` preset push (koscom.md §6.3); `trdTm` is the raw code (see time.ts exchTime). */
export interface TickPush {
  isuSrtCd: string;
  trdPrc: number;
  trdvol: number;
  trdTm: number;
  accTrdvol?: number;
  accTrdval?: number;
}

/** Encodes a `tick` push with the vendor's types (numbers; `trdTm` as a number, leading zero lost). */
export function encodeTickPush(t: TickPush): string {
  return encodePushNotification({ preset: 'tick', ...t });
}

/** Reads the params of a `tick` push (or a subscribe result carrying the snapshot). */
export function decodeTickParams(params: Record<string, unknown>): Decoded<TickPush> {
  const r = decodeFields(params, TICK_SPEC, 'params', 'loose');
  if (!r.ok) return r;
  const code = trdTmCode(params.trdTm);
  if (Number.isNaN(code)) return fail('params.trdTm', `not a HHMMSScc time or signal (${JSON.stringify(params.trdTm)})`);
  r.value.trdTm = code;
  return r;
}
