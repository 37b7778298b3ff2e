// Shared by the collector test files: one compressed simulated day captured by a real session
// into a fresh directory, and the ground truth to compare it with.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { loadConfig, withEndpoints } from '../collector/config.js';
import { type LiveSession, runSession, type SessionResult } from '../collector/session.js';
import type { Faults } from '../sim/faults.js';
import { type Exchange, type ExchangeOptions, startExchange } from '../sim/exchange.js';
import type { TruthTrade } from '../sim/truth.js';

export const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * Fast liveness settings so that fault recovery fits in a compressed day; no low-disk floor, so that
 * health checks do not depend on the machine's free space.
 */
export const FAST_ENV = { TICKTAPE_MIN_FREE_BYTES: '0', TICKTAPE_WS_HEARTBEAT: '200ms', TICKTAPE_WS_STALE: '800ms', TICKTAPE_WS_BACKOFF_INITIAL: '50ms', TICKTAPE_WS_BACKOFF_MAX: '400ms', TICKTAPE_BATCH_MS: '50ms', TICKTAPE_SNAPSHOT_INTERVAL: '2s', TICKTAPE_REST_RETRIES: '8' };

export interface Captured {
  exchange: Exchange;
  result: SessionResult;
  dataDir: string;
  db: Database.Database;
  truth: TruthTrade[];
}

/** A temporary root directory and its removal. */
export function tempRoot(name: string): { root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), `ticktape-${name}-`));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export async function captureDay(dataDir: string, faults: Partial<Faults> = {}, env: Record<string, string> = {}, onLive?: (live: LiveSession) => void, quotaPerDay = 50_000, sim: Partial<ExchangeOptions> = {}): Promise<Captured> {
  const exchange = await startExchange({ dayLengthMs: 5_000, preOpenMs: 3_000, kospiSymbols: 25, kosdaqSymbols: 35, tradesPerDay: 12_000, faults, seed: 7, quotaPerDay, ...sim });
  try {
    const config = withEndpoints(loadConfig({ env: { ...FAST_ENV, ...env, TICKTAPE_DATA_DIR: dataDir } }), exchange);
    const result = await runSession({ config, log, day: exchange.day, times: { closeAt: exchange.closeAt + 500, streamEnd: exchange.closeAt + 1_500 }, marketClosed: exchange.sessionEnded, onLive });
    const truth = exchange.truth().filter((r): r is TruthTrade => r.ch === 'trade');
    const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    return { exchange, result, dataDir, db, truth };
  } finally {
    await exchange.close();
  }
}

export function storedBySymbol(db: Database.Database, day: string): Map<string, { n: number; qty: number }> {
  const rows = db.prepare('SELECT symbol, COUNT(*) AS n, SUM(qty) AS qty FROM trades WHERE day = ? GROUP BY symbol').all(day) as { symbol: string; n: number; qty: number }[];
  return new Map(rows.map((r) => [r.symbol, { n: r.n, qty: r.qty }]));
}

export function truthBySymbol(truth: TruthTrade[], sent: boolean): Map<string, { n: number; qty: number }> {
  const m = new Map<string, { n: number; qty: number }>();
  for (const t of truth) {
    if (t.sent !== sent) continue;
    const e = m.get(t.symbol) ?? { n: 0, qty: 0 };
    e.n++;
    e.qty += t.qty;
    m.set(t.symbol, e);
  }
  return m;
}

/** Resolves once `cond` holds; throws if it does not within `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
