// A store as a follower of the journal (kdb+'s r.q to the tickerplant log): it reads the day's
// journal from its own checkpoint, decodes, and writes batches whose journal range is stored with
// the rows. It never runs on the capture thread; when its store fails it is dropped and reopened
// from its checkpoint (see followers/worker.ts), so a store error costs lag, never rows.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TradingDay } from '../protocol/time.js';
import { ArrowSink } from '../storage/arrow-sink.js';
import type { RowBatch } from '../storage/batch.js';
import { batchRows, emptyBatch, FrameDecoder, resetBatch } from '../storage/decode.js';
import { JOURNAL_START, JournalTail, readChannels, type JournalChannel } from '../storage/journal.js';
import { SqliteSink } from '../storage/sqlite-sink.js';
import type { StoreName } from './stores.js';


export interface FollowerOptions {
  store: StoreName;
  dataDir: string;
  day: TradingDay;
  journalFile: string;
  collectorId?: string;
  /** Rows per batch (default 10,000). */
  batchRows?: number;
  /** SQLite's background WAL checkpoint period, ms (0 = none). */
  walCheckpointMs?: number;
  /** Arrow rows per part file. */
  partRows?: number;
  log: Logger;
  /** Called before each batch is written (the in-process tape syncs the journal there). */
  beforeWrite?(): void;
  /** Called after each batch was written. */
  onBatch?(t: BatchTiming): void;
}

/** One batch written: its rows and how long the store took. */
export interface BatchTiming {
  store: StoreName;
  rows: number;
  seconds: number;
  /** Written while catching up with a journal written earlier (at open). */
  recovering: boolean;
}

/** Rows stored and frames (or elements) quarantined per channel by this follower since it opened. */
export interface FollowedChannel {
  rows: number;
  quarantined: number;
}

interface Store {
  /** Journal offset the store holds everything before. */
  readonly from: number;
  write(b: RowBatch): void;
  /** Finishes normally (Arrow: footers written, parts renamed). */
  close(): Promise<void>;
  /** After a failed write: keeps only what the store committed (Arrow: the open parts are deleted). */
  abandon(): Promise<void>;
}

/**
 * Test-only fault switch, like the journal's TICKTAPE_TEST_ENOSPC_FILE: while the file
 * `<this value>.<store>` exists, that store's writes fail with ENOSPC.
 */
const TEST_STORE_FULL = process.env.TICKTAPE_TEST_STORE_FULL;

export class StoreFollower {
  /** Everything before this journal offset is in the store. */
  stored: number;
  /** Records stored (the seq of the next record to store). */
  storedSeq = 0;
  /** Per channel, what this follower stored. */
  readonly channelStats = new Map<string, FollowedChannel>();
  /** … and what the pending batch holds. */
  private readonly pendingStats = new Map<string, FollowedChannel>();
  private readonly tail: JournalTail;
  private readonly decoder: FrameDecoder;
  private readonly batch: RowBatch;
  private readonly batchRows: number;
  private channels: readonly JournalChannel[];
  private batchStartedMs = 0;
  /** Set while catching up at open: reported with each batch. */
  recovering = false;

  private constructor(
    private readonly o: FollowerOptions,
    private readonly store: Store,
    readonly sqlite: SqliteSink | undefined,
  ) {
    this.stored = store.from;
    this.batchRows = o.batchRows ?? 10_000;
    this.tail = JournalTail.open(o.journalFile);
    this.decoder = new FrameDecoder(o.day);
    this.batch = emptyBatch(o.day, path.basename(o.journalFile), JOURNAL_START, 0, this.batchRows + 64);
    this.channels = readChannels(o.journalFile);
  }

  /** Opens the store and primes the decoder with the journal before the store's checkpoint. */
  static open(o: FollowerOptions): StoreFollower {
    const name = path.basename(o.journalFile);
    let store: Store;
    let sqlite: SqliteSink | undefined;
    if (o.store === 'sqlite') {
      const sq = (sqlite = SqliteSink.open({ dataDir: o.dataDir, log: o.log, walCheckpointMs: o.walCheckpointMs }));
      store = { from: Math.max(sq.checkpoint(name)?.offset ?? 0, JOURNAL_START), write: (b) => sq.write(b), close: () => sq.close(), abandon: () => sq.close() };
    } else {
      const ar = ArrowSink.open({ dataDir: o.dataDir, day: o.day, collectorId: o.collectorId, log: o.log, partRows: o.partRows });
      store = {
        from: Math.max(ar.resumeOffset(name), JOURNAL_START),
        write: (b) => ar.write(b),
        close: async () => ar.close(),
        abandon: async () => ar.abandon(),
      };
    }
    const f = new StoreFollower(o, store, sqlite);
    try {
      f.prime();
    } catch (e) {
      f.tail.close();
      void store.abandon();
      throw e;
    }
    return f;
  }

  get log(): Logger {
    return this.o.log;
  }

  get name(): StoreName {
    return this.o.store;
  }

  /** Journal offset read up to (stored, or in the pending batch). */
  get read(): number {
    return this.tail.offset;
  }

  /** Rows waiting in the current batch. */
  get pending(): number {
    return batchRows(this.batch);
  }

  /** Age of the current batch, ms (0 when empty). */
  batchAgeMs(now = Date.now()): number {
    return this.pendingRecords() ? now - this.batchStartedMs : 0;
  }

  private pendingRecords(): boolean {
    const j = this.batch.journal;
    return j.toSeq !== j.fromSeq || j.toOffset !== j.fromOffset;
  }

  /**
   * Reads journal records up to `limit` (an offset; at most `maxRecords` of them) into batches,
   * writing each full batch. Returns the records read. A store error is thrown; after a busy
   * SQLite the same follower may be called again (the failed transaction left nothing), after any
   * other error `abandon()` it and open a new one.
   */
  follow(limit: number, maxRecords = Number.MAX_SAFE_INTEGER): number {
    const b = this.batch;
    // A full batch left by a write that failed (SQLITE_BUSY) goes first: the batch has no room.
    if (batchRows(b) >= this.batchRows) this.flush();
    let n = 0;
    while (n < maxRecords) {
      // Borrowed bytes: the record is decoded (and its text copied by the decoder) before the next read.
      const r = this.tail.next(limit, true);
      if (r === undefined) break;
      const ch = this.channelOf(r.channel);
      if (!this.pendingRecords()) this.batchStartedMs = Date.now();
      const q = b.quarantine.length;
      const rows = this.decoder.decode(ch, r.flags, r.recvNs, r.frame, r.bytes, b);
      if (rows > 0 && ch !== undefined) {
        const st = this.channelStat(this.pendingStats, ch.name);
        const quarantined = b.quarantine.length - q;
        st.quarantined += quarantined;
        st.rows += rows - quarantined;
      }
      b.journal.toOffset = r.end;
      b.journal.toSeq = r.seq + 1;
      n++;
      if (batchRows(b) >= this.batchRows) this.flush();
    }
    return n;
  }

  /**
   * Writes the pending batch (a store error is thrown, as in follow()). A batch holding trades of a
   * market whose trdVol reading is not decided waits, unless `final` (the journal has ended, or the
   * store stops): those markets are then read per-trade.
   */
  flush(final = false): void {
    const b = this.batch;
    const j = b.journal;
    if (!this.pendingRecords()) return;
    if (this.decoder.holding) {
      if (!final) return;
      this.decoder.settle(b);
    }
    if (TEST_STORE_FULL !== undefined && fs.existsSync(`${TEST_STORE_FULL}.${this.o.store}`)) {
      throw Object.assign(new Error(`ENOSPC: no space left on device, write (TICKTAPE_TEST_STORE_FULL, ${this.o.store})`), { code: 'ENOSPC' });
    }
    const started = performance.now();
    this.o.beforeWrite?.();
    this.store.write(b);
    this.o.onBatch?.({ store: this.o.store, rows: batchRows(b), seconds: (performance.now() - started) / 1000, recovering: this.recovering });
    this.stored = j.toOffset;
    this.storedSeq = j.toSeq;
    for (const [name, p] of this.pendingStats) {
      const st = this.channelStat(this.channelStats, name);
      st.rows += p.rows;
      st.quarantined += p.quarantined;
    }
    this.pendingStats.clear();
    resetBatch(b, j.toOffset, j.toSeq);
  }

  /** Replays the records before the store's checkpoint into the decoder only (snapshot halves, frame numbers). */
  private prime(): void {
    const b = this.batch;
    for (;;) {
      if (this.tail.offset >= this.stored) break;
      const r = this.tail.next(this.stored, true);
      if (r === undefined) break;
      this.decoder.prime(this.channelOf(r.channel), r.flags, r.recvNs, r.frame, r.bytes, b);
    }
    // Rows still held at the checkpoint were written by a store that stopped before its market's
    // trdVol reading was decided (flush(true)): it read them per-trade, and so does this one.
    if (this.decoder.holding) this.decoder.settle(b);
    // The store may be ahead of a journal that lost written data (power cut with fsync off, or a
    // copy): new records will reuse those offsets.
    if (this.tail.offset < this.stored) {
      this.o.log.error({ store: this.o.store, checkpoint: this.stored, journalBytes: this.tail.offset, journal: this.o.journalFile }, `${this.o.store} is ahead of the journal it was written from; run \`ticktape rebuild --day ${this.o.day}\``);
      this.stored = this.tail.offset;
    }
    this.storedSeq = this.tail.seq;
    resetBatch(b, this.tail.offset, this.tail.seq);
  }

  private channelOf(id: number): JournalChannel | undefined {
    // A channel registered after we read the sidecar: the writer writes it before any record uses it.
    if (this.channels[id] === undefined) this.channels = readChannels(this.o.journalFile);
    return this.channels[id];
  }

  private channelStat(stats: Map<string, FollowedChannel>, name: string): FollowedChannel {
    let st = stats.get(name);
    if (st === undefined) stats.set(name, (st = { rows: 0, quarantined: 0 }));
    return st;
  }

  /** Writes what is pending and closes the store normally. */
  async close(): Promise<void> {
    try {
      this.flush(true);
    } finally {
      this.tail.close();
      await this.store.close();
    }
  }

  /** After a store error: closes without writing, keeping only what the store committed. */
  async abandon(): Promise<void> {
    this.tail.close();
    await this.store.abandon();
  }
}
