// The KRX calendar (configuration and environment overrides included) as a day filter, for the
// `days` view and `inspect`: which days without data count as missing.
import { dayStatus } from '../collector/calendar.js';
import { loadConfig } from '../collector/config.js';
import type { TradingDay } from '../protocol/time.js';

export function calendarDayFilter(): (day: TradingDay) => boolean {
  const cfg = loadConfig();
  return (day) => dayStatus(day, cfg).trading;
}
