// The KRX trading calendar as the collector sees it: weekends, Korean public holidays (from the
// maintained date-holidays library, which also knows the three-day 설날/추석 spans and substitute
// holidays), 31 December, and the configured overrides; and the times of a trading day.
import Holidays from 'date-holidays';
import { kstDay, kstMidnight, type TradingDay } from '../protocol/time.js';
import type { CollectorConfig, DayTimes } from './config.js';

export interface DayPlan {
  day: TradingDay;
  /** Instants, epoch ms. */
  seedAt: number;
  streamStart: number;
  streamEnd: number;
  closeAt: number;
}

export type DayStatus = { trading: true; plan: DayPlan } | { trading: false; reason: string };

type CalendarConfig = Pick<CollectorConfig, 'schedule' | 'calendar'>;

let holidays: Holidays | undefined;

/** Whether `day` is a trading day under `cfg`, and its plan if so. */
export function dayStatus(day: TradingDay, cfg: CalendarConfig): DayStatus {
  const { calendar } = cfg;
  if (!calendar.open.includes(day)) {
    if (calendar.closed.includes(day)) return { trading: false, reason: 'closed by configuration' };
    if (day.endsWith('-12-31')) return { trading: false, reason: 'KRX year-end holiday (31 December)' };
    const noon = kstMidnight(day) + 12 * 3_600_000;
    const weekday = new Date(noon).getUTCDay();
    if (weekday === 0 || weekday === 6) return { trading: false, reason: weekday === 0 ? 'Sunday' : 'Saturday' };
    holidays ??= new Holidays('KR', { types: ['public'] });
    const h = holidays.isHoliday(new Date(noon));
    if (h) return { trading: false, reason: `public holiday (${h.map((x) => x.name).join(', ')})` };
  }
  return { trading: true, plan: planDay(day, { ...cfg.schedule, ...calendar.special[day] }) };
}

export function planDay(day: TradingDay, t: DayTimes): DayPlan {
  const midnight = kstMidnight(day);
  const at = (m: number) => midnight + m * 60_000;
  return { day, seedAt: at(t.seedAt), streamStart: at(t.streamStart), streamEnd: at(t.streamEnd), closeAt: at(t.closeAt) };
}

/** Around the open the reconnect backoff is capped, so a bad morning never waits out 09:00. */
const OPEN_WINDOW_MS = 10 * 60_000;

/** The longest reconnect delay at `nowMs`: `ws.backoffAtOpenMs` within 10 minutes of today's open, else unlimited. */
export function openBackoffCap(nowMs: number, cfg: Pick<CollectorConfig, 'schedule' | 'calendar' | 'ws'>): number {
  const day = kstDay(nowMs);
  const openAt = kstMidnight(day) + (cfg.calendar.special[day]?.marketOpen ?? cfg.schedule.marketOpen) * 60_000;
  return Math.abs(nowMs - openAt) <= OPEN_WINDOW_MS ? cfg.ws.backoffAtOpenMs : Infinity;
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
