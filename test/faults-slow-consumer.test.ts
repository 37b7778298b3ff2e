// A slow consumer under the real `ticktape collect`: another connection holds a long read
// transaction on ticktape.db (the WAL cannot be checkpointed and grows), then the write lock for
// a few seconds (the collector's inserts wait on it, its event loop blocked). Backpressure goes
// to the socket, memory stays bounded, no connection is taken for stale, and nothing is lost.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExchange } from '../sim/exchange.js';
import type { TruthTrade } from '../sim/truth.js';
import { tempRoot } from './collector-capture.js';
import { type Child, ensureBuilt, expectExactlyOnce, rssBytes, sessionRows, sized, sleep, spawnCollect } from './faults-run.js';

const tmp = tempRoot('faults-slow');
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => tmp.remove());

const DAY_MS = sized(14_000, 60_000);
const LOCKS = sized(1, 4);
/** Below the sink's 5 s busy_timeout: the insert waits, it does not fail. */
const LOCK_MS = 3_000;

describe('collector behind a slow SQLite consumer', () => {
  it('keeps every trade through a long read transaction and held write locks', { timeout: DAY_MS + 60_000 }, async () => {
    const dataDir = join(tmp.root, 'data');
    const dbFile = join(dataDir, 'ticktape.db');
    // Nothing may be missing, so the collector must be streaming by the open: on a loaded CI
    // machine its start (node, imports, migrations) took longer than a 2 s pre-open.
    const exchange = await startExchange({ dayLengthMs: DAY_MS, preOpenMs: 6_000, kospiSymbols: 20, kosdaqSymbols: 30, tradesPerDay: sized(20_000, 80_000), seed: 13 });
    let child: Child | undefined;
    let peakRss = 0;
    let walDuringRead = 0;
    try {
      child = spawnCollect(exchange, dataDir, exchange.closeAt + 1_500 - Date.now());
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(child!.pid))), 100);
      await sleep(exchange.openAt + 500 - Date.now());
      expect(existsSync(dbFile)).toBe(true);
      const reader = new Database(dbFile);
      // A long read: its snapshot pins the WAL.
      reader.prepare('BEGIN').run();
      reader.prepare('SELECT COUNT(*) FROM trades').get();
      await sleep(DAY_MS * 0.35);
      walDuringRead = statSync(`${dbFile}-wal`).size;
      reader.prepare('COMMIT').run();
      // Held write locks: the collector's inserts wait.
      for (let i = 0; i < LOCKS; i++) {
        reader.prepare('BEGIN IMMEDIATE').run();
        await sleep(LOCK_MS);
        reader.prepare('COMMIT').run();
        await sleep(1_000);
      }
      reader.close();
      const code = await child.exited;
      clearInterval(sampler);
      expect(code, child.err().slice(-3000)).toBe(0);
      expect(child.out()).toMatch(/ticktape session .*: complete/);
      expect(child.err()).not.toMatch(/sink failed/);
    } finally {
      if (child?.proc.exitCode === null) child.proc.kill('SIGKILL');
      await exchange.close();
    }
    const day = exchange.day;
    const truth = exchange.truth().filter((r): r is TruthTrade => r.ch === 'trade');
    const { missingQty } = await expectExactlyOnce(dataDir, day, truth);
    // Nothing lost and no reconnect: a blocked collector is not a stale socket.
    expect(missingQty).toEqual(new Map());
    expect(sessionRows(dataDir, day)[0].reconnects).toBe(0);
    expect(walDuringRead).toBeGreaterThan(0);
    // The write lock did hold the collector up: frames were read late, in a burst, not dropped.
    const db = new Database(dbFile, { readonly: true });
    const recv = (db.prepare('SELECT DISTINCT recv_ns FROM trades WHERE day = ? ORDER BY recv_ns').all(day) as { recv_ns: number }[]).map((r) => r.recv_ns / 1e6);
    db.close();
    let longestPause = 0;
    for (let i = 1; i < recv.length; i++) longestPause = Math.max(longestPause, recv[i] - recv[i - 1]);
    expect(longestPause).toBeGreaterThan(LOCK_MS * 0.5);
    // Bounded memory: well below what holding the day unbatched would take.
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss).toBeLessThan(400 * 1024 * 1024);
  });
});
