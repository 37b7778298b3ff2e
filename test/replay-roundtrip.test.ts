// The round trip (issue 5): capture a simulated day, serve it with `replay serve --speed max`,
// capture the replay with an unchanged `ticktape collect` pointed at it, and compare the two
// captures. Real child processes of the compiled CLI (`npm run build` first).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = path.resolve('bin/ticktape.js');
const built = fs.existsSync(path.resolve('dist/cli/main.js'));
let dir: string;
let day: string;

/** The environment without any ticktape setting: no credentials means the built-in simulator. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TICKTAPE_')));
  return { ...env, TICKTAPE_LOG_FORMAT: 'json', ...extra };
}

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `replay serve` and resolves with its port once it prints where it listens. */
function serve(source: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    // Every stream named: the collector opens them one after another, and none may miss the start.
    const child = spawn(process.execPath, [CLI, 'replay', 'serve', '--day', day, '--data-dir', path.join(dir, 'a'), '--source', source, '--speed', 'max', '--port', '0', '--start-timeout', '60s', '--wait-for', 'kospi,kosdaq,ls'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`replay serve did not start: ${err.slice(-1000)}`));
    }, 45_000);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on('exit', (code) => reject(new Error(`replay serve exited (${code}): ${err.slice(-1000)}`)));
  });
}

type Row = Record<string, unknown>;

/** Rows of a capture in each channel's own order, without recv_ns (the one column a second capture cannot share). */
function capture(sub: string): { trades: Row[]; flows: Row[] } {
  const db = new Database(path.join(dir, sub, 'ticktape.db'), { readonly: true });
  db.defaultSafeIntegers(true);
  try {
    const trades = db.prepare('SELECT day, market, symbol, exch_ts, price, qty, trd_vol, kind, src_seq, src_idx FROM trades ORDER BY market, src_seq, src_idx').all() as Row[];
    const flows = db.prepare('SELECT day, exch_ts, upcode, tjjcode, tjjtime, msvolume, mdvolume, msvol, p_msvol, msvalue, mdvalue, msval, p_msval, src_seq FROM sector_flows ORDER BY src_seq').all() as Row[];
    return { trades, flows };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  if (!built) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-replay-roundtrip-'));
  const r = await run(['collect', '--data-dir', path.join(dir, 'a'), '--sim-day-length', '2s', '--sim-pre-open', '1s'], cleanEnv(), 60_000);
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  day = fs.readdirSync(path.join(dir, 'a', 'journal')).find((f) => f.endsWith('.journal'))!.slice(0, 10);
}, 90_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!built)('round trip: capture → replay serve → capture', () => {
  it.each(['journal', 'arrow'])('from the %s: the second capture equals the first in every trades and sector_flows column but recv_ns', async (source) => {
    const { child, port } = await serve(source);
    try {
      const base = `127.0.0.1:${port}`;
      const env = cleanEnv({
        TICKTAPE_KOSCOM_API_KEY: 'l7xx-replay-not-a-secret',
        TICKTAPE_KOSCOM_REST_URL: `http://${base}`,
        TICKTAPE_KOSCOM_WS_URL: `ws://${base}`,
        TICKTAPE_LS_APP_KEY: 'replay',
        TICKTAPE_LS_APP_SECRET: 'replay',
        TICKTAPE_LS_REST_URL: `http://${base}`,
        TICKTAPE_LS_WS_URL: `ws://${base}`,
      });
      const r = await run(['collect', '--data-dir', path.join(dir, `b-${source}`), '--duration', '5s'], env, 60_000);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
    } finally {
      child.kill('SIGTERM');
    }
    const first = capture('a');
    const second = capture(`b-${source}`);
    expect(first.trades.length).toBeGreaterThan(1000);
    expect(first.flows.length).toBeGreaterThan(10);
    expect(second.trades.length).toBe(first.trades.length);
    expect(second.trades).toEqual(first.trades);
    expect(second.flows).toEqual(first.flows);
  }, 90_000);
});
