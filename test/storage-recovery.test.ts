// Exactly-once after SIGKILL: a writer in a child process is killed at random points, restarted
// (its tape recovers), and in the end every journaled frame is in SQLite and Arrow exactly once.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTradeFrame } from '../protocol/koscom.js';
import { kstMidnight } from '../protocol/time.js';
import { listParts } from '../storage/arrow-format.js';
import { FLAG, readChannels, readJournal } from '../storage/journal.js';
import { loadMigrations } from '../storage/migrate.js';
import { databaseFile } from '../storage/sqlite-sink.js';
import { Tape } from '../followers/tape.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WRITER = path.join(ROOT, 'test/fixtures/tape-writer.mjs');
const DAY = '2026-11-20';
const KILLS = 21;
const BUDGET_MS = 45_000;
let dir: string;

/** dist/ is current when its tape is newer than every source file the writer runs. */
function distIsCurrent(): boolean {
  const built = path.join(ROOT, 'dist/followers/tape.js');
  if (!fs.existsSync(built)) return false;
  const at = fs.statSync(built).mtimeMs;
  return ['storage', 'followers', 'capture', 'protocol'].every((d) => fs.readdirSync(path.join(ROOT, d)).every((f) => fs.statSync(path.join(ROOT, d, f)).mtimeMs <= at));
}

beforeAll(() => {
  if (!distIsCurrent()) try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    // tsc still emits when another module has a type error; only a missing output is fatal.
    if (!fs.existsSync(path.join(ROOT, 'dist/followers/tape.js'))) throw e;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-recovery-'));
}, 120_000);
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the writer and kills it `afterMs` after it reports ready, or — with `fromSpawn` — after it
 * starts (so that some kills land in the middle of open and recovery). afterMs null = let it finish.
 */
function runWriter(seed: number, maxFrames: number, afterMs: number | null, fromSpawn = false): Promise<'killed' | 'done'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, String(seed), String(maxFrames)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    if (afterMs !== null && fromSpawn) timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (afterMs !== null && timer === undefined && out.includes('ready')) timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('done');
      else reject(new Error(`writer exited with ${code}: ${err}`));
    });
  });
}

describe('recovery after SIGKILL', () => {
  it(`keeps every journaled frame exactly once across ${KILLS} kills`, async () => {
    const started = Date.now();
    let kills = 0;
    for (let i = 0; i < KILLS && Date.now() - started < BUDGET_MS; i++) {
      // Kill points spread from "during open and recovery" to "deep into appending".
      const outcome = i % 4 === 3 ? await runWriter(1000 + i, 1_000_000, 350 + ((i * 53) % 400), true) : await runWriter(1000 + i, 1_000_000, (i * 37) % 200);
      if (outcome === 'killed') kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    // A last, clean run: recovers the last kill, writes a little, closes.
    expect(await runWriter(9999, 500, null)).toBe('done');
    // And an in-process open, which must find nothing left to replay.
    const tape = await Tape.open({ dataDir: dir, day: DAY, collectorId: 'w1', log: pino({ level: 'silent' }) });
    await tape.close();

    // What the journal says should be stored, decoded independently of the tape.
    const journal = path.join(dir, 'journal', `${DAY}.w1.journal`);
    const channels = readChannels(journal);
    const byName = new Map(channels.map((c) => [c.id, c.name]));
    const expectedTrades = new Map<number, number>();
    let expectedQuarantine = 0;
    let expectedFlows = 0;
    let frames = 0;
    // A kill between the two halves of a snapshot leaves a half that the next one supersedes.
    let pendingHalf: string | undefined;
    let expectedSnapshots = 0;
    const sink = { n: 0, trade() { this.n++; }, signal() {} };
    for (const r of readJournal(journal)) {
      frames++;
      if (r.flags !== FLAG.incoming) continue;
      const name = byName.get(r.channel);
      if (name === 'koscom.trades.kospi') {
        sink.n = 0;
        const errors = decodeTradeFrame(r.bytes.toString(), kstMidnight(DAY), sink);
        if (sink.n > 0) expectedTrades.set(r.frame, sink.n);
        if (errors.length > 0) expectedQuarantine++;
      } else if (name === 'ls.ws') expectedFlows++;
      else if (name === 'mq.lists' || name === 'mq.ohlc') {
        if (pendingHalf === undefined) pendingHalf = name;
        else if (pendingHalf === name) expectedQuarantine++;
        else {
          expectedSnapshots += (JSON.parse(r.bytes.toString()) as { isuLists: unknown[] }).isuLists.length;
          pendingHalf = undefined;
        }
      }
    }
    expect(frames).toBeGreaterThan(1000);

    const db = new Database(databaseFile(dir), { readonly: true });
    const stored = db.prepare('SELECT src_seq AS seq, count(*) AS n, count(DISTINCT src_idx) AS d FROM trades GROUP BY src_seq').all() as { seq: number; n: number; d: number }[];
    expect(stored.every((s) => s.n === s.d)).toBe(true);
    expect(new Map(stored.map((s) => [s.seq, s.n]))).toEqual(expectedTrades);
    expect(db.prepare('SELECT count(*) FROM quarantine').pluck().get()).toBe(expectedQuarantine);
    expect(db.prepare('SELECT count(*), count(DISTINCT src_seq) FROM sector_flows').raw().get()).toEqual([expectedFlows, expectedFlows]);
    expect(db.prepare('SELECT count(*) FROM snapshots').pluck().get()).toBe(expectedSnapshots);
    const cp = db.prepare('SELECT offset, seq FROM checkpoints WHERE journal = ?').get(path.basename(journal)) as { offset: number; seq: number };
    expect(cp).toEqual({ offset: fs.statSync(journal).size, seq: frames });
    db.close();

    // Arrow: the same trades, none twice.
    const seen = new Map<number, Set<number>>();
    for (const part of listParts(dir, DAY, 'trades')) {
      const t = tableFromIPC(fs.readFileSync(part.path));
      const seqs = t.getChild('src_seq')!.toArray() as BigInt64Array;
      const idxs = t.getChild('src_idx')!.toArray() as Int32Array;
      for (let i = 0; i < t.numRows; i++) {
        const s = Number(seqs[i]);
        const set = seen.get(s) ?? new Set<number>();
        expect(set.has(idxs[i])).toBe(false);
        set.add(idxs[i]);
        seen.set(s, set);
      }
    }
    expect(new Map([...seen].map(([s, set]) => [s, set.size]))).toEqual(expectedTrades);
  }, 90_000);
});

describe('ticktape migrate and rebuild (compiled CLI)', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/ticktape.js'), ...args], { encoding: 'utf8', env: { ...process.env, TICKTAPE_LOG_LEVEL: 'warn' } });

  it('migrates a new data directory, then refuses a database from a newer ticktape', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-cli-'));
    try {
      const first = cli('migrate', '--data-dir', d);
      expect(first.status).toBe(0);
      const versions = loadMigrations().map((m) => m.version);
      expect(first.stdout).toContain(`schema version ${versions.length} (applied ${versions.join(', ')})`);
      expect(cli('migrate', '--data-dir', d).stdout).toMatch(/up to date/);
      const db = new Database(databaseFile(d));
      db.pragma('user_version = 42');
      db.close();
      const refused = cli('migrate', '--data-dir', d);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`schema version 42, newer than the ${versions.length} this ticktape knows`);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('rebuilds the killed writer’s day from its journal with the same rows, and rejects bad input', () => {
    const db = () => new Database(databaseFile(dir), { readonly: true });
    const before = db();
    const count = () => before.prepare('SELECT count(*), sum(qty), count(DISTINCT src_seq) FROM trades').raw().get();
    const was = count();
    before.close();
    const r = cli('rebuild', '--day', DAY, '--data-dir', dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`rebuilt ${DAY} from 1 journal\\(s\\): trades_live \\d+`));
    const after = db();
    expect(after.prepare('SELECT count(*), sum(qty), count(DISTINCT src_seq) FROM trades').raw().get()).toEqual(was);
    after.close();
    const bad = cli('rebuild', '--day', '2026-1-5', '--data-dir', dir);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--day .*not a date \(expected YYYY-MM-DD\)/);
    const none = cli('rebuild', '--day', '2020-01-02', '--data-dir', dir);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(new RegExp(`no data for 2020-01-02 in .*; days with data: ${DAY}`));
  });
});
