import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  decodeArray, decodeFields, encodeFields, fail, ok, parseIntStrict, parseJson, parseJsonObject, toDecimal, toInt,
} from '../protocol/decoded.js';
import {
  exchTime, formatHhmmss, formatHhmmsscc, hhmmss, hhmmsscc, kstDay, kstMidnight, kstMsOfDay, parseCompactDay, trdTmCode,
} from '../protocol/time.js';

describe('parseIntStrict / toInt', () => {
  test('accepts plain decimal integers, signed', () => {
    expect(parseIntStrict('0')).toBe(0);
    expect(parseIntStrict('81000')).toBe(81000);
    expect(parseIntStrict('-5139')).toBe(-5139);
    expect(parseIntStrict('000660')).toBe(660);
    expect(parseIntStrict('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
  });

  test.each(['', '-', '+1', '12a', '1e3', '1.0', ' 1', '1 ', '0x10', '９', '9007199254740992', '123456789012345678'])('rejects %j', (s) => {
    expect(parseIntStrict(s)).toBeNaN();
  });

  test('toInt takes safe-integer numbers and strict strings, nothing else', () => {
    expect(toInt(42)).toBe(42);
    expect(toInt('42')).toBe(42);
    for (const v of [1.5, NaN, Infinity, 2 ** 60, '1e3', null, undefined, true, {}, []]) expect(toInt(v)).toBeNaN();
  });

  test('property: every safe integer survives String → parseIntStrict', () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => parseIntStrict(String(n)) === n), { numRuns: 2000 });
  });

  test('property: any string is rejected or is exactly an integer literal', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        const n = parseIntStrict(s);
        return Number.isNaN(n) || (/^-?\d+$/.test(s) && n === Number(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('toDecimal', () => {
  test('LS zero-padded decimal strings and Koscom numbers', () => {
    expect(toDecimal('-01.45')).toBe(-1.45);
    expect(toDecimal('000056.80')).toBe(56.8);
    expect(toDecimal('2610.62')).toBe(2610.62);
    expect(toDecimal(8.67)).toBe(8.67);
    expect(toDecimal('12')).toBe(12);
  });
  test.each(['', '1.', '.5', '1e3', '1,000', ' 1', 'NaN', '--1'])('rejects %j', (s) => {
    expect(toDecimal(s)).toBeNaN();
  });
});

describe('parseJson', () => {
  test('reports not-JSON as a failure on $', () => {
    const r = parseJson('{"a":');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ field: '$', reason: expect.stringMatching(/^not JSON/) });
  });
  test('secret mode does not quote the input', () => {
    const r = parseJson('{"access_token":"SECRETSECRET"', true);
    expect(r).toEqual(fail('$', 'not JSON'));
  });
  test('parseJsonObject rejects arrays and scalars', () => {
    expect(parseJsonObject('[1]')).toEqual(fail('$', 'expected a JSON object, got an array'));
    expect(parseJsonObject('null').ok).toBe(false);
    expect(parseJsonObject('{"a":1}')).toEqual(ok({ a: 1 }));
  });
});

describe('decodeFields / encodeFields', () => {
  const SPEC = { code: 'text', price: 'int', ratio: 'dec', extra: 'int?' } as const;

  test('loose typing reads strings-as-numbers and numbers-as-strings', () => {
    expect(decodeFields({ code: 5930, price: '71200', ratio: '-01.45' }, SPEC, '', 'loose')).toEqual(ok({ code: '5930', price: 71200, ratio: -1.45 }));
  });

  test('strings typing rejects a number, naming the field with its path', () => {
    expect(decodeFields({ code: '1', price: 3, ratio: '1' }, SPEC, 'body', 'strings')).toEqual(fail('body.price', 'wrong type (number, expected a string)'));
  });

  test('missing required field, bad optional field, ignored extra members', () => {
    expect(decodeFields({ code: 'a', ratio: 1 }, SPEC, 'x[2]', 'loose')).toEqual(fail('x[2].price', 'missing'));
    const bad = decodeFields({ code: 'a', price: 1, ratio: 1, extra: '1e3' }, SPEC, '', 'loose');
    expect(bad.ok || bad.error.field).toBe('extra');
    expect(decodeFields({ code: 'a', price: 1, ratio: 1, other: {} }, SPEC, '', 'loose')).toEqual(ok({ code: 'a', price: 1, ratio: 1 }));
    expect(decodeFields([], SPEC, '', 'loose')).toEqual(fail('$', 'expected an object, got an array'));
  });

  test('property: encode → decode round trip in every style', () => {
    const value = fc.record(
      { code: fc.string(), price: fc.maxSafeInteger(), ratio: fc.integer({ min: -1e9, max: 1e9 }).map((x) => x / 100), extra: fc.integer() },
      { requiredKeys: ['code', 'price', 'ratio'] },
    );
    fc.assert(
      fc.property(value, fc.constantFrom('strings', 'decimalStrings', 'native') as fc.Arbitrary<'strings' | 'decimalStrings' | 'native'>, (v, style) => {
        const wire = JSON.parse(JSON.stringify(encodeFields(v, SPEC, style)));
        expect(decodeFields(wire, SPEC, '', style === 'strings' ? 'strings' : 'loose')).toEqual(ok(v));
      }),
      { numRuns: 1000 },
    );
  });

  test('decodeArray names the element and enforces the maximum', () => {
    const int = (el: unknown, path: string) => (typeof el === 'number' ? ok(el) : fail(path, 'not a number'));
    expect(decodeArray([1, 2], 'xs', int)).toEqual(ok([1, 2]));
    expect(decodeArray([1, 'a'], 'xs', int)).toEqual(fail('xs[1]', 'not a number'));
    expect(decodeArray([1, 2, 3], 'xs', int, 2)).toEqual(fail('xs', 'out of range (3 elements, at most 2)'));
    expect(decodeArray(undefined, 'xs', int)).toEqual(fail('xs', 'missing'));
  });
});

describe('time', () => {
  const day = '2024-03-04';
  const midnight = kstMidnight(day);

  test('KST midnight is 15:00 UTC of the day before', () => {
    expect(midnight).toBe(Date.UTC(2024, 2, 3, 15));
    expect(kstDay(midnight)).toBe(day);
    expect(kstDay(midnight - 1)).toBe('2024-03-03');
    expect(kstMsOfDay(midnight + 1234)).toBe(1234);
    expect(() => kstMidnight('2024-3-4')).toThrow(RangeError);
  });

  test('hhmmsscc: 8 digits, leading zero lost, 0, signals, invalid', () => {
    expect(hhmmsscc(10021600)).toBe(((10 * 60 + 2) * 60 + 16) * 1000);
    expect(hhmmsscc(9544500)).toBe(((9 * 60 + 54) * 60 + 45) * 1000);
    expect(hhmmsscc(10021555)).toBe(((10 * 60 + 2) * 60 + 15) * 1000 + 550);
    expect(hhmmsscc(0)).toBe(-1);
    expect(hhmmsscc(31000000)).toBe(-2);
    expect(hhmmsscc(91000008)).toBe(-2);
    expect(hhmmsscc(9606000)).toBeNaN();
    expect(hhmmsscc(-1)).toBeNaN();
    expect(hhmmsscc(100000000)).toBeNaN();
  });

  test('property: formatHhmmsscc inverts hhmmsscc on every hundredth of the day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8_639_999 }), (cs) => {
        const s = formatHhmmsscc(cs * 10);
        return s.length === 8 && hhmmsscc(Number(s)) === cs * 10 && trdTmCode(s) === Number(s);
      }),
      { numRuns: 2000 },
    );
  });

  test('hhmmss and its inverse (multiquote trdTm, LS chetime)', () => {
    expect(hhmmss(93152)).toBe(((9 * 60 + 31) * 60 + 52) * 1000);
    expect(hhmmss(0)).toBe(0);
    expect(hhmmss(240000)).toBeNaN();
    expect(hhmmss(96000)).toBeNaN();
    expect(formatHhmmss(hhmmss(93152))).toBe('093152');
    fc.assert(fc.property(fc.integer({ min: 0, max: 86_399 }), (s) => hhmmss(Number(formatHhmmss(s * 1000))) === s * 1000), { numRuns: 1000 });
  });

  test('trdTmCode reads every documented form and rejects the rest', () => {
    expect(trdTmCode('10021600')).toBe(10021600);
    expect(trdTmCode('09500000')).toBe(9500000);
    expect(trdTmCode('9500000')).toBe(9500000);
    expect(trdTmCode(9544500)).toBe(9544500);
    expect(trdTmCode('0')).toBe(0);
    expect(trdTmCode(31000000)).toBe(31000000);
    for (const bad of ['', '12a', '1e3', '-100', '123456789', '09606000', 1.5, null, undefined, {}]) expect(trdTmCode(bad)).toBeNaN();
  });

  test('exchTime: instant, none, signal with label', () => {
    expect(exchTime(9544500, midnight)).toEqual({ kind: 'time', epochMs: midnight + ((9 * 60 + 54) * 60 + 45) * 1000 });
    expect(exchTime(0, midnight)).toEqual({ kind: 'none' });
    expect(exchTime(31000000, midnight)).toEqual({ kind: 'signal', code: 31000000, label: '정규장마감' });
    expect(exchTime(99000000, midnight)).toEqual({ kind: 'signal', code: 99000000, label: undefined });
  });

  test('parseCompactDay accepts real dates as string or number only', () => {
    expect(parseCompactDay('20240229')).toBe('2024-02-29');
    expect(parseCompactDay(20240102)).toBe('2024-01-02');
    for (const bad of ['20230229', '20241301', '20240100', '2024010', '2024-01-02', '2024010a', 20240229.5, null, undefined]) {
      expect(parseCompactDay(bad)).toBeUndefined();
    }
  });
});
