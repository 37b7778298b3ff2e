// One writer per journal: `<journal>.lock` holds the writer's pid. Another process holding it
// (a child here, and a real second `ticktape collect`) makes Journal.open, rebuild and collect
// refuse with the holder's pid; the lock of a killed holder is taken over with a warning.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal, journalLockPath, journalPath, lockJournal } from '../storage/journal.js';
import { LockHeldError } from '../storage/lock-file.js';
import { rebuildDay } from '../followers/rebuild.js';

const root = mkdtempSync(path.join(tmpdir(), 'ticktape-jlock-'));
const DAY = '2026-11-20';

beforeAll(() => {
  // tsc emits even when someone else's file has a type error; what matters is that dist/ exists.
  spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'ignore', timeout: 120_000 });
  if (!existsSync('dist/cli/main.js')) throw new Error('npm run build produced no dist/cli/main.js');
}, 130_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Collects a pino logger's JSON lines. */
function capturingLog(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }), lines };
}

/** Resolves once `text` has appeared on the child's stdout. */
function waitForOutput(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes(text)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before printing ${JSON.stringify(text)}: ${out}`)));
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (code) => resolve(code))));
}

describe('journal lock', () => {
  it('refuses a second writer while another process holds the lock, and takes over the lock of a killed one', async () => {
    const dataDir = path.join(root, 'unit');
    const file = journalPath(dataDir, DAY);
    const holderModule = path.resolve('dist/storage/journal.js');
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `
      import { pino } from 'pino';
      import { Journal } from ${JSON.stringify(holderModule)};
      const j = Journal.open(${JSON.stringify(file)}, { log: pino({ level: 'silent' }) });
      process.stdout.write('open\\n');
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await waitForOutput(holder, 'open');
      expect(readFileSync(journalLockPath(file), 'utf8').trim()).toBe(String(holder.pid));
      const { log } = capturingLog();
      expect(() => Journal.open(file, { log })).toThrow(LockHeldError);
      expect(() => Journal.open(file, { log })).toThrow(new RegExp(`pid ${holder.pid}\\).*${path.basename(file)}\\.lock`));
      await expect(rebuildDay({ dataDir, day: DAY, log })).rejects.toThrow(new RegExp(`pid ${holder.pid}`));
      holder.kill('SIGKILL');
      await exitOf(holder);
    } finally {
      holder.kill('SIGKILL');
    }
    // The killed holder's lock is stale: taken over, with a warning naming its pid.
    const { log, lines } = capturingLog();
    const j = Journal.open(file, { log });
    expect(lines.join('')).toContain(`stale lock of ${path.basename(file)} left by pid ${holder.pid}`);
    expect(readFileSync(journalLockPath(file), 'utf8').trim()).toBe(String(process.pid));
    // In this process too there is one writer: a second open is refused until the first closes.
    expect(() => Journal.open(file, { log })).toThrow(/this process/);
    j.close();
    expect(existsSync(journalLockPath(file))).toBe(false);
    // A caller that holds the lock passes it in; the journal then leaves it to the caller.
    const lock = lockJournal(file, log);
    expect(() => Journal.open(file, { log, lock: lockJournal(`${file}.other`, log) })).toThrow(/not .*\.journal\.lock/);
    Journal.open(file, { log, lock }).close();
    expect(existsSync(journalLockPath(file))).toBe(true);
    lock.release();
    expect(existsSync(journalLockPath(file))).toBe(false);
  });

  it('refuses a second `ticktape collect` on the same day and data directory, naming the first one’s pid', async () => {
    const dataDir = path.join(root, 'cli');
    const env = { PATH: process.env.PATH, TICKTAPE_DATA_DIR: dataDir, TICKTAPE_LOG_FORMAT: 'json' };
    // Built-in simulator, today (KST): both collectors write today's journal.
    const first = spawn(process.execPath, ['bin/ticktape.js', 'collect', '--duration', '2m', '--sim-day-length', '2m', '--sim-pre-open', '1s'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstErr = '';
    first.stderr!.on('data', (d) => (firstErr += d));
    try {
      const journalDir = path.join(dataDir, 'journal');
      const deadline = Date.now() + 30_000;
      const lockOpen = () => existsSync(journalDir) && readdirSync(journalDir).some((f) => f.endsWith('.journal.lock'));
      while (!lockOpen() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(lockOpen(), firstErr.slice(-2000)).toBe(true);
      const second = spawnSync(process.execPath, ['bin/ticktape.js', 'collect', '--duration', '3s', '--sim-day-length', '10s', '--sim-pre-open', '1s'], { env, encoding: 'utf8', timeout: 60_000 });
      expect(second.status).not.toBe(0);
      expect(second.stderr).toMatch(new RegExp(`ticktape: another ticktape writer of this journal \\(pid ${first.pid}\\) holds \\S+\\.journal\\.lock`));
      first.kill('SIGTERM');
      expect(await exitOf(first), firstErr.slice(-2000)).toBe(0);
    } finally {
      first.kill('SIGKILL');
    }
    expect(readdirSync(path.join(dataDir, 'journal')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });
});
