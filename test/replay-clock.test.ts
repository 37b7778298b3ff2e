import { describe, expect, it } from 'vitest';
import { LatenessHistogram, parseSpeed, ReplayClock } from '../replay/clock.js';

const MS = 1_000_000n;

describe('parseSpeed', () => {
  it('accepts positive factors and max, rejects the rest', () => {
    expect(parseSpeed('1')).toBe(1);
    expect(parseSpeed('0.5')).toBe(0.5);
    expect(parseSpeed('60')).toBe(60);
    expect(parseSpeed('max')).toBe('max');
    for (const bad of ['0', '-1', 'fast', '', '1e3', 'Infinity']) expect(parseSpeed(bad)).toBeUndefined();
  });
});

describe('LatenessHistogram', () => {
  it('reports percentiles within one bucket and the exact maximum', () => {
    const h = new LatenessHistogram();
    for (let i = 0; i < 1000; i++) h.record(i / 100); // 0 .. 9.99 ms
    h.record(250);
    const s = h.summary();
    expect(s.count).toBe(1001);
    expect(s.p50).toBeGreaterThanOrEqual(4.99);
    expect(s.p50).toBeLessThanOrEqual(5.02);
    expect(s.p99).toBeGreaterThanOrEqual(9.8);
    expect(s.p99).toBeLessThanOrEqual(10.01);
    expect(s.max).toBe(250);
    expect(s.last).toBe(250);
  });
});

describe('ReplayClock', () => {
  it('schedules from the anchor, not as a sum of sleeps: 1000 events over 2 s at speed 1', async () => {
    const clock = new ReplayClock(1);
    const t0 = 1_700_000_000_000n * MS;
    const start = performance.now();
    let early = 0;
    for (let i = 0; i < 1000; i++) {
      await clock.until(t0 + BigInt(i * 2) * MS);
      if (performance.now() - start < i * 2 - 0.01) early++;
    }
    const end = performance.now() - start;
    const s = clock.lateness.summary();
    expect(early).toBe(0);
    expect(s.count).toBe(1000);
    // Loose bounds, as other suites share the 2 cores (bench/replay.ts measures the real figures),
    // yet tight enough to fail a clock that sums its sleeps: 1000 sleeps drift by a second or more.
    expect(s.p50).toBeLessThan(20);
    expect(s.p99).toBeLessThan(250);
    expect(end - 1998).toBeLessThan(300);
  });

  it('runs ten times faster at speed 10 and ends without drift', async () => {
    const clock = new ReplayClock(10);
    const t0 = 1_700_000_000_000n * MS;
    const start = performance.now();
    for (let i = 0; i <= 100; i++) await clock.until(t0 + BigInt(i * 100) * MS); // 10 s recorded
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(999);
    expect(elapsed).toBeLessThan(1000 + 300);
    expect(clock.lateness.summary().last).toBeLessThan(250);
  });

  it('pause holds events back and resume continues the timeline where it stopped', async () => {
    const clock = new ReplayClock(1);
    const t0 = 1_700_000_000_000n * MS;
    // Taken before the clock anchors at t0, so never after its anchor (a loaded machine can take
    // more than a millisecond to come back from the await).
    const start = performance.now();
    await clock.until(t0);
    let pausedAt = 0;
    let resumedAt = 0;
    setTimeout(() => {
      pausedAt = performance.now();
      clock.pause();
    }, 50);
    setTimeout(() => {
      resumedAt = performance.now();
      clock.resume();
    }, 250);
    await clock.until(t0 + 100n * MS);
    const waited = performance.now() - start;
    // Due 100 ms after the anchor plus the time spent paused.
    expect(waited).toBeGreaterThanOrEqual(100 + (resumedAt - pausedAt) - 1);
    expect(resumedAt).toBeGreaterThan(0);
    expect(waited).toBeLessThan(100 + (resumedAt - pausedAt) + 150);
    expect(clock.ready(t0 + 100n * MS)).toBe(true);
  });

  it('seek re-anchors: the target instant is due at once, later ones relative to it', async () => {
    const clock = new ReplayClock(1);
    const t0 = 1_700_000_000_000n * MS;
    await clock.until(t0);
    // Before the seek re-anchors, so never after its anchor.
    const start = performance.now();
    clock.seek(t0 + 3_600_000n * MS);
    await clock.until(t0 + 3_600_000n * MS);
    expect(performance.now() - start).toBeLessThan(100);
    expect(clock.ready(t0 + 3_600_100n * MS)).toBe(false);
    await clock.until(t0 + 3_600_100n * MS);
    expect(performance.now() - start).toBeGreaterThanOrEqual(99);
  });

  it('at speed max never waits and records no lateness', async () => {
    const clock = new ReplayClock('max');
    const t0 = 1_700_000_000_000n * MS;
    const start = performance.now();
    for (let i = 0; i < 1000; i++) expect(clock.ready(t0 + BigInt(i) * 1000n * MS)).toBe(true);
    await clock.until(t0 + 10_000_000n * MS);
    expect(performance.now() - start).toBeLessThan(500);
    expect(clock.lateness.count).toBe(0);
  });

  it('rejects a speed that is not positive', () => {
    expect(() => new ReplayClock(0)).toThrow(/positive/);
    expect(() => new ReplayClock(-2)).toThrow(/positive/);
  });
});
