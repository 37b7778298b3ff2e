// koscom.md §7 leaves open whether trdVol is the trade's quantity or the symbol's cumulative
// volume. Real sessions against the simulator sending it each way: every trade is stored with its
// own quantity (against the simulator's truth, trade by trade), trdVol is kept as sent, the reading
// is recorded per day and market, and a restart or a rebuild derives the same quantities.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, withEndpoints } from '../collector/config.js';
import { runSession } from '../collector/session.js';
import { gatherDayReport } from '../report/day.js';
import { renderDayReport } from '../report/page.js';
import { rebuildDay } from '../followers/rebuild.js';
import { SERVED_STREAMS, startReplayServer } from '../replay/serve.js';
import { startExchange } from '../sim/exchange.js';
import type { TruthSignal, TruthTrade } from '../sim/truth.js';
import { captureDay, FAST_ENV, log, tempRoot } from './collector-capture.js';

const tmp = tempRoot('trade-quantity');
afterAll(() => tmp.remove());

/** Each symbol's regular trades' quantities in the order they were received. */
function storedQuantities(db: Database.Database, day: string): Map<string, number[]> {
  const rows = db.prepare("SELECT symbol, qty FROM trades WHERE day = ? AND kind = 'regular' ORDER BY market, src_seq, src_idx").all(day) as { symbol: string; qty: number }[];
  const out = new Map<string, number[]>();
  for (const r of rows) out.set(r.symbol, [...(out.get(r.symbol) ?? []), r.qty]);
  return out;
}

function truthQuantities(truth: readonly TruthTrade[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const t of truth) if (t.sent) out.set(t.symbol, [...(out.get(t.symbol) ?? []), t.qty]);
  return out;
}

function marketModes(db: Database.Database, day: string): { market: string; mode: string }[] {
  return db.prepare("SELECT market, mode FROM trade_modes WHERE day = ? AND symbol = '' ORDER BY market").all(day) as { market: string; mode: string }[];
}

describe('trdVol per trade or cumulative', () => {
  it('under a cumulative trdVol stores every trade with its own quantity, trdVol as sent, and records both markets cumulative', async () => {
    // Block trades too: they carry their own quantity and must not disturb the cumulative series.
    const { exchange, result, db, truth } = await captureDay(join(tmp.root, 'cumulative'), { cumulativeTrdVol: true, signalCodes: true }, {}, undefined, 50_000, { dayLengthMs: 3_000 });
    expect(result.status).toBe('complete');
    expect(storedQuantities(db, exchange.day)).toEqual(truthQuantities(truth));
    expect(marketModes(db, exchange.day)).toEqual([
      { market: 'kosdaq', mode: 'cumulative' },
      { market: 'kospi', mode: 'cumulative' },
    ]);
    // trd_vol is the cumulative volume as sent: each symbol's last value is the sum of its quantities.
    const perSymbol = db.prepare("SELECT symbol, max(trd_vol) AS last, sum(qty) AS qty, sum(qty <> trd_vol) AS derived FROM trades WHERE kind = 'regular' GROUP BY symbol").all() as { last: number; qty: number; derived: number }[];
    for (const s of perSymbol) expect(s.last).toBe(s.qty);
    expect(perSymbol.reduce((n, s) => n + s.derived, 0)).toBeGreaterThan(0);
    // Block trades keep their own quantity, as sent.
    const blocks = exchange.truth().filter((r): r is TruthSignal => r.ch === 'signal' && r.sent && r.qty > 0);
    expect(blocks.length).toBeGreaterThan(0);
    expect(db.prepare("SELECT market, symbol, qty FROM trades WHERE kind <> 'regular' ORDER BY market, symbol, qty").all()).toEqual(
      blocks.map((b) => ({ market: b.market, symbol: b.symbol, qty: b.qty })).sort((x, y) => x.market.localeCompare(y.market) || x.symbol.localeCompare(y.symbol) || x.qty - y.qty),
    );
    for (const r of result.reconciliation) expect(r).toMatchObject({ mode: 'cumulative', missing: 0, excess: 0, coveragePct: 100 });
    db.close();
    // The day report counts the derived quantities and says how trdVol was read.
    const report = await gatherDayReport({ dataDir: join(tmp.root, 'cumulative'), day: exchange.day, log });
    expect(report.totals.volume).toBe(truth.reduce((v, t) => v + t.qty, 0) + blocks.reduce((v, b) => v + b.qty, 0));
    expect(report.trdVol.map((m) => `${m.market} ${m.mode}`)).toEqual(['kosdaq cumulative', 'kospi cumulative']);
    expect(renderDayReport(report)).toMatch(/trdVol read as kosdaq <b>cumulative<\/b> \(30 rising trdVol pairs in a row\)/);
  });

  it('reads a market with no evidence by the end of a capture per-trade, at the end that capture journals: a later session and a rebuild keep that reading', async () => {
    // A cumulative feed with too few trades for 30 rising pairs: nothing decides until the capture ends …
    const dataDir = join(tmp.root, 'no-evidence');
    const first = await captureDay(dataDir, { cumulativeTrdVol: true }, {}, undefined, 50_000, { dayLengthMs: 2_000, kospiSymbols: 60, kosdaqSymbols: 60, tradesPerDay: 40 });
    expect(first.result.status).toBe('complete');
    first.db.close();
    // … and a second session of the same day brings the evidence (cumulative) too late to change it.
    const second = await captureDay(dataDir, { cumulativeTrdVol: true }, {}, undefined, 50_000, { dayLengthMs: 2_000, date: first.exchange.day, seed: 8 });
    const rows = (d: Database.Database) => d.prepare('SELECT market, src_seq, src_idx, qty, trd_vol FROM trades ORDER BY market, src_seq, src_idx').all();
    const modes = (d: Database.Database) => d.prepare('SELECT market, symbol, mode, basis, src_seq FROM trade_modes ORDER BY market, symbol').all();
    const live = { rows: rows(second.db), modes: modes(second.db) };
    second.db.close();
    // Both sessions' trades are there (the second's thousands beside the first's few).
    expect(live.rows.length).toBeGreaterThan(first.truth.length + second.truth.length / 2);
    expect(live.modes).toEqual(['kosdaq', 'kospi'].map((market) => ({ market, symbol: '', mode: 'per-trade', basis: 'no evidence before the capture or the store stopped (default)', src_seq: -1 })));
    // A rebuild reads the whole journal, the second session's evidence included: the first capture's end still decides.
    await rebuildDay({ dataDir, day: first.exchange.day, log });
    const rebuilt = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    expect({ rows: rows(rebuilt), modes: modes(rebuilt) }).toEqual(live);
    rebuilt.close();
  });

  it('replays a cumulative day with block trades in the vendor’s frames: captured again, every trdVol, quantity and kind is the same', async () => {
    const first = await captureDay(join(tmp.root, 'replay-a'), { cumulativeTrdVol: true, signalCodes: true }, {}, undefined, 50_000, { dayLengthMs: 2_000 });
    first.db.close();
    // From the Arrow store: serve re-encodes each stored trade (its trdVol as recorded, a block trade's trdTm code).
    const server = await startReplayServer({ dataDir: first.dataDir, day: first.exchange.day, source: 'arrow', speed: 'max', port: 0, logger: log, waitFor: SERVED_STREAMS, startTimeoutMs: 20_000 });
    const dataDir = join(tmp.root, 'replay-b');
    try {
      const http = server.url;
      const ws = http.replace('http:', 'ws:');
      const env = { ...FAST_ENV, TICKTAPE_DATA_DIR: dataDir, TICKTAPE_KOSCOM_API_KEY: 'l7xx-replay-not-a-secret', TICKTAPE_KOSCOM_REST_URL: http, TICKTAPE_KOSCOM_WS_URL: ws, TICKTAPE_LS_APP_KEY: 'replay', TICKTAPE_LS_APP_SECRET: 'replay', TICKTAPE_LS_REST_URL: http, TICKTAPE_LS_WS_URL: ws };
      const played = new AbortController();
      void server.done.then(() => setTimeout(() => played.abort(), 1_000));
      await runSession({ config: loadConfig({ env }), log, day: first.exchange.day, times: { streamEnd: Date.now() + 60_000 }, signal: played.signal });
    } finally {
      await server.close();
    }
    // A block trade's exch_ts is its receive time: the one column a second capture cannot share.
    const trades = (dir: string) => {
      const db = new Database(join(dir, 'ticktape.db'), { readonly: true });
      const rows = db.prepare("SELECT market, symbol, CASE kind WHEN 'regular' THEN exch_ts END AS exch_ts, price, qty, trd_vol, kind, src_seq, src_idx FROM trades ORDER BY market, src_seq, src_idx").all();
      const modes = marketModes(db, first.exchange.day);
      db.close();
      return { rows, modes };
    };
    const a = trades(first.dataDir);
    const b = trades(dataDir);
    expect(a.rows.length).toBeGreaterThan(1000);
    expect(b.rows).toEqual(a.rows);
    expect(b.modes).toEqual(a.modes);
  });

  it('under a per-trade trdVol (the default) stores trdVol as the quantity and records both markets per-trade', async () => {
    const { exchange, result, db, truth } = await captureDay(join(tmp.root, 'per-trade'), {}, {}, undefined, 50_000, { dayLengthMs: 3_000 });
    expect(result.status).toBe('complete');
    expect(storedQuantities(db, exchange.day)).toEqual(truthQuantities(truth));
    expect(marketModes(db, exchange.day)).toEqual([
      { market: 'kosdaq', mode: 'per-trade' },
      { market: 'kospi', mode: 'per-trade' },
    ]);
    expect(db.prepare('SELECT count(*) FROM trades WHERE qty <> trd_vol').pluck().get()).toBe(0);
    for (const r of result.reconciliation) expect(r).toMatchObject({ mode: 'per-trade', missing: 0, excess: 0, coveragePct: 100 });
    db.close();
  });

  it('derives the same quantities after a restart mid-day and after a rebuild, under a cumulative trdVol', async () => {
    const dataDir = join(tmp.root, 'restart');
    const exchange = await startExchange({ dayLengthMs: 4_000, preOpenMs: 2_000, kospiSymbols: 25, kosdaqSymbols: 35, tradesPerDay: 12_000, faults: { cumulativeTrdVol: true }, seed: 11 });
    const rows = (db: Database.Database) => db.prepare('SELECT market, src_seq, src_idx, symbol, qty, trd_vol, kind FROM trades ORDER BY market, src_seq, src_idx').all();
    let frames: number;
    try {
      const config = withEndpoints(loadConfig({ env: { ...FAST_ENV, TICKTAPE_DATA_DIR: dataDir } }), exchange);
      // The first session ends mid-day; the second resumes the day's journal and stores.
      const mid = exchange.openAt + 1_500;
      const first = await runSession({ config, log, day: exchange.day, times: { closeAt: mid, streamEnd: mid } });
      expect(first.status).not.toBe('failed');
      const db1 = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
      frames = db1.prepare("SELECT max(src_seq) FROM trades WHERE market = 'kospi'").pluck().get() as number;
      db1.close();
      const second = await runSession({ config, log, day: exchange.day, times: { closeAt: exchange.closeAt + 500, streamEnd: exchange.closeAt + 1_500 }, marketClosed: exchange.sessionEnded });
      expect(second.status).not.toBe('failed');
      for (const r of second.reconciliation) expect(r.mode).toBe('cumulative');
    } finally {
      await exchange.close();
    }
    const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    const live = rows(db);
    const liveModes = marketModes(db, exchange.day);
    // The second session stored trades past the first's, read cumulatively (differences of trdVol).
    expect(db.prepare("SELECT count(*) FROM trades WHERE market = 'kospi' AND src_seq > ? AND qty <> trd_vol").pluck().get(frames)).toBeGreaterThan(0);
    for (const s of db.prepare("SELECT max(trd_vol) AS last, sum(qty) AS qty FROM trades GROUP BY symbol").all() as { last: number; qty: number }[]) expect(s.qty).toBe(s.last);
    db.close();
    expect(liveModes).toEqual([
      { market: 'kosdaq', mode: 'cumulative' },
      { market: 'kospi', mode: 'cumulative' },
    ]);

    await rebuildDay({ dataDir, day: exchange.day, log });
    const rebuilt = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    expect(rows(rebuilt)).toEqual(live);
    expect(marketModes(rebuilt, exchange.day)).toEqual(liveModes);
    rebuilt.close();
  });
});
