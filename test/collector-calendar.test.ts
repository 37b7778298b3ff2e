// The KRX calendar data (collector/krx-calendar.json) for the known days of 2025–2027: the
// exchange's own closures on top of the public holidays, the changed hours, the days the data is
// unsure of (captured, not skipped), and the overrides.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dayStatus, KRX_CALENDAR, nextSession, openBackoffCap } from '../collector/calendar.js';
import { ConfigError, loadConfig } from '../collector/config.js';

const dir = mkdtempSync(join(tmpdir(), 'ticktape-calendar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg = loadConfig({ env: {} });
const kst = (day: string, hhmm: string) => Date.parse(`${day}T${hhmm}:00+09:00`);
const closed = (day: string) => {
  const s = dayStatus(day, cfg);
  return s.trading ? undefined : s.reason;
};

describe('KRX calendar 2025–2027', () => {
  it('closes the exchange-only days: 근로자의 날, election days, 31 December, the 2025 temporary holiday', () => {
    for (const d of ['2025-05-01', '2026-05-01']) expect(closed(d)).toMatch(/근로자의 날/);
    expect(closed('2025-06-03')).toMatch(/대통령 선거/);
    expect(closed('2026-06-03')).toMatch(/지방선거/);
    for (const d of ['2025-12-31', '2026-12-31', '2027-12-31']) expect(closed(d)).toMatch(/31 December/);
    expect(closed('2025-01-27')).toMatch(/임시공휴일/);
  });

  it('closes the 설날 and 추석 spans on the right days (the holiday library is off by one for 설날 2025 and 2026)', () => {
    for (const d of ['2025-01-28', '2025-01-29', '2025-01-30', '2026-02-16', '2026-02-17', '2026-02-18', '2027-02-08', '2027-02-09']) expect(closed(d), d).toMatch(/설날/);
    for (const d of ['2025-01-31', '2026-02-19', '2027-02-10']) expect(dayStatus(d, cfg).trading, d).toBe(true);
    for (const d of ['2025-10-06', '2025-10-07', '2025-10-08', '2026-09-24', '2026-09-25', '2027-09-14', '2027-09-15', '2027-09-16']) expect(closed(d), d).toMatch(/추석/);
    expect(dayStatus('2026-09-23', cfg).trading).toBe(true);
  });

  it('closes the public holidays and their substitutes, and opens ordinary weekdays', () => {
    for (const d of ['2025-01-01', '2025-03-03', '2025-05-05', '2025-05-06', '2025-06-06', '2025-08-15', '2025-10-03', '2025-10-09', '2025-12-25', '2026-03-02', '2026-05-25', '2026-08-17', '2026-10-05', '2027-05-13', '2027-10-04', '2027-10-11', '2027-12-27']) {
      expect(closed(d), d).toBeDefined();
    }
    for (const d of ['2025-03-04', '2026-04-15', '2026-12-30', '2027-06-07']) expect(dayStatus(d, cfg).trading, d).toBe(true);
    expect(closed('2026-10-10')).toBe('Saturday');
  });

  it('gives the 수능 day its late open and close: streams end an hour later, the backoff cap moves to 10:00', () => {
    for (const d of ['2025-11-13', '2026-11-19']) {
      const s = dayStatus(d, cfg);
      expect(s).toMatchObject({ trading: true, note: expect.stringMatching(/수능.*10:00–16:30/) });
      if (!s.trading) continue;
      expect(s.plan).toMatchObject({ marketOpen: kst(d, '10:00'), closeAt: kst(d, '16:40'), streamEnd: kst(d, '16:45'), seedAt: kst(d, '08:00') });
    }
    expect(openBackoffCap(kst('2026-11-19', '09:55'), cfg)).toBe(2_000);
    expect(openBackoffCap(kst('2026-11-19', '09:00'), cfg)).toBe(Infinity);
    expect(openBackoffCap(kst('2026-11-20', '09:05'), cfg)).toBe(2_000);
    // The year's first trading day opens at 10:00 and closes as usual.
    const first = dayStatus('2026-01-02', cfg);
    expect(first.trading && first.plan).toMatchObject({ marketOpen: kst('2026-01-02', '10:00'), closeAt: kst('2026-01-02', '15:40') });
  });

  it('captures the days it is unsure of: an unannounced 수능 date over both windows, a disputed holiday, holidays past its years', () => {
    const csat = dayStatus('2027-11-18', cfg);
    expect(csat).toMatchObject({ trading: true, note: expect.stringMatching(/not yet announced: expected 10:00–16:30/) });
    expect(csat.trading && csat.plan).toMatchObject({ marketOpen: kst('2027-11-18', '09:00'), streamStart: kst('2027-11-18', '08:30'), streamEnd: kst('2027-11-18', '16:45') });
    expect(dayStatus('2026-07-17', cfg)).toMatchObject({ trading: true, note: expect.stringMatching(/제헌절.*captured/) });
    expect(KRX_CALENDAR.covers).toEqual({ from: '2025-01-01', to: '2027-12-31' });
    // 2028: the library's 설날 is captured with a note; 1 May and 31 December stay closed.
    expect(dayStatus('2028-01-27', cfg)).toMatchObject({ trading: true, note: expect.stringMatching(/holiday library.*설날.*captured/) });
    expect(closed('2028-05-01')).toMatch(/1 May/);
    expect(closed('2028-12-31')).toBe('Sunday');
    expect(nextSession(kst('2026-12-30', '16:00'), cfg).day).toBe('2027-01-04');
  });

  it('takes overrides: open/closed days from the environment, a calendar file of our own merged over the shipped one', () => {
    const file = join(dir, 'krx.json');
    writeFileSync(file, JSON.stringify({ closed: { '2027-03-03': 'ad-hoc closure' }, hours: { '2027-11-18': { open: '10:00', close: '16:30', reason: '수능 (announced)' } } }));
    const c = loadConfig({ env: { TICKTAPE_CALENDAR_FILE: file, TICKTAPE_OPEN_DAYS: '2026-06-03', TICKTAPE_CLOSED_DAYS: '2026-04-15' } });
    expect(dayStatus('2027-03-03', c)).toEqual({ trading: false, reason: 'KRX holiday: ad-hoc closure' });
    expect(dayStatus('2025-06-03', c).trading).toBe(false);
    const csat = dayStatus('2027-11-18', c);
    expect(csat.trading && csat.plan.marketOpen).toBe(kst('2027-11-18', '10:00'));
    expect(dayStatus('2026-06-03', c).trading).toBe(true);
    expect(dayStatus('2026-04-15', c)).toEqual({ trading: false, reason: 'closed by configuration' });
    writeFileSync(file, JSON.stringify({ closed: { '2027-3-3': 'x' }, hours: { '2027-11-18': { open: '10' } } }));
    const problems = (() => {
      try {
        loadConfig({ env: { TICKTAPE_CALENDAR_FILE: file } });
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })().join('\n');
    expect(problems).toMatch(/TICKTAPE_CALENDAR_FILE .*krx\.json: closed\.2027-3-3/);
    expect(problems).toMatch(/hours\.2027-11-18\.open: expected HH:MM/);
  });
});
