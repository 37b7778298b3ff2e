// The history tier, each figure beside a same-run baseline:
// - bytes per trade at rest for a compacted day after retention (Parquet history + compressed
//   journal), against the three full copies a day keeps before it (journal + SQLite + Arrow);
// - the journal codec: Brotli quality 5 (the archive's) against gzip -6 on the same journal;
// - compaction rate against `ticktape export --format parquet` of the same day;
// - `ticktape query`: one symbol's trades over Q days (warm), and a whole-market 1-minute VWAP from
//   bars_1m, against the same VWAP computed from the trades;
// - range replay at speed max across day boundaries, against one day's replay from the same tier.
// Stores: D distinct synthetic days (sim/write-day.ts → journal → tape → SQLite + Arrow, sealed),
// TICKTAPE_BENCH_HISTORY_DAYS (default 3) × TICKTAPE_BENCH_HISTORY_DAY_TRADES (default 1 M; small days are dominated by the fixed per-day snapshots, flows and detail pushes);
// the query store copies their history partitions under Q day names (TICKTAPE_BENCH_QUERY_DAYS,
// default 20): Parquet files hold no day column, so a copy is a full day to DuckDB.
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
import { historyDayDir, manifestPath, readManifest, writeManifest } from '../storage/history-format.js';
import { dayJournalFiles } from '../storage/journal-archive.js';
import { openStoreQuery } from '../storage/query.js';
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

async function replayRate(dataDir: string, range: { day?: string; fromDay?: string; toDay?: string }): Promise<number> {
  const { value: events, seconds } = await timed(async () => {
    let n = 0;
    for await (const e of replay({ dataDir, ...range, channels: ['trades'], speed: 'max' })) if (e.type === 'trade') n++;
    return n;
  });
  return events / seconds;
}

export async function run(): Promise<Figure[]> {
  // At least two: the newest stays in SQLite and Arrow, the older ones are measured compacted.
  const days = weekdays(Math.max(2, envCount('TICKTAPE_BENCH_HISTORY_DAYS', 3)));
  const perDay = envCount('TICKTAPE_BENCH_HISTORY_DAY_TRADES', 1_000_000);
  const queryDays = envCount('TICKTAPE_BENCH_QUERY_DAYS', 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-history-'));
  const queryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-query-'));
  try {
    for (const [i, day] of days.entries()) {
      writeSyntheticDay({ dataDir: dir, day, seed: 7, tradesPerDay: Math.round(perDay * (1 + i * 0.05)) });
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

    // Range replay across day boundaries (the older days now come from the Parquet history).
    const older = days.slice(0, -1);
    const rangeRate = await replayRate(dir, { fromDay: older[0], toDay: older[older.length - 1] });
    const oneDayRate = await replayRate(dir, { day: older[0] });

    // The query store: the compacted days' partitions copied under `queryDays` day names.
    const names = weekdays(queryDays + 30).slice(30);
    for (const [i, name] of names.entries()) {
      const src = days[i % (days.length - 1)];
      fs.cpSync(historyDayDir(dir, src), historyDayDir(queryDir, name), { recursive: true });
      const m = readManifest(dir, src)!;
      fs.rmSync(manifestPath(queryDir, name));
      writeManifest(queryDir, { ...m, day: name });
    }
    const symbolSql = "SELECT count(*), sum(qty) FROM trades WHERE symbol = (SELECT symbol FROM symbols LIMIT 1 OFFSET 10)";
    const vwapSql = 'SELECT count(*) FROM (SELECT day, minute, symbol, vwap FROM bars_1m)';
    const vwapBaseSql = "SELECT count(*) FROM (SELECT day, date_trunc('minute', coalesce(exch_ts, recv_ns)) AS minute, symbol, sum(price * qty)::DOUBLE / sum(qty) AS vwap FROM trades GROUP BY ALL)";
    const q = await openStoreQuery(queryDir, `${symbolSql} ${vwapSql} ${vwapBaseSql}`);
    const warm = async (sql: string) => {
      await q.con.run(sql);
      return (await timed(() => q.con.run(sql))).seconds * 1000;
    };
    let symbolMs: number;
    let fullScanMs: number;
    let vwapMs: number;
    let vwapBaseMs: number;
    try {
      symbolMs = await warm(symbolSql);
      fullScanMs = await warm('SELECT count(*), sum(qty) FROM trades');
      vwapMs = await warm(vwapSql);
      vwapBaseMs = await warm(vwapBaseSql);
    } finally {
      q.close();
    }
    const queryTrades = names.reduce((n, _, i) => n + tradesOf[days[i % (days.length - 1)]], 0);
    const store = `${queryDays} days, ${(queryTrades / 1e6).toFixed(1)} M trades`;
    return [
      { name: 'bytes per trade at rest, compacted day (Parquet history + compressed journal)', value: restBytes / restTrades, unit: 'B', higherIsBetter: false, baseline: { name: 'journal + SQLite + Arrow, before compaction', value: fullBytes / trades } },
      { name: 'journal archive, Brotli q5', value: brotliBytes / tradesOf[day0], unit: 'B/trade', higherIsBetter: false, baseline: { name: 'gzip -6', value: gzipBytes / tradesOf[day0] }, note: `raw ${(raw.length / tradesOf[day0]).toFixed(1)} B/trade` },
      { name: 'compaction (all channels, bars, journal, read-back checks)', value: compactRate, unit: 'trades/s', baseline: { name: 'ticktape export --format parquet, same day', value: exportRate } },
      { name: `query: one symbol's trades (${store}), warm`, value: symbolMs, unit: 'ms', higherIsBetter: false, baseline: { name: 'count + sum over every trade', value: fullScanMs } },
      { name: `query: whole-market 1-minute VWAP from bars_1m (${store}), warm`, value: vwapMs, unit: 'ms', higherIsBetter: false, baseline: { name: 'the same from the trades', value: vwapBaseMs } },
      { name: `range replay, speed max, ${older.length} days across boundaries (Parquet)`, value: rangeRate, unit: 'events/s', baseline: { name: 'one day, same tier', value: oneDayRate } },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(queryDir, { recursive: true, force: true });
  }
}
