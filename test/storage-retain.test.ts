// Retention over real stores: what the policy lets go is listed (dry run) with its bytes; a day
// leaves SQLite or Arrow only when the history holds exactly its rows (a changed value keeps it);
// afterwards every day still reads the same through the tiered reader; and `ticktape retain`
// killed with SIGKILL at random points loses nothing — each day stays readable from some tier.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../sim/random.js';
import { listArrowDays } from '../storage/arrow-format.js';
import { compactDay } from '../storage/compact.js';
import { afterSeal } from '../storage/after-seal.js';
import { diskStatus } from '../storage/disk.js';
import { applyRetention, guardDisk } from '../storage/retain.js';
import { databasePath, TickReader } from '../storage/reader.js';
import { sqliteDays, openReadOnly } from '../storage/reader-sqlite.js';
import { STORE_DAYS, writeStore } from './history-store.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];

async function store(compacted: readonly string[]): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-retain-'));
  dirs.push(dir);
  await writeStore(dir);
  for (const d of compacted) await compactDay(dir, d, log);
  return dir;
}

/** Per day: trades, volume and Σ price·qty through the tiered reader (every tier). */
async function digest(dir: string): Promise<Record<string, string>> {
  const r = TickReader.open({ dataDir: dir });
  const out: Record<string, string> = {};
  try {
    for (const day of STORE_DAYS) {
      let n = 0;
      let v = 0;
      let pv = 0;
      for await (const t of r.trades({ day })) {
        n++;
        v += t.qty;
        pv += t.price * t.qty;
      }
      out[day] = `${n}/${v}/${pv} from ${r.sourceOf(day)}`;
    }
  } finally {
    r.close();
  }
  return out;
}

const counts = (d: Record<string, string>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.split(' ')[0]]));
const policy = { sqliteDays: 1, arrowDays: 1, parquetDays: 0, journalDays: 0 };

function sqliteDayList(dir: string): string[] {
  const db = openReadOnly(databasePath(dir));
  try {
    return sqliteDays(db);
  } finally {
    db.close();
  }
}

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('retention', () => {
  let dir: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    // Day 1 compacted, day 2 not: the policy (keep 1 day) would let both go.
    dir = await store([STORE_DAYS[0]]);
    before = await digest(dir);
  }, 120_000);

  it('dry run: lists each day and tier with its bytes, keeps a day the history lacks, removes nothing', async () => {
    const r = await applyRetention(dir, policy, log, { dryRun: true });
    expect(r.actions.map((a) => `${a.day} ${a.tier} ${a.allowed}`).sort()).toEqual([`${STORE_DAYS[0]} arrow true`, `${STORE_DAYS[0]} sqlite true`, `${STORE_DAYS[1]} arrow false`, `${STORE_DAYS[1]} sqlite false`]);
    expect(r.actions.find((a) => a.day === STORE_DAYS[1])!.note).toMatch(/not compacted/);
    for (const a of r.actions) expect(a.bytes).toBeGreaterThan(0);
    expect(r.done).toEqual([]);
    expect(listArrowDays(dir)).toEqual([...STORE_DAYS]);
  });

  it('keeps a day in SQLite when one value differs from the history', async () => {
    const db = new Database(databasePath(dir));
    try {
      db.prepare('UPDATE trades_sealed SET qty = qty + 1 WHERE rowid = (SELECT min(rowid) FROM trades_sealed WHERE day = ?)').run(STORE_DAYS[0]);
      const r = await applyRetention(dir, policy, log, { dryRun: true });
      expect(r.actions.find((a) => a.tier === 'sqlite' && a.day === STORE_DAYS[0])).toMatchObject({ allowed: false, note: expect.stringMatching(/trades: column\(s\) qty differ/) });
    } finally {
      db.prepare('UPDATE trades_sealed SET qty = qty - 1 WHERE rowid = (SELECT min(rowid) FROM trades_sealed WHERE day = ?)').run(STORE_DAYS[0]);
      db.close();
    }
  });

  it('removes what the history holds; every day reads the same afterwards', async () => {
    const r = await applyRetention(dir, policy, log);
    expect(r.done.map((a) => `${a.day} ${a.tier}`).sort()).toEqual([`${STORE_DAYS[0]} arrow`, `${STORE_DAYS[0]} sqlite`]);
    expect(listArrowDays(dir)).toEqual(STORE_DAYS.slice(1));
    expect(sqliteDayList(dir)).toEqual(STORE_DAYS.slice(1));
    const after = await digest(dir);
    expect(counts(after)).toEqual(counts(before));
    expect(after[STORE_DAYS[0]]).toMatch(/from parquet$/);
  });

  it('after a seal: compaction, the policy, and the low-disk guard, which below the floor keeps only the newest day in SQLite and Arrow', async () => {
    const ok = diskStatus(dir, 1);
    expect(ok.low).toBe(false);
    expect(ok.freeBytes).toBeGreaterThan(0);
    expect((await guardDisk(dir, policy, 1, log)).result).toBeNull();
    // After a seal: compaction, the policy (keeping everything), then the guard under a floor no disk meets.
    const after = await afterSeal(dir, STORE_DAYS[1], { sqliteDays: 0, arrowDays: 0, parquetDays: 0, journalDays: 0, minFreeBytes: Number.MAX_SAFE_INTEGER }, log);
    expect(after.compacted.compacted).toBe(true);
    expect(after.retained.actions).toEqual([]);
    expect(after.disk.low).toBe(true);
    expect(after.guarded!.done.map((a) => `${a.day} ${a.tier}`).sort()).toEqual([`${STORE_DAYS[1]} arrow`, `${STORE_DAYS[1]} sqlite`]);
    expect(counts(await digest(dir))).toEqual(counts(before));
  });
  it('lets the history go only where the compressed journal matches, and a journal never while it is the last tier', async () => {
    const r = await applyRetention(dir, { sqliteDays: 1, arrowDays: 1, parquetDays: 1, journalDays: 1 }, log);
    expect(r.done.map((a) => `${a.day} ${a.tier}`).sort()).toEqual([`${STORE_DAYS[0]} parquet`, `${STORE_DAYS[1]} parquet`]);
    // Once the history let the days go, their journals are the last tier: they stay.
    expect(r.actions.filter((a) => a.tier === 'journal').map((a) => `${a.day} ${a.allowed} ${a.note}`)).toEqual(STORE_DAYS.slice(0, 2).map((d) => `${d} false the history does not hold the day`));
    const after = await digest(dir);
    expect(counts(after)).toEqual(counts(before));
    expect(after[STORE_DAYS[0]]).toMatch(/from journal$/);
  });
});

describe('ticktape retain killed at random points', () => {
  it('loses nothing: after every SIGKILL each day reads the same from some tier', async () => {
    const dir = await store(STORE_DAYS.slice(0, 2));
    const before = counts(await digest(dir));
    const env = { ...process.env, TICKTAPE_KEEP_SQLITE_DAYS: '1', TICKTAPE_KEEP_ARROW_DAYS: '1', TICKTAPE_LOG_LEVEL: 'silent' };
    const random = new Random(Number(process.env.TICKTAPE_TEST_SEED ?? 13));
    const run = (killAfterMs: number | null) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [path.resolve('bin/ticktape.js'), 'retain', '--data-dir', dir], { env, stdio: 'ignore' });
        const timer = killAfterMs === null ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    for (let i = 0; i < 6; i++) {
      const at = 150 + Math.floor(random.next() * 1500);
      await run(at);
      expect(counts(await digest(dir)), `after a kill at ${at} ms`).toEqual(before);
    }
    expect(await run(null)).toBe(0);
    expect(counts(await digest(dir))).toEqual(before);
    expect(listArrowDays(dir)).toEqual([STORE_DAYS[2]]);
    expect(sqliteDayList(dir)).toEqual([STORE_DAYS[2]]);
    expect(fs.readdirSync(path.join(dir, 'arrow')).filter((n) => n.startsWith('.trash-'))).toEqual([]);
  }, 120_000);
});
