// `ticktape sim` as a user runs it: the compiled CLI in a child process (run `npm run build` first).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeInit } from '../protocol/jsonrpc.js';
import { startExchange } from '../sim/exchange.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'ticktape.js');
const dir = mkdtempSync(join(tmpdir(), 'ticktape-sim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, env: { ...process.env, TICKTAPE_LOG_FORMAT: 'json' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('ticktape sim', () => {
  it('is built', () => {
    expect(existsSync(join(import.meta.dirname, '..', 'dist', 'cli', 'main.js')), 'run `npm run build` first').toBe(true);
  });

  it('documents every option in --help', async () => {
    const { code, stdout } = await run(['sim', '--help']);
    expect(code).toBe(0);
    for (const opt of ['--seed', '--kospi', '--kosdaq', '--trades-per-day', '--day-length', '--pre-open', '--date', '--host', '--port', '--quota', '--max-rate', '--truth', '--duration', '--sandbox', '--ls-ack', '--quiet', '--fault-close-every', '--fault-stale-after', '--fault-malformed', '--fault-wrong-type', '--fault-drop', '--fault-rest-delay', '--fault-429', '--fault-5xx', '--fault-reject-credentials', '--fault-junk', '--fault-oversize', '--fault-oversize-count', '--cumulative-trdvol', '--fault-no-heartbeat-reply', '--fault-no-init-reply', '--fault-server-heartbeat', '--fault-ls-ping', '--fault-ls-auth-error-every', '--fault-bad-snapshot-elements', '--fault-ws-single-session', '--fault-rest-paths-moved', '--fault-signal-codes', '--fault-batch-per-connection']) {
      expect(stdout).toContain(opt);
    }
  });

  it('rejects bad values naming the option and what was expected', async () => {
    const drop = await run(['sim', '--fault-drop', '2']);
    expect(drop.code).not.toBe(0);
    expect(drop.stderr).toMatch(/--fault-drop.*rate from 0 to 1/);
    const len = await run(['sim', '--day-length', 'soon']);
    expect(len.stderr).toMatch(/--day-length.*not a duration/);
    const date = await run(['sim', '--date', '2026-13-45']);
    expect(date.stderr).toMatch(/--date.*YYYY-MM-DD/);
    const junk = await run(['sim', '--fault-junk', 'lots']);
    expect(junk.stderr).toMatch(/--fault-junk.*number from 0 to 100/);
  });

  it('runs a short session, prints endpoints and credentials, logs traffic, writes the truth file, and exits 0', async () => {
    const truth = join(dir, 'truth.ndjson');
    const { code, stdout, stderr } = await run(['sim', '--kospi', '15', '--kosdaq', '15', '--trades-per-day', '20000', '--day-length', '2500ms', '--pre-open', '200ms', '--truth', truth, '--seed', '9']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Koscom REST\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/ws:\/\/127\.0\.0\.1:\d+\/ws_ksp/);
    expect(stdout).toMatch(/LS WebSocket\s+ws:\/\/127\.0\.0\.1:\d+\/websocket/);
    const inProcess = await startExchange({ seed: 9, kospiSymbols: 1, kosdaqSymbols: 0, tradesPerDay: 0 });
    expect(stdout).toContain(inProcess.credentials.koscomApiKey);
    await inProcess.close();
    expect(stderr).toContain('traffic/s');
    expect(stderr).toContain('session ended');
    const lines = readFileSync(truth, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ch: string; sent?: boolean });
    expect(lines.filter((l) => l.ch === 'trade').length).toBeGreaterThan(5_000);
    expect(lines.filter((l) => l.ch === 'flow').length).toBeGreaterThan(0);
    expect(lines.every((l) => l.ch === 'flow' || l.sent === true)).toBe(true);
  });

  it('stops at --duration, and streams in --max-rate mode', async () => {
    const child = execFile(process.execPath, [BIN, 'sim', '--max-rate', '--kospi', '50', '--kosdaq', '0', '--day-length', '1h', '--pre-open', '0s', '--duration', '2s', '--quiet'], { timeout: 20_000 });
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += String(d)));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const deadline = Date.now() + 10_000;
    while (!/ws:\/\/[\d.:]+\/ws_ksp/.test(stdout) || !/apikey\s+(\S+)/.test(stdout)) {
      if (Date.now() > deadline) throw new Error('no endpoints printed');
      await new Promise((r) => setTimeout(r, 20));
    }
    const url = /(ws:\/\/[\d.:]+\/ws_ksp)/.exec(stdout)![1];
    const key = /apikey\s+(\S+)/.exec(stdout)![1];
    const ws = new WebSocket(url);
    let trades = 0;
    let frames = 0;
    let biggest = 0;
    ws.on('message', (d) => {
      const s = String(d);
      if (!s.startsWith('[')) return;
      const n = (JSON.parse(s) as unknown[]).length;
      frames++;
      trades += n;
      biggest = Math.max(biggest, n);
    });
    ws.on('open', () => ws.send(encodeInit(1, key, 'bench')));
    ws.on('error', () => undefined);
    expect(await exit).toBe(0);
    expect(frames).toBeGreaterThan(100);
    expect(biggest).toBe(50);
    expect(trades).toBeGreaterThan(frames * 40);
  });
});
