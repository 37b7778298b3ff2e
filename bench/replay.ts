// Replay throughput and timing. A synthetic day (default 20 M trades, ~2,600 symbols, frames of
// up to 50 trades over 09:00–15:30) is written through the real Arrow sink; then:
//  - the async iterator at speed max from Arrow, beside the same rows read in chunks with no clock
//    (and the storage reader's Arrow chunks, for comparison);
//  - the batch form, beside the reader's record batches;
//  - the same from SQLite (real sink, day sealed), on a smaller day (TICKTAPE_BENCH_REPLAY_SQLITE_TRADES, default 2 M);
//  - lateness p50/p99/max and end drift at speed 1 over a window (TICKTAPE_BENCH_REPLAY_LATENESS_S, default 60 s);
//  - peak RSS of a child process replaying the whole day at speed max.
// TICKTAPE_BENCH_REPLAY_TRADES sets the day's size.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { kstMidnight } from '../protocol/time.js';
import { arrowTradeStream } from '../replay/arrow-trades.js';
import { replay, replayBatches, type ReplayOptions } from '../replay/index.js';
import { ArrowSink } from '../storage/arrow-sink.js';
import { TradeColumns, type RowBatch } from '../storage/batch.js';
import { TickReader } from '../storage/reader.js';
import { SqliteSink } from '../storage/sqlite-sink.js';
import { childPeakRssMb, envCount, type Figure } from './figures.js';

const DAY = '2026-11-20';
const OPEN_MS = kstMidnight(DAY) + 9 * 3_600_000;
const SESSION_MS = 6.5 * 3_600_000;
const SYMBOLS = Array.from({ length: 2600 }, (_, i) => String(100 + i * 37).padStart(6, '0'));
/** Rows per sink batch: the collector's default batch bound (10,000 rows). */
const BATCH = 10_000;

/** Calls `each` with columnar batches of a synthetic day of `trades` trades. */
function syntheticDay(trades: number, each: (cols: TradeColumns, fromSeq: number, toSeq: number) => void): void {
  const cols = new TradeColumns(BATCH);
  const frames = Math.ceil(trades / 50);
  let seq = 0;
  let fromSeq = 0;
  let made = 0;
  for (let f = 0; f < frames; f++) {
    const recvMs = OPEN_MS + Math.floor((f * SESSION_MS) / frames);
    const recvNs = BigInt(recvMs) * 1_000_000n + BigInt(f % 997);
    const n = Math.min(50, trades - made);
    for (let i = 0; i < n; i++) {
      const s = (f * 53 + i * 101) % SYMBOLS.length;
      cols.push(s < 950 ? 0 : 1, SYMBOLS[s], recvMs - 200 - ((f + i) % 300), 10_000 + ((f * 7 + i) % 5000) * 10, 1 + ((f * i) % 700), recvNs, seq, i);
    }
    made += n;
    seq++;
    if (cols.length + 50 > BATCH || made === trades) {
      each(cols, fromSeq, seq);
      cols.length = 0;
      fromSeq = seq;
    }
  }
}

function rowBatch(trades: TradeColumns, fromSeq: number, toSeq: number): RowBatch {
  return { day: DAY, trades, flows: [], snapshots: [], listings: [], signals: [], quarantine: [], journal: { file: 'bench.journal', fromOffset: fromSeq * 100, toOffset: toSeq * 100, fromSeq, toSeq } };
}

function writeArrow(dir: string, trades: number): void {
  const sink = ArrowSink.open({ dataDir: dir, day: DAY, log: pino({ level: 'silent' }) });
  syntheticDay(trades, (cols, fromSeq, toSeq) => sink.write(rowBatch(cols, fromSeq, toSeq)));
  sink.close();
}

/** Through the real SQLite sink, then sealed (trades indexed), as a finished day is. */
async function writeSqlite(dir: string, trades: number): Promise<void> {
  const sink = SqliteSink.open({ dataDir: dir, log: pino({ level: 'silent' }), walCheckpointMs: 0 });
  syntheticDay(trades, (cols, fromSeq, toSeq) => sink.write(rowBatch(cols, fromSeq, toSeq)));
  sink.sealDay(DAY);
  await sink.close();
}

async function rate(run: () => Promise<number>): Promise<number> {
  const start = performance.now();
  const n = await run();
  return (n * 1000) / (performance.now() - start);
}

async function iteratorRate(o: ReplayOptions): Promise<number> {
  return rate(async () => {
    let n = 0;
    let sum = 0;
    for await (const e of replay(o)) {
      if (e.type === 'trade') sum += e.qty;
      n++;
    }
    if (sum === 0) throw new Error('replay produced no trades');
    return n;
  });
}

/** The same rows through the same read path as the replay, in chunks: no clock, no iterator. */
async function chunkRate(chunks: () => AsyncIterable<readonly { qty: number }[]>, close = () => {}): Promise<number> {
  return rate(async () => {
    let n = 0;
    let sum = 0;
    for await (const chunk of chunks()) {
      for (const t of chunk) sum += t.qty;
      n += chunk.length;
    }
    close();
    if (sum === 0) throw new Error('read produced no trades');
    return n;
  });
}

function readerChunks(dir: string, source: 'arrow' | 'sqlite') {
  const reader = TickReader.open({ dataDir: dir, source });
  return { chunks: () => reader.tradeChunks({ day: DAY }), close: () => reader.close() };
}

async function batchRate(dir: string, source: 'arrow' | 'sqlite', baseline: boolean): Promise<number> {
  return rate(async () => {
    let n = 0;
    if (baseline) {
      const reader = TickReader.open({ dataDir: dir, source });
      for await (const b of reader.tradeBatches({ day: DAY })) n += b.numRows;
      reader.close();
    } else {
      for await (const b of replayBatches({ dataDir: dir, day: DAY, source, channels: ['trades'], speed: 'max' })) n += b.batch.numRows;
    }
    return n;
  });
}

/** Lateness at speed 1 over `seconds` of the session (from 10:00 KST). */
async function lateness(dir: string, seconds: number) {
  const from = '10:00:00';
  const toMs = 10 * 3_600_000 + seconds * 1000;
  const to = new Date(toMs).toISOString().slice(11, 19); // ms of day → HH:MM:SS
  const rp = replay({ dataDir: dir, day: DAY, source: 'arrow', channels: ['trades'], speed: 1, from, to });
  for await (const _ of rp);
  return rp.progress().lateness;
}

/** Peak RSS (MB) of a fresh process replaying the whole day at speed max from Arrow. */
function childPeakRss(dir: string): number {
  const index = new URL('../replay/index.js', import.meta.url).href;
  return childPeakRssMb(`const { replay } = await import(${JSON.stringify(index)}); for await (const e of replay({ dataDir: ${JSON.stringify(dir)}, day: '${DAY}', source: 'arrow', speed: 'max' }));`, 'replay');
}

export async function run(): Promise<Figure[]> {
  const trades = envCount('TICKTAPE_BENCH_REPLAY_TRADES', 20_000_000);
  const sqliteTrades = envCount('TICKTAPE_BENCH_REPLAY_SQLITE_TRADES', 2_000_000);
  const latenessS = envCount('TICKTAPE_BENCH_REPLAY_LATENESS_S', 60);
  const arrowDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-replay-'));
  const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-replay-sqlite-'));
  const size = (n: number) => `${(n / 1e6).toFixed(n < 1e6 ? 2 : 0)} M trades`;
  try {
    writeArrow(arrowDir, trades);
    await writeSqlite(sqliteDir, sqliteTrades);
    // Warm-up over the first hour: compiled code and the file cache for every measurement alike.
    await iteratorRate({ dataDir: arrowDir, day: DAY, source: 'arrow', channels: ['trades'], speed: 'max', to: '10:00:00' });
    const arrowIter = await iteratorRate({ dataDir: arrowDir, day: DAY, source: 'arrow', channels: ['trades'], speed: 'max' });
    const arrowBase = await chunkRate(() => arrowTradeStream({ dataDir: arrowDir, day: DAY, time: 'receive' })!);
    const arrowReader = readerChunks(arrowDir, 'arrow');
    const arrowReaderRate = await chunkRate(arrowReader.chunks, arrowReader.close);
    const arrowBatch = await batchRate(arrowDir, 'arrow', false);
    const arrowBatchBase = await batchRate(arrowDir, 'arrow', true);
    const sqliteIter = await iteratorRate({ dataDir: sqliteDir, day: DAY, source: 'sqlite', channels: ['trades'], speed: 'max' });
    const sqliteReader = readerChunks(sqliteDir, 'sqlite');
    const sqliteBase = await chunkRate(sqliteReader.chunks, sqliteReader.close);
    const late = await lateness(arrowDir, latenessS);
    const rss = childPeakRss(arrowDir);
    const lateNote = `speed 1, ${latenessS} s window from 10:00 KST, ${late.count} events`;
    return [
      { name: `replay iterator, speed max, Arrow (${size(trades)})`, value: arrowIter, unit: 'events/s', baseline: { name: 'the same Arrow stream in chunks, no clock', value: arrowBase } },
      { name: `storage reader trade chunks, Arrow (${size(trades)})`, value: arrowReaderRate, unit: 'rows/s', baseline: { name: 'replay\u2019s streaming Arrow read', value: arrowBase }, note: 'the reader sorts each part in memory' },
      { name: `replay batch form, speed max, Arrow (${size(trades)})`, value: arrowBatch, unit: 'rows/s', baseline: { name: 'reader record batches', value: arrowBatchBase } },
      { name: `replay iterator, speed max, SQLite (${size(sqliteTrades)})`, value: sqliteIter, unit: 'events/s', baseline: { name: 'reader chunks, no clock', value: sqliteBase } },
      { name: 'replay lateness p50', value: late.p50, unit: 'ms', higherIsBetter: false, note: lateNote },
      { name: 'replay lateness p99', value: late.p99, unit: 'ms', higherIsBetter: false, note: lateNote },
      { name: 'replay lateness max', value: late.max, unit: 'ms', higherIsBetter: false, note: lateNote },
      { name: 'replay end-of-run drift', value: late.last, unit: 'ms', higherIsBetter: false, note: `${lateNote}; lateness of the last event` },
      { name: `replay peak RSS, whole day at speed max (${size(trades)})`, value: rss, unit: 'MB', higherIsBetter: false, note: 'fresh child process' },
    ];
  } finally {
    fs.rmSync(arrowDir, { recursive: true, force: true });
    fs.rmSync(sqliteDir, { recursive: true, force: true });
  }
}
