// Every decoder against random garbage, truncated frames and wrong-typed fields: a typed failure
// naming the field, never a throw.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type DecodeError, type Decoded, parseIntStrict } from '../protocol/decoded.js';
import {
  decodeInitParams, decodeRpcMessage, decodeSubscriptionParams, decodeTickParams, encodeInit, encodeRpcError, encodeSubscription, encodeTickPush,
} from '../protocol/jsonrpc.js';
import { decodeTradeFrame, encodeTradeFrame } from '../protocol/koscom.js';
import {
  decodeClosePriceBody, decodeHistoryBody, decodeMasterBody, decodeMultiquotePrice, decodeOhlcLists, decodePriceBody, decodePricePreset,
  decodeQuoteLists, decodeRestError, decodeStockList, encodeClosePriceBody, encodeHistoryBody, encodeMasterBody, encodeMultiquotePrice,
  encodeOhlcLists, encodePriceBody, encodeQuoteLists, encodeStockList, type PricePreset,
} from '../protocol/koscom-rest.js';
import {
  decodeT8407, decodeT8407InBlock, decodeT8424, decodeT8436, decodeTokenResponse, decodeTrRequest, decodeTrResponse, encodeT8407Rows,
  encodeTokenResponse, encodeTrRequest, encodeTrResponse, t8407InBlock, type T8407Row,
} from '../protocol/ls-rest.js';
import {
  decodeIndexBody, decodeMarketStatusBody, decodePush, decodeSectorFlowBody, decodeSectorFlowFrame, decodeSubscribe, decodeTradeBody,
  encodeMarketStatusPush, encodeSectorFlowPush, encodeSubscribe, encodeTradePush, type LsTradeBody,
} from '../protocol/ls.js';
import { kstMidnight } from '../protocol/time.js';

const DAY0 = kstMidnight('2024-03-04');
const NO_SINK = { trade() {}, signal() {} };

/** Runs a decoder that returns Decoded, or the error list of decodeTradeFrame, as one shape. */
type TextDecoder = (text: string) => Decoded<unknown> | DecodeError[];

/** Decodes the envelope, then its payload with `inner`; an envelope failure is the result. */
function nested<T>(text: string, envelope: (text: string) => Decoded<unknown>, inner: (v: Record<string, unknown>) => Decoded<T>): Decoded<unknown> {
  const outer = envelope(text);
  return outer.ok ? inner(outer.value as Record<string, unknown>) : outer;
}
const pushBody = (text: string): Decoded<unknown> => {
  const p = decodePush(text);
  return p.ok ? { ok: true, value: p.value.kind === 'data' ? p.value.body : {} } : p;
};
const rpcParams = (text: string): Decoded<unknown> => {
  const m = decodeRpcMessage(text);
  return m.ok ? { ok: true, value: m.value.kind === 'request' || m.value.kind === 'push' ? m.value.params : {} } : m;
};
const withBody = <T,>(inner: (v: Record<string, unknown>) => Decoded<T>) => (text: string) => nested(text, pushBody, inner);
const withParams = <T,>(inner: (v: Record<string, unknown>) => Decoded<T>) => (text: string) => nested(text, rpcParams, inner);

const PRESET: PricePreset = {
  isuSrtCd: '005930', cmpprevddTpCd: '5', cmpprevddPrc: -600, opnprc: 71900, hgprc: 72100, lwprc: 71000, trdPrc: 71200, trdvol: 12,
  accTrdvol: 5123456, accTrdval: 365012345600, lstAskbidTpCd: '2', trdTm: 9315200,
};
const S3: LsTradeBody = {
  chetime: '100216', sign: '2', change: 600, drate: 0.85, price: 71300, opentime: '090000', open: 70900, hightime: '095512', high: 71500,
  lowtime: '090102', low: 70800, cgubun: '+', cvolume: 3, volume: 10887, value: 604, mdvolume: 5000, mdchecnt: 120, msvolume: 5887,
  mschecnt: 150, cpower: 117.74, w_avrg: 71190, offerho: 71300, bidho: 71200, status: '00', jnilvolume: 9000, shcode: '005930', exchname: 'KRX',
};
const T8407: T8407Row = {
  shcode: '078020', hname: 'x', price: 5980, sign: '5', change: 1600, diff: -1.45, volume: 12345, offerho: 5990, bidho: 5980, cvolume: 10,
  chdegree: 56.8, open: 6000, high: 6010, low: 5950, value: 73, offerrem: 100, bidrem: 200, totofferrem: 1000, totbidrem: 2000, jnilclose: 6070,
  uplmtprice: 7890, dnlmtprice: 4250,
};
const trRows = (trCd: string, text: string, rows: (r: Parameters<typeof decodeT8436>[0]) => Decoded<unknown>) => {
  const r = decodeTrResponse(trCd, text, {});
  return r.ok ? rows(r.value) : r;
};

/** Each decoder with one valid frame it accepts. */
const DECODERS: [string, TextDecoder, string][] = [
  ['trade frame', (t) => decodeTradeFrame(t, DAY0, NO_SINK), encodeTradeFrame([{ symbol: '005930', price: 71200, qty: 3, msOfDay: 36_000_000 }])],
  ['rpc message', decodeRpcMessage, encodeRpcError(47, 'x', 1)],
  ['rpc init params', withParams(decodeInitParams), encodeInit(1, 'key', 'acme')],
  ['rpc subscription params', withParams(decodeSubscriptionParams), encodeSubscription(2, 'subscribe', 'tick', '005930')],
  ['rpc tick params', withParams(decodeTickParams), encodeTickPush({ isuSrtCd: '005930', trdPrc: 1, trdvol: 2, trdTm: 10021600 })],
  ['stock list', (t) => decodeStockList(t, 'kospi'), encodeStockList({ day: '2024-03-04', mktEndTm: '1540', listings: [{ market: 'kospi', symbol: '005930', isin: 'KR7005930003', name: 'n', abbr: 'a' }] })],
  ['quote lists', decodeQuoteLists, encodeQuoteLists({ day: '2024-03-04', takenMs: DAY0 + 1000, rows: [{ symbol: '005930', price: 1, accVolume: 2, accValue: 3 }] })],
  ['ohlc lists', decodeOhlcLists, encodeOhlcLists({ day: '2024-03-04', takenMs: DAY0 + 1000, rows: [{ symbol: '005930', open: 1, high: 2, low: 1, price: 2 }] })],
  ['price body', decodePriceBody, encodePriceBody(PRESET)],
  ['tick10 params', withParams((p) => decodePricePreset(p, 'params')), encodeMultiquotePrice([PRESET]).replace('"result":{"isulist":[', '"method":"push","params":').replace(']}}', '}')],
  ['multiquote price', decodeMultiquotePrice, encodeMultiquotePrice([PRESET, PRESET])],
  ['master', decodeMasterBody, encodeMasterBody({ isuSrtCd: '005930', basPrc: 71200, per: 8.67, day: '2024-03-04' })],
  ['close price', decodeClosePriceBody, encodeClosePriceBody({ isuSrtCd: '005930', trdPrc: 1, cmpprevddTpCd: '3', opnprc: 1, hgprc: 1, lwprc: 1, accTrdvol: 0, accTrdval: 0, cmpprevddPrc: 0 })],
  ['history', decodeHistoryBody, encodeHistoryBody({ symbol: '005930', bars: [{ day: '2024-03-04', trdPrc: 1, cmpprevddTpCd: '3', opnprc: 1, hgprc: 1, lwprc: 1, accTrdvol: 0, accTrdval: 0, cmpprevddPrc: 0 }] })],
  ['rest error', decodeRestError, '{"error":"당일 종가 제공 시간이 아닙니다."}'],
  ['token response', decodeTokenResponse, encodeTokenResponse({ accessToken: 'tok', expiresInSec: 86400, tokenType: 'Bearer' })],
  ['tr request', (t) => decodeTrRequest('t8407', t), encodeTrRequest('t8407', t8407InBlock(['005930']))],
  ['t8407 in block', (t) => { const r = decodeTrRequest('t8407', t); return r.ok ? decodeT8407InBlock(r.value) : r; }, encodeTrRequest('t8407', t8407InBlock(['005930', '000660']))],
  ['t8436 rows', (t) => trRows('t8436', t, decodeT8436), '{"rsp_cd":"00000","t8436OutBlock":[{"hname":"a","shcode":"005930","expcode":"KR","etfgubun":"0","uplmtprice":1,"dnlmtprice":1,"jnilclose":1,"memedan":"00001","recprice":1,"gubun":"1"}]}'],
  ['t8407 rows', (t) => trRows('t8407', t, decodeT8407), encodeTrResponse('t8407', '00000', '', { OutBlock1: encodeT8407Rows([T8407]) })],
  ['t8424 rows', (t) => trRows('t8424', t, decodeT8424), '{"rsp_cd":"00000","t8424OutBlock":[{"hname":"종합","upcode":"001"}]}'],
  ['ls push', decodePush, encodeTradePush('S3_', S3)],
  ['ls sector flow frame', decodeSectorFlowFrame, encodeSectorFlowPush({ upcode: '001', tjjcode: '0008', tjjtime: '10150000', msvolume: 1, mdvolume: 2, msvol: -1, p_msvol: 0, msvalue: 1, mdvalue: 1, msval: 0, p_msval: 0 })],
  ['ls subscribe', decodeSubscribe, encodeSubscribe('tok', 'BM_', '001')],
  ['ls S3_ body', withBody(decodeTradeBody), encodeTradePush('K3_', S3)],
  ['ls IJ_ body', withBody(decodeIndexBody), '{"header":{"tr_cd":"IJ_","tr_key":"001"},"body":{"time":"101500","jisu":"2610.62","sign":"2","change":"12.30","drate":"0.47","cvolume":"1","volume":"2","value":"3","upjo":"1","highjo":"1","unchgjo":"1","lowjo":"1","downjo":"1","upjrate":"50.00","openjisu":"1.0","opentime":"090000","highjisu":"1.0","hightime":"090000","lowjisu":"1.0","lowtime":"090000","frgsvolume":"-1","orgsvolume":"1","frgsvalue":"-1","orgsvalue":"1","upcode":"001"}}'],
  ['ls JIF body', withBody(decodeMarketStatusBody), encodeMarketStatusPush({ jangubun: '1', jstatus: '21' })],
];

/** A list decoded per element, as the error of its first bad element (or the list's own failure). */
function firstBadElement(r: Decoded<{ bad?: { error: DecodeError }[] }>): DecodeError[] {
  if (!r.ok) return [r.error];
  return (r.value.bad ?? []).map((b) => b.error);
}

function failed(r: Decoded<unknown> | DecodeError[]): DecodeError | undefined {
  if (Array.isArray(r)) return r[0];
  return r.ok ? undefined : r.error;
}

function wellFormed(r: Decoded<unknown> | DecodeError[]): boolean {
  const errors = Array.isArray(r) ? r : r.ok ? [] : [r.error];
  return errors.every((e) => typeof e.field === 'string' && e.field !== '' && typeof e.reason === 'string' && e.reason !== '');
}

describe.each(DECODERS)('%s', (_, decode, valid) => {
  test('accepts its valid sample', () => {
    expect(failed(decode(valid))).toBeUndefined();
  });

  test('every truncation fails on $ (not JSON), never throws', () => {
    for (let cut = 0; cut < valid.length; cut++) {
      const e = failed(decode(valid.slice(0, cut)));
      expect(e, `cut at ${cut}`).toBeDefined();
    }
  });

  test('property: random text, random JSON → well-formed result, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.json({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ result: v, body: v, header: v, params: v, isuLists: [v] }))), (text) => {
        const r = decode(text);
        expect(wellFormed(r)).toBe(true);
        let isJson = true;
        try {
          JSON.parse(text);
        } catch {
          isJson = false;
        }
        if (!isJson) expect(failed(r)?.field).toBe('$');
      }),
      { numRuns: 600 },
    );
  });
});

/** Values that are not an integer in any wire form Koscom or LS uses. */
const notAnInteger = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }),
  fc.string({ maxLength: 12 }).filter((s) => Number.isNaN(parseIntStrict(s))),
  fc.constantFrom('1e3', '12a', '', ' 1', '+1', '1.0', '0x10'),
);

/** [decoder, valid sample, path of an integer field as JSON keys, the field name the error must carry]. */
const INT_FIELDS: [string, TextDecoder, string, (string | number)[], string][] = [
  ['trade frame trdPrc', (t) => decodeTradeFrame(t, DAY0, NO_SINK), DECODERS[0][2], [0, 'trdPrc'], '[0].trdPrc'],
  ['trade frame trdVol', (t) => decodeTradeFrame(t, DAY0, NO_SINK), DECODERS[0][2], [0, 'trdVol'], '[0].trdVol'],
  ['trade frame trdTm', (t) => decodeTradeFrame(t, DAY0, NO_SINK), DECODERS[0][2], [0, 'trdTm'], '[0].trdTm'],
  ['price accTrdval', decodePriceBody, encodePriceBody(PRESET), ['result', 'accTrdval'], 'result.accTrdval'],
  ['price trdTm', decodePriceBody, encodePriceBody(PRESET), ['result', 'trdTm'], 'result.trdTm'],
  ['multiquote price', decodeMultiquotePrice, encodeMultiquotePrice([PRESET, PRESET]), ['result', 'isulist', 1, 'trdPrc'], 'result.isulist[1].trdPrc'],
  ['quote lists (the element set aside)', (t) => firstBadElement(decodeQuoteLists(t)), DECODERS[6][2], ['isuLists', 0, 'accTrdvol'], 'isuLists[0].accTrdvol'],
  ['history', decodeHistoryBody, DECODERS[13][2], ['result', 'hisLists', 0, 'opnprc'], 'result.hisLists[0].opnprc'],
  ['master basPrc', decodeMasterBody, DECODERS[11][2], ['result', 'basPrc'], 'result.basPrc'],
  ['token expires_in', decodeTokenResponse, DECODERS[15][2], ['expires_in'], 'expires_in'],
  ['t8407 volume', (t) => trRows('t8407', t, decodeT8407), DECODERS[19][2], ['t8407OutBlock1', 0, 'volume'], 't8407OutBlock1[0].volume'],
  ['BM_ msvolume', decodeSectorFlowFrame, DECODERS[22][2], ['body', 'msvolume'], 'body.msvolume'],
  ['S3_ price', withBody(decodeTradeBody), DECODERS[24][2], ['body', 'price'], 'body.price'],
  ['tick trdvol', withParams(decodeTickParams), DECODERS[4][2], ['params', 'trdvol'], 'params.trdvol'],
];

describe('wrong-typed integer fields are named', () => {
  test.each(INT_FIELDS)('%s', (_, decode, valid, path, field) => {
    fc.assert(
      fc.property(notAnInteger, (bad) => {
        const frame = JSON.parse(valid);
        let at = frame;
        for (const key of path.slice(0, -1)) at = at[key];
        at[path[path.length - 1]] = bad;
        expect(failed(decode(JSON.stringify(frame)))?.field).toBe(field);
      }),
      { numRuns: 300 },
    );
  });

  test('BM_ body object decoder: numbers are wrong types on LS real-time frames', () => {
    fc.assert(
      fc.property(fc.integer(), (n) => {
        const r = decodeSectorFlowBody({ upcode: '001', tjjcode: '0008', tjjtime: '10150000', msvolume: n });
        return !r.ok && r.error.field === 'body.msvolume';
      }),
      { numRuns: 200 },
    );
  });
});
