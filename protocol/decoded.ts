// The result of decoding untrusted input: a value, or a failure naming the field and the reason.
// Decoders never throw on bad input; they return a DecodeError instead.

export interface DecodeError {
  /** JSON path of the offending field, e.g. `isuLists[3].trdPrc`; `$` for the whole frame. */
  field: string;
  reason: string;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

export function ok<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function fail<T = never>(field: string, reason: string): Decoded<T> {
  return { ok: false, error: { field, reason } };
}

/** Formats an error for logs and the quarantine table. */
export function describeError(e: DecodeError): string {
  return `${e.field}: ${e.reason}`;
}

/**
 * Parses a decimal integer string exactly: optional leading '-', then digits only.
 * Rejects "", "+1", "12a", "1e3", "1.0", " 1" and values beyond 2^53. Returns NaN when rejected.
 * Hand-written because Number() accepts "1e3", " 1 " and "0x10", and parseInt accepts "12a".
 */
export function parseIntStrict(s: string): number {
  const n = s.length;
  if (n === 0 || n > 17) return NaN;
  let i = 0;
  let neg = false;
  if (s.charCodeAt(0) === 45) {
    if (n === 1) return NaN;
    neg = true;
    i = 1;
  }
  let v = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  if (v > Number.MAX_SAFE_INTEGER) return NaN;
  return neg ? -v : v;
}

/** Accepts a JSON number that is a safe integer, or a string that parseIntStrict accepts. */
export function toInt(v: unknown): number {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : NaN;
  if (typeof v === 'string') return parseIntStrict(v);
  return NaN;
}

/** Describes why toInt rejected a value, for the error message. */
export function intReason(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return `not an integer string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)})`;
  if (typeof v === 'number') return `not a safe integer (${v})`;
  return `wrong type (${v === null ? 'null' : typeof v}, expected integer)`;
}

/** Parses a decimal string or number such as "-01.45" or 2409.03 (LS and Koscom ratios). */
export function toDecimal(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  if (typeof v !== 'string' || !/^-?\d+(\.\d+)?$/.test(v)) return NaN;
  return Number(v);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The JSON type of a value, for error messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

/** How a wire field is read: `text` string, `int` exact integer, `dec` decimal; `?` = may be absent. */
export type FieldKind = 'text' | 'int' | 'dec' | 'text?' | 'int?' | 'dec?';
export type FieldSpec = Readonly<Record<string, FieldKind>>;
type KindValue<K> = K extends 'text' | 'text?' ? string : number;
type RequiredFields<S> = { -readonly [K in keyof S as S[K] extends `${string}?` ? never : K]: KindValue<S[K]> };
type OptionalFields<S> = { -readonly [K in keyof S as S[K] extends `${string}?` ? K : never]?: KindValue<S[K]> };
/** The decoded record a FieldSpec describes. */
export type Fields<S extends FieldSpec> = RequiredFields<S> & OptionalFields<S>;

/**
 * How values are typed on the wire.
 * - `strings`: every value is a JSON string (LS real-time bodies, /ws_ksp); anything else is a wrong type.
 * - `loose`: strings and numbers interchangeably (Koscom REST and LS REST, whose examples mix both).
 */
export type WireTyping = 'strings' | 'loose';

/**
 * Reads the fields named in `spec` from `v` (other members are ignored). `path` prefixes the
 * field names in errors (`isuLists[3]`); '' for the top level.
 */
export function decodeFields<S extends FieldSpec>(v: unknown, spec: S, path: string, typing: WireTyping): Decoded<Fields<S>> {
  if (!isRecord(v)) return fail(path === '' ? '$' : path, `expected an object, got ${typeName(v)}`);
  const out: Record<string, string | number> = {};
  for (const name in spec) {
    const kind = spec[name];
    const raw = v[name];
    const optional = kind.endsWith('?');
    if (raw === undefined) {
      if (optional) continue;
      return fail(fieldPath(path, name), 'missing');
    }
    if (typing === 'strings' && typeof raw !== 'string') return fail(fieldPath(path, name), `wrong type (${typeName(raw)}, expected a string)`);
    const base = optional ? kind.slice(0, -1) : kind;
    if (base === 'text') {
      if (typeof raw === 'string') out[name] = raw;
      else if (typeof raw === 'number' && Number.isFinite(raw)) out[name] = String(raw);
      else return fail(fieldPath(path, name), `wrong type (${typeName(raw)}, expected a string)`);
    } else if (base === 'int') {
      const n = toInt(raw);
      if (Number.isNaN(n)) return fail(fieldPath(path, name), intReason(raw));
      out[name] = n;
    } else {
      const n = toDecimal(raw);
      if (Number.isNaN(n)) return fail(fieldPath(path, name), decimalReason(raw));
      out[name] = n;
    }
  }
  return ok(out as Fields<S>);
}

/**
 * How values are written on the wire: `strings` = all strings (LS real-time); `decimalStrings`
 * = integers as numbers, decimals as strings (LS REST); `native` = numbers as numbers (Koscom REST).
 */
export type WireStyle = 'strings' | 'decimalStrings' | 'native';

/**
 * The wire object for a record of `spec`, the inverse of decodeFields. Absent optional fields are
 * left out. Decimals go through String(), exact for the two-decimal values the feeds carry.
 */
export function encodeFields<S extends FieldSpec>(value: Fields<S>, spec: S, style: WireStyle): Record<string, string | number> {
  const src = value as Record<string, string | number | undefined>;
  const out: Record<string, string | number> = {};
  for (const name in spec) {
    const v = src[name];
    if (v === undefined) continue;
    const kind = spec[name];
    const asString = typeof v === 'string' || style === 'strings' || (style === 'decimalStrings' && kind.startsWith('dec'));
    out[name] = asString ? String(v) : v;
  }
  return out;
}

/** Decodes a JSON array element by element; errors name the element (`isuLists[3].trdPrc`). */
export function decodeArray<T>(v: unknown, path: string, element: (el: unknown, path: string) => Decoded<T>, max = Infinity): Decoded<T[]> {
  if (!Array.isArray(v)) return fail(path, v === undefined ? 'missing' : `wrong type (${typeName(v)}, expected an array)`);
  if (v.length > max) return fail(path, `out of range (${v.length} elements, at most ${max})`);
  const out: T[] = new Array<T>(v.length);
  for (let i = 0; i < v.length; i++) {
    const r = element(v[i], `${path}[${i}]`);
    if (!r.ok) return r;
    out[i] = r.value;
  }
  return ok(out);
}

/** A list element that did not decode: kept whole, with what was wrong, for quarantine. */
export interface BadElement {
  index: number;
  element: unknown;
  error: DecodeError;
}

/**
 * A list decoded element by element: one bad element (a halted issue with a null, a field of an
 * unknown type) is set aside in `bad` and the rest are kept. Fails only if `v` is not an array.
 */
export function decodeElements<T>(v: unknown, path: string, element: (el: unknown, path: string) => Decoded<T>): Decoded<{ rows: T[]; bad: BadElement[] }> {
  if (!Array.isArray(v)) return fail(path, v === undefined ? 'missing' : `wrong type (${typeName(v)}, expected an array)`);
  const rows: T[] = [];
  const bad: BadElement[] = [];
  for (let i = 0; i < v.length; i++) {
    const r = element(v[i], `${path}[${i}]`);
    if (r.ok) rows.push(r.value);
    else bad.push({ index: i, element: v[i], error: r.error });
  }
  return ok({ rows, bad });
}

function fieldPath(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function decimalReason(v: unknown): string {
  if (typeof v === 'string') return `not a decimal string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)})`;
  if (typeof v === 'number') return `not a finite number (${v})`;
  return `wrong type (${typeName(v)}, expected a decimal)`;
}

/**
 * JSON.parse that reports failure instead of throwing. `secret` = the text may carry a credential
 * (token responses): the parser's message quotes the input, so it is left out.
 */
export function parseJson(text: string, secret = false): Decoded<unknown> {
  try {
    return ok(JSON.parse(text));
  } catch (e) {
    return fail('$', secret ? 'not JSON' : `not JSON (${(e as Error).message})`);
  }
}

/** Parses a JSON object, failing on anything else. */
export function parseJsonObject(text: string, secret = false): Decoded<Record<string, unknown>> {
  const r = parseJson(text, secret);
  if (!r.ok) return r;
  return isRecord(r.value) ? ok(r.value) : fail('$', `expected a JSON object, got ${typeName(r.value)}`);
}
