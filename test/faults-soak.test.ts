// Soak: a compressed 6.5-hour day (full: at 60×, 6.5 minutes; bounded: 30 s) captured by the real
// `ticktape collect` from the simulator in its own process, with periodic faults (dropped
// connections, malformed frames, 429 bursts). Memory is flat after warm-up (full size: RSS grows
// < 10 %; bounded: < 25 %) and the data is complete: exactly once, and every loss found by
// reconciliation.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempRoot } from './collector-capture.js';
import { type Child, ensureBuilt, freePort, expectExactlyOnce, readTruth, reconciledMissing, rssBytes, sessionRows, sized, sleep, spawnCollect, spawnSim } from './faults-run.js';

const tmp = tempRoot('faults-soak');
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => tmp.remove());

/** 09:00–15:30 at 60× is 390 s. */
const DAY_MS = sized(30_000, 390_000);
const FAULT_EVERY_MS = sized(4_000, 15_000);
const RSS_GROWTH = sized(1.25, 1.1);
/** Heap growth allowed whatever the ratio: garbage the collector has not come for yet. */
const HEAP_SLACK = sized(32, 8) * 2 ** 20;

describe('soak', () => {
  it(`captures a ${DAY_MS / 1000} s compressed day under periodic faults with flat memory`, { timeout: DAY_MS + 240_000 }, async () => {
    const dataDir = join(tmp.root, 'data');
    const truthFile = join(tmp.root, 'truth.ndjson');
    const sim = await spawnSim({ dayLengthMs: DAY_MS, preOpenMs: 2_000, kospiSymbols: 60, kosdaqSymbols: 90, tradesPerDay: sized(40_000, 500_000), seed: 17, truthFile });
    const { openAt, closeAt } = sim.endpoints;
    const rss: { at: number; bytes: number }[] = [];
    const heap: { at: number; bytes: number }[] = [];
    const metricsPort = await freePort();
    let child: Child | undefined;
    try {
      child = spawnCollect(sim.endpoints, dataDir, closeAt + 1_500 - Date.now(), { TICKTAPE_METRICS_PORT: String(metricsPort) });
      const sampler = setInterval(() => rss.push({ at: Date.now(), bytes: rssBytes(child!.pid) }), 250);
      // The JS heap, from the collector's own metrics: tells a leak of ours from native caches.
      const heapSampler = setInterval(async () => {
        try {
          const m = /^nodejs_heap_size_used_bytes (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
          if (m) heap.push({ at: Date.now(), bytes: Number(m[1]) });
        } catch {
          // Not serving yet, or already stopped.
        }
      }, 1_000);
      await sleep(openAt - Date.now());
      sim.setFaults({ malformedRate: 0.01, wrongTypeRate: 0.01 });
      for (let k = 0; Date.now() < closeAt - FAULT_EVERY_MS; k++) {
        await sleep(FAULT_EVERY_MS);
        // Alternate: drop every connection once, or a burst of 429s for the periodic snapshots.
        if (k % 2 === 0) {
          sim.setFaults({ closeEveryMs: 300 });
          await sleep(400);
          sim.setFaults({ closeEveryMs: 0 });
        } else sim.setFaults({ rest429Burst: 2 });
      }
      // A collector that does not stop must fail with its log, not with the test's timeout.
      const code = await Promise.race([child.exited, sleep(closeAt + 90_000 - Date.now()).then(() => 'still running 90 s after the close')]);
      clearInterval(sampler);
      clearInterval(heapSampler);
      expect(code, child.err().slice(-3000)).toBe(0);
      expect(child.out()).toMatch(/ticktape session .*: complete/);
    } finally {
      if (child?.proc.exitCode === null) child.proc.kill('SIGKILL');
      await sim.stop();
    }
    const day = sim.endpoints.day;
    const truth = readTruth(truthFile);
    const { captured, missingQty } = await expectExactlyOnce(dataDir, day, truth);
    expect(captured).toBeGreaterThan(truth.length * 0.8);
    const [session] = sessionRows(dataDir, day);
    expect(session.reconnects).toBeGreaterThan(0);
    expect(reconciledMissing(session)).toEqual(missingQty);

    // Flat memory: after warm-up (the first 30 % of the day), the last 15 % is within 10 %.
    const window = (samples: { at: number; bytes: number }[], from: number, to: number) => samples.filter((s) => s.bytes > 0 && s.at >= openAt + DAY_MS * from && s.at < openAt + DAY_MS * to).map((s) => s.bytes);
    const warm = window(rss, 0.3, 0.45);
    const late = window(rss, 0.85, 1);
    const warmHeap = window(heap, 0.3, 0.45);
    const lateHeap = window(heap, 0.85, 1);
    expect(warm.length).toBeGreaterThan(5);
    expect(late.length).toBeGreaterThan(5);
    expect(warmHeap.length).toBeGreaterThan(2);
    expect(lateHeap.length).toBeGreaterThan(2);
    const figures = `RSS MB warm ${mb(median(warm))} late ${mb(median(late))}; JS heap used MB warm ${mb(median(warmHeap))} late ${mb(median(lateHeap))}`;
    // The JS heap swings with garbage collection: its medians, with room for that. It is the session
    // thread's heap, which only orchestrates (the frames flow through the capture and store
    // threads): small, and collected lazily, so tens of MB of garbage not yet collected is noise
    // in a 30 s day; a leak shows at full size, where the allowance is a fraction of the heap.
    expect(median(lateHeap), figures).toBeLessThan(Math.max(median(warmHeap) * 1.25, median(warmHeap) + HEAP_SLACK));
    // The bounded 30 s day ends before the allocator and SQLite's page cache settle, and a loaded
    // CI machine moves its RSS by more than 10 % either way (seen: +11 %, −9 %): the bounded run
    // catches gross leaks; the full-size soak holds the 10 % line.
    expect(median(late), figures).toBeLessThan(median(warm) * RSS_GROWTH);
  });
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function mb(n: number): string {
  return (n / 2 ** 20).toFixed(1);
}
