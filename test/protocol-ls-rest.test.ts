import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fail, ok } from '../protocol/decoded.js';
import {
  MAX_T8407_SYMBOLS, RSP_OK, TR_PATH, type T8407Row, type T8424Row, type T8436Row, decodeT8407, decodeT8407InBlock, decodeT8424,
  decodeT8436, decodeTokenRequest, decodeTokenResponse, decodeTrRequest, decodeTrResponse, encodeT8407Rows, encodeT8424Rows,
  encodeT8436Rows, encodeTokenRequest, encodeTokenResponse, encodeTrRequest, encodeTrResponse, listingFromT8436,
  readTrRequestHeaders, t8407InBlock, t8424InBlock, t8436InBlock, trRequestHeaders, trResponseHeaders,
} from '../protocol/ls-rest.js';

const APPKEY = 'PSabcdefghijklmnopqrstuvwxyz0123456';
const SECRET = 'SECRETabcdefghijklmnopqrstuvwxyz0123';
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.TOKENPAYLOAD.sig';

const T8436_EXAMPLE: T8436Row = {
  hname: '삼성전자', shcode: '005930', expcode: 'KR7005930003', etfgubun: '0', uplmtprice: 92500, dnlmtprice: 49900, jnilclose: 71200,
  memedan: '00001', recprice: 71200, gubun: '1', bu12gubun: '01', spac_gubun: 'N',
};

describe('OAuth2 token', () => {
  test('request form: the documented fields, decoded back', () => {
    const body = encodeTokenRequest({ appkey: APPKEY, appsecretkey: SECRET });
    expect(body).toBe(`grant_type=client_credentials&appkey=${APPKEY}&appsecretkey=${SECRET}&scope=oob`);
    expect(decodeTokenRequest(body)).toEqual(ok({ appkey: APPKEY, appsecretkey: SECRET }));
  });

  test('request form failures never quote the credentials', () => {
    const cases: [string, string][] = [
      [`appkey=${APPKEY}&appsecretkey=${SECRET}&scope=oob`, 'grant_type'],
      [`grant_type=password&appkey=${APPKEY}&appsecretkey=${SECRET}&scope=oob`, 'grant_type'],
      [`grant_type=client_credentials&appkey=${APPKEY}&appsecretkey=${SECRET}`, 'scope'],
      [`grant_type=client_credentials&appsecretkey=${SECRET}&scope=oob`, 'appkey'],
      [`grant_type=client_credentials&appkey=${APPKEY}&appsecretkey=&scope=oob`, 'appsecretkey'],
    ];
    for (const [body, field] of cases) {
      const r = decodeTokenRequest(body);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.field).toBe(field);
      expect(JSON.stringify(r.error)).not.toMatch(/SECRET|PSabc/);
    }
  });

  test('response: expires_in number (example), expire_in string (table)', () => {
    const example = `{"access_token":"${TOKEN}","scope":"oob","token_type":"Bearer","expires_in":86400}`;
    expect(decodeTokenResponse(example)).toEqual(ok({ accessToken: TOKEN, expiresInSec: 86400, tokenType: 'Bearer' }));
    expect(decodeTokenResponse(`{"access_token":"${TOKEN}","scope":"oob","token_type":"Bearer","expire_in":"86400"}`)).toEqual(ok({ accessToken: TOKEN, expiresInSec: 86400, tokenType: 'Bearer' }));
  });

  test('response failures are named and never quote the token', () => {
    const cases: [string, string][] = [
      [`{"access_token":"${TOKEN}","token_type":"Bearer"}`, 'expire_in'],
      [`{"access_token":"${TOKEN}","expires_in":"1e3"}`, 'expires_in'],
      [`{"access_token":"${TOKEN}","expire_in":"-5"}`, 'expire_in'],
      [`{"access_token":"${TOKEN}","expires_in":0}`, 'expires_in'],
      [`{"access_token":"${TOKEN}","expires_in":86400,"token_type":1}`, 'token_type'],
      ['{"expires_in":86400}', 'access_token'],
      [`{"access_token":"${TOKEN}","expires_in":864`, '$'],
    ];
    for (const [text, field] of cases) {
      const r = decodeTokenResponse(text);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.field).toBe(field);
      expect(JSON.stringify(r.error)).not.toContain('TOKENPAYLOAD');
    }
  });

  test('property: request and response round trips', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 2 ** 31 }), (appkey, appsecretkey, accessToken, expiresInSec) => {
        expect(decodeTokenRequest(encodeTokenRequest({ appkey, appsecretkey }))).toEqual(ok({ appkey, appsecretkey }));
        expect(decodeTokenResponse(encodeTokenResponse({ accessToken, expiresInSec, tokenType: 'Bearer' }))).toEqual(ok({ accessToken, expiresInSec, tokenType: 'Bearer' }));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('TR calls', () => {
  test('request body and headers, first page and follow-up', () => {
    expect(TR_PATH.t8436).toBe('/stock/etc');
    expect(encodeTrRequest('t8436', t8436InBlock('0'))).toBe('{"t8436InBlock":{"gubun":"0"}}');
    expect(decodeTrRequest('t8436', '{"t8436InBlock":{"gubun":"0"}}')).toEqual(ok({ gubun: '0' }));
    expect(decodeTrRequest('t8407', '{"t8436InBlock":{"gubun":"0"}}')).toEqual(fail('t8407InBlock', 'missing'));
    expect(trRequestHeaders(TOKEN, 't8436')).toEqual({
      'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}`, tr_cd: 't8436', tr_cont: 'N', tr_cont_key: '', mac_address: '',
    });
    expect(trRequestHeaders(TOKEN, 't8436', 'K123')).toMatchObject({ tr_cont: 'Y', tr_cont_key: 'K123' });
  });

  test('server side reads request headers from Node objects and fetch Headers', () => {
    expect(readTrRequestHeaders(trRequestHeaders(TOKEN, 't8407'))).toEqual(ok({ token: TOKEN, trCd: 't8407', contKey: undefined }));
    expect(readTrRequestHeaders(new Headers(trRequestHeaders(TOKEN, 't8407', 'K9')))).toEqual(ok({ token: TOKEN, trCd: 't8407', contKey: 'K9' }));
    expect(readTrRequestHeaders({ authorization: TOKEN, tr_cd: 't8424' })).toEqual(ok({ token: TOKEN, trCd: 't8424', contKey: undefined }));
    expect(readTrRequestHeaders({ tr_cd: 't8424' })).toEqual(fail('authorization', 'missing'));
    expect(readTrRequestHeaders({ authorization: 'x', tr_cd: 't8424', tr_cont: 'X' }).ok).toBe(false);
  });

  test('t8436: rsp_cd/rsp_msg in the body, tr_cont paging from the headers, rows and listings', () => {
    const body = encodeTrResponse('t8436', RSP_OK, '정상적으로 조회가 완료되었습니다.', { OutBlock: encodeT8436Rows([T8436_EXAMPLE, { ...T8436_EXAMPLE, shcode: '035720', gubun: '2', hname: '카카오' }]) });
    const resp = decodeTrResponse('t8436', body, trResponseHeaders('t8436', 'NEXT1'));
    expect(resp.ok && resp.value).toMatchObject({ rspCd: '00000', rspMsg: '정상적으로 조회가 완료되었습니다.', trCont: true, trContKey: 'NEXT1' });
    if (!resp.ok) return;
    const rows = decodeT8436(resp.value);
    expect(rows.ok && rows.value.map(listingFromT8436)).toEqual([
      { market: 'kospi', symbol: '005930', isin: 'KR7005930003', name: '삼성전자', abbr: '삼성전자' },
      { market: 'kosdaq', symbol: '035720', isin: 'KR7005930003', name: '카카오', abbr: '카카오' },
    ]);
    expect(listingFromT8436({ ...T8436_EXAMPLE, gubun: '3' })).toBeUndefined();
    const last = decodeTrResponse('t8436', body, new Headers(trResponseHeaders('t8436')));
    expect(last.ok && [last.value.trCont, last.value.trContKey]).toEqual([false, '']);
  });

  test('non-success codes are returned for inspection, not failed', () => {
    const r = decodeTrResponse('t8407', '{"rsp_cd":"00200","rsp_msg":"조회내역이 없습니다"}', {});
    expect(r).toEqual(ok({ rspCd: '00200', rspMsg: '조회내역이 없습니다', blocks: {}, trCont: false, trContKey: '' }));
    expect(decodeTrResponse('t8407', '{"rsp_msg":"x"}', {})).toEqual(fail('rsp_cd', 'missing'));
    expect(decodeTrResponse('t8407', '<html>', {}).ok).toBe(false);
    expect(decodeTrResponse('t8407', '{"rsp_cd":"00000"}', { tr_cont: 'maybe' }).ok).toBe(false);
  });

  test('t8407: ≤ 50 concatenated codes; decimals arrive as zero-padded strings', () => {
    expect(t8407InBlock(['078020', '000660', '005930'])).toEqual({ nrec: 3, shcode: '078020000660005930' });
    expect(() => t8407InBlock(Array(MAX_T8407_SYMBOLS + 1).fill('005930'))).toThrow(RangeError);
    expect(() => t8407InBlock(['5930'])).toThrow(RangeError);
    expect(decodeT8407InBlock({ nrec: 3, shcode: '078020000660005930' })).toEqual(ok(['078020', '000660', '005930']));
    expect(decodeT8407InBlock({ nrec: '2', shcode: '078020000660' })).toEqual(ok(['078020', '000660']));
    expect(decodeT8407InBlock({ nrec: 51, shcode: '0'.repeat(306) })).toEqual(fail('t8407InBlock.nrec', 'out of range (51, expected 1..50)'));
    expect(decodeT8407InBlock({ nrec: 2, shcode: '078020' }).ok).toBe(false);
    expect(decodeT8407InBlock({ shcode: '078020' })).toEqual(fail('t8407InBlock.nrec', 'missing'));

    const wireRow = {
      shcode: '078020', hname: '이베스트투자증권', price: 5980, sign: '5', change: 1600, diff: '-01.45', volume: 12345, offerho: 5990, bidho: 5980,
      cvolume: 10, chdegree: '000056.80', open: 6000, high: 6010, low: 5950, value: 73, offerrem: 100, bidrem: 200, totofferrem: 1000,
      totbidrem: 2000, jnilclose: 6070, uplmtprice: 7890, dnlmtprice: 4250,
    };
    const resp = decodeTrResponse('t8407', JSON.stringify({ rsp_cd: '00000', rsp_msg: 'ok', t8407OutBlock1: [wireRow] }), {});
    const rows = resp.ok ? decodeT8407(resp.value) : resp;
    expect(rows.ok && rows.value[0]).toMatchObject({ diff: -1.45, chdegree: 56.8, change: 1600, value: 73 });
    const bad = decodeTrResponse('t8407', JSON.stringify({ rsp_cd: '00000', t8407OutBlock1: [wireRow, { ...wireRow, diff: '-1,45' }] }), {});
    expect(bad.ok && decodeT8407(bad.value)).toEqual(fail('t8407OutBlock1[1].diff', 'not a decimal string ("-1,45")'));
  });

  test('t8424: space-padded names kept; a lone object is one row', () => {
    expect(t8424InBlock()).toEqual({ gubun1: '' });
    const resp = decodeTrResponse('t8424', '{"rsp_cd":"00000","rsp_msg":"","t8424OutBlock":{"hname":"종       합","upcode":"001"}}', {});
    expect(resp.ok && decodeT8424(resp.value)).toEqual(ok([{ hname: '종       합', upcode: '001' }]));
    const none = decodeTrResponse('t8424', '{"rsp_cd":"00000"}', {});
    expect(none.ok && decodeT8424(none.value)).toEqual(fail('t8424OutBlock', 'missing'));
  });

  test('property: TR response round trips for t8436, t8407, t8424', () => {
    const int = fc.integer({ min: 0, max: 2 ** 40 });
    const dec = fc.integer({ min: -1e7, max: 1e7 }).map((x) => x / 100);
    const code = fc.stringMatching(/^[0-9]{6}$/);
    const t8436: fc.Arbitrary<T8436Row> = fc.record(
      {
        hname: fc.string(), shcode: code, expcode: fc.string(), etfgubun: fc.constantFrom('0', '1', '2'), uplmtprice: int, dnlmtprice: int,
        jnilclose: int, memedan: fc.constant('00001'), recprice: int, gubun: fc.constantFrom('1', '2'), bu12gubun: fc.constant('01'), spac_gubun: fc.constantFrom('Y', 'N'),
      },
      { requiredKeys: ['hname', 'shcode', 'expcode', 'etfgubun', 'uplmtprice', 'dnlmtprice', 'jnilclose', 'memedan', 'recprice', 'gubun'] },
    );
    const t8407: fc.Arbitrary<T8407Row> = fc.record({
      shcode: code, hname: fc.string(), price: int, sign: fc.constantFrom('1', '2', '3', '4', '5'), change: int, diff: dec, volume: int, offerho: int,
      bidho: int, cvolume: int, chdegree: dec, open: int, high: int, low: int, value: int, offerrem: int, bidrem: int, totofferrem: int,
      totbidrem: int, jnilclose: int, uplmtprice: int, dnlmtprice: int,
    });
    const t8424: fc.Arbitrary<T8424Row> = fc.record({ hname: fc.string(), upcode: fc.stringMatching(/^[0-9]{3}$/) });
    const contKey = fc.option(fc.stringMatching(/^[0-9A-Za-z]{1,18}$/), { nil: undefined });
    fc.assert(
      fc.property(fc.array(t8436, { maxLength: 10 }), fc.array(t8407, { maxLength: 10 }), fc.array(t8424, { maxLength: 10 }), contKey, (a, b, c, key) => {
        const r1 = decodeTrResponse('t8436', encodeTrResponse('t8436', RSP_OK, 'ok', { OutBlock: encodeT8436Rows(a) }), trResponseHeaders('t8436', key));
        expect(r1.ok && [r1.value.trCont, r1.value.trContKey]).toEqual([key !== undefined, key ?? '']);
        expect(r1.ok && decodeT8436(r1.value)).toEqual(ok(a));
        const r2 = decodeTrResponse('t8407', encodeTrResponse('t8407', RSP_OK, 'ok', { OutBlock1: encodeT8407Rows(b) }), {});
        expect(r2.ok && decodeT8407(r2.value)).toEqual(ok(b));
        const r3 = decodeTrResponse('t8424', encodeTrResponse('t8424', RSP_OK, 'ok', { OutBlock: encodeT8424Rows(c) }), {});
        expect(r3.ok && decodeT8424(r3.value)).toEqual(ok(c));
      }),
      { numRuns: 300 },
    );
  });

  test('property: t8407 InBlock round trip', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[0-9]{6}$/), { minLength: 1, maxLength: MAX_T8407_SYMBOLS }), (codes) => {
        const inBlock = decodeTrRequest('t8407', encodeTrRequest('t8407', t8407InBlock(codes)));
        expect(inBlock.ok && decodeT8407InBlock(inBlock.value)).toEqual(ok(codes));
      }),
      { numRuns: 500 },
    );
  });
});
