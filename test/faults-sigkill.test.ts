// SIGKILL of `ticktape collect` at random moments of a compressed day, restarted each time against
// the same running simulator (its own process, writing the truth file): every trade that reached the
// journal is in SQLite and Arrow exactly once, each killed session is marked 'crashed' by the next
// one with the downtime in the report, and the last session's reconciliation finds exactly the
// trades the exchange sent while no collector was up.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempRoot } from './collector-capture.js';
import { type Child, ensureBuilt, expectExactlyOnce, readTruth, reconciledMissing, sessionRows, sized, sleep, spawnCollect, spawnSim } from './faults-run.js';

const tmp = tempRoot('faults-sigkill');
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => tmp.remove());

const KILLS = sized(5, 22);
const DAY_MS = sized(20_000, 130_000);
/** A collector gets at least this long to start, seed and connect before the next kill (its start alone takes ~2 s here). */
const MIN_LIFE_MS = 2_500;

describe('collector killed with SIGKILL and restarted', () => {
  it(`loses nothing it journaled across ${KILLS} kills, and reconciles what it missed`, { timeout: DAY_MS + 90_000 }, async () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    let r = seed;
    const rand = () => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const truthFile = join(tmp.root, 'truth.ndjson');
    const dataDir = join(tmp.root, 'data');
    const sim = await spawnSim({ dayLengthMs: DAY_MS, preOpenMs: 2_000, kospiSymbols: 20, kosdaqSymbols: 30, tradesPerDay: sized(20_000, 120_000), seed: 7, truthFile });
    const { openAt, closeAt } = sim.endpoints;
    // Kill moments spread over the trading day, each far enough from the previous one.
    const moments = Array.from({ length: KILLS }, () => openAt + rand() * (closeAt - openAt - 1_000)).sort((a, b) => a - b);
    const kills: number[] = [];
    let last: Child | undefined;
    try {
      for (let i = 0; i <= KILLS; i++) {
        const child = spawnCollect(sim.endpoints, dataDir, closeAt + 1_500 - Date.now());
        last = child;
        if (i === KILLS) break;
        const startedAt = Date.now();
        const killAt = Math.max(moments[i], startedAt + MIN_LIFE_MS + rand() * 500);
        // Restarts that began late leave no time for another kill before this one's end: it runs on.
        if (killAt > closeAt - 500) break;
        await sleep(killAt - Date.now());
        child.proc.kill('SIGKILL');
        kills.push(Date.now());
        expect(await child.exited, `run ${i}: ${child.err().slice(-1000)}`).toBe(null);
        await sleep(rand() * 300);
      }
      const code = await Promise.race([last!.exited, sleep(closeAt - Date.now() + 60_000).then(() => 'timeout')]);
      expect(code, `seed ${seed}: ${last!.err().slice(-3000)}`).toBe(0);
      expect(last!.out()).toMatch(/ticktape session .*: complete/);
    } finally {
      if (last?.proc.exitCode === null) last.proc.kill('SIGKILL');
      await sim.stop();
    }

    const truth = readTruth(truthFile);
    const day = sim.endpoints.day;
    const { captured, missingQty } = await expectExactlyOnce(dataDir, day, truth);
    // Each restart costs the collector's start (2 s or more on a loaded machine): what matters is
    // exactly once and reconciliation, below; this only checks that the runs captured at all.
    expect(captured, `seed ${seed}`).toBeGreaterThan(truth.length / 10);

    // The next session marked each killed one 'crashed', its end dated by the journal's last write;
    // the kill lies between that end and the next start, and the report states the downtime. A kill
    // during start-up, before the session row was written, leaves no row.
    const rows = sessionRows(dataDir, day);
    expect(rows.length, `seed ${seed}`).toBeGreaterThanOrEqual(2);
    expect(rows.length).toBeLessThanOrEqual(KILLS + 1);
    expect(rows.map((s) => s.status), `seed ${seed}`).toEqual([...Array<string>(rows.length - 1).fill('crashed'), 'complete']);
    for (let i = 0; i < rows.length - 1; i++) {
      const ended = rows[i].ended_ms!;
      expect(ended).toBeGreaterThanOrEqual(rows[i].started_ms);
      expect(kills.some((k) => k >= ended - 50 && k < rows[i + 1].started_ms), `seed ${seed}: no kill between session ${rows[i].id}'s end and the next start`).toBe(true);
    }
    expect(last!.out()).toMatch(/ended without a clean stop \(killed or crashed\) at .*: nothing was captured for \d+\.\d s/);
    // The exchange kept trading while no collector was up: reconciliation finds exactly that, per symbol.
    expect(missingQty.size, `seed ${seed}`).toBeGreaterThan(0);
    expect(reconciledMissing(rows[rows.length - 1]), `seed ${seed}`).toEqual(missingQty);
  });
});
