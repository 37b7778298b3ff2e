// The watchlist detail feed against the simulator over real sockets: a watchlist of more than 200
// (symbol, preset) pairs is sharded over several /ws sessions and every pair is captured into
// `quotes` / `order_books`; a dropped session re-subscribes; /metrics shows the batch latency.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, withEndpoints } from '../collector/config.js';
import { detailStreams } from '../collector/detail.js';
import { CollectorMetrics } from '../collector/metrics.js';
import { formatReport } from '../collector/report.js';
import { runSession, type SessionResult } from '../collector/session.js';
import type { ConnectionEvent } from '../collector/socket.js';
import { type Exchange, startExchange } from '../sim/exchange.js';
import { nowNs } from '../capture/recv-clock.js';
import { Tape } from '../followers/tape.js';
import { FAST_ENV, log, tempRoot } from './collector-capture.js';

const tmp = tempRoot('detail');
afterAll(() => tmp.remove());

const symbolsOf = (exchange: Exchange, market: 'kospi' | 'kosdaq') => exchange.market.issues.filter((i) => i.market === market).map((i) => i.symbol);

describe('watchlist configuration', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ env });
      return [];
    } catch (e) {
      return (e as ConfigError).problems;
    }
  };

  it('is off by default, reads market:symbol pairs and defaults to tick10', () => {
    expect(loadConfig({ env: {} }).watchlist).toEqual([]);
    const c = loadConfig({ env: { TICKTAPE_WATCHLIST: 'kospi:005930, kosdaq:035720,kospi:005930' } });
    expect(c.watchlist).toEqual([{ market: 'kospi', symbol: '005930' }, { market: 'kosdaq', symbol: '035720' }]);
    expect(c.watchlistPresets).toEqual(['tick10']);
    expect(loadConfig({ env: { TICKTAPE_WATCHLIST_PRESETS: 'quote10,tick10' } }).watchlistPresets).toEqual(['quote10', 'tick10']);
  });

  it('rejects bad entries naming the variable and what was expected', () => {
    const [bare] = problems({ TICKTAPE_WATCHLIST: '005930' });
    expect(bare).toMatch(/^TICKTAPE_WATCHLIST: expected market:symbol pairs such as kospi:005930/);
    expect(problems({ TICKTAPE_WATCHLIST: 'nyse:005930' })[0]).toMatch(/^TICKTAPE_WATCHLIST:/);
    expect(problems({ TICKTAPE_WATCHLIST_PRESETS: 'tick' })[0]).toMatch(/^TICKTAPE_WATCHLIST_PRESETS: expected presets from: tick10, quote10/);
    expect(problems({ TICKTAPE_WATCHLIST_PRESETS: ',' })[0]).toMatch(/^TICKTAPE_WATCHLIST_PRESETS: expected at least one preset/);
  });
});

describe('watchlist detail feed in a session', () => {
  const dataDir = join(tmp.root, 'session');
  let exchange: Exchange;
  let result: SessionResult;
  let kospi: string[];
  let kosdaq: string[];
  let scraped = '';

  beforeAll(async () => {
    // The exchange refuses a second /ws session, as Koscom's "one session" may mean.
    exchange = await startExchange({ dayLengthMs: 4_000, preOpenMs: 2_000, kospiSymbols: 110, kosdaqSymbols: 20, tradesPerDay: 6_000, seed: 11, faults: { wsSingleSession: true } });
    try {
      kospi = symbolsOf(exchange, 'kospi').slice(0, 95);
      kosdaq = symbolsOf(exchange, 'kosdaq').slice(0, 5);
      const watchlist = [...kospi.map((s) => `kospi:${s}`), ...kosdaq.map((s) => `kosdaq:${s}`)].join(',');
      const env = { ...FAST_ENV, TICKTAPE_DATA_DIR: dataDir, TICKTAPE_WATCHLIST: watchlist, TICKTAPE_WATCHLIST_PRESETS: 'tick10,quote10' };
      const config = withEndpoints(loadConfig({ env }), exchange);
      const metrics = new CollectorMetrics();
      const server = await metrics.serve(0, log);
      try {
        result = await runSession({ config, log, day: exchange.day, times: { closeAt: exchange.closeAt + 300, streamEnd: exchange.closeAt + 800 }, marketClosed: exchange.sessionEnded, onLive: (live) => metrics.attach(live) });
        scraped = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      } finally {
        await server.close();
      }
    } finally {
      await exchange.close();
    }
  }, 30_000);

  it('holds all 200 (symbol, preset) pairs of both markets in one session and captures every pair under its market', () => {
    expect(result.status).toBe('complete');
    expect(result.problems).toEqual([]);
    const details = result.streams.filter((s) => s.name.startsWith('koscom.detail'));
    expect(details.map((s) => s.name)).toEqual(['koscom.detail']);
    expect(details[0]).toMatchObject({ connects: 1, reconnects: 0, refusals: 0 });
    expect(exchange.stats.refusedSessions).toBe(0);
    const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    try {
      const pairs = (table: string) => new Set((db.prepare(`SELECT DISTINCT market || ':' || symbol AS k FROM ${table} WHERE day = ?`).pluck().all(exchange.day) as string[]));
      const expected = new Set([...kospi.map((s) => `kospi:${s}`), ...kosdaq.map((s) => `kosdaq:${s}`)]);
      expect(pairs('quotes')).toEqual(expected);
      expect(pairs('order_books')).toEqual(expected);
      const book = db.prepare('SELECT ask1_price, bid1_price, ask10_price, ask_total FROM order_books WHERE day = ? LIMIT 1').get(exchange.day) as Record<string, number>;
      expect(book.ask1_price).toBeGreaterThan(book.bid1_price);
      expect(book.ask10_price).toBeGreaterThan(book.ask1_price);
      expect(book.ask_total).toBeGreaterThan(0);
      expect(db.prepare("SELECT count(*) FROM quarantine WHERE source LIKE 'koscom.detail.%'").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('shows the detail channels in the session report', () => {
    const channel = result.channels.find((c) => c.name === 'koscom.detail.kosdaq')!;
    expect(channel.rows).toBeGreaterThanOrEqual(10);
    const report = formatReport(result);
    expect(report).toMatch(/koscom\.detail\.kospi\s+[\d,]+\s+\S+ \S+\s+[1-9]/);
    expect(report).toMatch(/koscom\.detail\.kosdaq/);
  });

  it('publishes the batch write time as the ticktape_batch_seconds histogram', () => {
    expect(scraped).toMatch(/# TYPE ticktape_batch_seconds histogram/);
    // One series per store: both write batches behind the journal.
    for (const store of ['sqlite', 'arrow']) {
      expect(scraped).toMatch(new RegExp(`ticktape_batch_seconds_bucket\\{[^}]*le="\\+Inf"[^}]*store="${store}"[^}]*\\} [1-9]|ticktape_batch_seconds_bucket\\{[^}]*store="${store}"[^}]*le="\\+Inf"[^}]*\\} [1-9]`));
      expect(scraped).toMatch(new RegExp(`ticktape_batch_seconds_count\\{store="${store}"\\} [1-9]`));
    }
  });
});

describe('the per-session subscription limit', () => {
  it('subscribes the first 200 pairs in watchlist order, keeping a symbol\'s presets together, and reports the rest', async () => {
    const symbols = Array.from({ length: 105 }, (_, i) => `${i % 2 === 0 ? 'kospi' : 'kosdaq'}:${String(100_000 + i)}`);
    const config = loadConfig({ env: { TICKTAPE_KOSCOM_API_KEY: 'l7xx-test', TICKTAPE_KOSCOM_WS_URL: 'ws://127.0.0.1:9', TICKTAPE_WATCHLIST: symbols.join(','), TICKTAPE_WATCHLIST_PRESETS: 'tick10,quote10' } });
    const tape = await Tape.open({ dataDir: join(tmp.root, 'limit'), day: '2026-03-03', log, arrow: false });
    const streams = detailStreams(config, tape, log);
    await tape.close();
    expect(streams).toHaveLength(1);
    expect(streams[0].subscriptions).toHaveLength(200);
    expect(streams[0].subscriptions.at(-1)).toEqual({ market: 'kosdaq', symbol: '100099', preset: 'quote10' });
    const left = streams[0].rejectedSubscriptions();
    expect(left).toHaveLength(10);
    expect(left[0]).toEqual({ symbol: '100100', preset: 'tick10', reason: 'not subscribed: past the 200 subscriptions one /ws session may hold' });
  });
});

describe('detail session reconnect', () => {
  it('re-inits and re-subscribes every pair after the exchange drops the session', async () => {
    const exchange = await startExchange({ dayLengthMs: 60_000, preOpenMs: 1_000, kospiSymbols: 30, kosdaqSymbols: 5, tradesPerDay: 2_000, seed: 5 });
    try {
      const symbols = symbolsOf(exchange, 'kospi').slice(0, 12);
      const env = { ...FAST_ENV, TICKTAPE_WATCHLIST: symbols.map((s) => `kospi:${s}`).join(','), TICKTAPE_WATCHLIST_PRESETS: 'quote10' };
      const config = withEndpoints(loadConfig({ env }), exchange);
      const dataDir = join(tmp.root, 'reconnect');
      const tape = await Tape.open({ dataDir, day: exchange.day, log, arrow: false, batchMs: 20 });
      let reconnectedNs = 0n;
      const onEvent = (_s: string, e: ConnectionEvent) => {
        if (e.type === 'reconnected' && reconnectedNs === 0n) {
          reconnectedNs = nowNs();
          exchange.faults.closeEveryMs = 0;
        }
      };
      const [stream, ...more] = detailStreams(config, tape, log, onEvent);
      expect(more).toHaveLength(0);
      stream.start();
      const deadline = Date.now() + 10_000;
      while (stream.stats().connects === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      exchange.faults.closeEveryMs = 300;
      while (reconnectedNs === 0n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 500));
      await stream.stop();
      await tape.close();
      expect(stream.stats().reconnects).toBeGreaterThanOrEqual(1);
      const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
      try {
        // Pushes only come for subscribed pairs, and the server forgot them all with the old session.
        const after = db.prepare('SELECT DISTINCT symbol FROM order_books WHERE recv_ns > ?').pluck().all(reconnectedNs) as string[];
        expect(new Set(after)).toEqual(new Set(symbols));
      } finally {
        db.close();
      }
    } finally {
      await exchange.close();
    }
  }, 20_000);
});
