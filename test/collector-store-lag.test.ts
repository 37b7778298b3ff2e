// A store that falls behind is visible while it happens: /metrics carries each store's lag,
// /healthz turns unhealthy past TICKTAPE_STORE_MAX_LAG and healthy again once the store has
// caught up — and the session still ends with every trade in the store. Each store's thread runs
// at its own nice value (TICKTAPE_SQLITE_NICE, TICKTAPE_ARROW_NICE).
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { loadConfig, withEndpoints } from '../collector/config.js';
import { CollectorMetrics } from '../collector/metrics.js';
import { runSession } from '../collector/session.js';
import { startExchange } from '../sim/exchange.js';
import type { TruthTrade } from '../sim/truth.js';
import { FAST_ENV, log, storedBySymbol, tempRoot, truthBySymbol } from './collector-capture.js';

const tmp = tempRoot('store-lag');
afterAll(() => tmp.remove());

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** The nice values of this process's threads (Linux: /proc/self/task/<tid>/stat, field 19). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      return [Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16])];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

async function until(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('shows a lagging store in /metrics and /healthz, then catches up with every trade', { timeout: 60_000 }, async () => {
  const full = join(tmp.root, 'store-full');
  // Read by the store threads when they start (they copy this process's environment).
  process.env.TICKTAPE_TEST_STORE_FULL = full;
  const exchange = await startExchange({ dayLengthMs: 12_000, preOpenMs: 2_000, kospiSymbols: 10, kosdaqSymbols: 10, tradesPerDay: 6_000, seed: 3 });
  const metrics = new CollectorMetrics();
  const server = await metrics.serve(0, log);
  try {
    const config = withEndpoints(loadConfig({ env: { ...FAST_ENV, TICKTAPE_DATA_DIR: join(tmp.root, 'data'), TICKTAPE_STORE_MAX_LAG: '1s', TICKTAPE_STORE_RETRY_MAX: '300ms', TICKTAPE_SQLITE_NICE: '3', TICKTAPE_ARROW_NICE: '13' } }), exchange);
    const session = runSession({ config, log, day: exchange.day, times: { closeAt: exchange.closeAt + 500, streamEnd: exchange.closeAt + 1_500 }, marketClosed: exchange.sessionEnded, onLive: (live) => metrics.attach(live) });
    await new Promise((r) => setTimeout(r, exchange.openAt + 1_000 - Date.now()));
    expect((await get(server.port, '/healthz')).status).toBe(200);
    if (process.platform === 'linux') expect(threadNices()).toEqual(expect.arrayContaining([3, 13]));
    writeFileSync(`${full}.sqlite`, '');
    let unhealthy = '';
    await until('/healthz to report the lagging store', exchange.closeAt - 2_000, async () => {
      const h = await get(server.port, '/healthz');
      if (h.status === 503) unhealthy = h.body;
      return h.status === 503;
    });
    const body = JSON.parse(unhealthy) as { stores: { store: string; healthy: boolean; seconds: number; errors: number }[] };
    expect(body.stores.find((s) => s.store === 'sqlite')).toMatchObject({ healthy: false, errors: expect.any(Number) });
    expect(body.stores.find((s) => s.store === 'sqlite')!.seconds).toBeGreaterThan(1);
    expect(body.stores.find((s) => s.store === 'arrow')).toMatchObject({ healthy: true });
    const m = await get(server.port, '/metrics');
    expect(Number(/^ticktape_store_lag_seconds\{store="sqlite"\} (\S+)$/m.exec(m.body)?.[1])).toBeGreaterThan(1);
    expect(Number(/^ticktape_store_lag_frames\{store="sqlite"\} (\S+)$/m.exec(m.body)?.[1])).toBeGreaterThan(0);
    expect(Number(/^ticktape_store_errors\{store="sqlite"\} (\S+)$/m.exec(m.body)?.[1])).toBeGreaterThan(0);
    rmSync(`${full}.sqlite`);
    await until('/healthz to be healthy again', exchange.closeAt, async () => (await get(server.port, '/healthz')).status === 200);
    const result = await session;
    expect(result.status).toBe('complete');
    expect(result.stores.find((s) => s.store === 'sqlite')).toMatchObject({ caughtUp: true, sealed: true, frames: 0, bytes: 0 });
    const truth = exchange.truth().filter((r): r is TruthTrade => r.ch === 'trade');
    const db = new Database(join(tmp.root, 'data', 'ticktape.db'), { readonly: true });
    try {
      expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(truth, true));
    } finally {
      db.close();
    }
  } finally {
    delete process.env.TICKTAPE_TEST_STORE_FULL;
    metrics.attach(undefined);
    await server.close();
    await exchange.close();
  }
});
