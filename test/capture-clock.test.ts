// The receive clock: anchored to the wall clock, then monotonic; re-anchored per session; a step
// of the wall clock against it is seen.
import { afterEach, expect, it, vi } from 'vitest';
import { anchorRecvClock, ClockWatch, nowNs, wallOffsetMs } from '../capture/recv-clock.js';

afterEach(() => vi.restoreAllMocks());

it('re-anchors to the wall clock and reports the offset between the wall and the monotonic clock', () => {
  const offset = anchorRecvClock();
  // The wall-clock time at which the monotonic clock read zero, seen from here as well.
  expect(Math.abs(offset - (Date.now() - Number(process.hrtime.bigint() / 1_000_000n)))).toBeLessThan(50);
  expect(Math.abs(wallOffsetMs())).toBeLessThan(50);
  expect(Math.abs(Number(nowNs() / 1_000_000n) - Date.now())).toBeLessThan(50);
});

it('stays monotonic when the wall clock steps back, and reports a step over 100 ms once', () => {
  anchorRecvClock();
  const watch = new ClockWatch(100);
  expect(watch.check()).toBeUndefined();
  const before = nowNs();
  const real = Date.now.bind(Date);
  vi.spyOn(Date, 'now').mockImplementation(() => real() - 5_000);
  expect(nowNs()).toBeGreaterThan(before);
  const step = watch.check();
  expect(step?.stepMs).toBeLessThan(-4_900);
  expect(step?.stepMs).toBeGreaterThan(-5_100);
  // The new offset is the baseline now: no second report.
  expect(watch.check()).toBeUndefined();
  // A re-anchor (the next session) takes the stepped wall clock.
  anchorRecvClock();
  expect(Math.abs(Number(nowNs() / 1_000_000n) - Date.now())).toBeLessThan(50);
});
