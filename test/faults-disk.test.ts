// A full disk under the real `ticktape collect`. Mounting a size-capped file system needs root, so
// the journal's test-only switch TICKTAPE_TEST_ENOSPC_FILE makes every journal write fail with
// ENOSPC while a file exists. The collector says so clearly, keeps running, writes nothing half-way,
// resumes by itself when space returns; the journal and the database open cleanly afterwards.
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExchange } from '../sim/exchange.js';
import { Journal, journalPath, readJournal } from '../storage/journal.js';
import type { TruthTrade } from '../sim/truth.js';
import { log, tempRoot } from './collector-capture.js';
import { type Child, ensureBuilt, expectExactlyOnce, reconciledMissing, sessionRows, sized, sleep, spawnCollect } from './faults-run.js';

const tmp = tempRoot('faults-disk');
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => tmp.remove());

const DAY_MS = sized(12_000, 40_000);
const EPISODES = sized(1, 4);

describe('collector on a full disk', () => {
  it(`stops journaling cleanly and resumes when space returns (${EPISODES} episodes)`, { timeout: DAY_MS + 60_000 }, async () => {
    const dataDir = join(tmp.root, 'data');
    const full = join(tmp.root, 'disk-full');
    const exchange = await startExchange({ dayLengthMs: DAY_MS, preOpenMs: 2_000, kospiSymbols: 20, kosdaqSymbols: 30, tradesPerDay: 12_000, seed: 9 });
    let child: Child | undefined;
    const windows: { from: number; to: number }[] = [];
    try {
      child = spawnCollect(exchange, dataDir, exchange.closeAt + 1_500 - Date.now(), { TICKTAPE_TEST_ENOSPC_FILE: full });
      // Episodes spread over the middle of the day, each followed by as long with space.
      const slot = (DAY_MS * 0.7) / (2 * EPISODES);
      for (let i = 0; i < EPISODES; i++) {
        await sleep(exchange.openAt + DAY_MS * 0.15 + 2 * i * slot - Date.now());
        writeFileSync(full, '');
        const from = Date.now();
        await sleep(slot);
        rmSync(full);
        windows.push({ from, to: Date.now() });
      }
      const code = await child.exited;
      expect(code, child.err().slice(-3000)).toBe(0);
      expect(child.out()).toMatch(/ticktape session .*: complete/);
      // Said clearly, in the log and in the report.
      const err = child.err();
      expect(err.match(/disk full: the journal cannot be written \(ENOSPC\)/g)?.length).toBe(EPISODES);
      expect(err.match(/disk space is back: journaling resumed/g)?.length).toBe(EPISODES);
      expect(child.out().match(/! disk full from .* frames could not be journaled/g)?.length).toBe(EPISODES);
    } finally {
      if (child?.proc.exitCode === null) child.proc.kill('SIGKILL');
      rmSync(full, { force: true });
      await exchange.close();
    }
    const day = exchange.day;
    const truth = exchange.truth().filter((r): r is TruthTrade => r.ch === 'trade');
    const { missingQty } = await expectExactlyOnce(dataDir, day, truth);
    expect(missingQty.size).toBeGreaterThan(0);

    // The journal reads cleanly to its last byte (nothing torn to cut), and nothing was journaled while full.
    const file = journalPath(dataDir, day);
    const records = [...readJournal(file)];
    expect(records.at(-1)!.end).toBe(statSync(file).size);
    for (const w of windows) expect(records.filter((r) => Number(r.recvNs / 1_000_000n) > w.from + 5 && Number(r.recvNs / 1_000_000n) < w.to - 5)).toEqual([]);
    const reopened = Journal.open(file, { log });
    expect(reopened.size).toBe(statSync(file).size);
    reopened.close();
    const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    // Journaling resumed after each episode: trades received after its end are stored.
    for (const w of windows) {
      const n = (db.prepare('SELECT COUNT(*) AS n FROM trades WHERE day = ? AND recv_ns > ?').get(day, BigInt(w.to) * 1_000_000n) as { n: number }).n;
      expect(n).toBeGreaterThan(0);
    }
    db.close();
    expect(reconciledMissing(sessionRows(dataDir, day)[0])).toEqual(missingQty);
  });
});
