// The in-process tape: the journal writer and both store followers on one thread, each frame
// decoded as it is appended. It is what tools that own the whole day use — `rebuild`, the tests of
// the stores, the storage benchmark. The collector does not: its capture thread only journals
// (capture/), and the stores follow the journal from their own threads (followers/worker.ts).
// Opening a tape recovers: each store catches up with the journal from its own checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { JournalTape } from '../capture/journal-tape.js';
import type { Market } from '../protocol/market.js';
import { kstDay, type TradingDay } from '../protocol/time.js';
import { channelsPath, type ChannelSpec, type FsyncPolicy, journalCollectorId, journalPath } from '../storage/journal.js';
import type { FileLock } from '../storage/lock-file.js';
import type { SessionRecord, StreamedVolume } from '../storage/sqlite-sink.js';
import { type BatchTiming, StoreFollower } from './store-follower.js';

export type { BatchTiming } from './store-follower.js';

export interface TapeOptions {
  dataDir: string;
  /** Trading day (KST) of the journal; default: today in KST. */
  day?: TradingDay;
  /** Distinguishes several collectors writing the same day (journal and Arrow file names). */
  collectorId?: string;
  /** Flush a batch at this many rows (default 10,000). */
  batchRows?: number;
  /** … or when it is this old (default 200 ms). */
  batchMs?: number;
  /** Journal durability: fsync before each batch reaches the stores (default), every N ms, or off. */
  fsync?: FsyncPolicy;
  log: Logger;
  /** Also write Arrow files (default true). */
  arrow?: boolean;
  /** Period of SQLite's background WAL checkpoint, ms (default 1,000). */
  walCheckpointMs?: number;
  /** Called after each batch reached a store, e.g. for a latency histogram. */
  onBatch?(t: BatchTiming): void;
  /** The journal's writer lock, when the caller took it (lockJournal). */
  journalLock?: FileLock;
}

export interface TapeChannelStats {
  id: number;
  name: string;
  kind: ChannelSpec['kind'];
  frames: number;
  bytes: number;
  rows: number;
  quarantined: number;
}

const COLLECTOR_ID = /^[A-Za-z0-9_-]+$/;

export class Tape {
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    readonly day: TradingDay,
    private readonly journal: JournalTape,
    private readonly followers: StoreFollower[],
    private readonly dataDir: string,
    batchMs: number,
  ) {
    this.timer = setInterval(() => this.flushNow(), batchMs);
    this.timer.unref();
  }

  /** Opens the day's journal and the stores (applying migrations), then brings the stores up to the journal. */
  static async open(opts: TapeOptions): Promise<Tape> {
    if (opts.collectorId !== undefined && !COLLECTOR_ID.test(opts.collectorId)) {
      throw new Error(`collectorId must be letters, digits, '_' or '-' (it is part of file names), got ${JSON.stringify(opts.collectorId)}`);
    }
    const batchRows = opts.batchRows ?? 10_000;
    if (!(Number.isSafeInteger(batchRows) && batchRows > 0)) throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
    const day = opts.day ?? kstDay(Date.now());
    const batchMs = Math.max(1, opts.batchMs ?? 200);
    const journal = new JournalTape({ file: journalPath(opts.dataDir, day, opts.collectorId), fsync: opts.fsync ?? 'batch', batchMs, log: opts.log, lock: opts.journalLock });
    const followers: StoreFollower[] = [];
    try {
      const common = { dataDir: opts.dataDir, day, journalFile: journal.file, collectorId: opts.collectorId, batchRows, log: opts.log, beforeWrite: () => journal.syncNow(), onBatch: opts.onBatch };
      followers.push(StoreFollower.open({ ...common, store: 'sqlite', walCheckpointMs: opts.walCheckpointMs }));
      if (opts.arrow !== false) followers.push(StoreFollower.open({ ...common, store: 'arrow' }));
      const tape = new Tape(day, journal, followers, opts.dataDir, batchMs);
      tape.recover();
      return tape;
    } catch (e) {
      for (const f of followers) await f.abandon();
      await journal.close();
      throw e;
    }
  }

  private recover(): void {
    const started = performance.now();
    const behind = this.followers.filter((f) => f.stored < this.journal.size).map((f) => ({ store: f.name, fromOffset: f.stored }));
    for (const f of this.followers) f.recovering = true;
    const frames = Math.max(0, ...this.followers.map((f) => f.follow(this.journal.size)));
    for (const f of this.followers) {
      f.flush();
      f.recovering = false;
    }
    if (frames > 0) this.followers[0].log.info({ journal: this.journal.file, frames, stores: behind, ms: Math.round(performance.now() - started) }, `recovered ${frames} journal records into ${behind.map((s) => s.store).join(' and ')}`);
  }

  /** The id of a channel (registered on first use, idempotent by name). */
  channel(spec: ChannelSpec): number {
    return this.journal.channel(spec);
  }

  /** A received frame: journaled (redacted if it carries a credential), then decoded. */
  append(channel: number, frame: string | Buffer, recvNs?: bigint): void {
    this.journal.append(channel, frame, recvNs);
    for (const f of this.followers) f.follow(this.journal.size);
  }

  /** A frame we sent (init, registrations): journaled with credentials redacted, never decoded. */
  appendOutgoing(channel: number, frame: string | Buffer): void {
    this.journal.appendOutgoing(channel, frame);
  }

  /** A connection event (connect, disconnect, reconnect …), journaled as JSON with credentials redacted. */
  event(channel: number, obj: object): void {
    this.journal.event(channel, obj);
  }

  private flushNow(): void {
    if (this.closed) return;
    for (const f of this.followers) {
      f.follow(this.journal.size);
      f.flush();
    }
  }

  /** Writes the pending batches now. */
  async flush(): Promise<void> {
    this.flushNow();
  }

  /** Per channel: frames and bytes received, rows stored, frames (or elements) quarantined in this session. */
  stats(): TapeChannelStats[] {
    const decoded = this.followers[0].channelStats;
    return this.journal.stats().map((c) => ({ ...c, rows: decoded.get(c.name)?.rows ?? 0, quarantined: decoded.get(c.name)?.quarantined ?? 0 }));
  }

  private get sqlite() {
    return this.followers[0].sqlite!;
  }

  /** Streamed quantity per symbol of this day and market, from the store. */
  streamedVolume(market: Market): StreamedVolume {
    this.flushNow();
    return this.sqlite.streamedVolume(this.day, market);
  }

  /** Records a session in the `sessions` table; returns its id (pass it back in `record.id` to update). */
  writeSession(record: SessionRecord): number {
    return this.sqlite.writeSession({ collector: journalCollectorId(this.journal.file) ?? '', ...record });
  }

  /** Closes a day in SQLite: builds its indexed, sorted copy of the trades (call at session end). */
  async sealDay(day: TradingDay = this.day): Promise<void> {
    this.flushNow();
    this.sqlite.sealDay(day);
  }

  /** The files this tape writes. */
  files(): string[] {
    const f = [this.journal.file, channelsPath(this.journal.file), this.sqlite.file];
    const arrowDir = path.join(this.dataDir, 'arrow', `day=${this.day}`);
    if (this.followers.length > 1 && fs.existsSync(arrowDir)) f.push(arrowDir);
    return f;
  }

  /** The journal file (absolute or relative to the working directory, as opened). */
  get journalFile(): string {
    return this.journal.file;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushNow();
    this.closed = true;
    clearInterval(this.timer);
    for (const f of this.followers) await f.close();
    await this.journal.close();
  }
}
