// The SQLite sink: `<dataDir>/ticktape.db` in WAL mode, schema from migrations/ only. One
// transaction per batch, with prepared statements, and the journal position the batch covers
// (the checkpoint) written in the same transaction: rows and checkpoint commit or vanish together,
// so recovery replays exactly the frames past the checkpoint.
//
// WAL checkpoints stay off the event loop: SQLite's automatic checkpoint runs inside the commit
// that crosses 1,000 WAL pages, and was measured to stall a batch for 0.7 s on a large database.
// Here autocheckpoint is off on the writer and a worker thread with its own connection runs
// PASSIVE checkpoints (which never block the writer) on a timer; the writer then restarts the WAL
// from its beginning. Measured here, 200 batches of 10k trades into a fresh database: p99 58–65 ms,
// max 67–101 ms per batch with autocheckpoint; p99 32–40 ms, max 46–58 ms with this scheme.
// Moving the whole sink into a worker was the alternative; it would copy every batch across
// threads for no gain, since the inserts themselves run near raw speed (bench/storage.ts).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Market } from '../protocol/market.js';
import type { TradingDay } from '../protocol/time.js';
import { BOOK_LEVELS } from '../protocol/koscom-detail.js';
import { type BookRecord, MARKET_BY_CODE, type RowBatch, TRADE_KINDS } from './batch.js';
import { migrate } from './migrate.js';
import type { TrdVolMode } from './trade-quantity.js';

export const SQLITE_SINK = 'sqlite';
/** SQLite page cache (KiB) while capturing, and while sealing a day. */
const CAPTURE_CACHE_KIB = 8192;
const SEAL_CACHE_KIB = 262144;
const CHECKPOINTER_STOP_MS = 10_000;

export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'ticktape.db');
}

export interface SqliteSinkOptions {
  dataDir: string;
  log: Logger;
  /** Period of the background WAL checkpoint (default 1,000 ms); 0 = no background checkpoints. */
  walCheckpointMs?: number;
}

export interface StreamedVolume {
  /** symbol → sum of its regular trades' own quantities (derived from trdVol). */
  sum: Map<string, number>;
  /** symbol → sum of its block trades' quantities. */
  block: Map<string, number>;
  /** How the market's trdVol was read; undefined while undecided. */
  mode?: TrdVolMode;
}

/** Rows of `trades_live` per seal transaction (a rowid span; fewer rows when other days interleave). */
export const SEAL_CHUNK_ROWS = 500_000;

/** After each chunk of a seal: chunks and rows moved so far by this call. */
export interface SealProgress {
  day: TradingDay;
  chunks: number;
  moved: number;
}

export interface SealOptions {
  /** Rows per transaction (default SEAL_CHUNK_ROWS). */
  chunkRows?: number;
  onProgress?: (p: SealProgress) => void;
  /** Stops the seal between two chunks; sealDay (or this) later finishes it. */
  signal?: AbortSignal;
}

export interface SealResult {
  moved: number;
  chunks: number;
  /** False when stopped by the signal before the end. */
  sealed: boolean;
}

export interface Checkpoint {
  offset: number;
  seq: number;
}

/** A collector session as recorded in the `sessions` table. */
export interface SessionRecord {
  /** Set to update a row written earlier (e.g. 'running' → 'complete'). */
  id?: number;
  day: TradingDay;
  collector?: string;
  startedNs: bigint;
  endedNs?: bigint;
  status: string;
  counts?: object;
  reconnects?: number;
  downtimeMs?: number;
  gaps?: unknown[];
  reconciliation?: object;
  /** Each store's lag behind the journal at the end. */
  stores?: unknown[];
  /** The receive clock's offset at the anchor and the steps seen. */
  clock?: object;
}

// Runs in the checkpoint thread. Plain JS: worker code cannot be TypeScript under vitest.
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { parentPort.postMessage(String(e && e.message)); }
}, workerData.periodMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

const TRADE_COLUMNS = 'day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx, trd_vol, kind';
const TRADE_SQL = `INSERT INTO trades_live (${TRADE_COLUMNS}) VALUES (?, ?, ?, CAST(nullif(?, 0) AS INTEGER) * 1000000, ?, ?, ?, ?, ?, ?, ?)`;
/** The tables holding a day's captured rows (sessions excepted). */
const DAY_TABLES = ['trades_live', 'trades_sealed', 'snapshots', 'sector_flows', 'symbols', 'quarantine', 'signals', 'quotes', 'order_books', 'trade_modes'] as const;

/** order_books value columns (migrations/0002_detail.sql), in the order of protocol BOOK_FIELDS. */
const BOOK_COLUMNS = [
  ...(['ask', 'bid'] as const).flatMap((side) => Array.from({ length: BOOK_LEVELS }, (_, i) => `${side}${i + 1}_price`)),
  ...(['ask', 'bid'] as const).flatMap((side) => Array.from({ length: BOOK_LEVELS }, (_, i) => `${side}${i + 1}_qty`)),
  'ask_total', 'bid_total', 'after_hours_ask_total', 'after_hours_bid_total', 'expected_price', 'expected_qty', 'expected_acc_qty', 'acc_volume',
];

// Several rows per statement: one bind/step round trip for many rows.
const TRADES_PER_STATEMENT = 32;
const TRADE_PARAMS = 10;
// Binding strings costs a UTF-8 copy each, so the multi-row statement binds neither the day (a
// literal: one statement per day) nor the market (its integer code, named by this CASE).
// Measured here: 0.74 M rows/s against 0.63 M rows/s with both bound as text.
const MARKET_OF_CODE = `CASE ? ${MARKET_BY_CODE.map((m, code) => `WHEN ${code} THEN '${m}'`).join(' ')} END`;
const KIND_OF_CODE = `CASE ? ${TRADE_KINDS.map((k, code) => `WHEN ${code} THEN '${k}'`).join(' ')} END`;
const DAY_LITERAL = /^\d{4}-\d{2}-\d{2}$/;

export class SqliteSink {
  readonly db: Database.Database;
  private readonly checkpointer: Worker | undefined;
  /** Resolves when the checkpoint thread has exited, however it ended. */
  private checkpointerExited: Promise<void> | undefined;
  private readonly insertTrade: Database.Statement;
  /** The multi-row trade insert of each day seen (see MARKET_OF_CODE). */
  private readonly insertTradesOf = new Map<string, Database.Statement>();
  private readonly tradeParams: unknown[] = new Array(TRADES_PER_STATEMENT * TRADE_PARAMS);
  private readonly insertSnapshot: Database.Statement;
  private readonly insertFlow: Database.Statement;
  private readonly insertListing: Database.Statement;
  private readonly insertQuarantine: Database.Statement;
  private readonly insertSignal: Database.Statement;
  private readonly insertMode: Database.Statement;
  private readonly insertQuote: Database.Statement;
  private readonly insertBook: Database.Statement;
  private readonly bookParams: unknown[] = new Array(5 + BOOK_COLUMNS.length);
  private readonly saveCheckpoint: Database.Statement;
  private readonly writeBatch: (b: RowBatch) => void;

  private constructor(readonly file: string, private readonly log: Logger, walCheckpointMs: number) {
    const db = (this.db = new Database(file));
    db.pragma('journal_mode = WAL');
    // The journal is the durable copy: a power cut may lose the last transactions, and with them
    // their checkpoint, so recovery replays them. NORMAL spares an fsync per batch.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // Appends to the rowid tree touch few pages: a small cache keeps a months-long daemon's memory
    // flat (a 64 MiB cache filled over a day and showed as RSS growth in the soak test).
    db.pragma(`cache_size = -${CAPTURE_CACHE_KIB}`);
    migrate(db, log);
    if (walCheckpointMs > 0) {
      db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new Worker(CHECKPOINTER, { eval: true, workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3'), periodMs: walCheckpointMs } });
      this.checkpointer.on('message', (m) => log.warn({ db: file, error: m }, 'sqlite: background WAL checkpoint failed'));
      this.checkpointer.on('error', (e) => log.error({ db: file, err: e }, 'sqlite: WAL checkpoint thread died'));
      const worker = this.checkpointer;
      this.checkpointerExited = new Promise((resolve) => worker.once('exit', () => resolve()));
      this.checkpointer.unref();
    }
    this.insertTrade = db.prepare(TRADE_SQL);
    this.insertSnapshot = db.prepare('INSERT INTO snapshots (day, taken_ns, kind, market, symbol, price, open, high, low, acc_volume, acc_value, src_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.insertFlow = db.prepare(
      'INSERT INTO sector_flows (day, recv_ns, exch_ts, upcode, tjjcode, tjjtime, msvolume, mdvolume, msvol, p_msvol, msvalue, mdvalue, msval, p_msval, src_seq) VALUES (?, ?, CAST(nullif(?, 0) AS INTEGER) * 1000000, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // A stock list fetched twice a day stays one set of rows.
    this.insertListing = db.prepare('INSERT OR REPLACE INTO symbols (day, market, symbol, isin, name, abbr) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertQuarantine = db.prepare('INSERT INTO quarantine (day, recv_ns, source, raw, reason, src_seq) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertSignal = db.prepare('INSERT INTO signals (day, recv_ns, market, symbol, code, src_seq) VALUES (?, ?, ?, ?, ?, ?)');
    // A store resumed after writing a decision records it again, the same.
    this.insertMode = db.prepare('INSERT OR REPLACE INTO trade_modes (day, market, symbol, mode, basis, src_seq) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertQuote = db.prepare(
      'INSERT INTO quotes (day, recv_ns, exch_ts, market, symbol, price, open, high, low, trdvol, acc_volume, acc_value, ask1, bid1, src_seq) VALUES (?, ?, CAST(nullif(?, 0) AS INTEGER) * 1000000, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertBook = db.prepare(`INSERT INTO order_books (day, recv_ns, market, symbol, ${BOOK_COLUMNS.join(', ')}, src_seq) VALUES (${Array(5 + BOOK_COLUMNS.length).fill('?').join(', ')})`);
    this.saveCheckpoint = db.prepare('INSERT INTO checkpoints (sink, journal, offset, seq) VALUES (?, ?, ?, ?) ON CONFLICT (sink, journal) DO UPDATE SET offset = excluded.offset, seq = excluded.seq');
    this.writeBatch = db.transaction((b: RowBatch) => this.insert(b));
  }

  static open(opts: SqliteSinkOptions): SqliteSink {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    return new SqliteSink(databaseFile(opts.dataDir), opts.log, opts.walCheckpointMs ?? 1000);
  }

  /** Where this sink stands in `journal` (file name relative to the journal folder). */
  checkpoint(journal: string): Checkpoint | undefined {
    return this.db.prepare('SELECT offset, seq FROM checkpoints WHERE sink = ? AND journal = ?').get(SQLITE_SINK, journal) as Checkpoint | undefined;
  }

  private insertTrades(day: TradingDay): Database.Statement {
    let st = this.insertTradesOf.get(day);
    if (st === undefined) {
      // The day becomes SQL text: only ever a plain date.
      if (!DAY_LITERAL.test(day)) throw new Error(`not a trading day (YYYY-MM-DD): ${JSON.stringify(day)}`);
      const row = `('${day}', ${MARKET_OF_CODE}, ?, CAST(nullif(?, 0) AS INTEGER) * 1000000, ?, ?, ?, ?, ?, ?, ${KIND_OF_CODE})`;
      st = this.db.prepare(`INSERT INTO trades_live (${TRADE_COLUMNS}) VALUES ${Array(TRADES_PER_STATEMENT).fill(row).join(', ')}`);
      this.insertTradesOf.set(day, st);
    }
    return st;
  }

  /** Stores a batch and its checkpoint in one transaction. */
  write(batch: RowBatch): void {
    this.writeBatch(batch);
  }

  private insert(b: RowBatch): void {
    const day = b.day;
    const t = b.trades;
    const n = t.length;
    const p = this.tradeParams;
    // The trades of one frame share its receive time: read each BigInt once per frame, not per row.
    // A frame is (market, src_seq): each market's trades channel numbers its own frames.
    let seq = -1;
    let market = -1;
    let recvNs = 0n;
    let i = 0;
    const insertTrades = n >= TRADES_PER_STATEMENT ? this.insertTrades(day) : undefined;
    for (; insertTrades !== undefined && i + TRADES_PER_STATEMENT <= n; i += TRADES_PER_STATEMENT) {
      let k = 0;
      for (let j = i; j < i + TRADES_PER_STATEMENT; j++) {
        if (t.srcSeq[j] !== seq || t.market[j] !== market) {
          seq = t.srcSeq[j];
          market = t.market[j];
          recvNs = t.recvNs[j];
        }
        p[k++] = t.market[j];
        p[k++] = t.symbol[j];
        p[k++] = t.exchMs[j];
        p[k++] = t.price[j];
        p[k++] = t.qty[j];
        p[k++] = recvNs;
        p[k++] = seq;
        p[k++] = t.srcIdx[j];
        p[k++] = t.trdVol[j];
        p[k++] = t.kind[j];
      }
      insertTrades.run(p);
    }
    for (; i < n; i++) this.insertTrade.run(day, MARKET_BY_CODE[t.market[i]], t.symbol[i], t.exchMs[i], t.price[i], t.qty[i], t.recvNs[i], t.srcSeq[i], t.srcIdx[i], t.trdVol[i], TRADE_KINDS[t.kind[i]]);
    for (const m of b.modes ?? []) this.insertMode.run(day, m.market, m.symbol, m.mode, m.basis, m.srcSeq);
    for (const s of b.snapshots) this.insertSnapshot.run(day, s.takenNs, s.kind, s.market, s.symbol, s.price, s.open, s.high, s.low, s.accVolume, s.accValue, s.srcSeq);
    for (const f of b.flows) {
      this.insertFlow.run(day, f.recvNs, f.exchMs, f.upcode, f.tjjcode, f.tjjtime, f.msvolume, f.mdvolume, f.msvol, f.p_msvol, f.msvalue, f.mdvalue, f.msval, f.p_msval, f.srcSeq);
    }
    for (const l of b.listings) this.insertListing.run(day, l.market, l.symbol, l.isin, l.name, l.abbr);
    for (const q of b.quarantine) this.insertQuarantine.run(day, q.recvNs, q.source, q.raw, q.reason, q.srcSeq);
    for (const s of b.signals) this.insertSignal.run(day, s.recvNs, s.market, s.symbol, s.code, s.srcSeq);
    for (const q of b.quotes ?? []) this.insertQuote.run(day, q.recvNs, q.exchMs, q.market, q.symbol, q.price, q.open, q.high, q.low, q.trdvol, q.accVolume, q.accValue, q.ask1, q.bid1, q.srcSeq);
    if (b.books !== undefined) for (const k of b.books) this.insertBook.run(this.bookRow(day, k));
    const j = b.journal;
    this.saveCheckpoint.run(SQLITE_SINK, j.file, j.toOffset, j.toSeq);
  }

  private bookRow(day: TradingDay, k: BookRecord): unknown[] {
    const p = this.bookParams;
    p[0] = day;
    p[1] = k.recvNs;
    p[2] = k.market;
    p[3] = k.symbol;
    for (let i = 0; i < BOOK_COLUMNS.length; i++) p[4 + i] = k.values[i];
    p[p.length - 1] = k.srcSeq;
    return p;
  }

  /**
   * Closes a day: moves its trades from `trades_live` into the indexed `trades_sealed`, in chunks
   * (see sealSteps), and records it in `sealed_days` once `trades_live` holds none of its rows.
   * Resumable: after a kill (or an abort) the next call moves what is left. Idempotent: trades that
   * arrive later (another collector, a rebuild) are moved by the next call. Runs to the end without
   * yielding; sealDayInChunks yields between chunks and can be stopped.
   */
  sealDay(day: TradingDay, opts: { chunkRows?: number; onProgress?: (p: SealProgress) => void } = {}): { moved: number } {
    const steps = this.sealSteps(day, opts.chunkRows ?? SEAL_CHUNK_ROWS);
    for (;;) {
      const step = steps.next();
      if (step.done) return { moved: step.value.moved };
      opts.onProgress?.(step.value);
    }
  }

  /** sealDay, giving the event loop a turn between chunks and stopping there once `signal` aborts. */
  async sealDayInChunks(day: TradingDay, opts: SealOptions = {}): Promise<SealResult> {
    const steps = this.sealSteps(day, opts.chunkRows ?? SEAL_CHUNK_ROWS);
    let progress: SealProgress = { day, chunks: 0, moved: 0 };
    try {
      for (;;) {
        if (opts.signal?.aborted) {
          this.log.info({ day, trades: progress.moved, chunks: progress.chunks }, `seal of ${day} stopped after ${progress.chunks} chunk(s); the next seal finishes it`);
          return { ...progress, sealed: false };
        }
        const step = steps.next();
        if (step.done) return { moved: step.value.moved, chunks: step.value.chunks, sealed: true };
        progress = step.value;
        opts.onProgress?.(progress);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      // Stopped between chunks: the generator's cleanup restores the capture page cache.
      steps.return(progress);
    }
  }

  /**
   * The seal, one transaction per step. Chunks are spans of `trades_live` rowids (receive order),
   * each moved sorted by (symbol, exch_ts, src_seq, src_idx) and deleted from `trades_live` in the
   * same transaction, so the `trades` view shows every row exactly once at every moment and a kill
   * loses at most the chunk under way; what is left in `trades_live` is the progress. A symbol's
   * day is thus `chunks` sorted runs on disk, not one: with no index on `trades_live`, chunks by
   * symbol range would scan the whole day once per chunk (measured here on 2 M rows: 0.55–0.72×
   * the one-transaction seal; with a temporary symbol index 0.55×), while a rowid span is a seek.
   * The last step writes `sealed_days` in the transaction that finds no row of the day left.
   */
  private *sealSteps(day: TradingDay, chunkRows: number): Generator<SealProgress, SealProgress> {
    if (!(chunkRows > 0)) throw new RangeError(`chunkRows must be positive, got ${chunkRows}`);
    const started = performance.now();
    const firstFrom = this.db.prepare('SELECT rowid FROM trades_live WHERE rowid >= ? AND day = ? ORDER BY rowid LIMIT 1').pluck();
    const move = this.db.prepare(`INSERT INTO trades_sealed (${TRADE_COLUMNS}) SELECT ${TRADE_COLUMNS} FROM trades_live WHERE rowid >= ? AND rowid < ? AND day = ? ORDER BY symbol, exch_ts, src_seq, src_idx`);
    const drop = this.db.prepare('DELETE FROM trades_live WHERE rowid >= ? AND rowid < ? AND day = ?');
    const markSealed = this.db.prepare('INSERT OR REPLACE INTO sealed_days (day, sealed_ns) VALUES (?, ?)');
    const progress: SealProgress = { day, chunks: 0, moved: 0 };
    let cursor = 0;
    // One chunk; false once no row of the day is left at or after `from` (nothing moved).
    const chunk = this.db.transaction((from: number): boolean => {
      const lo = firstFrom.get(from, day) as number | undefined;
      if (lo === undefined) return false;
      const hi = Math.min(lo + chunkRows, Number.MAX_SAFE_INTEGER);
      progress.moved += move.run(lo, hi, day).changes;
      drop.run(lo, hi, day);
      cursor = hi;
      return true;
    });
    // From the start again: a row of the day inserted behind the cursor meanwhile is moved too.
    const finish = this.db.transaction((): boolean => {
      if (firstFrom.get(0, day) !== undefined) return false;
      markSealed.run(day, BigInt(Date.now()) * 1_000_000n);
      return true;
    });
    // Building the sorted, indexed copy is the one job that profits from a large page cache.
    this.db.pragma(`cache_size = -${SEAL_CACHE_KIB}`);
    try {
      for (;;) {
        while (chunk.immediate(cursor)) {
          progress.chunks++;
          yield { ...progress };
        }
        if (finish.immediate()) break;
        cursor = 0;
      }
    } finally {
      this.db.pragma(`cache_size = -${CAPTURE_CACHE_KIB}`);
      this.db.pragma('shrink_memory');
    }
    this.log.info({ day, trades: progress.moved, chunks: progress.chunks, ms: Math.round(performance.now() - started) }, `sealed ${day}: ${progress.moved} trades indexed in ${progress.chunks} chunk(s)`);
    return progress;
  }

  /** A seal that was started and not finished (killed or stopped between chunks): sealDay finishes it. */
  isSealInProgress(day: TradingDay): boolean {
    return !this.isSealed(day) && this.db.prepare('SELECT 1 FROM trades_sealed WHERE day = ? LIMIT 1').get(day) !== undefined;
  }

  /** The days whose seal was started and not finished, oldest first (one index seek per day). */
  unfinishedSeals(): TradingDay[] {
    const next = this.db.prepare('SELECT day FROM trades_sealed WHERE day > ? ORDER BY day LIMIT 1').pluck();
    const out: TradingDay[] = [];
    for (let day = next.get('') as TradingDay | undefined; day !== undefined; day = next.get(day) as TradingDay | undefined) if (!this.isSealed(day)) out.push(day);
    return out;
  }

  isSealed(day: TradingDay): boolean {
    return this.db.prepare('SELECT 1 FROM sealed_days WHERE day = ?').get(day) !== undefined;
  }

  /** Rows of a day per table. */
  dayCounts(day: TradingDay): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of DAY_TABLES) out[t] = this.db.prepare(`SELECT count(*) FROM ${t} WHERE day = ?`).pluck().get(day) as number;
    return out;
  }

  /** Deletes a day's captured rows and the checkpoints of its journals (before a rebuild). Sessions stay. */
  deleteDay(day: TradingDay, journals: readonly string[]): void {
    this.db.transaction(() => {
      for (const t of DAY_TABLES) this.db.prepare(`DELETE FROM ${t} WHERE day = ?`).run(day);
      this.db.prepare('DELETE FROM sealed_days WHERE day = ?').run(day);
      for (const j of journals) this.db.prepare('DELETE FROM checkpoints WHERE sink = ? AND journal = ?').run(SQLITE_SINK, j);
    }).immediate();
  }

  /** Streamed quantity per symbol of a day and market, the reconciliation's side of the stream. */
  streamedVolume(day: TradingDay, market: Market): StreamedVolume {
    const rows = this.db.prepare("SELECT symbol, kind = 'regular' AS regular, sum(qty) AS qty FROM trades WHERE day = ? AND market = ? GROUP BY symbol, kind = 'regular'").all(day, market) as { symbol: string; regular: number; qty: number }[];
    const v: StreamedVolume = { sum: new Map(), block: new Map(), mode: this.trdVolModes(day).get(market) };
    for (const r of rows) (r.regular ? v.sum : v.block).set(r.symbol, r.qty);
    return v;
  }

  /** How each market's trdVol was read on `day` (markets not decided are absent). */
  trdVolModes(day: TradingDay): Map<Market, TrdVolMode> {
    const rows = this.db.prepare("SELECT market, mode FROM trade_modes WHERE day = ? AND symbol = ''").all(day) as { market: Market; mode: TrdVolMode }[];
    return new Map(rows.map((r) => [r.market, r.mode]));
  }

  /** Inserts (or, with `id`, updates) a session row; returns its id. */
  writeSession(r: SessionRecord): number {
    const values = [
      r.day,
      r.collector ?? '',
      r.startedNs,
      r.endedNs ?? null,
      r.status,
      JSON.stringify(r.counts ?? {}),
      r.reconnects ?? 0,
      r.downtimeMs ?? 0,
      JSON.stringify(r.gaps ?? []),
      JSON.stringify(r.reconciliation ?? {}),
      JSON.stringify(r.stores ?? []),
      JSON.stringify(r.clock ?? {}),
    ];
    if (r.id !== undefined) {
      this.db
        .prepare('UPDATE sessions SET day = ?, collector = ?, started_ns = ?, ended_ns = ?, status = ?, counts = ?, reconnects = ?, downtime_ms = ?, gaps = ?, reconciliation = ?, stores = ?, clock = ? WHERE id = ?')
        .run(...values, r.id);
      return r.id;
    }
    const res = this.db.prepare('INSERT INTO sessions (day, collector, started_ns, ended_ns, status, counts, reconnects, downtime_ms, gaps, reconciliation, stores, clock) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(...values);
    return Number(res.lastInsertRowid);
  }

  async close(): Promise<void> {
    if (this.checkpointer) {
      // Unreferenced while running so it never keeps a process alive; waited for here, but not
      // forever: a thread stuck in a checkpoint is ended, the final checkpoint below redoes it.
      this.checkpointer.ref();
      this.checkpointer.postMessage('stop');
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), CHECKPOINTER_STOP_MS)));
      if ((await Promise.race([this.checkpointerExited, stuck])) === 'stuck') {
        this.log.warn({ db: this.file }, `sqlite: WAL checkpoint thread did not stop within ${CHECKPOINTER_STOP_MS} ms; terminating it`);
        await this.checkpointer.terminate();
      }
      clearTimeout(timer);
    }
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (e) {
      this.log.warn({ db: this.file, err: e }, 'sqlite: final WAL checkpoint failed (the WAL stays; nothing is lost)');
    }
    this.db.close();
  }
}
