// The capture write path against plain better-sqlite3, in the same run:
// - the tape (journal append with a write per frame, decode, batch, SQLite sink, and the Arrow
//   sink unless noted) fed /ws_ksp frames, vs a raw batched insert of the same trades, already
//   decoded, into the same table with the same pragmas (the ceiling for SQLite);
// - bytes per trade in the journal, in SQLite (the trades table's pages) and in Arrow;
// - the two sinks alone (SQLite + Arrow) fed the same trades as decoded batches, vs the same raw insert;
// - sealing the day (sorted move into the indexed table) in chunks, vs the same seal in one transaction;
// - peak RSS of a fresh process writing a whole day (TICKTAPE_BENCH_STORAGE_DAY_TRADES, default
//   20 M trades) through the tape into SQLite and Arrow.
// Run alone: `npm run build && node dist/bench/phase.js storage`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { decodeTradeFrame } from '../protocol/koscom.js';
import { kstMidnight } from '../protocol/time.js';
import { listParts } from '../storage/arrow-format.js';
import { ArrowSink } from '../storage/arrow-sink.js';
import { MARKET_CODE, type RowBatch } from '../storage/batch.js';
import { emptyBatch } from '../storage/decode.js';
import { migrate } from '../storage/migrate.js';
import { databaseFile, SqliteSink } from '../storage/sqlite-sink.js';
import { Tape } from '../followers/tape.js';
import { syntheticFrames } from './decode.js';
import { childPeakRssMb, envCount, type Figure } from './figures.js';

export const DAY = '2026-11-20';
const FRAMES = 10_000; // × 50 trades = 500 k trades
// Rounds alternate baseline and tape so that a noisy neighbour hits both alike; best of each counts.
const ROUNDS = 3;
const BATCH_ROWS = 10_000;
const log = pino({ level: 'warn' });

export interface Trades {
  symbol: string[];
  exchNs: (bigint | null)[];
  price: number[];
  qty: number[];
  recvNs: bigint[];
  seq: number[];
  idx: number[];
}

/** The trades of `frames` (decoded as on day DAY, one frame per ms from 09:00), in plain arrays. */
export function decodeAll(frames: string[]): Trades {
  const t: Trades = { symbol: [], exchNs: [], price: [], qty: [], recvNs: [], seq: [], idx: [] };
  const mid = kstMidnight(DAY);
  frames.forEach((f, seq) => {
    decodeTradeFrame(f, mid, {
      trade(symbol, price, qty, exchMs, idx) {
        t.symbol.push(symbol);
        t.exchNs.push(exchMs === 0 ? null : BigInt(exchMs) * 1_000_000n);
        t.price.push(price);
        t.qty.push(qty);
        t.recvNs.push(BigInt(mid + 9 * 3_600_000 + seq) * 1_000_000n);
        t.seq.push(seq);
        t.idx.push(idx);
      },
      signal() {},
    });
  });
  return t;
}

/** Rows per multi-row INSERT statement in the raw baseline: the SQLite store's own technique. */
const ROWS_PER_STATEMENT = 32;
const COLUMNS = 11;

/**
 * Raw better-sqlite3, the best plain technique: one prepared multi-row INSERT (32 rows per
 * statement, as the SQLite store does), BATCH_ROWS rows per transaction; returns rows/s. `times`
 * > 1 inserts the same trades again, for a large table without a large array.
 */
export function rawInsert(dir: string, t: Trades, round: number, times = 1): number {
  const db = new Database(path.join(dir, `raw-${round}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrate(db);
  // The columns the store writes: trdVol as sent and the trade's kind too.
  const row = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  const sql = (rows: number) => `INSERT INTO trades_live (day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx, trd_vol, kind) VALUES ${Array(rows).fill(row).join(', ')}`;
  const many = db.prepare(sql(ROWS_PER_STATEMENT));
  const one = db.prepare(sql(1));
  const params: unknown[] = new Array(ROWS_PER_STATEMENT * COLUMNS);
  const put = (at: number, i: number) => {
    params[at] = DAY;
    params[at + 1] = 'kospi';
    params[at + 2] = t.symbol[i];
    params[at + 3] = t.exchNs[i];
    params[at + 4] = t.price[i];
    params[at + 5] = t.qty[i];
    params[at + 6] = t.recvNs[i];
    params[at + 7] = t.seq[i];
    params[at + 8] = t.idx[i];
    params[at + 9] = t.qty[i];
    params[at + 10] = 'regular';
  };
  const batch = db.transaction((from: number, to: number) => {
    let i = from;
    for (; i + ROWS_PER_STATEMENT <= to; i += ROWS_PER_STATEMENT) {
      for (let r = 0; r < ROWS_PER_STATEMENT; r++) put(r * COLUMNS, i + r);
      many.run(params);
    }
    for (; i < to; i++) one.run(DAY, 'kospi', t.symbol[i], t.exchNs[i], t.price[i], t.qty[i], t.recvNs[i], t.seq[i], t.idx[i], t.qty[i], 'regular');
  });
  const n = t.symbol.length;
  const started = performance.now();
  for (let k = 0; k < times; k++) for (let i = 0; i < n; i += BATCH_ROWS) batch(i, Math.min(n, i + BATCH_ROWS));
  const secs = (performance.now() - started) / 1000;
  db.close();
  return (n * times) / secs;
}

/** Chunks of the bench's seal: 10 for its 500 k trades, as a 5 M-trade day has at SEAL_CHUNK_ROWS. */
const SEAL_BENCH_CHUNK_ROWS = 50_000;

async function throughTape(dir: string, frames: string[], arrow: boolean, round: number): Promise<{ rate: number; seal: number; dir: string }> {
  const dataDir = path.join(dir, `${arrow ? 'tape-arrow' : 'tape-sqlite'}-${round}`);
  const started = performance.now();
  const tape = await Tape.open({ dataDir, day: DAY, batchRows: BATCH_ROWS, log, arrow });
  const ch = tape.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
  const base = BigInt(kstMidnight(DAY) + 9 * 3_600_000) * 1_000_000n;
  for (let f = 0; f < frames.length; f++) tape.append(ch, frames[f], base + BigInt(f) * 1_000_000n);
  await tape.flush();
  const secs = (performance.now() - started) / 1000;
  await tape.close();
  // The seal in chunks after the SQLite-only run, in one transaction (one chunk) after the other.
  const sink = SqliteSink.open({ dataDir, log });
  const sealStarted = performance.now();
  const { moved } = sink.sealDay(DAY, { chunkRows: arrow ? Number.POSITIVE_INFINITY : SEAL_BENCH_CHUNK_ROWS });
  const sealSecs = (performance.now() - sealStarted) / 1000;
  await sink.close();
  return { rate: frames.length * 50 / secs, seal: moved / sealSecs, dir: dataDir };
}

/** The SQLite and Arrow sinks alone, fed the decoded trades in batches of BATCH_ROWS; rows/s. */
async function throughSinks(dir: string, t: Trades, round: number): Promise<number> {
  const dataDir = path.join(dir, `sinks-${round}`);
  const sqlite = SqliteSink.open({ dataDir, log });
  const arrow = ArrowSink.open({ dataDir, day: DAY, log });
  const batches: RowBatch[] = [];
  const n = t.symbol.length;
  for (let i = 0; i < n; i += BATCH_ROWS) {
    const end = Math.min(n, i + BATCH_ROWS);
    const b = emptyBatch(DAY, `${DAY}.journal`, i, i, BATCH_ROWS);
    for (let k = i; k < end; k++) {
      const exchNs = t.exchNs[k];
      b.trades.push(MARKET_CODE.kospi, t.symbol[k], exchNs === null ? 0 : Number(exchNs / 1_000_000n), t.price[k], t.qty[k], t.recvNs[k], t.seq[k], t.idx[k]);
    }
    b.journal.toOffset = b.journal.toSeq = end;
    batches.push(b);
  }
  const started = performance.now();
  for (const b of batches) {
    sqlite.write(b);
    arrow.write(b);
  }
  arrow.close();
  const secs = (performance.now() - started) / 1000;
  await sqlite.close();
  return n / secs;
}

/** Peak RSS (MB) of a fresh process writing `trades` trades through the tape into SQLite and Arrow. */
function dayPeakRss(dir: string, trades: number): number {
  const tapeUrl = new URL('../followers/tape.js', import.meta.url).href;
  const framesUrl = new URL('./decode.js', import.meta.url).href;
  return childPeakRssMb(
    `
    const { Tape } = await import(${JSON.stringify(tapeUrl)});
    const { syntheticFrames } = await import(${JSON.stringify(framesUrl)});
    const { pino } = await import(${JSON.stringify(import.meta.resolve('pino'))});
    // Few frames, cycled: the generated frames are heavy in the heap and would dwarf the tape's own memory.
    const frames = syntheticFrames(1000);
    const tape = await Tape.open({ dataDir: ${JSON.stringify(path.join(dir, 'day'))}, day: '${DAY}', batchRows: ${BATCH_ROWS}, log: pino({ level: 'silent' }) });
    const ch = tape.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
    let recv = BigInt(Date.parse('${DAY}T00:00:00Z')) * 1000000n;
    for (let f = 0; f < ${Math.ceil(trades / 50)}; f++) tape.append(ch, frames[f % frames.length], (recv += 1000n));
    await tape.close();`,
    'storage day',
  );
}

export async function run(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-storage-'));
  try {
    const frames = syntheticFrames(FRAMES);
    const trades = decodeAll(frames);
    const n = trades.symbol.length;
    let raw = 0;
    let sqliteOnly = { rate: 0, seal: 0, dir: '' };
    let both = { rate: 0, seal: 0, dir: '' };
    let sinks = 0;
    for (let r = 0; r < ROUNDS; r++) {
      raw = Math.max(raw, rawInsert(dir, trades, r));
      sinks = Math.max(sinks, await throughSinks(dir, trades, r));
      const s = await throughTape(dir, frames, false, r);
      sqliteOnly = { ...(s.rate > sqliteOnly.rate ? s : sqliteOnly), seal: Math.max(s.seal, sqliteOnly.seal) };
      const b = await throughTape(dir, frames, true, r);
      both = { ...(b.rate > both.rate ? b : both), seal: Math.max(b.seal, both.seal) };
    }
    const journalBytes = fs.readdirSync(path.join(both.dir, 'journal')).filter((f) => f.endsWith('.journal')).reduce((s, f) => s + fs.statSync(path.join(both.dir, 'journal', f)).size, 0);
    const db = new Database(databaseFile(sqliteOnly.dir), { readonly: true });
    const sqliteBytes = db.prepare("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'trades_sealed%'").pluck().get() as number;
    db.close();
    const arrowBytes = listParts(both.dir, DAY, 'trades').reduce((s, p) => s + p.bytes, 0);
    const baseline = { name: 'raw better-sqlite3 multi-row INSERT (32 rows a statement) of the decoded trades', value: raw };
    const dayTrades = envCount('TICKTAPE_BENCH_STORAGE_DAY_TRADES', 20_000_000);
    const dayRss = dayPeakRss(dir, dayTrades);
    return [
      { name: 'SQLite + Arrow sinks, decoded batches', value: sinks, unit: 'trades/s', baseline },
      { name: 'tape → SQLite + Arrow (journal, decode, batch, both sinks)', value: both.rate, unit: 'trades/s', baseline },
      { name: 'tape → SQLite only', value: sqliteOnly.rate, unit: 'trades/s', baseline },
      { name: 'seal a day (sorted move into the indexed table), in chunks', value: sqliteOnly.seal, unit: 'trades/s', baseline: { name: 'the same seal in one transaction', value: both.seal }, note: `${SEAL_BENCH_CHUNK_ROWS / 1000} k-row chunks` },
      { name: 'journal bytes per trade', value: journalBytes / n, unit: 'B', higherIsBetter: false, note: '50 trades per frame, raw JSON' },
      { name: 'SQLite bytes per trade (sealed table + its 2 indexes)', value: sqliteBytes / n, unit: 'B', higherIsBetter: false },
      { name: 'Arrow bytes per trade', value: arrowBytes / n, unit: 'B', higherIsBetter: false },
      { name: `peak RSS writing a ${(dayTrades / 1e6).toFixed(0)} M-trade day through the tape (SQLite + Arrow)`, value: dayRss, unit: 'MB', higherIsBetter: false, note: 'fresh child process' },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
