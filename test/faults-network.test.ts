// Network faults against the real `ticktape collect`: nothing listening at first (the simulator
// comes up on that port later), disconnect storms every 1–5 s, stale sockets, 429/5xx bursts,
// credentials rejected then accepted again. The process never crashes, capture resumes after every
// phase, no trade is stored twice, and what was lost is exactly what reconciliation reports.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Exchange, startExchange } from '../sim/exchange.js';
import type { TruthTrade } from '../sim/truth.js';
import { tempRoot } from './collector-capture.js';
import { type Child, ensureBuilt, freePort, expectExactlyOnce, journalEvents, reconciledMissing, sessionRows, sized, sleep, spawnCollect } from './faults-run.js';

const tmp = tempRoot('faults-network');
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => tmp.remove());

const DAY_MS = sized(20_000, 60_000);
const PRE_OPEN_MS = 2_000;
/** How long nothing listens on the port before the simulator starts there. */
const DARK_MS = 1_500;
/** Room for the collector's own start before the dark time begins. */
const STARTUP_MS = 8_000;
const SIM = { dayLengthMs: DAY_MS, preOpenMs: PRE_OPEN_MS, kospiSymbols: 20, kosdaqSymbols: 30, tradesPerDay: sized(12_000, 40_000), seed: 5 };

describe('collector under network faults', () => {
  it('resumes after connect failures, disconnect storms, stale sockets, REST bursts and rejected credentials', { timeout: STARTUP_MS + DAY_MS + 60_000 }, async () => {
    const dataDir = join(tmp.root, 'data');
    // The credentials follow from the seed: learn them from a first instance.
    const probe = await startExchange({ ...SIM, port: 0 });
    const credentials = probe.credentials;
    await probe.close();
    const port = await freePort();
    const base = `127.0.0.1:${port}`;
    const endpoints = { koscomRestUrl: `http://${base}`, koscomWsUrl: `ws://${base}`, lsRestUrl: `http://${base}`, lsWsUrl: `ws://${base}`, credentials };
    const streamEnd = Date.now() + STARTUP_MS + DARK_MS + PRE_OPEN_MS + DAY_MS + 2_000;
    let child: Child | undefined;
    let exchange: Exchange | undefined;
    const seed = Math.floor(Math.random() * 2 ** 31);
    let r = seed;
    const rand = () => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let quietFrom = 0;
    try {
      child = spawnCollect(endpoints, dataDir, streamEnd - Date.now());
      // Dark from the collector's first refused attempt on (its start takes 2 s or more on a loaded machine).
      for (const deadline = Date.now() + 20_000; !/ECONNREFUSED/.test(child.err()) && Date.now() < deadline; ) await sleep(50);
      await sleep(DARK_MS);
      exchange = await startExchange({ ...SIM, port });
      expect(exchange.closeAt + 500).toBeLessThan(streamEnd);
      const f = exchange.faults;
      // Each phase ends at a set point of the day, so that the quiet last part is always there
      // (a storm's last 1–5 s interval once ran the phases past the close).
      const at = (dayFraction: number) => exchange!.openAt + DAY_MS * dayFraction;
      const until = (dayFraction: number) => sleep(at(dayFraction) - Date.now());
      // Storm: the exchange drops every connection every 1–5 s.
      while (Date.now() < at(0.35)) {
        f.closeEveryMs = 1_000 + Math.round(rand() * 4_000);
        await sleep(Math.min(f.closeEveryMs, at(0.35) - Date.now()));
      }
      f.closeEveryMs = 0;
      // Stale: connections go silent (but stay open) soon after they open.
      f.staleAfterMs = 1_000;
      await until(0.6);
      f.staleAfterMs = 0;
      // REST bursts for the periodic snapshots, and credentials rejected across a reconnect.
      f.rest429Burst = 3;
      f.rest5xxBurst = 2;
      f.rejectCredentials = true;
      f.closeEveryMs = 400;
      await until(0.675);
      f.closeEveryMs = 0;
      f.rejectCredentials = false;
      quietFrom = Date.now() + 2_500;
      expect(quietFrom, 'the fault phases left no quiet time before the close').toBeLessThan(exchange.closeAt - 2_000);
      const code = await child.exited;
      expect(code, `seed ${seed}: ${child.err().slice(-3000)}`).toBe(0);
      expect(child.out()).toMatch(/ticktape session .*: complete/);
      expect(child.out()).toMatch(/REST koscom: \d+ calls, [1-9]\d* retried/);
      // Nothing listened at first: the seed retried through refused connections.
      expect(child.err()).toMatch(/ECONNREFUSED.*retrying/);
    } finally {
      if (child?.proc.exitCode === null) child.proc.kill('SIGKILL');
      await exchange?.close();
    }
    const day = exchange!.day;
    const truth = exchange!.truth().filter((t): t is TruthTrade => t.ch === 'trade');
    const { missingQty } = await expectExactlyOnce(dataDir, day, truth);

    const events = journalEvents(dataDir, day);
    const reasons = events.filter((e) => e.type === 'disconnected' || e.type === 'connect-failed').map((e) => e.reason ?? '');
    expect(reasons.some((x) => /^stale:/.test(x)), reasons.join('\n')).toBe(true);
    expect(reasons.some((x) => /refused the session|handshake failed/.test(x)), reasons.join('\n')).toBe(true);
    const [session] = sessionRows(dataDir, day);
    expect(session.reconnects).toBeGreaterThanOrEqual(6);
    expect(reconciledMissing(session)).toEqual(missingQty);

    // Capture resumed on both markets once the faults stopped.
    const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    const after = db.prepare('SELECT market, COUNT(*) AS n FROM trades WHERE day = ? AND recv_ns > ? GROUP BY market').all(day, BigInt(quietFrom) * 1_000_000n) as { market: string; n: number }[];
    db.close();
    expect(after.map((a) => a.market).sort()).toEqual(['kosdaq', 'kospi']);
    for (const a of after) expect(a.n).toBeGreaterThan(50);
  });
});
