// The history tier, each figure beside a same-run baseline:
// - bytes per trade at rest for a compacted day after retention (Parquet history + compressed
//   journal), against the three full copies a day keeps before it (journal + SQLite + Arrow);
// - the journal codec: Brotli quality 5 (the archive's) against gzip -6 on the same journal;
// - compaction rate against `ticktape export --format parquet` of the same day;
// - range replay at speed max across day boundaries from Parquet, against one day's replay from it;
// - `ticktape query` over 20 days of 20 M trades each: one symbol's trades (warm), and a
//   whole-market 1-minute VWAP from bars_1m, against the same VWAP computed from the trades.
// Stores:
// - D synthetic days (TICKTAPE_BENCH_HISTORY_DAYS, default 3) through the real path (sim/write-day.ts
//   → journal → tape → SQLite + Arrow, sealed, compacted): the market's real rate (20 M trades a
//   day: frames of ~40 trades, as captured) over the session's first TICKTAPE_BENCH_HISTORY_MINUTES
//   (default 20) minutes — a quiet 1 M-trade day would put 2 trades in a frame and measure frame
//   envelopes, not trades. The newest day (2 minutes) stays in SQLite and Arrow.
// - the query store: Q days (TICKTAPE_BENCH_QUERY_DAYS, default 20) of TICKTAPE_BENCH_QUERY_DAY_TRADES
//   (default 20 M) trades written straight into the history tier (bench/history-days.ts, in
//   compaction's layout), TICKTAPE_BENCH_QUERY_DISTINCT (default 2) of them generated and the rest
//   hard links; kept in TICKTAPE_BENCH_QUERY_DIR (default <tmp>/ticktape-bench-query-…) for the
//   next run.
// Run alone: `npm run build && node dist/bench/phase.js history`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { pino } from 'pino';
import { replay } from '../replay/index.js';
import { writeSyntheticDay } from '../sim/write-day.js';
import { compactDay } from '../storage/compact.js';
import { bytesUnder } from '../storage/days.js';
import { exportDay } from '../storage/export-dataset.js';
import { historyDayDir, historyFile } from '../storage/history-format.js';
import { OPEN_MS } from '../sim/session.js';
import { writeHistoryDays } from './history-days.js';
import { dayJournalFiles } from '../storage/journal-archive.js';
import { openStoreQuery, queryStore as queryStore_ } from '../storage/query.js';
import { applyRetention } from '../storage/retain.js';
import { databasePath } from '../storage/reader.js';
import { Tape } from '../followers/tape.js';
import { envCount, type Figure } from './figures.js';

const log = pino({ level: 'silent' });

/** Trading days from 2026-11-02 on, Monday to Friday. */
function weekdays(n: number): string[] {
  const out: string[] = [];
  for (let t = Date.parse('2026-11-02T00:00:00Z'); out.length < n; t += 86_400_000) if (![0, 6].includes(new Date(t).getUTCDay())) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - started) / 1000 };
}

/** The 11th symbol of a query-store day, in code order, and its trades that day. */
async function pickSymbol(dataDir: string, day: string): Promise<{ symbol: string; symbolTrades: number }> {
  const r = await queryStore_(dataDir, `SELECT symbol, count(*) FROM trades WHERE day = '${day}' GROUP BY symbol ORDER BY symbol LIMIT 1 OFFSET 10`);
  return { symbol: String(r.rows[0][0]), symbolTrades: Number(r.rows[0][1]) };
}

async function replayRate(dataDir: string, range: { day?: string; fromDay?: string; toDay?: string }): Promise<number> {
  const { value: events, seconds } = await timed(async () => {
    let n = 0;
    for await (const e of replay({ dataDir, ...range, channels: ['trades'], speed: 'max' })) if (e.type === 'trade') n++;
    return n;
  });
  return events / seconds;
}

/** The query store, built once (a `ready` file marks it complete) and kept for later runs. */
async function queryStore(days: number, perDay: number, distinct: number): Promise<{ dir: string; names: string[]; trades: number[] }> {
  const dir = process.env.TICKTAPE_BENCH_QUERY_DIR ?? path.join(os.tmpdir(), `ticktape-bench-query-v4-${days}x${perDay}-${distinct}`);
  const names = weekdays(days + 30).slice(30);
  const ready = path.join(dir, 'ready.json');
  if (fs.existsSync(ready)) return { dir, names, trades: JSON.parse(fs.readFileSync(ready, 'utf8')) as number[] };
  fs.rmSync(dir, { recursive: true, force: true });
  const trades = await writeHistoryDays(dir, names, Math.min(distinct, days), perDay);
  fs.writeFileSync(ready, JSON.stringify(trades));
  return { dir, names, trades };
}

export async function run(): Promise<Figure[]> {
  const days = weekdays(Math.max(3, envCount('TICKTAPE_BENCH_HISTORY_DAYS', 3)));
  const minutes = envCount('TICKTAPE_BENCH_HISTORY_MINUTES', 20);
  const rate = envCount('TICKTAPE_BENCH_HISTORY_DAY_RATE', 20_000_000);
  const queryDays = envCount('TICKTAPE_BENCH_QUERY_DAYS', 20);
  const queryPerDay = envCount('TICKTAPE_BENCH_QUERY_DAY_TRADES', 20_000_000);
  const distinct = envCount('TICKTAPE_BENCH_QUERY_DISTINCT', 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-history-'));
  try {
    for (const [i, day] of days.entries()) {
      const last = i === days.length - 1;
      writeSyntheticDay({ dataDir: dir, day, seed: 7, tradesPerDay: Math.round(rate * (1 + i * 0.05)), untilMs: OPEN_MS + (last ? 2 : minutes) * 60_000 });
      const tape = await Tape.open({ dataDir: dir, day, log, walCheckpointMs: 0, fsync: 'off' });
      await tape.sealDay();
      await tape.close();
    }
    const day0 = days[0];
    const journal0 = dayJournalFiles(dir, day0)[0];
    const raw = fs.readFileSync(journal0);
    const gzipBytes = zlib.gzipSync(raw, { level: 6 }).length;
    const brotliBytes = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_LGWIN]: 24, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } }).length;
    // Before compaction: the journals, the SQLite file (all days) and the Arrow parts.
    const fullBytes = days.reduce((n, d) => n + bytesUnder(dayJournalFiles(dir, d)[0]) + bytesUnder(path.join(dir, 'arrow', `day=${d}`)), 0) + bytesUnder(databasePath(dir));

    const exported = await timed(() => exportDay({ dataDir: dir, day: day0, outDir: path.join(dir, 'export'), format: 'parquet', source: 'sqlite', log }));
    let compactSeconds = 0;
    let trades = 0;
    const tradesOf: Record<string, number> = {};
    for (const day of days) {
      const c = await timed(() => compactDay(dir, day, log));
      compactSeconds += c.seconds;
      tradesOf[day] = c.value.manifest.channels.find((x) => x.channel === 'trades')!.rows;
      trades += tradesOf[day];
    }
    const compactRate = trades / compactSeconds;
    const exportRate = tradesOf[day0] / exported.seconds;
    await applyRetention(dir, { sqliteDays: 1, arrowDays: 1, parquetDays: 0, journalDays: 0 }, log);
    const restBytes = days.slice(0, -1).reduce((n, d) => n + bytesUnder(historyDayDir(dir, d)) + bytesUnder(dayJournalFiles(dir, d)[0]), 0);
    const restTrades = days.slice(0, -1).reduce((n, d) => n + tradesOf[d], 0);
    const restJournal = days.slice(0, -1).reduce((n, d) => n + bytesUnder(dayJournalFiles(dir, d)[0]), 0);
    const restTradesFile = days.slice(0, -1).reduce((n, d) => n + bytesUnder(historyFile(dir, d, 'trades')), 0);

    // Range replay across day boundaries (the older days now come from the Parquet history).
    const older = days.slice(0, -1);
    const rangeRate = await replayRate(dir, { fromDay: older[0], toDay: older[older.length - 1] });
    const oneDayRate = await replayRate(dir, { day: older[0] });

    // The query store; the symbol: the 11th in code order (as a user names one, a literal).
    const qs = await queryStore(queryDays, queryPerDay, distinct);
    const { symbol, symbolTrades } = await pickSymbol(qs.dir, qs.names[0]);
    const symbolSql = `SELECT count(*), sum(qty) FROM trades WHERE symbol = '${symbol}'`;
    const vwapSql = 'SELECT count(*) FROM (SELECT day, minute, symbol, vwap FROM bars_1m)';
    const vwapBaseSql = "SELECT count(*) FROM (SELECT day, date_trunc('minute', coalesce(exch_ts, recv_ns)) AS minute, symbol, sum(price * qty)::DOUBLE / sum(qty) AS vwap FROM trades GROUP BY ALL)";
    const q = await openStoreQuery(qs.dir, `${symbolSql} ${vwapSql} ${vwapBaseSql}`);
    // Warm: after one run, the best of three (the machine is shared; the best is the query's own cost).
    const warm = async (sql: string) => {
      await q.con.run(sql);
      let best = Infinity;
      for (let i = 0; i < 3; i++) best = Math.min(best, (await timed(() => q.con.run(sql))).seconds * 1000);
      return best;
    };
    let symbolMs: number;
    let fullScanMs: number;
    let vwapMs: number;
    let vwapBaseMs: number;
    try {
      symbolMs = await warm(symbolSql);
      fullScanMs = await warm('SELECT count(*), sum(qty) FROM trades');
      vwapMs = await warm(vwapSql);
      // Minutes over every trade: run once (the files are in the page cache by now).
      vwapBaseMs = (await timed(() => q.con.run(vwapBaseSql))).seconds * 1000;
    } finally {
      q.close();
    }
    const queryTrades = qs.trades.reduce((n, t) => n + t, 0);
    const store = `${queryDays} days, ${(queryTrades / 1e6).toFixed(0)} M trades`;
    return [
      { name: 'bytes per trade at rest, compacted day (Parquet history + compressed journal)', value: restBytes / restTrades, unit: 'B', higherIsBetter: false, baseline: { name: 'journal + SQLite + Arrow, before compaction', value: fullBytes / trades }, note: `days at ${rate / 1e6} M trades a day, the session's first ${minutes} min; journal ${(restJournal / restTrades).toFixed(1)} B, trades file ${(restTradesFile / restTrades).toFixed(1)} B, other channels and bars the rest` },
      { name: 'journal archive, Brotli q5', value: brotliBytes / tradesOf[day0], unit: 'B/trade', higherIsBetter: false, baseline: { name: 'gzip -6', value: gzipBytes / tradesOf[day0] }, note: `raw ${(raw.length / tradesOf[day0]).toFixed(1)} B/trade` },
      { name: 'compaction (all channels, bars, journal, read-back checks)', value: compactRate, unit: 'trades/s', baseline: { name: 'ticktape export --format parquet, same day', value: exportRate } },
      { name: `query: one symbol's trades (${store}; ${symbol}: ${symbolTrades} trades a day), warm (best of 3)`, value: symbolMs, unit: 'ms', higherIsBetter: false, baseline: { name: 'count + sum over every trade', value: fullScanMs }, note: `${Math.min(distinct, queryDays)} synthetic days written in compaction's layout, hard-linked under ${queryDays} day names` },
      { name: `query: whole-market 1-minute VWAP from bars_1m (${store}), warm (best of 3)`, value: vwapMs, unit: 'ms', higherIsBetter: false, baseline: { name: 'the same from the trades', value: vwapBaseMs } },
      { name: `range replay, speed max, ${older.length} days across boundaries (Parquet, ${(restTrades / 1e6).toFixed(1)} M trades)`, value: rangeRate, unit: 'events/s', baseline: { name: 'one day, same tier', value: oneDayRate } },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
