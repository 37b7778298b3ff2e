// Capture that nothing can stall, with real `ticktape collect` processes against the simulator in
// its own process: a restart while REST is slow opens the streams at once; a full disk under one
// store costs that store lag, never rows; a collector killed during the seal, or after the streams
// ended, has its day completed by the next start.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TruthTrade } from '../sim/truth.js';
import { kstMidnight } from '../protocol/time.js';
import { FLAG, journalPath, readChannels, readJournal } from '../storage/journal.js';
import { tempRoot } from './collector-capture.js';
import { type Child, collectEnv, ensureBuilt, expectExactlyOnce, journalTrades, readTruth, sized, sleep, spawnChild, spawnCollect, spawnSim } from './faults-run.js';

const tmp = tempRoot('faults-capture');
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => tmp.remove());

/** Per market, the truth's trades in the order the exchange sent them: symbol|price|qty|ms of the day. */
function sentInOrder(truth: TruthTrade[], market: string): string[] {
  const ms = (t: string) => ((Number(t.slice(0, 2)) * 60 + Number(t.slice(2, 4))) * 60 + Number(t.slice(4, 6))) * 1000 + Number(t.slice(6, 8)) * 10;
  return truth.filter((t) => t.market === market && t.sent).map((t) => `${t.symbol}|${t.price}|${t.qty}|${ms(t.trdTm)}`);
}

/** Per market, the journal's trades in the order received, keyed like sentInOrder. */
function capturedInOrder(dataDir: string, day: string): Map<string, string[]> {
  const midnight = kstMidnight(day);
  const out = new Map<string, string[]>();
  for (const t of journalTrades(dataDir, day)) {
    const list = out.get(t.market) ?? [];
    out.set(t.market, list);
    list.push(`${t.symbol}|${t.price}|${t.qty}|${t.exch_ms! - midnight}`);
  }
  return out;
}

describe('capture that nothing can stall', () => {
  it('opens the trade streams within 2 s of a restart while every REST answer is 4 s late, and loses only that window', { timeout: 120_000 }, async () => {
    const truthFile = join(tmp.root, 'restart-truth.ndjson');
    const dataDir = join(tmp.root, 'restart');
    const sim = await spawnSim({ dayLengthMs: sized(16_000, 40_000), preOpenMs: 3_000, kospiSymbols: 20, kosdaqSymbols: 30, tradesPerDay: sized(16_000, 40_000), seed: 21, truthFile, stepMs: 20 });
    const { openAt, closeAt, day } = sim.endpoints;
    let second: Child | undefined;
    let restartAt = 0;
    try {
      const first = spawnCollect(sim.endpoints, dataDir, closeAt + 1_500 - Date.now());
      await sleep(openAt + 3_000 - Date.now());
      first.proc.kill('SIGKILL');
      expect(await first.exited).toBe(null);
      sim.setFaults({ restDelayMs: 4_000 });
      restartAt = Date.now();
      second = spawnCollect(sim.endpoints, dataDir, closeAt + 6_000 - Date.now());
      const code = await second.exited;
      expect(code, second.err().slice(-3000)).toBe(0);
      expect(second.out()).toMatch(/ticktape session .*: complete/);
    } finally {
      if (second?.proc.exitCode === null) second.proc.kill('SIGKILL');
      await sim.stop();
    }
    // The restart's first init on each trade socket, from the journal's own receive clock.
    const file = journalPath(dataDir, day);
    const channels = readChannels(file);
    const firstInit = new Map<string, number>();
    const firstTrade = new Map<string, number>();
    for (const r of readJournal(file)) {
      const name = channels[r.channel]?.name ?? '';
      const ms = Number(r.recvNs / 1_000_000n);
      if (ms < restartAt || !/^koscom\.trades\.(kospi|kosdaq)$/.test(name)) continue;
      if (r.flags === FLAG.outgoing && !firstInit.has(name)) firstInit.set(name, ms - restartAt);
      if (r.flags === FLAG.incoming && !firstTrade.has(name)) firstTrade.set(name, ms - restartAt);
    }
    expect([...firstInit.keys()].sort()).toEqual(['koscom.trades.kosdaq', 'koscom.trades.kospi']);
    for (const [name, ms] of firstInit) expect(ms, `${name}: init ${ms} ms after the restart's process start`).toBeLessThan(2_000);
    // Nothing lost outside the restart: per market the trades missing from the journal are one
    // contiguous run of what the exchange sent, and the stores hold the journal exactly once.
    const truth = readTruth(truthFile);
    await expectExactlyOnce(dataDir, day, truth);
    const captured = capturedInOrder(dataDir, day);
    for (const market of ['kospi', 'kosdaq']) {
      const sent = sentInOrder(truth, market);
      const have = captured.get(market) ?? [];
      // The journal holds a subsequence of what was sent: align the two, keep what is left out.
      const missing: number[] = [];
      let j = 0;
      sent.forEach((k, i) => {
        if (have[j] === k) j++;
        else missing.push(i);
      });
      expect(j, `${market}: the journal holds trades in an order the exchange did not send`).toBe(have.length);
      expect(missing.length, `${market}: the kill and restart lost nothing?`).toBeGreaterThan(0);
      expect(missing.at(-1)! - missing[0] + 1, `${market}: trades missing outside the restart window`).toBe(missing.length);
    }
  });

  it('keeps capturing while the SQLite store, then the Arrow store, hits a full disk; each catches up, nothing doubled', { timeout: 120_000 }, async () => {
    const truthFile = join(tmp.root, 'full-truth.ndjson');
    const dataDir = join(tmp.root, 'full');
    const full = join(tmp.root, 'store-full');
    const sim = await spawnSim({ dayLengthMs: sized(14_000, 40_000), preOpenMs: 5_000, kospiSymbols: 20, kosdaqSymbols: 30, tradesPerDay: sized(14_000, 40_000), seed: 5, truthFile });
    const { openAt, closeAt, day } = sim.endpoints;
    const dayMs = closeAt - openAt;
    let child: Child | undefined;
    try {
      child = spawnCollect(sim.endpoints, dataDir, closeAt + 1_500 - Date.now(), { TICKTAPE_TEST_STORE_FULL: full, TICKTAPE_STORE_RETRY_MAX: '500ms' });
      for (const [store, from, to] of [['sqlite', 0.15, 0.4], ['arrow', 0.5, 0.75]] as const) {
        await sleep(openAt + dayMs * from - Date.now());
        writeFileSync(`${full}.${store}`, '');
        await sleep(openAt + dayMs * to - Date.now());
        rmSync(`${full}.${store}`);
      }
      const code = await child.exited;
      expect(code, child.err().slice(-3000)).toBe(0);
      expect(child.out()).toMatch(/ticktape session .*: complete/);
      expect(child.out()).toMatch(/store sqlite: caught up, day sealed; [1-9]\d* error\(s\) retried, last: ENOSPC/);
      expect(child.out()).toMatch(/store arrow: caught up; [1-9]\d* error\(s\) retried, last: ENOSPC/);
    } finally {
      if (child?.proc.exitCode === null) child.proc.kill('SIGKILL');
      await sim.stop();
    }
    const truth = readTruth(truthFile);
    const { missingQty } = await expectExactlyOnce(dataDir, day, truth);
    // The stores' trouble cost capture nothing: every trade the exchange sent is there.
    expect(missingQty).toEqual(new Map());
  });

  it('completes a day at the next start when its collector was killed during the seal, or after the streams ended', { timeout: 240_000 }, async () => {
    const dataDir = join(tmp.root, 'seal');
    const rounds = sized(2, 4);
    for (let i = 0; i < rounds; i++) {
      // A day killed during its seal (even rounds) or right as its streams end (odd rounds) …
      const date = `2026-03-${String(2 + i).padStart(2, '0')}`;
      const truthFile = join(tmp.root, `seal-truth-${i}.ndjson`);
      const sim = await spawnSim({ date, dayLengthMs: 8_000, preOpenMs: 3_000, kospiSymbols: 40, kosdaqSymbols: 60, tradesPerDay: sized(150_000, 600_000), seed: 30 + i, truthFile, stepMs: 20 });
      let child: Child | undefined;
      try {
        child = spawnChild(['bin/ticktape.js', 'collect', '--day', date, '--duration', `${sim.endpoints.closeAt + 1_500 - Date.now()}ms`], collectEnv(sim.endpoints, dataDir));
        const c = child;
        const deadline = sim.endpoints.closeAt + 60_000;
        if (i % 2 === 0) while (!/"msg":"sealing /.test(c.err()) && c.proc.exitCode === null && Date.now() < deadline) await sleep(5);
        else await sleep(sim.endpoints.closeAt + 1_500 - Date.now());
        expect(c.proc.exitCode, `round ${i}: the collector ended before it could be killed`).toBe(null);
        c.proc.kill('SIGKILL');
        await c.exited;
      } finally {
        if (child?.proc.exitCode === null) child.proc.kill('SIGKILL');
        await sim.stop();
      }
      // … is completed by the next start, beside the next day's session.
      const next = await spawnSim({ date: `2026-04-${String(1 + i).padStart(2, '0')}`, dayLengthMs: 2_000, preOpenMs: 1_500, kospiSymbols: 5, kosdaqSymbols: 5, tradesPerDay: 500, seed: 50 + i });
      try {
        const restart = spawnChild(['bin/ticktape.js', 'collect', '--day', next.endpoints.day, '--duration', `${next.endpoints.closeAt + 1_500 - Date.now()}ms`], collectEnv(next.endpoints, dataDir));
        expect(await restart.exited, restart.err().slice(-3000)).toBe(0);
        expect(restart.err()).toMatch(new RegExp(`catching up ${date}`));
      } finally {
        await next.stop();
      }
      await expectExactlyOnce(dataDir, date, readTruth(truthFile));
      const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
      try {
        expect(db.prepare('SELECT count(*) FROM sealed_days WHERE day = ?').pluck().get(date), `round ${i}: ${date} sealed`).toBe(1);
        expect(db.prepare('SELECT count(*) FROM trades_live WHERE day = ?').pluck().get(date), `round ${i}: ${date} left in trades_live`).toBe(0);
      } finally {
        db.close();
      }
      expect(existsSync(journalPath(dataDir, date))).toBe(true);
    }
  });
});
