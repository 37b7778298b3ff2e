// The receive clock: the wall clock at an anchor plus the monotonic clock since, so stamps never
// go backwards within a session and a wall-clock step (NTP, a VM resumed) cannot reorder frames.
// Each session re-anchors it, so a long-running daemon does not carry yesterday's offset into
// today; the offset between the two clocks is watched, and a step is reported.

let baseNs = anchorBase();

function anchorBase(): bigint {
  return BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
}

/** Now, ns since the epoch, on the receive clock. */
export function nowNs(): bigint {
  return baseNs + process.hrtime.bigint();
}

/** How far the wall clock is ahead of the receive clock, ms (0 right after anchoring). */
export function wallOffsetMs(): number {
  return Number(BigInt(Date.now()) * 1_000_000n - nowNs()) / 1e6;
}

/**
 * Re-anchors the receive clock to the wall clock; returns the offset between the wall clock and
 * the monotonic clock, ms (the wall-clock time at which the monotonic clock read zero): compared
 * across sessions it shows how the wall clock drifted.
 */
export function anchorRecvClock(): number {
  baseNs = anchorBase();
  return Number(baseNs / 1000n) / 1000;
}

export interface ClockStep {
  /** Wall-clock ms when the step was seen. */
  atMs: number;
  /** How far the wall clock moved against the monotonic clock, ms (positive: forward). */
  stepMs: number;
}

/** Reports a step of the wall clock against the receive clock of more than `thresholdMs`. */
export class ClockWatch {
  private last = wallOffsetMs();

  constructor(private readonly thresholdMs = 100) {}

  /** Call periodically: the step since the last check, when it passes the threshold. */
  check(): ClockStep | undefined {
    const now = wallOffsetMs();
    const step = now - this.last;
    this.last = now;
    return Math.abs(step) > this.thresholdMs ? { atMs: Date.now(), stepMs: Math.round(step) } : undefined;
  }
}
