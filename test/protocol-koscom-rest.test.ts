import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fail, ok } from '../protocol/decoded.js';
import { decodeRpcMessage } from '../protocol/jsonrpc.js';
import {
  CLOSE_NOT_YET_MESSAGE, GATEWAY_MESSAGE, type ClosePrice, type History, type Master, type Multiquote, type OhlcRow,
  type PricePreset, type QuoteRow, type StockList, MAX_HISTORY_RECORDS, RATE_LIMIT_LIMIT_HEADER, RATE_LIMIT_REMAINING_HEADER,
  decodeClosePriceBody, decodeHistoryBody, decodeMasterBody, decodeMultiquotePrice, decodeOhlcLists, decodePriceBody,
  badElementSymbol, decodePricePreset, decodeQuoteLists, decodeRestError, decodeStockList, encodeCloseNotYet, encodeClosePriceBody,
  encodeGatewayError, encodeHistoryBody, encodeMasterBody, encodeMultiquotePrice, encodeOhlcLists, encodePriceBody,
  encodeQuoteLists, encodeStockList, joinSnapshot, multiquotePath, pricePresetWire, stockListPath, stockPath,
} from '../protocol/koscom-rest.js';
import { exchTime, formatHhmmsscc, kstMidnight } from '../protocol/time.js';

const DAY = '2024-03-04';
const DAY0 = kstMidnight(DAY);

/** The documented price preset example (koscom.md §5.4). */
const PRICE_EXAMPLE =
  '{"jsonrpc":"2.0","result":{"isuSrtCd":"005930","trdPrc":71200,"cmpprevddTpCd":"5","opnprc":71900,"hgprc":72100,"lwprc":71000,"accTrdvol":5123456,"trdTm":9315200,"trdvol":12,"accTrdval":365012345600,"cmpprevddPrc":-600,"bidordPrc_1":71100,"askordPrc_1":71200,"lstAskbidTpCd":2}}';

describe('paths and headers', () => {
  test('path builders', () => {
    expect(stockListPath('kospi')).toBe('/v2/market/stocks/kospi/lists');
    expect(multiquotePath('kosdaq', 'ohlclists')).toBe('/v2/market/multiquote/stocks/kosdaq/ohlclists');
    expect(multiquotePath('kospi', 'lists')).toBe('/v2/market/multiquote/stocks/kospi/lists');
    expect(stockPath('kospi', '005930', 'closeprice')).toBe('/v2/market/stocks/kospi/005930/closeprice');
    expect([RATE_LIMIT_LIMIT_HEADER, RATE_LIMIT_REMAINING_HEADER]).toEqual(['X-RateLimit-Limit-Day', 'X-RateLimit-Remaining-Day']);
  });
});

describe('stock list', () => {
  test('examples send isuKorAbbr, the table isuKorAbbrv; map_to is ignored', () => {
    const text = JSON.stringify({
      trdDd: '20240304',
      mktEndTm: '1540',
      isuLists: [
        { isuSrtCd: '000020', isuCd: 'KR7000020008', isuKorNm: '동화약품보통주', isuKorAbbr: '동화약품', map_to: '000020*001' },
        { isuSrtCd: '005930', isuCd: 'KR7005930003', isuKorNm: '삼성전자보통주', isuKorAbbrv: '삼성전자' },
      ],
    });
    expect(decodeStockList(text, 'kospi')).toEqual(
      ok({
        day: DAY,
        mktEndTm: '1540',
        listings: [
          { market: 'kospi', symbol: '000020', isin: 'KR7000020008', name: '동화약품보통주', abbr: '동화약품' },
          { market: 'kospi', symbol: '005930', isin: 'KR7005930003', name: '삼성전자보통주', abbr: '삼성전자' },
        ],
      }),
    );
  });

  test('a bad element is set aside with its field named, the rest of the list kept; a bad envelope fails', () => {
    const good = { isuSrtCd: '2', isuCd: 'y', isuKorNm: 'm', isuKorAbbr: 'b' };
    const noAbbr = { isuSrtCd: '1', isuCd: 'x', isuKorNm: 'n' };
    const r = decodeStockList(JSON.stringify({ trdDd: '20240304', isuLists: [noAbbr, good, { ...good, isuKorNm: {} }] }), 'kospi');
    expect(r).toEqual(ok({
      day: DAY, mktEndTm: '', listings: [{ market: 'kospi', symbol: '2', isin: 'y', name: 'm', abbr: 'b' }],
      bad: [
        { index: 0, element: noAbbr, error: { field: 'isuLists[0].isuKorAbbr', reason: 'missing' } },
        { index: 2, element: { ...good, isuKorNm: {} }, error: { field: 'isuLists[2].isuKorNm', reason: expect.stringMatching(/wrong type/) } },
      ],
    }));
    expect(decodeStockList('{"trdDd":"20240230","isuLists":[]}', 'kospi')).toEqual(fail('trdDd', 'not a YYYYMMDD date ("20240230")'));
    expect(decodeStockList('{"trdDd":"20240304"}', 'kospi')).toEqual(fail('isuLists', 'missing'));
    expect(decodeStockList('{"trdDd":"20240304","isuLists":{}}', 'kospi')).toEqual(fail('isuLists', 'wrong type (object, expected an array)'));
  });
});

describe('multiquote lists / ohlclists', () => {
  test('decodes the bare object with a 6-digit trdTm, numbers as strings accepted', () => {
    const text = '{"trdDd":"20240304","trdTm":"093152","isuLists":[{"isuSrtCd":"005930","trdPrc":71200,"accTrdvol":"5123456","accTrdval":365012345600,"mktcap":1}]}';
    expect(decodeQuoteLists(text)).toEqual(ok({ day: DAY, takenMs: DAY0 + ((9 * 60 + 31) * 60 + 52) * 1000, rows: [{ symbol: '005930', price: 71200, accVolume: 5123456, accValue: 365012345600 }] }));
    expect(decodeQuoteLists(text.replace('"093152"', '93152')).ok).toBe(true);
    expect(decodeQuoteLists(text.replace('"093152"', '"09315200"'))).toEqual(fail('trdTm', 'not a HHMMSS time ("09315200")'));
    const halted = decodeQuoteLists(text.replace('71200', '71200.5').replace(']}', ',{"isuSrtCd":"000660","trdPrc":null,"accTrdvol":0,"accTrdval":0},{"isuSrtCd":"000020","trdPrc":1,"accTrdvol":2,"accTrdval":3}]}'));
    expect(halted.ok && halted.value.rows).toEqual([{ symbol: '000020', price: 1, accVolume: 2, accValue: 3 }]);
    expect(halted.ok && halted.value.bad?.map((b) => [b.error.field, b.error.reason, badElementSymbol(b)])).toEqual([
      ['isuLists[0].trdPrc', 'not a safe integer (71200.5)', '005930'],
      ['isuLists[1].trdPrc', expect.stringMatching(/null/), '000660'],
    ]);
  });

  test('joinSnapshot merges by symbol in lists order; untraded O/H/L are 0', () => {
    const lists: Multiquote<QuoteRow> = {
      day: DAY,
      takenMs: DAY0 + 3_600_000,
      rows: [
        { symbol: 'A', price: 10, accVolume: 100, accValue: 1000 },
        { symbol: 'B', price: 20, accVolume: 0, accValue: 0 },
      ],
    };
    const ohlc: Multiquote<OhlcRow> = {
      day: DAY,
      takenMs: DAY0 + 3_600_000,
      rows: [
        { symbol: 'C', open: 1, high: 1, low: 1, price: 1 },
        { symbol: 'A', open: 9, high: 11, low: 8, price: 10 },
      ],
    };
    const lr = decodeQuoteLists(encodeQuoteLists(lists));
    const or = decodeOhlcLists(encodeOhlcLists(ohlc));
    expect(lr).toEqual(ok(lists));
    expect(or).toEqual(ok(ohlc));
    expect(joinSnapshot('kosdaq', lists, ohlc)).toEqual([
      { market: 'kosdaq', symbol: 'A', price: 10, open: 9, high: 11, low: 8, accVolume: 100, accValue: 1000 },
      { market: 'kosdaq', symbol: 'B', price: 20, open: 0, high: 0, low: 0, accVolume: 0, accValue: 0 },
    ]);
  });
});

describe('price preset (= WS tick10)', () => {
  test('the documented example: trdTm 9315200 = 09:31:52.00', () => {
    const r = decodePriceBody(PRICE_EXAMPLE);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ isuSrtCd: '005930', trdPrc: 71200, cmpprevddPrc: -600, lstAskbidTpCd: '2', trdTm: 9315200, askordPrc_1: 71200 });
    expect(exchTime(r.value.trdTm, DAY0)).toEqual({ kind: 'time', epochMs: DAY0 + ((9 * 60 + 31) * 60 + 52) * 1000 });
  });

  test('quote fields are optional; bad trdTm and wrapper errors are named', () => {
    const noQuote = JSON.parse(PRICE_EXAMPLE);
    delete noQuote.result.askordPrc_1;
    delete noQuote.result.bidordPrc_1;
    const r = decodePriceBody(JSON.stringify(noQuote));
    expect(r.ok && 'askordPrc_1' in r.value).toBe(false);
    expect(decodePriceBody(PRICE_EXAMPLE.replace('9315200', '"12a"'))).toEqual(fail('result.trdTm', 'not an integer string ("12a")'));
    expect(decodePriceBody(PRICE_EXAMPLE.replace('9315200', '9606000'))).toEqual(fail('result.trdTm', 'not a HHMMSScc time or signal (9606000)'));
    expect(decodePriceBody('{"message":"API rate limit exceeded"}')).toEqual(fail('result', 'missing'));
    expect(decodePriceBody('{"jsonrpc":"2.0","error":{"code":10040,"message":"x"}}')).toEqual(fail('result', 'missing (the body is an error)'));
  });

  test('multiquote price uses lower-case isulist; a tick10 push carries the same object', () => {
    const preset = (decodePriceBody(PRICE_EXAMPLE) as { value: PricePreset }).value;
    expect(decodeMultiquotePrice(encodeMultiquotePrice([preset, { ...preset, isuSrtCd: '000660' }]))).toEqual(ok([preset, { ...preset, isuSrtCd: '000660' }]));
    expect(decodeMultiquotePrice('{"jsonrpc":"2.0","result":{"isuLists":[]}}')).toEqual(fail('result.isulist', 'missing'));
    expect(pricePresetWire(preset)).toMatchObject({ trdTm: 9315200, lstAskbidTpCd: 2 });
  });
});

describe('master', () => {
  test('v2 example style: BzDd number, codes as numbers, undocumented members ignored, fields missing', () => {
    const text = JSON.stringify({
      jsonrpc: '2.0',
      result: {
        BzDd: 20240304, isuCd: 'KR7005930003', isuSrtCd: '005930', isuKorAbbr: '삼성전자', secugrpId: 'ST', idxIndMidclssCd: 13,
        mktcapScaleCd: 1, basPrc: 71200, prevddClsprc: 71200, uplmtprc: 92500, lwlmtprc: 49900, parval: 100, listDd: 19750611,
        listShrs: 5969782550, per: 8.67, invstcautnRemndIsuYn: ' -', isuTrdvol: 'Y', somethingNew: { x: 1 },
      },
    });
    expect(decodeMasterBody(text)).toEqual(
      ok({
        isuSrtCd: '005930', isuCd: 'KR7005930003', isuKorAbbrv: '삼성전자', secugrpId: 'ST', idxIndMidclssCd: '13', mktcapScaleCd: '1',
        basPrc: 71200, prevddClsprc: 71200, uplmtprc: 92500, lwlmtprc: 49900, parval: 100, listShrs: 5969782550, per: 8.67,
        invstcautnRemndIsuYn: ' -', isuTrdvol: 'Y', day: DAY, listDay: '1975-06-11',
      }),
    );
  });

  test('wrong types are named', () => {
    expect(decodeMasterBody('{"jsonrpc":"2.0","result":{"isuSrtCd":"005930","basPrc":"71,200"}}')).toEqual(fail('result.basPrc', 'not an integer string ("71,200")'));
    expect(decodeMasterBody('{"jsonrpc":"2.0","result":{"isuSrtCd":"005930","trdDd":"2024"}}')).toEqual(fail('result.trdDd', 'not a YYYYMMDD date ("2024")'));
    expect(decodeMasterBody('{"jsonrpc":"2.0","result":{"basPrc":1}}')).toEqual(fail('result.isuSrtCd', 'missing'));
  });
});

describe('closeprice, history, errors', () => {
  test('close price and the close-not-yet body (error is a string)', () => {
    const close: ClosePrice = { isuSrtCd: '005930', trdPrc: 71200, cmpprevddTpCd: '5', opnprc: 71900, hgprc: 72100, lwprc: 71000, accTrdvol: 1, accTrdval: 2, cmpprevddPrc: -600 };
    expect(decodeClosePriceBody(encodeClosePriceBody(close))).toEqual(ok(close));
    expect(encodeCloseNotYet()).toBe('{"error":"당일 종가 제공 시간이 아닙니다."}');
    expect(decodeRestError(encodeCloseNotYet())).toEqual(ok({ message: CLOSE_NOT_YET_MESSAGE, closeNotYet: true }));
    expect(decodeClosePriceBody(encodeCloseNotYet()).ok).toBe(false);
  });

  test('gateway and JSON-RPC error bodies', () => {
    for (const m of Object.values(GATEWAY_MESSAGE)) expect(decodeRestError(encodeGatewayError(m))).toEqual(ok({ message: m, closeNotYet: false }));
    expect(decodeRestError('{"jsonrpc":"2.0","error":{"code":20056,"message":"too many"}}')).toEqual(ok({ message: 'too many', closeNotYet: false, code: 20056 }));
    expect(decodeRestError('{}')).toEqual(fail('message', 'missing (no message or error member)'));
    expect(decodeRestError('<html>').ok).toBe(false);
  });

  test('history: BzDd numbers, trdDd accepted, 100-record cap', () => {
    const bar = { BzDd: 20240304, trdPrc: 71200, cmpprevddTpCd: '0', opnprc: 1, hgprc: 2, lwprc: 1, accTrdvol: 3, accTrdval: 4, cmpprevddPrc: 0 };
    const text = JSON.stringify({ jsonrpc: '2.0', result: { isuSrtCd: '005930', hisLists: [bar, { ...bar, BzDd: undefined, trdDd: '20240301' }] } });
    const r = decodeHistoryBody(text);
    expect(r.ok && r.value.bars.map((b) => b.day)).toEqual([DAY, '2024-03-01']);
    const tooMany = JSON.stringify({ jsonrpc: '2.0', result: { isuSrtCd: '005930', hisLists: Array(MAX_HISTORY_RECORDS + 1).fill(bar) } });
    expect(decodeHistoryBody(tooMany)).toEqual(fail('result.hisLists', 'out of range (101 elements, at most 100)'));
    const h: History = { symbol: '005930', bars: Array(101).fill({ ...bar, day: DAY }) };
    expect(() => encodeHistoryBody(h)).toThrow(RangeError);
    expect(decodeHistoryBody(text.replace('20240304', '"x"'))).toEqual(fail('result.hisLists[0].BzDd', 'not a YYYYMMDD date ("x")'));
  });

  test('bodies are also valid JSON-RPC results', () => {
    const r = decodeRpcMessage(PRICE_EXAMPLE);
    expect(r.ok && r.value.kind === 'result' && r.value.id).toBeUndefined();
  });
});

describe('property: every encoder round-trips through its decoder', () => {
  const day = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  const sym = fc.stringMatching(/^[0-9]{6}$/);
  const n = fc.integer({ min: 0, max: 2 ** 40 });
  const signed = fc.integer({ min: -(2 ** 31), max: 2 ** 31 });
  const dec = fc.integer({ min: -1e8, max: 1e8 }).map((x) => x / 100);
  const trdTm = fc.oneof(fc.constantFrom(0, 31000000), fc.integer({ min: 1, max: 8_639_999 }).map((cs) => Number(formatHhmmsscc(cs * 10))));

  const preset: fc.Arbitrary<PricePreset> = fc.record(
    {
      isuSrtCd: sym, cmpprevddTpCd: fc.constantFrom('1', '2', '3', '4', '5', '0', '69'), cmpprevddPrc: signed, opnprc: n, hgprc: n, lwprc: n,
      trdPrc: n, trdvol: n, accTrdvol: n, accTrdval: n, lstAskbidTpCd: fc.constantFrom('1', '2'), trdTm, askordPrc_1: n, bidordPrc_1: n,
    },
    { requiredKeys: ['isuSrtCd', 'cmpprevddTpCd', 'cmpprevddPrc', 'opnprc', 'hgprc', 'lwprc', 'trdPrc', 'trdvol', 'accTrdvol', 'accTrdval', 'lstAskbidTpCd', 'trdTm'] },
  );

  test('stock list, multiquote', () => {
    const list: fc.Arbitrary<StockList> = fc.record({
      day,
      mktEndTm: fc.constantFrom('1540', ''),
      listings: fc.array(fc.record({ market: fc.constant('kosdaq' as const), symbol: sym, isin: fc.string(), name: fc.string(), abbr: fc.string() }), { maxLength: 20 }),
    });
    const takenMs = (d: string, s: number) => kstMidnight(d) + s * 1000;
    const quotes = fc.tuple(day, fc.integer({ min: 0, max: 86_399 }), fc.array(fc.record({ symbol: sym, price: n, accVolume: n, accValue: n }), { maxLength: 20 }));
    fc.assert(
      fc.property(list, quotes, (l, [d, s, rows]) => {
        expect(decodeStockList(encodeStockList(l), 'kosdaq')).toEqual(ok(l));
        const q = { day: d, takenMs: takenMs(d, s), rows };
        expect(decodeQuoteLists(encodeQuoteLists(q))).toEqual(ok(q));
        const o = { day: d, takenMs: takenMs(d, s), rows: rows.map((r) => ({ symbol: r.symbol, open: r.price, high: r.accVolume, low: r.accValue, price: r.price })) };
        expect(decodeOhlcLists(encodeOhlcLists(o))).toEqual(ok(o));
      }),
      { numRuns: 500 },
    );
  });

  test('price preset, tick10 params, multiquote price', () => {
    fc.assert(
      fc.property(fc.array(preset, { minLength: 1, maxLength: 20 }), (ps) => {
        expect(decodePriceBody(encodePriceBody(ps[0]))).toEqual(ok(ps[0]));
        expect(decodePricePreset({ preset: 'tick10', ...pricePresetWire(ps[0]) }, 'params')).toEqual(ok(ps[0]));
        expect(decodeMultiquotePrice(encodeMultiquotePrice(ps))).toEqual(ok(ps));
      }),
      { numRuns: 500 },
    );
  });

  test('master, closeprice, history', () => {
    const master: fc.Arbitrary<Master> = fc.record(
      { isuSrtCd: sym, isuCd: fc.string(), isuKorAbbrv: fc.string(), haltYn: fc.constantFrom('Y', 'N'), basPrc: n, parval: dec, per: dec, listShrs: n, day, listDay: day },
      { requiredKeys: ['isuSrtCd'] },
    );
    const close: fc.Arbitrary<ClosePrice> = fc.record({
      isuSrtCd: sym, trdPrc: n, cmpprevddTpCd: fc.constantFrom('1', '5'), opnprc: n, hgprc: n, lwprc: n, accTrdvol: n, accTrdval: n, cmpprevddPrc: signed,
    });
    const history = fc.record({ symbol: sym, bars: fc.array(fc.record({ day, trdPrc: n, cmpprevddTpCd: fc.constant('2'), opnprc: n, hgprc: n, lwprc: n, accTrdvol: n, accTrdval: n, cmpprevddPrc: signed }), { maxLength: MAX_HISTORY_RECORDS }) });
    fc.assert(
      fc.property(master, close, history, (m, c, h) => {
        expect(decodeMasterBody(encodeMasterBody(m))).toEqual(ok(m));
        expect(decodeClosePriceBody(encodeClosePriceBody(c))).toEqual(ok(c));
        expect(decodeHistoryBody(encodeHistoryBody(h))).toEqual(ok(h));
      }),
      { numRuns: 300 },
    );
  });
});
