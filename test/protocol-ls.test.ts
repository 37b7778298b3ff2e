import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fail, ok } from '../protocol/decoded.js';
import {
  BM_CODES, PING_FRAME, PONG_FRAME, type LsIndexBody, type LsMarketStatus, type LsTradeBody, decodeIndexBody,
  decodeMarketStatusBody, decodePush, isAuthError, decodeSectorFlowFrame, decodeSubscribe, decodeTradeBody, encodeIndexPush,
  encodeMarketStatusPush, encodeSectorFlowPush, encodeSimAck, encodeSubscribe, encodeTradePush,
} from '../protocol/ls.js';
import type { SectorFlow } from '../protocol/market.js';

/** The BM_ example of ls.md §5.1. */
const BM_EXAMPLE =
  '{"header":{"tr_cd":"BM_","tr_key":"001"},"body":{"tjjcode":"0008","tjjtime":"10150000","msvolume":"120034","mdvolume":"118870","msvol":"1164","p_msvol":"35","msvalue":"41210","mdvalue":"40977","msval":"233","p_msval":"12","upcode":"001"}}';

const S3_BODY: LsTradeBody = {
  chetime: '100216', sign: '2', change: 600, drate: 0.85, price: 71300, opentime: '090000', open: 70900, hightime: '095512', high: 71500,
  lowtime: '090102', low: 70800, cgubun: '+', cvolume: 3, volume: 10887, value: 604, mdvolume: 5000, mdchecnt: 120, msvolume: 5887,
  mschecnt: 150, cpower: 117.74, w_avrg: 71190, offerho: 71300, bidho: 71200, status: '00', jnilvolume: 9000, shcode: '005930', exchname: 'KRX',
};

describe('BM_ sector flows', () => {
  test('the documented example', () => {
    expect(decodeSectorFlowFrame(BM_EXAMPLE)).toEqual(
      ok({ upcode: '001', tjjcode: '0008', tjjtime: '10150000', msvolume: 120034, mdvolume: 118870, msvol: 1164, p_msvol: 35, msvalue: 41210, mdvalue: 40977, msval: 233, p_msval: 12 }),
    );
  });

  test('control frames decode as null: simulator ack, PING, empty or null body', () => {
    expect(decodeSectorFlowFrame(encodeSimAck('BM_', '001'))).toEqual(ok(null));
    expect(decodeSectorFlowFrame(PING_FRAME)).toEqual(ok(null));
    expect(decodeSectorFlowFrame(PONG_FRAME)).toEqual(ok(null));
    expect(decodeSectorFlowFrame('{"header":{"tr_cd":"BM_","tr_key":"001"},"body":{}}')).toEqual(ok(null));
    const ack = decodePush(encodeSimAck('S3_', '005930', 'ok'));
    expect(ack).toEqual(ok({ kind: 'control', header: { tr_cd: 'S3_', tr_key: '005930', rsp_cd: '00000', rsp_msg: 'ok' }, control: { rspCd: '00000', rspMsg: 'ok' } }));
  });

  test('control frames: rsp_cd/rsp_msg read from the header or the body, PING matched on header.tr_id', () => {
    const control = (text: string) => {
      const p = decodePush(text);
      return p.ok && p.value.kind === 'control' ? p.value.control : undefined;
    };
    expect(control('{"header":{"tr_cd":"BM_","tr_key":"001","rsp_cd":"40100","rsp_msg":"token expired"},"body":null}')).toEqual({ rspCd: '40100', rspMsg: 'token expired' });
    expect(control('{"header":{"tr_cd":"BM_","tr_key":""},"body":{"rsp_cd":"IGW00121","rsp_msg":"x"}}')).toEqual({ rspCd: 'IGW00121', rspMsg: 'x' });
    expect(control('{"header":{"tr_cd":"BM_","rsp_cd":1},"body":{"rsp_cd":"2","rsp_msg":"from the body"}}')).toEqual({ rspCd: '1', rspMsg: 'from the body' });
    expect(control(PING_FRAME)).toEqual({ trId: 'PING' });
    expect(control('{ "body": null, "header": { "tr_cd": "", "tr_id": "PING" } }')).toEqual({ trId: 'PING' });
    expect(control('{"header":{"tr_id":"PING"},"body":{"anything":"1"}}')).toEqual({ trId: 'PING' });
  });

  test('authentication errors: a failure code whose message names the token, or the gateway IGW001xx codes', () => {
    expect(isAuthError({ rspCd: '40100', rspMsg: '유효하지 않은 토큰입니다' })).toBe(true);
    expect(isAuthError({ rspCd: '9', rspMsg: 'Invalid access token' })).toBe(true);
    expect(isAuthError({ rspCd: 'IGW00121' })).toBe(true);
    expect(isAuthError({ rspCd: '00000', rspMsg: 'token registered' })).toBe(false);
    expect(isAuthError({ rspCd: '40400', rspMsg: '제공하지 않는 TR 또는 키입니다' })).toBe(false);
    expect(isAuthError({ trId: 'PING' })).toBe(false);
  });

  test('failures name the field: numbers instead of strings, wrong tr_cd, bad codes, not JSON', () => {
    expect(decodeSectorFlowFrame(BM_EXAMPLE.replace('"msvol":"1164"', '"msvol":1164'))).toEqual(fail('body.msvol', 'expected a string (LS sends every value as a string)'));
    expect(decodeSectorFlowFrame(BM_EXAMPLE.replace('"msval":"233"', '"msval":"2.33"'))).toEqual(fail('body.msval', 'not an integer string ("2.33")'));
    expect(decodeSectorFlowFrame(BM_EXAMPLE.replace('"tr_cd":"BM_"', '"tr_cd":"S3_"'))).toEqual(fail('header.tr_cd', 'out of range ("S3_", expected "BM_")'));
    expect(decodeSectorFlowFrame(BM_EXAMPLE.replace('"tjjtime":"10150000"', '"tjjtime":"101500"'))).toEqual(fail('body.tjjtime', 'expected HHMMSScc (8 digits)'));
    expect(decodeSectorFlowFrame(BM_EXAMPLE.replace(',"upcode":"001"', ''))).toEqual(fail('body.upcode', 'missing'));
    expect(decodeSectorFlowFrame(BM_EXAMPLE.slice(0, 40)).ok).toBe(false);
    expect(decodeSectorFlowFrame('{"body":{}}')).toEqual(fail('header', 'missing'));
    expect(decodeSectorFlowFrame('{"header":{"tr_cd":"BM_"},"body":"x"}')).toEqual(fail('body', 'expected an object'));
  });

  test('negative net flows (signed strings)', () => {
    const r = decodeSectorFlowFrame(BM_EXAMPLE.replace('"msvol":"1164"', '"msvol":"-5139"'));
    expect(r.ok && r.value?.msvol).toBe(-5139);
  });

  test('property: encodeSectorFlowPush → decodeSectorFlowFrame', () => {
    const int = fc.integer({ min: -(2 ** 40), max: 2 ** 40 });
    const flow: fc.Arbitrary<SectorFlow> = fc.record({
      upcode: fc.constantFrom(...BM_CODES), tjjcode: fc.stringMatching(/^[0-9]{4}$/), tjjtime: fc.stringMatching(/^[0-9]{8}$/),
      msvolume: int, mdvolume: int, msvol: int, p_msvol: int, msvalue: int, mdvalue: int, msval: int, p_msval: int,
    });
    fc.assert(fc.property(flow, (f) => void expect(decodeSectorFlowFrame(encodeSectorFlowPush(f))).toEqual(ok(f))), { numRuns: 1000 });
  });
});

describe('register / release frames', () => {
  test('our documented example, release, and the token-less vendor examples', () => {
    expect(decodeSubscribe('{"header":{"token":"tok","tr_type":"3"},"body":{"tr_cd":"S3_","tr_key":"005930"}}')).toEqual(ok({ token: 'tok', trType: '3', trCd: 'S3_', trKey: '005930' }));
    expect(decodeSubscribe(encodeSubscribe('tok', 'BM_', '001', false))).toEqual(ok({ token: 'tok', trType: '4', trCd: 'BM_', trKey: '001' }));
    expect(decodeSubscribe('{"header":{"tr_type":"3"},"body":{"tr_cd":"IJ_","tr_key":"001"}}')).toEqual(ok({ token: undefined, trType: '3', trCd: 'IJ_', trKey: '001' }));
    expect(decodeSubscribe('{"header":{"token":"t","tr_type":"1"},"body":{"tr_cd":"SC0"}}')).toEqual(ok({ token: 't', trType: '1', trCd: 'SC0', trKey: '' }));
  });

  test('bad frames are named and never quote the token', () => {
    const secret = 'eyJhbGciOiJIUzUxMiJ9.SECRET';
    const cases: [string, string][] = [
      [`{"header":{"token":"${secret}","tr_type":3},"body":{"tr_cd":"S3_","tr_key":"005930"}}`, 'header.tr_type'],
      [`{"header":{"token":"${secret}","tr_type":"5"},"body":{"tr_cd":"S3_","tr_key":"005930"}}`, 'header.tr_type'],
      [`{"header":{"token":"${secret}","tr_type":"3"},"body":{"tr_cd":"S3_"}}`, 'body.tr_key'],
      [`{"header":{"token":"${secret}","tr_type":"3"},"body":{"tr_key":"005930"}}`, 'body.tr_cd'],
      [`{"header":{"token":"${secret}","tr_type":"3"}}`, 'body'],
      [`{"header":{"token":1,"tr_type":"3"},"body":{"tr_cd":"S3_","tr_key":"005930"}}`, 'header.token'],
      [`{"header":{"token":"${secret}","tr_type":"3"},"body":{"tr_cd":"S3_","tr_key":"005930"`, '$'],
    ];
    for (const [text, field] of cases) {
      const r = decodeSubscribe(text);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.field).toBe(field);
      expect(r.error.reason).not.toContain('SECRET');
    }
  });

  test('property: encodeSubscribe → decodeSubscribe', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.stringMatching(/^[A-Z0-9]{2}_$/), fc.string({ minLength: 1, maxLength: 8 }), fc.boolean(), (token, trCd, trKey, register) => {
        expect(decodeSubscribe(encodeSubscribe(token, trCd, trKey, register))).toEqual(ok({ token, trType: register ? '3' : '4', trCd, trKey }));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('S3_ / K3_ / IJ_ / JIF bodies', () => {
  test('S3_ decodes every documented field from strings, with a signed change', () => {
    const text = encodeTradePush('S3_', { ...S3_BODY, change: -600 });
    const push = decodePush(text);
    expect(push.ok && push.value.kind === 'data' && push.value.trCd === 'S3_' && push.value.trKey).toBe('005930');
    expect(push.ok && push.value.kind === 'data' && push.value.body.cpower).toBe('117.74');
    expect(push.ok && push.value.kind === 'data' && decodeTradeBody(push.value.body)).toEqual(ok({ ...S3_BODY, change: -600 }));
  });

  test('S3_ failures: number value, bad chetime, missing field', () => {
    const wire = JSON.parse(encodeTradePush('K3_', S3_BODY)).body;
    expect(decodeTradeBody({ ...wire, price: 71300 })).toEqual(fail('body.price', 'wrong type (number, expected a string)'));
    expect(decodeTradeBody({ ...wire, chetime: '106016' })).toEqual(fail('body.chetime', 'not HHMMSS ("106016")'));
    expect(decodeTradeBody({ ...wire, chetime: '10021' })).toEqual(fail('body.chetime', 'not HHMMSS ("10021")'));
    expect(decodeTradeBody({ ...wire, cvolume: undefined })).toEqual(fail('body.cvolume', 'missing'));
    expect(decodeTradeBody({ ...wire, drate: '1e2' })).toEqual(fail('body.drate', 'not a decimal string ("1e2")'));
  });

  test('IJ_ and JIF', () => {
    const ij: LsIndexBody = {
      time: '101500', jisu: 2610.62, sign: '2', change: 12.3, drate: 0.47, cvolume: 120, volume: 350123, value: 6543210, upjo: 3, highjo: 500,
      unchgjo: 80, lowjo: 300, downjo: 1, upjrate: 56.1, openjisu: 2600.1, opentime: '090000', highjisu: 2612, hightime: '100011', lowjisu: 2598.55,
      lowtime: '090300', frgsvolume: -1200, orgsvolume: 800, frgsvalue: -45000, orgsvalue: 30000, upcode: '001',
    };
    const p = decodePush(encodeIndexPush(ij));
    expect(p.ok && p.value.kind === 'data' && p.value.trKey).toBe('001');
    expect(p.ok && p.value.kind === 'data' && decodeIndexBody(p.value.body)).toEqual(ok(ij));
    const jif = decodePush('{"header":{"tr_cd":"JIF","tr_key":"0"},"body":{"jangubun":"1","jstatus":"21"}}');
    expect(jif.ok && jif.value.kind === 'data' && decodeMarketStatusBody(jif.value.body)).toEqual(ok({ jangubun: '1', jstatus: '21' }));
    expect(decodeMarketStatusBody({ jangubun: 1, jstatus: '21' })).toEqual(fail('body.jangubun', 'wrong type (number, expected a string)'));
  });

  test('property: S3_/K3_, IJ_, JIF round trips', () => {
    const int = fc.integer({ min: -(2 ** 40), max: 2 ** 40 });
    const dec = fc.integer({ min: -1e9, max: 1e9 }).map((x) => x / 100);
    const hms = fc.integer({ min: 0, max: 86_399 }).map((s) => String(Math.floor(s / 3600) * 10_000 + (Math.floor(s / 60) % 60) * 100 + (s % 60)).padStart(6, '0'));
    const text = fc.string({ maxLength: 6 });
    const trade: fc.Arbitrary<LsTradeBody> = fc.record({
      chetime: hms, sign: text, change: int, drate: dec, price: int, opentime: hms, open: int, hightime: hms, high: int, lowtime: hms, low: int,
      cgubun: fc.constantFrom('+', '-'), cvolume: int, volume: int, value: int, mdvolume: int, mdchecnt: int, msvolume: int, mschecnt: int,
      cpower: dec, w_avrg: int, offerho: int, bidho: int, status: text, jnilvolume: int, shcode: fc.stringMatching(/^[0-9]{6}$/), exchname: text,
    });
    const index: fc.Arbitrary<LsIndexBody> = fc.record({
      time: hms, jisu: dec, sign: text, change: dec, drate: dec, cvolume: int, volume: int, value: int, upjo: int, highjo: int, unchgjo: int,
      lowjo: int, downjo: int, upjrate: dec, openjisu: dec, opentime: text, highjisu: dec, hightime: text, lowjisu: dec, lowtime: text,
      frgsvolume: int, orgsvolume: int, frgsvalue: int, orgsvalue: int, upcode: fc.stringMatching(/^[0-9]{3}$/),
    });
    const status: fc.Arbitrary<LsMarketStatus> = fc.record({ jangubun: text, jstatus: text });
    const body = (frame: string) => {
      const p = decodePush(frame);
      return p.ok && p.value.kind === 'data' ? p.value.body : undefined;
    };
    fc.assert(
      fc.property(trade, index, status, fc.constantFrom('S3_', 'K3_') as fc.Arbitrary<'S3_' | 'K3_'>, (t, i, s, trCd) => {
        expect(decodeTradeBody(body(encodeTradePush(trCd, t)))).toEqual(ok(t));
        expect(decodeIndexBody(body(encodeIndexPush(i)))).toEqual(ok(i));
        expect(decodeMarketStatusBody(body(encodeMarketStatusPush(s)))).toEqual(ok(s));
      }),
      { numRuns: 500 },
    );
  });
});
