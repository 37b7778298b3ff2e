// Time formats of both feeds. KST is UTC+9 all year (Korea has no daylight saving time since
// 1988), so converting needs no time-zone database.

import { parseIntStrict } from './decoded.js';

const KST_OFFSET_MS = 9 * 3_600_000;
const DAY_MS = 86_400_000;

/** A KRX trading date, `YYYY-MM-DD` (KST). */
export type TradingDay = string;

/** The KST calendar date of an instant. */
export function kstDay(epochMs: number): TradingDay {
  return new Date(epochMs + KST_OFFSET_MS).toISOString().slice(0, 10);
}

/** Epoch ms of 00:00 KST on `day`. */
export function kstMidnight(day: TradingDay): number {
  const t = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`not a date (YYYY-MM-DD): ${day}`);
  return t - KST_OFFSET_MS;
}

/** `YYYYMMDD` (the feeds' date format) → `YYYY-MM-DD`. */
export function dayFromCompact(yyyymmdd: string): TradingDay {
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
}

/** `YYYY-MM-DD` → `YYYYMMDD`. */
export function compactDay(day: TradingDay): string {
  return day.slice(0, 4) + day.slice(5, 7) + day.slice(8, 10);
}

/** KST wall-clock milliseconds since midnight of an instant. */
export function kstMsOfDay(epochMs: number): number {
  return (((epochMs + KST_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
}

/** Koscom session signals carried in `trdTm` (koscom.md §4): codes, not clock times. */
export const TRDTM_SIGNALS: Readonly<Record<number, string>> = {
  31000000: '정규장마감',
  41000000: '장종료 시간외 마감',
  51000000: '장전 대량매매',
  61000000: '장중 대량매매',
  71000000: '장후 대량매매',
  81000000: '단일가 마감',
  91000007: '일반 Buy-in 마감',
  91000008: '당일 Buy-in 마감',
};

/**
 * Milliseconds since KST midnight of an 8-digit `HHMMSScc` value (cc = hundredths), already
 * converted to an integer — which is how the leading zero of 09:xx times disappears on the wire
 * (`9544500` = 09:54:45.00). Returns:
 *  - 0..86_399_990 for a time of day,
 *  - -1 for `0` (no trade yet in the regular session),
 *  - -2 for a session signal (HH ≥ 24, e.g. 31000000),
 *  - NaN when the digits are not a valid time (minute or second ≥ 60, negative, > 8 digits).
 */
export function hhmmsscc(v: number): number {
  if (v === 0) return -1;
  if (!(v > 0) || v > 99_999_999) return NaN;
  const hh = Math.floor(v / 1_000_000);
  if (hh >= 24) return -2;
  const mm = Math.floor(v / 10_000) % 100;
  const ss = Math.floor(v / 100) % 100;
  if (mm >= 60 || ss >= 60) return NaN;
  return ((hh * 60 + mm) * 60 + ss) * 1000 + (v % 100) * 10;
}

/** The inverse of hhmmsscc for a time of day: ms since midnight → `HHMMSScc` zero-padded string. */
export function formatHhmmsscc(msOfDay: number): string {
  const cs = Math.floor(msOfDay / 10);
  const cc = cs % 100;
  const s = Math.floor(cs / 100);
  const v = Math.floor(s / 3600) * 1_000_000 + (Math.floor(s / 60) % 60) * 10_000 + (s % 60) * 100 + cc;
  return String(v).padStart(8, '0');
}

/**
 * Milliseconds since KST midnight of a 6-digit `HHMMSS` value as an integer (the multiquote
 * `trdTm`, LS `chetime`); the leading zero may be gone (`93152` = 09:31:52). NaN when invalid.
 */
export function hhmmss(v: number): number {
  if (!(v >= 0) || v > 235_959 || !Number.isInteger(v)) return NaN;
  const mm = Math.floor(v / 100) % 100;
  const ss = v % 100;
  if (mm >= 60 || ss >= 60) return NaN;
  return (Math.floor(v / 10_000) * 3600 + mm * 60 + ss) * 1000;
}

/** The inverse of hhmmss: ms since midnight → zero-padded `HHMMSS`. */
export function formatHhmmss(msOfDay: number): string {
  const s = Math.floor(msOfDay / 1000);
  return String(Math.floor(s / 3600) * 10_000 + (Math.floor(s / 60) % 60) * 100 + (s % 60)).padStart(6, '0');
}

/**
 * A `YYYYMMDD` date as the feeds send it — a string, or a number (Koscom master/history
 * `trdDd`, `BzDd`, `listDd`) — as a TradingDay; undefined unless it is a real calendar date.
 */
export function parseCompactDay(v: unknown): TradingDay | undefined {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || s.length !== 8) return undefined;
  for (let i = 0; i < 8; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const day = dayFromCompact(s);
  const t = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().startsWith(day) ? day : undefined;
}

/** What a Koscom `trdTm` says: an instant, "no trade yet" (0), or a session signal (HH ≥ 24). */
export type ExchTime =
  | { kind: 'time'; epochMs: number }
  | { kind: 'none' }
  | { kind: 'signal'; code: number; label: string | undefined };

/**
 * Reads `trdTm` in every form it arrives in — 8-digit string, string or number without the
 * leading zero (`"9500000"`, 9544500), 0, signal codes — as an integer code; NaN when it is not
 * one (`"12a"`, minute ≥ 60, negative, more than 8 digits).
 */
export function trdTmCode(v: unknown): number {
  let n: number;
  if (typeof v === 'number') n = Number.isSafeInteger(v) ? v : NaN;
  else if (typeof v === 'string' && v.length <= 8) n = parseIntStrict(v);
  else return NaN;
  return Number.isNaN(hhmmsscc(n)) ? NaN : n;
}

/** A validated `trdTm` code (see trdTmCode) on the trading day starting at `dayStartMs`. */
export function exchTime(code: number, dayStartMs: number): ExchTime {
  const ms = hhmmsscc(code);
  if (ms === -1) return { kind: 'none' };
  if (ms === -2) return { kind: 'signal', code, label: TRDTM_SIGNALS[code] };
  return { kind: 'time', epochMs: dayStartMs + ms };
}
