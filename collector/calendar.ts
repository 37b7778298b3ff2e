// The KRX trading calendar as the collector sees it. For the years the shipped data file covers
// (krx-calendar.json, 2025–2027) that file is the truth besides weekends: the exchange's own
// closures (근로자의 날 1 May, election days, 31 December, ad-hoc closures) and its changed hours
// (the 수능 day's late open and close, the year's first trading day). Outside it, weekends, 1 May and
// 31 December close the market and the public holiday library's days are captured anyway, with a
// note: a day the calendar is unsure of costs an empty session if closed, a lost day if skipped.
// The configured overrides (TICKTAPE_OPEN_DAYS / TICKTAPE_CLOSED_DAYS, per-day times, a calendar
// file of our own via TICKTAPE_CALENDAR_FILE) come first.
import { createRequire } from 'node:module';
import type Holidays from 'date-holidays';
import { kstDay, kstMidnight, type TradingDay } from '../protocol/time.js';
import type { CollectorConfig, DayTimes } from './config.js';
import { backoffCapAt } from './stream.js';
import SHIPPED from './krx-calendar.json' with { type: 'json' };

export interface DayPlan {
  day: TradingDay;
  /** Instants, epoch ms. */
  seedAt: number;
  streamStart: number;
  streamEnd: number;
  closeAt: number;
  /** The regular session's open (10:00 on the 수능 day and the year's first trading day). */
  marketOpen: number;
}

/** `note`: why a day is captured although the calendar is unsure it trades, or its hours are unusual. */
export type DayStatus = { trading: true; plan: DayPlan; note?: string } | { trading: false; reason: string };

/** The exchange's calendar data: the shipped krx-calendar.json, or it merged with a file of our own. */
export interface KrxCalendar {
  covers: { from: TradingDay; to: TradingDay };
  closed: Record<TradingDay, string>;
  /** Closures announced by nobody yet (or disputed): captured, with the reason as a note. */
  unsureClosed: Record<TradingDay, string>;
  /** Days with other hours than 09:00–15:30 (HH:MM, KST). */
  hours: Record<TradingDay, { open: string; close: string; reason: string; unsure?: boolean }>;
}

export const KRX_CALENDAR: KrxCalendar = SHIPPED;

type CalendarConfig = Pick<CollectorConfig, 'schedule' | 'calendar'>;

const REGULAR_OPEN = 9 * 60;
const REGULAR_CLOSE = 15 * 60 + 30;

let holidays: Holidays | undefined;
// Loaded on first use, past the KRX data's years only: it takes ~0.3 s to load, and every start
// of a collector would pay for it.
const require = createRequire(import.meta.url);

/** Whether `day` is a trading day under `cfg`, and its plan if so. */
export function dayStatus(day: TradingDay, cfg: CalendarConfig): DayStatus {
  const { calendar } = cfg;
  const krx = calendar.krx ?? KRX_CALENDAR;
  let note: string | undefined;
  if (!calendar.open.includes(day)) {
    if (calendar.closed.includes(day)) return { trading: false, reason: 'closed by configuration' };
    const noon = kstMidnight(day) + 12 * 3_600_000;
    const weekday = new Date(noon).getUTCDay();
    if (weekday === 0 || weekday === 6) return { trading: false, reason: weekday === 0 ? 'Sunday' : 'Saturday' };
    if (day >= krx.covers.from && day <= krx.covers.to) {
      const closed = krx.closed[day];
      if (closed !== undefined) return { trading: false, reason: `KRX holiday: ${closed}` };
      const unsure = krx.unsureClosed[day];
      if (unsure !== undefined) note = `KRX may be closed (${unsure}): captured in case it trades`;
    } else {
      if (day.endsWith('-12-31')) return { trading: false, reason: 'KRX year-end holiday (31 December)' };
      if (day.endsWith('-05-01')) return { trading: false, reason: 'KRX holiday: 근로자의 날 (1 May)' };
      holidays ??= new (require('date-holidays') as typeof Holidays)('KR', { types: ['public'] });
      const h = holidays.isHoliday(new Date(noon));
      if (h) note = `public holiday per the holiday library (${h.map((x) => x.name).join(', ')}), outside the KRX calendar data (${krx.covers.from.slice(0, 4)}–${krx.covers.to.slice(0, 4)}): captured in case KRX trades`;
    }
  }
  const hours = krx.hours[day];
  const times = hours === undefined ? cfg.schedule : withHours(cfg.schedule, hours);
  if (hours !== undefined) note = [note, `${hours.reason}: ${hours.unsure ? 'expected ' : ''}${hours.open}–${hours.close}`].filter(Boolean).join('; ');
  const plan = planDay(day, { ...times, ...calendar.special[day] });
  return note === undefined ? { trading: true, plan } : { trading: true, plan, note };
}

/**
 * A day's times under changed hours: a late close moves the closing snapshot and the end of the
 * streams by as much; a late open moves the market open (streams may open early: a silent
 * pre-open costs nothing). Unsure hours keep the regular open and take the late close: the window
 * then covers both.
 */
function withHours(t: DayTimes, h: KrxCalendar['hours'][string]): DayTimes {
  const closeDelay = minutes(h.close) - REGULAR_CLOSE;
  const out = { ...t, closeAt: t.closeAt + closeDelay, streamEnd: t.streamEnd + closeDelay };
  return h.unsure ? out : { ...out, marketOpen: t.marketOpen + minutes(h.open) - REGULAR_OPEN };
}

function minutes(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

export function planDay(day: TradingDay, t: DayTimes): DayPlan {
  const midnight = kstMidnight(day);
  const at = (m: number) => midnight + m * 60_000;
  return { day, seedAt: at(t.seedAt), streamStart: at(t.streamStart), streamEnd: at(t.streamEnd), closeAt: at(t.closeAt), marketOpen: at(t.marketOpen) };
}

/** When the market opens on `day`: the KRX calendar's hours, else the configured open. */
export function marketOpenAt(day: TradingDay, cfg: CalendarConfig): number {
  const today = dayStatus(day, cfg);
  return today.trading ? today.plan.marketOpen : kstMidnight(day) + cfg.schedule.marketOpen * 60_000;
}

/** The longest reconnect delay at `nowMs`: `ws.backoffAtOpenMs` within 10 minutes of today's open, else unlimited. */
export function openBackoffCap(nowMs: number, cfg: Pick<CollectorConfig, 'schedule' | 'calendar' | 'ws'>): number {
  return backoffCapAt(nowMs, marketOpenAt(kstDay(nowMs), cfg), cfg.ws.backoffAtOpenMs);
}

/** The next trading day whose streams have not ended yet at `nowMs` (today included). */
export function nextSession(nowMs: number, cfg: CalendarConfig): DayPlan {
  let day = kstDay(nowMs);
  for (let i = 0; i < 400; i++) {
    const s = dayStatus(day, cfg);
    if (s.trading && s.plan.streamEnd > nowMs) return s.plan;
    day = kstDay(kstMidnight(day) + 36 * 3_600_000);
  }
  throw new Error('no trading day within 400 days: check the calendar configuration');
}
