// The simulator's session clock: maps wall-clock time onto the KRX regular session 09:00–15:30 KST
// of one trading day, either compressed into a chosen day length (tests, demos) or 1:1 with the
// real KST clock.

import { kstDay, kstMidnight, type TradingDay } from '../protocol/time.js';

export const OPEN_MS = 9 * 3_600_000;
export const CLOSE_MS = 15 * 3_600_000 + 30 * 60_000;
/** Koscom serves today's closeprice from 15:40 (koscom.md §5.8, §8). */
export const CLOSE_DATA_MS = 15 * 3_600_000 + 40 * 60_000;
export const SESSION_MS = CLOSE_MS - OPEN_MS;
const LAST_MS_OF_DAY = 86_399_990;

export type SessionState = 'pre-open' | 'open' | 'closed';

export interface SessionClockOptions {
  /** Trading day; default: the KST date of `startMs`. */
  day?: TradingDay;
  /** Wall-clock instant the exchange started (epoch ms). */
  startMs: number;
  /** Compressed mode: wall-clock ms between start and 09:00. */
  preOpenMs: number;
  /** Wall-clock length of 09:00–15:30; 0 = real time (market clock = KST wall clock). */
  dayLengthMs: number;
}

export class SessionClock {
  readonly day: TradingDay;
  /** Wall-clock instants (epoch ms) of 09:00, 15:30 and 15:40 on the market clock. */
  readonly openAt: number;
  readonly closeAt: number;
  readonly closeDataAt: number;
  /** Market ms per wall-clock ms. */
  readonly speed: number;
  readonly realTime: boolean;
  private readonly midnight: number;

  constructor(o: SessionClockOptions) {
    this.realTime = o.dayLengthMs <= 0;
    this.day = o.day ?? kstDay(o.startMs);
    this.midnight = kstMidnight(this.day);
    if (this.realTime) {
      this.speed = 1;
      this.openAt = this.midnight + OPEN_MS;
    } else {
      this.speed = SESSION_MS / o.dayLengthMs;
      this.openAt = o.startMs + o.preOpenMs;
    }
    this.closeAt = this.openAt + SESSION_MS / this.speed;
    this.closeDataAt = this.openAt + (CLOSE_DATA_MS - OPEN_MS) / this.speed;
  }

  /** KST ms since midnight on the market clock at wall-clock `nowMs`, clamped to the day. */
  msOfDay(nowMs: number): number {
    const ms = OPEN_MS + (nowMs - this.openAt) * this.speed;
    return ms < 0 ? 0 : ms > LAST_MS_OF_DAY ? LAST_MS_OF_DAY : Math.floor(ms);
  }

  /** The absolute instant (epoch ms) of a market-clock time of day. */
  instant(msOfDay: number): number {
    return this.midnight + msOfDay;
  }

  state(nowMs: number): SessionState {
    return nowMs < this.openAt ? 'pre-open' : nowMs < this.closeAt ? 'open' : 'closed';
  }
}
