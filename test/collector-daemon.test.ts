import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { kstMidnight } from '../protocol/time.js';
import { dayStatus, type DayPlan } from '../collector/calendar.js';
import type { Clock } from '../collector/clock.js';
import { loadConfig } from '../collector/config.js';
import { CredentialsRejectedError, type DailyTrigger, runDaemon } from '../collector/daemon.js';
import { LOCK_FILE, LockHeldError, acquireLock } from '../collector/lock.js';
import { collectEnv, spawnChild, spawnSim } from './faults-run.js';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'ticktape-daemon-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** KST wall time → epoch ms. */
function kst(day: string, hhmm = '00:00'): number {
  return kstMidnight(day) + (Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) * 60_000;
}

/** A virtual clock and daily trigger: advancing fires due sleeps and triggers in time order. */
class VirtualTime implements Clock, DailyTrigger {
  private sleepers: { at: number; resolve: () => void }[] = [];
  private dailies: { at: number; fn: () => void; next: number }[] = [];
  constructor(public t: number) {}
  now() {
    return this.t;
  }
  sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    if (at <= this.t) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const s = { at, resolve };
      this.sleepers.push(s);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        reject(signal.reason);
      });
    });
  }
  daily(at: number, fn: () => void) {
    const d = { at, fn, next: this.nextOccurrence(at) };
    this.dailies.push(d);
    return () => {
      this.dailies = this.dailies.filter((x) => x !== d);
    };
  }
  private nextOccurrence(at: number): number {
    let day = kstMidnight(new Date(this.t + 9 * 3_600_000).toISOString().slice(0, 10)) + at * 60_000;
    while (day <= this.t) day += 86_400_000;
    return day;
  }
  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await settle();
      const nextSleep = Math.min(...this.sleepers.map((s) => s.at));
      const nextDaily = Math.min(...this.dailies.map((d) => d.next));
      const next = Math.min(nextSleep, nextDaily);
      if (next > target) break;
      this.t = next;
      for (const s of this.sleepers.filter((x) => x.at <= next)) {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        s.resolve();
      }
      for (const d of this.dailies.filter((x) => x.next <= next)) {
        d.next += 86_400_000;
        d.fn();
      }
    }
    this.t = target;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Runs the daemon on a virtual clock from `from` to `to`; each session is `rejectUntil` ? refused
 * (credentials) until that instant : run to its stream end. Returns the sessions and the daemon's error.
 */
async function driveDaemon(from: number, to: number, env: Record<string, string>, file?: string, rejectUntil = -Infinity) {
  const config = loadConfig({ env, file });
  const time = new VirtualTime(from);
  const runs: { plan: DayPlan; startedAt: number }[] = [];
  const ac = new AbortController();
  let error: unknown;
  const done = runDaemon({
    config,
    log,
    signal: ac.signal,
    clock: time,
    trigger: time,
    authRetryMs: 60_000,
    async runDay(plan, signal) {
      runs.push({ plan, startedAt: time.now() });
      if (time.now() < rejectUntil) return { credentialsRejected: true };
      await time.sleepUntil(plan.streamEnd, signal).catch(() => undefined);
      return { credentialsRejected: false };
    },
  }).catch((e: unknown) => (error = e));
  await time.advanceTo(to);
  ac.abort();
  await done;
  return Object.assign(runs, { error });
}

describe('trading calendar', () => {
  const cfg = loadConfig({ env: { TICKTAPE_CLOSED_DAYS: '2026-06-03', TICKTAPE_OPEN_DAYS: '2026-05-05' } });
  it('closes weekends, Korean public holidays (all three days of 추석), 31 December and configured days', () => {
    expect(dayStatus('2026-09-19', cfg)).toEqual({ trading: false, reason: 'Saturday' });
    for (const d of ['2026-09-24', '2026-09-25']) expect(dayStatus(d, cfg)).toMatchObject({ trading: false, reason: expect.stringContaining('추석') });
    expect(dayStatus('2026-12-31', cfg)).toMatchObject({ trading: false, reason: expect.stringContaining('31 December') });
    expect(dayStatus('2026-06-03', cfg)).toMatchObject({ trading: false, reason: 'closed by configuration' });
    expect(dayStatus('2026-01-01', cfg).trading).toBe(false);
    expect(dayStatus('2026-09-23', cfg).trading).toBe(true);
    // An override opens a day the holiday library closes (어린이날).
    expect(dayStatus('2026-05-05', cfg).trading).toBe(true);
  });
});

describe('daemon schedule (virtual clock)', () => {
  it('runs a session on each trading day at the seed time, skipping weekends, holidays and closed days, honouring special times', async () => {
    const file = join(dir, 'special.json');
    writeFileSync(file, JSON.stringify({ calendar: { special: { '2026-09-22': { seedAt: '08:45', streamStart: '09:30', closeAt: '16:40', streamEnd: '16:45' } } } }));
    const runs = await driveDaemon(kst('2026-09-18', '07:00'), kst('2026-09-30', '23:00'), { TICKTAPE_CLOSED_DAYS: '2026-09-21' }, file);
    expect(runs.map((r) => r.plan.day)).toEqual(['2026-09-18', '2026-09-22', '2026-09-23', '2026-09-28', '2026-09-29', '2026-09-30']);
    const regular = runs.find((r) => r.plan.day === '2026-09-18')!;
    expect(regular.startedAt).toBe(kst('2026-09-18', '08:00'));
    expect(regular.plan).toMatchObject({ streamStart: kst('2026-09-18', '08:30'), closeAt: kst('2026-09-18', '15:40'), streamEnd: kst('2026-09-18', '15:45') });
    const special = runs.find((r) => r.plan.day === '2026-09-22')!;
    expect(special.startedAt).toBe(kst('2026-09-22', '08:45'));
    expect(special.plan).toMatchObject({ streamStart: kst('2026-09-22', '09:30'), streamEnd: kst('2026-09-22', '16:45') });
  });

  it('joins a running day at once when started mid-session, then skips 31 December and New Year', async () => {
    const runs = await driveDaemon(kst('2026-12-30', '10:15'), kst('2027-01-04', '12:00'), {});
    expect(runs.map((r) => [r.plan.day, r.startedAt])).toEqual([
      ['2026-12-30', kst('2026-12-30', '10:15')],
      ['2027-01-04', kst('2027-01-04', '08:00')],
    ]);
  });

  it('uses configured times', async () => {
    const runs = await driveDaemon(kst('2026-10-06', '00:00'), kst('2026-10-06', '23:00'), { TICKTAPE_SEED_AT: '07:30', TICKTAPE_STREAM_START: '08:00', TICKTAPE_CLOSE_AT: '15:35', TICKTAPE_STREAM_END: '15:50' });
    expect(runs).toHaveLength(1);
    expect(runs[0].startedAt).toBe(kst('2026-10-06', '07:30'));
    expect(runs[0].plan.streamEnd).toBe(kst('2026-10-06', '15:50'));
  });
});

describe('daemon and rejected stream credentials (virtual clock)', () => {
  it('retries the session within the day with backoff, and goes on once the credentials are accepted', async () => {
    const runs = await driveDaemon(kst('2026-10-06', '07:00'), kst('2026-10-06', '23:00'), { TICKTAPE_AUTH_RETRIES: '5' }, undefined, kst('2026-10-06', '08:02'));
    expect(runs.error).toBeUndefined();
    // 08:00 rejected; again after 1 min, then 2 min (08:01, 08:03): accepted at 08:03.
    expect(runs.map((r) => r.startedAt)).toEqual([kst('2026-10-06', '08:00'), kst('2026-10-06', '08:01'), kst('2026-10-06', '08:03')]);
  });

  it('exits with CredentialsRejectedError after TICKTAPE_AUTH_RETRIES sessions in a row were refused', async () => {
    const runs = await driveDaemon(kst('2026-10-06', '07:00'), kst('2026-10-06', '23:00'), { TICKTAPE_AUTH_RETRIES: '3' }, undefined, Infinity);
    expect(runs.error).toBeInstanceOf(CredentialsRejectedError);
    expect((runs.error as Error).message).toMatch(/rejected in 3 sessions in a row/);
    expect(runs.map((r) => r.startedAt)).toEqual([kst('2026-10-06', '08:00'), kst('2026-10-06', '08:01'), kst('2026-10-06', '08:03')]);
  });
});

describe('ticktape daemon and rejected stream credentials (real processes)', () => {
  // The session window must fit in today's KST clock (HH:MM settings): skipped in the last minutes before midnight.
  const minute = Math.floor(((Date.now() + 9 * 3_600_000) % 86_400_000) / 60_000);
  it.skipIf(minute > 23 * 60 + 50)('exits with code 78 when the exchange keeps refusing the key, so that systemd sees it', { timeout: 60_000 }, async () => {
    const sim = await spawnSim({ dayLengthMs: 60_000, preOpenMs: 1_000, kospiSymbols: 3, kosdaqSymbols: 3, tradesPerDay: 100, faults: { rejectCredentials: true } });
    try {
      const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
      const today = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);
      const env = collectEnv(sim.endpoints, join(dir, 'rejected'), {
        TICKTAPE_OPEN_DAYS: today,
        TICKTAPE_SEED_AT: hhmm(minute),
        TICKTAPE_STREAM_START: hhmm(minute),
        TICKTAPE_CLOSE_AT: hhmm(Math.min(minute + 8, 23 * 60 + 58)),
        TICKTAPE_STREAM_END: hhmm(Math.min(minute + 9, 23 * 60 + 59)),
        TICKTAPE_AUTH_RETRIES: '1',
      });
      const daemon = spawnChild(['bin/ticktape.js', 'daemon', '--no-metrics'], env);
      const code = await Promise.race([daemon.exited, new Promise((r) => setTimeout(() => r('timeout'), 45_000))]);
      if (code === 'timeout') daemon.proc.kill('SIGKILL');
      expect(code, daemon.err().slice(-2000)).toBe(78);
      expect(daemon.err()).toMatch(/ticktape daemon: the stream credentials were rejected in 1 sessions in a row/);
      expect(daemon.err() + daemon.out()).not.toContain(sim.endpoints.credentials.koscomApiKey);
    } finally {
      await sim.stop();
    }
  });
});

describe('daemon lock', () => {
  it('refuses a second holder while the owner lives, and takes over a stale lock of a dead pid', async () => {
    const d = mkdtempSync(join(dir, 'lock-'));
    const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(d, LOCK_FILE), `${owner.pid}\n`);
      expect(() => acquireLock(d)).toThrow(LockHeldError);
      expect(() => acquireLock(d)).toThrow(new RegExp(`pid ${owner.pid}`));
    } finally {
      owner.kill('SIGKILL');
    }
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    writeFileSync(join(d, LOCK_FILE), `${deadPid}\n`);
    const lock = acquireLock(d);
    expect(lock.tookOverFrom).toBe(deadPid);
    expect(readFileSync(join(d, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
  });
});
