// The REST client against real HTTP servers: the simulator's quota and fault bursts, and a small
// server of our own for Retry-After.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { nextQuotaReset, RestClient, RestError, snapshotWait } from '../collector/rest.js';
import { LsToken } from '../collector/token.js';
import { stockListPath } from '../protocol/koscom-rest.js';
import { type Exchange, startExchange } from '../sim/exchange.js';

const log = pino({ level: 'silent' });
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

async function sim(opts: Parameters<typeof startExchange>[0]): Promise<Exchange> {
  const ex = await startExchange({ dayLengthMs: 60_000, preOpenMs: 60_000, kospiSymbols: 5, kosdaqSymbols: 5, tradesPerDay: 1_000, ...opts });
  cleanup.push(() => ex.close());
  return ex;
}

function client(baseUrl: string, o: Partial<ConstructorParameters<typeof RestClient>[0]> = {}): RestClient {
  return new RestClient({ vendor: 'koscom', baseUrl, limits: { concurrency: 2, perSecond: 50 }, maxRetries: 4, timeoutMs: 5_000, log, backoffInitialMs: 20, ...o });
}

describe('REST client', () => {
  it('retries 429 and 503 bursts, then succeeds and tracks the daily quota', async () => {
    const ex = await sim({ faults: { rest429Burst: 2, rest5xxBurst: 1 } });
    const c = client(ex.koscomRestUrl);
    const res = await c.request({ path: stockListPath('kospi'), query: { apikey: ex.credentials.koscomApiKey } });
    expect(res.status).toBe(200);
    expect(c.stats.retries).toBe(3);
    expect(c.stats.quotaLimit).toBe(50_000);
    expect(c.stats.quotaRemaining).toBeLessThan(50_000);
  });

  it('stops at an exhausted daily quota instead of retrying, and never puts the key in the error', async () => {
    const ex = await sim({ quotaPerDay: 2 });
    const c = client(ex.koscomRestUrl);
    const get = () => c.request({ path: stockListPath('kosdaq'), query: { apikey: ex.credentials.koscomApiKey } });
    await get();
    await get();
    const err = await get().catch((e) => e);
    expect(err).toBeInstanceOf(RestError);
    expect(err.kind).toBe('quota');
    expect(err.message).toMatch(/daily quota exhausted/);
    expect(err.message).not.toContain(ex.credentials.koscomApiKey);
    expect(c.stats.retries).toBe(0);
    // The quota counts per UTC day of the server's Date header: at 09:00 KST the full limit is back.
    const now = Date.now();
    expect(c.quotaLeft(now)).toBe(0);
    expect(c.quotaLeft(nextQuotaReset(now))).toBe(2);
  });

  it('reports rejected credentials without retrying', async () => {
    const ex = await sim({ faults: { rejectCredentials: true } });
    const c = client(ex.koscomRestUrl);
    const err = await c.request({ path: stockListPath('kospi'), query: { apikey: ex.credentials.koscomApiKey } }).catch((e) => e);
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/credentials rejected \(HTTP 401/);
    expect(c.stats.retries).toBe(0);
    const ls = new LsToken(new RestClient({ vendor: 'ls', baseUrl: ex.lsRestUrl, limits: { concurrency: 1, perSecond: 5 }, maxRetries: 2, timeoutMs: 5_000, log }), { appKey: ex.credentials.lsAppKey, appSecret: ex.credentials.lsAppSecret }, log);
    const tokenErr = await ls.get().catch((e) => e);
    expect(tokenErr.kind).toBe('auth');
    expect(tokenErr.message).not.toContain(ex.credentials.lsAppSecret);
  });

  it('caches the LS token and renews it before it expires', async () => {
    const ex = await sim({});
    let now = 1_000_000;
    const rest = new RestClient({ vendor: 'ls', baseUrl: ex.lsRestUrl, limits: { concurrency: 1, perSecond: 50 }, maxRetries: 2, timeoutMs: 5_000, log });
    const token = new LsToken(rest, { appKey: ex.credentials.lsAppKey, appSecret: ex.credentials.lsAppSecret }, log, () => now);
    const [a, b] = await Promise.all([token.get(), token.get()]);
    expect(a).toBe(b);
    expect(rest.stats.calls).toBe(1);
    now += 3_600_000;
    await token.get();
    expect(rest.stats.calls).toBe(1);
    // Past 80% of the 24 h lifetime: a new token is requested.
    now += 20 * 3_600_000;
    await token.get();
    expect(rest.stats.calls).toBe(2);
  });

  it('honours Retry-After and caps calls per rolling second', async () => {
    const hits: number[] = [];
    const server: Server = createServer((_req, res) => {
      hits.push(Date.now());
      if (hits.length === 1) res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"message":"API rate limit exceeded"}');
      else res.writeHead(200).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(() => r())));
    const c = client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { limits: { concurrency: 4, perSecond: 2 } });
    await c.request({ path: '/x' });
    expect(hits).toHaveLength(2);
    expect(hits[1] - hits[0]).toBeGreaterThanOrEqual(950);
    hits.length = 0;
    const started = Date.now();
    await Promise.all([1, 2, 3, 4, 5].map(() => c.request({ path: '/y' })));
    // 5 calls at 2 per rolling second: the fifth cannot start before 2 s have passed.
    expect(hits[4] - started).toBeGreaterThanOrEqual(1_900);
  });
});

describe('snapshot pacing under the daily quota', () => {
  // 2026-03-03 08:30 KST = 23:30 UTC the day before; the quota resets at 09:00 KST.
  const at = (kst: string) => Date.parse(`2026-03-03T${kst}:00+09:00`);
  const base = { closeAt: at('15:40'), intervalMs: 60_000, limit: 50_000, callsPerSnapshot: 4 };

  it('keeps the configured interval while the quota lasts', () => {
    expect(snapshotWait({ ...base, nowMs: at('10:00'), remaining: 40_000 })).toBe(60_000);
    expect(snapshotWait({ ...base, nowMs: at('10:00'), remaining: undefined })).toBe(60_000);
  });

  it('stretches the interval so the calls left last until the close, keeping the closing snapshot', () => {
    // 340 minutes to the close, 40 snapshots affordable after the reserve: one every 8.5 minutes.
    expect(snapshotWait({ ...base, nowMs: at('10:00'), remaining: 164 })).toBe(Math.ceil((340 * 60_000) / 40));
    expect(snapshotWait({ ...base, nowMs: at('10:00'), remaining: 4 })).toBe(Infinity);
  });

  it('before 09:00 KST an exhausted quota waits for the reset instead of stopping for the day', () => {
    expect(snapshotWait({ ...base, nowMs: at('08:30'), remaining: 0 })).toBe(30 * 60_000 + 1_000);
    // A little left: spread it over the half hour up to the reset.
    expect(snapshotWait({ ...base, nowMs: at('08:30'), remaining: 12 })).toBe(10 * 60_000);
    expect(nextQuotaReset(at('08:30'))).toBe(at('09:00'));
  });
});
