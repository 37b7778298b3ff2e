// The replay clock: maps recorded time onto wall time at a speed factor. Every event is due at
// `anchorWall + (t − anchorEvent) / speed`, computed from fixed anchors (never a sum of sleeps),
// so waiting errors do not accumulate. Late events are released at once and their lateness kept.
import { setTimeout as sleep } from 'node:timers/promises';

/** A speed factor (1 = recorded timing, 10 = ten times faster) or `max` (no waiting at all). */
export type Speed = number | 'max';

/** Below this much remaining wait, setTimeout is too coarse (≥ 1 ms granularity, often late): busy-wait instead. */
const FINE_WAIT_MS = 2;

/** Parses `--speed`: a positive number or `max`. Returns undefined when the text is neither. */
export function parseSpeed(text: string): Speed | undefined {
  const t = text.trim();
  if (t === 'max') return 'max';
  if (!/^\d+(\.\d+)?$/.test(t)) return undefined;
  const n = Number(t);
  return n > 0 && Number.isFinite(n) ? n : undefined;
}

/** Lateness percentiles in milliseconds. */
export interface LatenessSummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** Lateness of the last event: how far the run ended behind the recorded timing. */
  last: number;
}

/**
 * Lateness histogram with flat memory for any run length: 10 µs buckets up to 20 ms, then 1 ms
 * buckets up to 60 s; beyond that the top bucket. The exact maximum is kept beside it.
 */
export class LatenessHistogram {
  private static readonly FINE = 2000; // 2000 × 10 µs = 20 ms
  private static readonly COARSE = 60_000; // 1 ms each
  private readonly buckets = new Uint32Array(LatenessHistogram.FINE + LatenessHistogram.COARSE);
  count = 0;
  max = 0;
  last = 0;

  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    const fine = Math.floor(v * 100);
    const i = fine < LatenessHistogram.FINE ? fine : Math.min(LatenessHistogram.FINE + Math.floor(v) - 20, this.buckets.length - 1);
    this.buckets[i]++;
    this.count++;
    if (v > this.max) this.max = v;
    this.last = v;
  }

  /** Upper bound of the bucket holding the p-th percentile (p in 0..100), never above the maximum. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank) {
        const upper = i < LatenessHistogram.FINE ? (i + 1) / 100 : i - LatenessHistogram.FINE + 21;
        return Math.min(upper, this.max);
      }
    }
    return this.max;
  }

  summary(): LatenessSummary {
    return { count: this.count, p50: this.percentile(50), p99: this.percentile(99), max: this.max, last: this.last };
  }
}

/**
 * Schedules recorded instants (ns since the epoch) onto wall time. The first instant passed to
 * `until` anchors the clock; `seek` and `resume` re-anchor it. Wall time is `performance.now()`.
 */
export class ReplayClock {
  readonly lateness = new LatenessHistogram();
  private anchorEventNs: bigint | undefined;
  private anchorWallMs = 0;
  private readonly speedValue: Speed;
  private pausedAtMs: number | undefined;
  private resumed: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Cancels the current coarse sleep when pause, resume or seek move the anchors. */
  private interrupt = new AbortController();

  constructor(speed: Speed = 1) {
    this.speedValue = checkSpeed(speed);
  }

  private nudge(): void {
    this.interrupt.abort();
    this.interrupt = new AbortController();
  }

  pause(): void {
    if (this.pausedAtMs !== undefined) return;
    this.pausedAtMs = performance.now();
    this.resumed = new Promise((resolve) => (this.wake = resolve));
    this.nudge();
  }

  resume(): void {
    if (this.pausedAtMs === undefined) return;
    // Shift the anchor by the paused span: the recorded timeline continues where it stopped.
    this.anchorWallMs += performance.now() - this.pausedAtMs;
    this.pausedAtMs = undefined;
    const wake = this.wake;
    this.wake = undefined;
    this.resumed = undefined;
    wake?.();
    this.nudge();
  }

  /** Re-anchors so that the recorded instant `tNs` is due now (the caller skips the events before it). */
  seek(tNs: bigint): void {
    this.anchorEventNs = tNs;
    this.anchorWallMs = this.pausedAtMs ?? performance.now();
    this.nudge();
  }

  /** Wall time (performance.now() ms) at which recorded instant `tNs` is due. */
  private dueAt(tNs: bigint): number {
    if (this.anchorEventNs === undefined) this.seek(tNs);
    return this.anchorWallMs + Number(tNs - (this.anchorEventNs as bigint)) / 1e6 / (this.speedValue as number);
  }

  /**
   * True when `tNs` can be released without waiting (speed max, or already due while not
   * paused); records its lateness. Lets callers avoid a promise per event on the fast path.
   */
  ready(tNs: bigint): boolean {
    if (this.speedValue === 'max') {
      if (this.anchorEventNs === undefined) this.anchorEventNs = tNs;
      return this.pausedAtMs === undefined;
    }
    if (this.pausedAtMs !== undefined) return false;
    const late = performance.now() - this.dueAt(tNs);
    if (late < 0) return false;
    this.lateness.record(late);
    return true;
  }

  /** Resolves when `tNs` is due (at once if late); records its lateness. */
  async until(tNs: bigint): Promise<void> {
    for (;;) {
      if (this.resumed !== undefined) {
        await this.resumed;
        continue;
      }
      if (this.speedValue === 'max') {
        if (this.anchorEventNs === undefined) this.anchorEventNs = tNs;
        return;
      }
      const wait = this.dueAt(tNs) - performance.now();
      if (wait <= 0) {
        this.lateness.record(-wait);
        return;
      }
      // Coarse sleep (setTimeout fires up to a few ms late), then a busy wait for the last stretch,
      // which holds the event loop for at most FINE_WAIT_MS. Turning the loop instead (setImmediate)
      // let garbage collections land on due times: p99 lateness 2–4 ms, against 0.1–0.3 ms this
      // way (bench/replay.ts). Re-checks anchors each pass since pause/seek may move them.
      if (wait > FINE_WAIT_MS) await sleep(wait - FINE_WAIT_MS, undefined, { signal: this.interrupt.signal }).catch(ignoreAbort);
      else busyWait(wait);
    }
  }
}

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

function ignoreAbort(e: unknown): void {
  if ((e as Error).name !== 'AbortError') throw e;
}

function checkSpeed(speed: Speed): Speed {
  if (speed !== 'max' && !(typeof speed === 'number' && speed > 0 && Number.isFinite(speed))) {
    throw new RangeError(`speed must be a positive number or 'max', got ${String(speed)}`);
  }
  return speed;
}
