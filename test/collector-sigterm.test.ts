// `ticktape collect` as a child process. SIGTERM in the middle of a session: it stops the streams,
// flushes and exits 0, and what it captured is a gap-free prefix of what the simulator sent.
// Nothing to connect to, or a bad setting: a non-zero exit with a message saying why.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Exchange, startExchange } from '../sim/exchange.js';
import type { TruthTrade } from '../sim/truth.js';

const root = mkdtempSync(join(tmpdir(), 'ticktape-sigterm-'));
let exchange: Exchange;

beforeAll(() => {
  // tsc emits even when someone else's file has a type error; what matters is that dist/ exists.
  spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'ignore', timeout: 120_000 });
  if (!existsSync('dist/cli/main.js')) throw new Error('npm run build produced no dist/cli/main.js');
}, 130_000);

afterAll(async () => {
  await exchange?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('ticktape collect under SIGTERM', () => {
  it('exits 0 and loses nothing it received', async () => {
    exchange = await startExchange({ dayLengthMs: 30_000, preOpenMs: 5_000, kospiSymbols: 20, kosdaqSymbols: 30, tradesPerDay: 40_000, seed: 11 });
    const dataDir = join(root, 'data');
    const child = spawn(process.execPath, ['bin/ticktape.js', 'collect', '--duration', '5m'], {
      env: {
        PATH: process.env.PATH,
        TICKTAPE_DATA_DIR: dataDir,
        TICKTAPE_LOG_FORMAT: 'json',
        TICKTAPE_KOSCOM_API_KEY: exchange.credentials.koscomApiKey,
        TICKTAPE_KOSCOM_MEMBER: exchange.credentials.koscomMember,
        TICKTAPE_KOSCOM_REST_URL: exchange.koscomRestUrl,
        TICKTAPE_KOSCOM_WS_URL: exchange.koscomWsUrl,
        TICKTAPE_LS_APP_KEY: exchange.credentials.lsAppKey,
        TICKTAPE_LS_APP_SECRET: exchange.credentials.lsAppSecret,
        TICKTAPE_LS_REST_URL: exchange.lsRestUrl,
        TICKTAPE_LS_WS_URL: exchange.lsWsUrl,
        TICKTAPE_BATCH_MS: '5s',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Mid-session: trades are flowing and a long batch window holds many rows in memory.
    const deadline = Date.now() + 20_000;
    while (exchange.stats.tradesStreamed < 3_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(exchange.stats.tradesStreamed).toBeGreaterThanOrEqual(3_000);
    child.kill('SIGTERM');
    const code = await exited;
    expect(code, stderr.slice(-2000)).toBe(0);
    expect(stdout).toMatch(/ticktape session .*: interrupted/);

    const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    try {
      const truth = exchange.truth().filter((r): r is TruthTrade => r.ch === 'trade');
      for (const market of ['kospi', 'kosdaq'] as const) {
        const stored = db.prepare('SELECT symbol, price, qty FROM trades WHERE market = ? ORDER BY src_seq, src_idx').all(market) as { symbol: string; price: number; qty: number }[];
        const sent = truth.filter((t) => t.market === market).map((t) => ({ symbol: t.symbol, price: t.price, qty: t.qty }));
        expect(stored.length).toBeGreaterThan(500);
        // A gap-free prefix: no frame received before the signal is missing or duplicated.
        expect(stored).toEqual(sent.slice(0, stored.length));
      }
      const session = db.prepare('SELECT status FROM sessions').get() as { status: string };
      expect(session.status).toBe('interrupted');
    } finally {
      db.close();
    }
  });

  it('exits 1 with a clear message when nothing answers, and 2 on a bad setting', async () => {
    // A port that was free a moment ago: connections to it are refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const base = { PATH: process.env.PATH, TICKTAPE_DATA_DIR: join(root, 'refused'), TICKTAPE_LOG_FORMAT: 'json', TICKTAPE_KOSCOM_API_KEY: 'l7xx-never-printed', TICKTAPE_KOSCOM_REST_URL: `http://127.0.0.1:${port}`, TICKTAPE_KOSCOM_WS_URL: `ws://127.0.0.1:${port}`, TICKTAPE_REST_RETRIES: '1', TICKTAPE_BM_CODES: 'none' };
    const refused = spawnSync(process.execPath, ['bin/ticktape.js', 'collect', '--duration', '2s'], { env: base, encoding: 'utf8', timeout: 30_000 });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/ticktape collect: could not capture: no stream ever connected \(.*ECONNREFUSED/);
    expect(refused.stdout).toMatch(/REST \/v2\/market\/multiquote\/stocks\/kospi\/lists \(kospi\) failed \d+ time\(s\), last: .*ECONNREFUSED/);
    expect(refused.stderr + refused.stdout).not.toContain('l7xx-never-printed');
    const bad = spawnSync(process.execPath, ['bin/ticktape.js', 'collect'], { env: { ...base, TICKTAPE_MARKETS: 'nasdaq' }, encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/TICKTAPE_MARKETS: expected markets from: kospi, kosdaq/);
  });
});
