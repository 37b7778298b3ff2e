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

/** JSON.parse that reports failure instead of throwing. */
export function parseJson(text: string): Decoded<unknown> {
  try {
    return ok(JSON.parse(text));
  } catch (e) {
    return fail('$', `not JSON (${(e as Error).message})`);
  }
}
