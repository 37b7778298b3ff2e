// The trade-frame fast path (protocol/koscom-fast.ts) against the general decoder: for any text —
// the exact wire form, its near misses, garbage — decodeTradeFrame gives what the general way gives.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeTradeFrame, decodeTradeJson, encodeTradeFrame, type TradeSink } from '../protocol/koscom.js';
import { scanTradeFrame } from '../protocol/koscom-fast.js';
import { kstMidnight } from '../protocol/time.js';

const DAY0 = kstMidnight('2026-11-20');

/** Everything a decoder said, in order. */
function heard(decode: (text: string, day: number, sink: TradeSink) => unknown, text: string): unknown[] {
  const out: unknown[] = [];
  const errors = decode(text, DAY0, { trade: (...a) => out.push(['trade', ...a]), signal: (...a) => out.push(['signal', ...a]) });
  out.push(errors);
  return out;
}

const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));
/** A value as the wire sends it, or one of its near misses. */
const value = (good: fc.Arbitrary<string>) => fc.oneof({ weight: 200, arbitrary: good.map((v) => `"${v}"`) }, fc.constantFrom('"-5"', '""', '"1.5"', '" 12"', '12', 'null', '"1e3"', '"00000000000000000001"', '"99999999999999999"'));
const symbol = fc.oneof({ weight: 200, arbitrary: fc.stringMatching(/^[0-9A-Z]{1,12}$/) }, fc.constantFrom('', 'ABCDEFGHIJKLM', 'A\\"B', '\\u0041', '삼성', 'A\u0001'));
const time = fc.oneof({ weight: 200, arbitrary: fc.integer({ min: 0, max: 86_399_99 }).map((cs) => String(Math.floor(cs / 360_000) * 1_000_000 + (Math.floor(cs / 6000) % 60) * 10_000 + (Math.floor(cs / 100) % 60) * 100 + (cs % 100)).padStart(8, '0')) }, fc.constantFrom('0', '31000000', '51000000', '61000000', '99999999', '09616000', '123'));
const element = fc.record({ s: symbol, p: value(digits(1, 8)), q: value(digits(1, 9)), t: value(time) }).map(({ s, p, q, t }) => `{"isuSrtCd":"${s}","trdPrc":${p},"trdVol":${q},"trdTm":${t}}`);
const frame = fc.tuple(fc.array(element, { minLength: 0, maxLength: 55 }), fc.constantFrom('', '', '', ' ', '\n')).map(([els, ws]) => `[${els.join(`,${ws}`)}]`);
/** A frame with one character changed, dropped or added somewhere. */
const mangled = fc.tuple(frame, fc.nat(), fc.constantFrom('', '"', ',', '}', ']', ' ', '\\', 'x', '0')).map(([f, at, c]) => {
  const i = at % (f.length + 1);
  return at % 2 === 0 ? f.slice(0, i) + c + f.slice(i + 1) : f.slice(0, i) + c + f.slice(i);
});

it('decodes every frame, in the wire form or not, as the general decoder does', () => {
  let fast = 0;
  const runs = 3_000;
  fc.assert(fc.property(fc.oneof(frame, mangled, fc.string()), (text) => {
    expect(heard(decodeTradeFrame, text)).toEqual(heard(decodeTradeJson, text));
    if (scanTradeFrame(text, DAY0, 50, { trade() {}, signal() {} })) fast++;
  }), { numRuns: runs });
  // Both ways were exercised: the fast path read a good share of the frames itself.
  expect(fast).toBeGreaterThan(runs * 0.1);
  expect(fast).toBeLessThan(runs * 0.9);
});

it('reads the exact wire form itself, and leaves signals and bad values to the general decoder', () => {
  const wire = encodeTradeFrame([{ symbol: '005930', price: 71_200, qty: 12, msOfDay: 9 * 3_600_000 + 1_230 }, { symbol: '035720', price: 48_150, qty: 3, msOfDay: -1 }]);
  const got: unknown[] = [];
  expect(scanTradeFrame(wire, DAY0, 50, { trade: (...a) => got.push(a), signal() {} })).toBe(true);
  expect(got).toEqual([['005930', 71_200, 12, DAY0 + 9 * 3_600_000 + 1_230, 0, 0], ['035720', 48_150, 3, 0, 1, 0]]);
  const none = { trade: () => expect.unreachable(), signal: () => expect.unreachable() };
  expect(scanTradeFrame(wire.replace('"09000123"', '"31000000"'), DAY0, 50, none)).toBe(false);
  expect(scanTradeFrame(wire.replace('"09000123"', '"51000000"'), DAY0, 50, none)).toBe(false);
  expect(scanTradeFrame(wire.replace('"71200"', '"0"'), DAY0, 50, none)).toBe(false);
  expect(scanTradeFrame(wire.replace('"71200"', '71200'), DAY0, 50, none)).toBe(false);
  expect(scanTradeFrame(wire, DAY0, 1, none)).toBe(false);
});
