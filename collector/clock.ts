// The clock the collector's schedule waits on.

/** The clock the scheduler and sessions wait on; tests replace it with a virtual one. */
export interface Clock {
  now(): number;
  /** Resolves at `epochMs` (at once if it has passed); rejects with the signal's reason on abort. */
  sleepUntil(epochMs: number, signal?: AbortSignal): Promise<void>;
}

/** setTimeout accepts at most 2^31−1 ms, so long waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  sleepUntil(epochMs, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let timer: NodeJS.Timeout;
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const step = () => {
        const left = epochMs - Date.now();
        if (left <= 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        } else timer = setTimeout(step, Math.min(left, MAX_TIMER_MS));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      step();
    });
  },
};
