import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fail, ok } from '../protocol/decoded.js';
import {
  MAX_SUBSCRIPTIONS, PRESETS, RPC_MALFORMED, RPC_MALFORMED_MESSAGE, RESULT_OK, decodeInitParams, decodeRpcMessage,
  decodeSubscriptionParams, decodeTickParams, encodeHeartbeat, encodeInit, encodePushNotification, encodeRequest, encodeResult,
  encodeRpcError, encodeSubscription, encodeTickPush, type Preset, type TickPush,
} from '../protocol/jsonrpc.js';
import { BLOCK_TRADE_CODE_OF, codeMsOfDay, MAX_TRADES_PER_FRAME, TRADE_STREAM_PATH, type TradeSink, type WireTrade, arrayElementSpans, decodeTradeFrame, encodeTradeFrame, tradeElements } from '../protocol/koscom.js';
import { formatHhmmsscc, kstMidnight } from '../protocol/time.js';

const DAY0 = kstMidnight('2024-03-04');
const at = (h: number, m: number, s: number, cs = 0) => ((h * 60 + m) * 60 + s) * 1000 + cs * 10;

interface Collected {
  trades: [string, number, number, number, number][];
  signals: [string, number, number][];
}

function collect(): TradeSink & Collected {
  const trades: Collected['trades'] = [];
  const signals: Collected['signals'] = [];
  return {
    trades,
    signals,
    trade: (symbol, price, qty, exchMs, idx) => void trades.push([symbol, price, qty, exchMs, idx]),
    signal: (symbol, code, idx) => void signals.push([symbol, code, idx]),
  };
}

describe('/ws_ksp /ws_kdq trade frames', () => {
  test('paths', () => {
    expect(TRADE_STREAM_PATH).toEqual({ kospi: '/ws_ksp', kosdaq: '/ws_kdq' });
  });

  test('the documented element (all strings, capital V in trdVol)', () => {
    const sink = collect();
    const errors = decodeTradeFrame('[{"isuSrtCd":"000660","trdPrc":"131500","trdVol":"7","trdTm":"10021600"}]', DAY0, sink);
    expect(errors).toEqual([]);
    expect(sink.trades).toEqual([['000660', 131500, 7, DAY0 + at(10, 2, 16), 0]]);
  });

  test('leading zero lost, trdTm 0, signal codes, numbers instead of strings', () => {
    const sink = collect();
    const frame = JSON.stringify([
      { isuSrtCd: '005930', trdPrc: '71200', trdVol: '5', trdTm: '9500000' },
      { isuSrtCd: '005930', trdPrc: '71200', trdVol: '400', trdTm: '0' },
      { isuSrtCd: '005930', trdPrc: '71300', trdVol: '1', trdTm: '31000000' },
      { isuSrtCd: '000660', trdPrc: 131500, trdVol: 2, trdTm: 9544555 },
    ]);
    expect(decodeTradeFrame(frame, DAY0, sink)).toEqual([]);
    expect(sink.trades).toEqual([
      ['005930', 71200, 5, DAY0 + at(9, 50, 0), 0],
      ['005930', 71200, 400, 0, 1],
      ['000660', 131500, 2, DAY0 + at(9, 54, 45, 55), 3],
    ]);
    expect(sink.signals).toEqual([['005930', 31000000, 2]]);
  });

  test('block trades (51/61/71000000) are trades with their code and no clock time; the other codes are signals', () => {
    const trades: [string, number, number, number, number, number][] = [];
    const signals: [string, number, number][] = [];
    const frame = JSON.stringify([
      { isuSrtCd: '005930', trdPrc: '70000', trdVol: '1000', trdTm: '51000000' },
      { isuSrtCd: '000660', trdPrc: '131000', trdVol: '2500', trdTm: '61000000' },
      { isuSrtCd: '005930', trdPrc: '70100', trdVol: '3000', trdTm: '71000000' },
      { isuSrtCd: '005930', trdPrc: '70100', trdVol: '0', trdTm: '41000000' },
      { isuSrtCd: '005930', trdPrc: '70100', trdVol: '7', trdTm: '10021600' },
    ]);
    const errors = decodeTradeFrame(frame, DAY0, { trade: (...t) => void trades.push(t), signal: (...s) => void signals.push(s) });
    expect(errors).toEqual([]);
    expect(trades).toEqual([
      ['005930', 70000, 1000, 0, 0, 51000000],
      ['000660', 131000, 2500, 0, 1, 61000000],
      ['005930', 70100, 3000, 0, 2, 71000000],
      ['005930', 70100, 7, DAY0 + at(10, 2, 16), 4, 0],
    ]);
    expect(signals).toEqual([['005930', 41000000, 3]]);
    // A block trade re-encodes to its code.
    expect(encodeTradeFrame([{ symbol: '005930', price: 70000, qty: 1000, msOfDay: codeMsOfDay(BLOCK_TRADE_CODE_OF.block_pre) }])).toBe('[{"isuSrtCd":"005930","trdPrc":"70000","trdVol":"1000","trdTm":"51000000"}]');
  });

  test('bad elements are reported by index and field; good ones still delivered', () => {
    const sink = collect();
    const frame = JSON.stringify([
      { isuSrtCd: '005930', trdPrc: '71200', trdVol: '5', trdTm: '10021600' },
      { isuSrtCd: '005930', trdPrc: '1e3', trdVol: '5', trdTm: '10021600' },
      { isuSrtCd: '005930', trdPrc: '71200', trdVol: '', trdTm: '10021600' },
      { isuSrtCd: '005930', trdPrc: '71200', trdVol: '5', trdTm: '10996000' },
      { isuSrtCd: '005930', trdPrc: '12a', trdVol: '5', trdTm: '10021600' },
      { trdPrc: '1', trdVol: '5', trdTm: '10021600' },
      { isuSrtCd: '005930', trdPrc: '0', trdVol: '5', trdTm: '10021600' },
      'x',
    ]);
    const errors = decodeTradeFrame(frame, DAY0, sink);
    expect(errors.map((e) => e.field)).toEqual(['[1].trdPrc', '[2].trdVol', '[3].trdTm', '[4].trdPrc', '[5].isuSrtCd', '[6].trdPrc', '[7]']);
    expect(errors[4].reason).toBe('missing');
    expect(sink.trades).toHaveLength(1);
  });

  test('frame-level failures: not JSON, not an array, more than 50 elements', () => {
    expect(decodeTradeFrame('[{"isuSrtCd":"0', DAY0, collect())[0]).toMatchObject({ field: '$', reason: expect.stringMatching(/^not JSON/) });
    expect(decodeTradeFrame('{"jsonrpc":"2.0","id":1,"result":{"message":"ok"}}', DAY0, collect())).toEqual([{ field: '$', reason: 'expected a JSON array of trades, got object' }]);
    const many: WireTrade[] = Array.from({ length: MAX_TRADES_PER_FRAME + 1 }, (_, i) => ({ symbol: '005930', price: 100 + i, qty: 1, msOfDay: at(10, 0, 0) }));
    const sink = collect();
    const errors = decodeTradeFrame(encodeTradeFrame(many), DAY0, sink);
    expect(errors).toEqual([{ field: '$', reason: '51 elements, more than 50 per frame' }]);
    expect(sink.trades).toHaveLength(51);
  });

  test('encodes exactly the vendor form', () => {
    expect(encodeTradeFrame([{ symbol: '000660', price: 131500, qty: 7, msOfDay: at(10, 2, 16) }, { symbol: '005930', price: 1, qty: 0, msOfDay: -1 }])).toBe(
      '[{"isuSrtCd":"000660","trdPrc":"131500","trdVol":"7","trdTm":"10021600"},{"isuSrtCd":"005930","trdPrc":"1","trdVol":"0","trdTm":"0"}]',
    );
  });

  test('tradeElements: each element\'s content and exact text, whitespace, escapes and numbers included; undefined for anything else', () => {
    const text = ' [ {"isuSrtCd":"005930","trdPrc":"70000","trdVol":"5","trdTm":"09000100"} ,\n{"trdTm":"0","isuSrtCd":"A\\"]}","trdPrc":70100,"trdVol":"1","x":[1,{"y":"]"}]}]';
    const els = tradeElements(text)!;
    expect(els.map((e) => text.slice(e.start, e.end))).toEqual(['{"isuSrtCd":"005930","trdPrc":"70000","trdVol":"5","trdTm":"09000100"}', '{"trdTm":"0","isuSrtCd":"A\\"]}","trdPrc":70100,"trdVol":"1","x":[1,{"y":"]"}]}']);
    expect(els[0].key).not.toBe(els[1].key);
    expect(tradeElements('[{"isuSrtCd":"1","trdPrc":"2","trdVol":"3","trdTm":"4"}]')![0].key).toBe(tradeElements('[{"trdTm":4,"trdVol":3,"trdPrc":2,"isuSrtCd":"1"}]')![0].key);
    for (const other of ['{"jsonrpc":"2.0","id":1,"result":"OK"}', '[{"isuSrtCd":"0', '[{"isuSrtCd":"005930","trdPrc":"1","trdVol":null,"trdTm":"0"}]', '[1,2]', '[{"a":1}] x', 'junk']) expect(tradeElements(other), other).toBeUndefined();
    expect(arrayElementSpans('[]')).toEqual([]);
  });

  test('property: encode → decode round trip', () => {
    const trade = fc.record({
      symbol: fc.stringMatching(/^[0-9]{6}$/),
      price: fc.integer({ min: 1, max: 10_000_000 }),
      qty: fc.integer({ min: 0, max: 2_000_000_000 }),
      msOfDay: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 8_639_999 }).map((cs) => cs * 10)),
    });
    fc.assert(
      fc.property(fc.array(trade, { minLength: 1, maxLength: MAX_TRADES_PER_FRAME }), (trades) => {
        const sink = collect();
        expect(decodeTradeFrame(encodeTradeFrame(trades), DAY0, sink)).toEqual([]);
        expect(sink.trades).toEqual(trades.map((t, i) => [t.symbol, t.price, t.qty, t.msOfDay < 0 ? 0 : DAY0 + t.msOfDay, i]));
      }),
      { numRuns: 500 },
    );
  });
});

describe('JSON-RPC profile', () => {
  test('every documented frame (koscom.md §6.2)', () => {
    expect(decodeRpcMessage('{"jsonrpc":"2.0","id":1,"method":"init","params":{"key":"l7xxKEY","membername":"ACME"}}')).toEqual(
      ok({ kind: 'request', id: 1, method: 'init', params: { key: 'l7xxKEY', membername: 'ACME' } }),
    );
    expect(decodeRpcMessage('{"jsonrpc":"2.0","id":3,"method":"heartbeat"}')).toEqual(ok({ kind: 'request', id: 3, method: 'heartbeat', params: {} }));
    expect(decodeRpcMessage('{"jsonrpc":"2.0","id":2,"result":{"message":"ok"}}')).toEqual(ok({ kind: 'result', id: 2, result: RESULT_OK }));
    expect(decodeRpcMessage('{"jsonrpc":"2.0","error":{"code":47,"message":"정상적인 JSON-RPC 형식이 아닙니다"}}')).toEqual(
      ok({ kind: 'error', code: RPC_MALFORMED, message: RPC_MALFORMED_MESSAGE }),
    );
    const push = decodeRpcMessage(
      '{"jsonrpc":"2.0","method":"push","params":{"preset":"tick","isuSrtCd":"005930","trdPrc":71300,"trdvol":3,"accTrdvol":5123459,"accTrdval":365012559500,"trdTm":10021600}}',
    );
    expect(push.ok && push.value.kind).toBe('push');
    if (push.ok && push.value.kind === 'push') {
      expect(decodeTickParams(push.value.params)).toEqual(
        ok({ isuSrtCd: '005930', trdPrc: 71300, trdvol: 3, accTrdvol: 5123459, accTrdval: 365012559500, trdTm: 10021600 }),
      );
    }
  });

  test('the snapshot-as-result example decodes as a result whose payload is a tick', () => {
    const r = decodeRpcMessage('{"jsonrpc":"2.0","id":2,"result":{"isuSrtCd":"005930","trdPrc":71200,"trdvol":10,"trdTm":10021530,"mkStatTpCd":1}}');
    expect(r.ok && r.value.kind === 'result' && decodeTickParams(r.value.result as Record<string, unknown>)).toEqual(
      ok({ isuSrtCd: '005930', trdPrc: 71200, trdvol: 10, trdTm: 10021530 }),
    );
  });

  test('init with `data` instead of `params`; subscribe with `isuSrtCode`', () => {
    const init = decodeRpcMessage('{"jsonrpc":"2.0","id":1,"method":"init","data":{"key":"k","membername":"m"}}');
    expect(init.ok && init.value.kind === 'request' && decodeInitParams(init.value.params)).toEqual(ok({ key: 'k', membername: 'm' }));
    const sub = decodeRpcMessage('{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"preset":"tick","isuSrtCode":"005930"}}');
    expect(sub.ok && sub.value.kind === 'request' && decodeSubscriptionParams(sub.value.params)).toEqual(ok({ preset: 'tick', symbol: '005930' }));
  });

  test('subscription params: change items, unsubscribe without preset, bad preset', () => {
    expect(decodeSubscriptionParams({ preset: 'change', isuSrtCd: '005930', items: ['trdPrc', 'trdTm'] })).toEqual(
      ok({ preset: 'change', symbol: '005930', items: ['trdPrc', 'trdTm'] }),
    );
    expect(decodeSubscriptionParams({ isuSrtCd: '005930' })).toEqual(ok({ symbol: '005930' }));
    expect(decodeSubscriptionParams({ preset: 'ticks', isuSrtCd: '005930' }).ok).toBe(false);
    expect(decodeSubscriptionParams({ preset: 'tick' })).toEqual(fail('params.isuSrtCd', 'missing'));
    expect(decodeSubscriptionParams({ preset: 'change', isuSrtCd: '1', items: [1] })).toEqual(fail('params.items', 'expected an array of strings'));
    expect(decodeInitParams({ membername: 'm' })).toEqual(fail('params.key', 'missing'));
    expect(MAX_SUBSCRIPTIONS).toBe(200);
  });

  test.each([
    ['the vendor example with a missing colon', '{"jsonrpc":"2.0","id":2,"result"  {"message":"ok"}}', '$'],
    ['the vendor example with a missing comma', '{"jsonrpc":"2.0","method":"push" "params":{}}', '$'],
    ['the vendor heartbeat with a trailing comma', '{"jsonrpc":"2.0","id":3,"method":"heartbeat",}', '$'],
    ['an unquoted leading-zero number', '{"jsonrpc":"2.0","method":"push","params":{"isuSrtCd" : 005930}}', '$'],
    ['a bare array', '[1,2]', '$'],
    ['no jsonrpc member', '{"id":1,"method":"init"}', 'jsonrpc'],
    ['jsonrpc 1.0', '{"jsonrpc":"1.0","id":1,"method":"init"}', 'jsonrpc'],
    ['a string id', '{"jsonrpc":"2.0","id":"1","method":"init"}', 'id'],
    ['a request without id', '{"jsonrpc":"2.0","method":"subscribe","params":{}}', 'id'],
    ['params as an array', '{"jsonrpc":"2.0","id":1,"method":"subscribe","params":[1]}', 'params'],
    ['no method, result or error', '{"jsonrpc":"2.0","id":1}', 'method'],
    ['a push without params', '{"jsonrpc":"2.0","method":"push"}', 'params'],
    ['an error without code', '{"jsonrpc":"2.0","error":{"message":"x"}}', 'error.code'],
    ['an error as a string', '{"jsonrpc":"2.0","error":"x"}', 'error'],
  ])('rejects %s', (_, text, field) => {
    const r = decodeRpcMessage(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.field).toBe(field);
  });

  test('encoders write the documented shapes', () => {
    expect(encodeInit(1, 'k', 'm')).toBe('{"jsonrpc":"2.0","id":1,"method":"init","params":{"key":"k","membername":"m"}}');
    expect(encodeHeartbeat(3)).toBe('{"jsonrpc":"2.0","id":3,"method":"heartbeat"}');
    expect(encodeSubscription(2, 'subscribe', 'tick', '005930')).toBe('{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"preset":"tick","isuSrtCd":"005930"}}');
    expect(encodeResult(undefined, { a: 1 })).toBe('{"jsonrpc":"2.0","result":{"a":1}}');
    expect(encodeRpcError(RPC_MALFORMED, RPC_MALFORMED_MESSAGE)).toBe('{"jsonrpc":"2.0","error":{"code":47,"message":"정상적인 JSON-RPC 형식이 아닙니다"}}');
  });

  const id = fc.integer({ min: 0, max: 2 ** 31 });
  const params = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 });

  test('property: envelope round trips', () => {
    fc.assert(
      fc.property(id, fc.string({ minLength: 1, maxLength: 12 }), params, fc.jsonValue({ maxDepth: 2 }), fc.integer(), fc.string(), fc.option(id, { nil: undefined }), (i, method, p, result, code, message, maybeId) => {
        const m = method === 'push' ? 'pushx' : method;
        expect(decodeRpcMessage(encodeRequest(i, m, p))).toEqual(ok({ kind: 'request', id: i, method: m, params: JSON.parse(JSON.stringify(p)) }));
        expect(decodeRpcMessage(encodeResult(maybeId, result))).toEqual(ok({ kind: 'result', id: maybeId, result: JSON.parse(JSON.stringify(result)) }));
        expect(decodeRpcMessage(encodePushNotification(p))).toEqual(ok({ kind: 'push', params: JSON.parse(JSON.stringify(p)) }));
        const err = decodeRpcMessage(encodeRpcError(code, message, maybeId));
        expect(err).toEqual(ok(maybeId === undefined ? { kind: 'error', code, message } : { kind: 'error', id: maybeId, code, message }));
      }),
      { numRuns: 1000 },
    );
  });

  test('property: init, subscription and tick round trips', () => {
    const tick: fc.Arbitrary<TickPush> = fc.record(
      {
        isuSrtCd: fc.stringMatching(/^[0-9]{6}$/),
        trdPrc: fc.integer({ min: 1, max: 10_000_000 }),
        trdvol: fc.integer({ min: 0, max: 1e9 }),
        trdTm: fc.oneof(fc.constantFrom(0, 31000000, 91000008), fc.integer({ min: 1, max: 8_639_999 }).map((cs) => Number(formatHhmmsscc(cs * 10)))),
        accTrdvol: fc.maxSafeInteger(),
        accTrdval: fc.maxSafeInteger(),
      },
      { requiredKeys: ['isuSrtCd', 'trdPrc', 'trdvol', 'trdTm'] },
    );
    fc.assert(
      fc.property(id, fc.string({ minLength: 1 }), fc.string(), fc.constantFrom(...PRESETS), fc.string({ minLength: 1, maxLength: 9 }), tick, (i, key, member, preset: Preset, symbol, t) => {
        const init = decodeRpcMessage(encodeInit(i, key, member));
        expect(init.ok && init.value.kind === 'request' && decodeInitParams(init.value.params)).toEqual(ok({ key, membername: member }));
        const sub = decodeRpcMessage(encodeSubscription(i, 'unsubscribe', preset, symbol, ['trdPrc']));
        expect(sub.ok && sub.value.kind === 'request' && sub.value.method === 'unsubscribe' && decodeSubscriptionParams(sub.value.params)).toEqual(
          ok({ preset, symbol, items: ['trdPrc'] }),
        );
        const push = decodeRpcMessage(encodeTickPush(t));
        expect(push.ok && push.value.kind === 'push' && push.value.params.preset).toBe('tick');
        expect(push.ok && push.value.kind === 'push' && decodeTickParams(push.value.params)).toEqual(ok(t));
      }),
      { numRuns: 1000 },
    );
  });
});
