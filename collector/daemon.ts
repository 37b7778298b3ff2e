// The scheduler of `ticktape daemon`: node-cron wakes it every day at the seed time (Asia/Seoul);
// it then runs that day's session if the calendar says the market trades. Started during a
// session's window (a restart after a crash or a deploy), it joins the running day at once. The
// clock and the daily trigger are injectable so that tests can drive weeks in milliseconds.
import cron from 'node-cron';
import type { Logger } from 'pino';
import { kstDay } from '../protocol/time.js';
import { dayStatus, type DayPlan, nextSession } from './calendar.js';
import { type Clock, systemClock } from './clock.js';
import { type CollectorConfig, formatMinutes, type Minutes } from './config.js';

const TIMEZONE = 'Asia/Seoul';

export interface DailyTrigger {
  /** Calls `fn` every day at `at` (minutes after midnight, KST); returns a function that stops it. */
  daily(at: Minutes, fn: () => void): () => void;
}

export const cronTrigger: DailyTrigger = {
  daily(at, fn) {
    const task = cron.schedule(`${at % 60} ${Math.floor(at / 60)} * * *`, fn, { timezone: TIMEZONE, name: 'ticktape-seed', noOverlap: true });
    return () => void task.destroy();
  },
};

/** What the daemon needs to know of a session that ended. */
export interface DayOutcome {
  /** The vendor rejected the stream credentials. */
  credentialsRejected: boolean;
}

/** Stream credentials were rejected session after session: the configuration is wrong. */
export class CredentialsRejectedError extends Error {
  constructor(readonly sessions: number) {
    super(`the stream credentials were rejected in ${sessions} sessions in a row; check TICKTAPE_KOSCOM_API_KEY (exiting so that the service manager sees it)`);
    this.name = 'CredentialsRejectedError';
  }
}

/** First wait before a session whose credentials were rejected is tried again; it doubles each time. */
export const AUTH_RETRY_INITIAL_MS = 30_000;
const AUTH_RETRY_MAX_MS = 10 * 60_000;

export interface DaemonOptions {
  config: Pick<CollectorConfig, 'schedule' | 'calendar' | 'authRetries'>;
  log: Logger;
  /** Runs one trading day's session; must return soon after `signal` aborts. */
  runDay(plan: DayPlan, signal: AbortSignal): Promise<DayOutcome>;
  /** First wait before retrying a session whose credentials were rejected (default 30 s, doubling). */
  authRetryMs?: number;
  signal: AbortSignal;
  clock?: Clock;
  trigger?: DailyTrigger;
}

/**
 * Runs sessions on trading days until `signal` aborts; resolves once the current one has stopped.
 * A session whose stream credentials were rejected is tried again within the day's window, with
 * backoff; after `authRetries` such sessions in a row it rejects with CredentialsRejectedError.
 */
export async function runDaemon(o: DaemonOptions): Promise<void> {
  const clock = o.clock ?? systemClock;
  const { log, signal } = o;
  let running: Promise<void> | undefined;
  let rejectedInARow = 0;
  let fatal: ((e: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => (fatal = reject));
  failed.catch(() => undefined);

  const check = () => {
    if (running !== undefined || signal.aborted) return;
    const now = clock.now();
    const today = dayStatus(kstDay(now), o.config);
    if (!today.trading) log.info({ day: kstDay(now), reason: today.reason }, `no session today (${today.reason})`);
    const plan = nextSession(now, o.config);
    if (plan.day !== kstDay(now)) {
      log.info({ day: plan.day }, `next session ${plan.day}, seed at ${formatMinutes(o.config.calendar.special[plan.day]?.seedAt ?? o.config.schedule.seedAt)} KST`);
      return;
    }
    running = (async () => {
      try {
        if (clock.now() < plan.seedAt) await clock.sleepUntil(plan.seedAt, signal);
        for (;;) {
          log.info({ day: plan.day }, `session ${plan.day} starting`);
          const outcome = await o.runDay(plan, signal);
          if (!outcome.credentialsRejected || signal.aborted) {
            rejectedInARow = 0;
            break;
          }
          rejectedInARow++;
          if (rejectedInARow >= o.config.authRetries) {
            fatal!(new CredentialsRejectedError(rejectedInARow));
            return;
          }
          const waitMs = Math.min(AUTH_RETRY_MAX_MS, (o.authRetryMs ?? AUTH_RETRY_INITIAL_MS) * 2 ** (rejectedInARow - 1));
          if (clock.now() + waitMs >= plan.streamEnd) {
            log.error({ day: plan.day }, `session ${plan.day}: stream credentials rejected ${rejectedInARow} time(s); no time left today to retry`);
            break;
          }
          log.error({ day: plan.day, retryInMs: waitMs }, `session ${plan.day}: stream credentials rejected (${rejectedInARow} of ${o.config.authRetries}); retrying in ${Math.round(waitMs / 1000)} s`);
          await clock.sleepUntil(clock.now() + waitMs, signal);
        }
      } catch (e) {
        if (!signal.aborted) log.error({ err: e, day: plan.day }, `session ${plan.day} failed: ${(e as Error).message}`);
      } finally {
        running = undefined;
      }
      if (!signal.aborted) {
        const next = nextSession(clock.now(), o.config);
        log.info({ day: next.day }, `next session ${next.day}`);
      }
    })();
  };

  const stop = (o.trigger ?? cronTrigger).daily(o.config.schedule.seedAt, check);
  try {
    check();
    await Promise.race([
      failed,
      new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      }),
    ]);
    await running;
  } finally {
    stop();
  }
}
