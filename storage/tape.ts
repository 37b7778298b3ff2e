// The tape: what a collector writes to. Every frame goes to the journal first (one write syscall),
// is then decoded into the current batch, and batches go to the sinks (SQLite, Arrow) when they
// reach `batchRows` rows or `batchMs` age. Opening a tape recovers: each sink is replayed the
// journal frames past its own checkpoint, so after a crash at any point the stores hold every
// journaled frame exactly once. One tape = one trading day; the collector opens the next day's.

import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Market } from '../protocol/market.js';
import { kstDay, type TradingDay } from '../protocol/time.js';
import { ArrowSink } from './arrow-sink.js';
import type { RowBatch } from './batch.js';
import { batchRows, emptyBatch, FrameDecoder, resetBatch } from './decode.js';
import { channelsPath, FLAG, Journal, journalCollectorId, JOURNAL_START, journalPath, readJournal, RECORD_HEADER, type ChannelSpec, type FsyncPolicy, type JournalChannel, type RecordFlag } from './journal.js';
import type { FileLock } from './lock-file.js';
import { redactFrame, redactObject } from './redact.js';
import { SqliteSink, type SessionRecord, type StreamedVolume } from './sqlite-sink.js';

export type { ChannelKind, ChannelSpec, FsyncPolicy } from './journal.js';
export type { SessionRecord, StreamedVolume } from './sqlite-sink.js';

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
  /** Journal durability: fsync before each batch reaches the sinks (default), every N ms, or off. */
  fsync?: FsyncPolicy;
  log: Logger;
  /** Also write Arrow files (default true). */
  arrow?: boolean;
  /** Period of SQLite's background WAL checkpoint, ms (default 1,000). */
  walCheckpointMs?: number;
  /** Called after each batch reached the sinks, e.g. for a latency histogram. */
  onBatch?(t: BatchTiming): void;
  /** The journal's lock, when the caller took it (JournalOptions.lock). */
  journalLock?: FileLock;
}

/** One batch written: its rows and how long the journal sync plus the sink writes took. */
export interface BatchTiming {
  rows: number;
  seconds: number;
  /** Replayed from the journal while opening the tape. */
  recovering: boolean;
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

interface Sink {
  name: string;
  /** Journal offset this sink has stored up to (recovery replays from here). */
  from: number;
  write(b: RowBatch): void;
  failed: boolean;
}

const COLLECTOR_ID = /^[A-Za-z0-9_-]+$/;
// recv time: the wall clock at start plus a monotonic clock, so stamps never go backwards.
const EPOCH_BASE_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Now, ns since the epoch. */
export function nowNs(): bigint {
  return EPOCH_BASE_NS + process.hrtime.bigint();
}

export class Tape {
  private readonly batchRows: number;
  private readonly batchMs: number;
  private readonly stat: TapeChannelStats[] = [];
  private readonly batch: RowBatch;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onBatch: TapeOptions['onBatch'];

  private constructor(
    readonly day: TradingDay,
    private readonly journal: Journal,
    private readonly sqlite: SqliteSink,
    private readonly arrow: ArrowSink | undefined,
    private readonly sinks: Sink[],
    private readonly decoder: FrameDecoder,
    private readonly log: Logger,
    private readonly dataDir: string,
    opts: TapeOptions,
  ) {
    this.batchRows = opts.batchRows ?? 10_000;
    this.batch = emptyBatch(day, path.basename(journal.file), journal.size, journal.seq, this.batchRows + 64);
    for (const ch of journal.channelList()) this.addStats(ch);
    this.batchMs = Math.max(1, opts.batchMs ?? 200);
    this.onBatch = opts.onBatch;
  }

  /** Starts the batch timer, once recovery is done. */
  private start(): void {
    this.timer = setInterval(() => this.flushNow(), this.batchMs);
    this.timer.unref();
  }

  /** Opens the day's journal and the stores (applying migrations), then recovers the stores from the journal. */
  static async open(opts: TapeOptions): Promise<Tape> {
    if (opts.collectorId !== undefined && !COLLECTOR_ID.test(opts.collectorId)) {
      throw new Error(`collectorId must be letters, digits, '_' or '-' (it is part of file names), got ${JSON.stringify(opts.collectorId)}`);
    }
    const batchRows = opts.batchRows ?? 10_000;
    if (!(Number.isSafeInteger(batchRows) && batchRows > 0)) throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
    const day = opts.day ?? kstDay(Date.now());
    const log = opts.log;
    const journal = Journal.open(journalPath(opts.dataDir, day, opts.collectorId), { fsync: opts.fsync, log, lock: opts.journalLock });
    let sqlite: SqliteSink | undefined;
    let arrow: ArrowSink | undefined;
    try {
      sqlite = SqliteSink.open({ dataDir: opts.dataDir, log, walCheckpointMs: opts.walCheckpointMs });
      const name = path.basename(journal.file);
      const sq = sqlite;
      const sinks: Sink[] = [{ name: 'sqlite', from: Math.max(sq.checkpoint(name)?.offset ?? 0, JOURNAL_START), write: (b) => sq.write(b), failed: false }];
      if (opts.arrow !== false) {
        const ar = (arrow = ArrowSink.open({ dataDir: opts.dataDir, day, collectorId: opts.collectorId, log }));
        sinks.push({ name: 'arrow', from: Math.max(ar.resumeOffset(name), JOURNAL_START), write: (b) => ar.write(b), failed: false });
      }
      const decoder = new FrameDecoder(day);
      const tape = new Tape(day, journal, sqlite, arrow, sinks, decoder, log, opts.dataDir, opts);
      tape.recover();
      tape.start();
      return tape;
    } catch (e) {
      journal.close();
      arrow?.close();
      await sqlite?.close();
      throw e;
    }
  }

  /**
   * Replays the journal into the sinks that are behind. Records before the earliest resume point
   * only prime the decoder; a batch boundary is forced at each sink's resume point so that every
   * batch goes exactly to the sinks that lack it.
   */
  private recover(): void {
    const j = this.journal;
    for (const s of this.sinks) {
      // Only possible if the journal lost written data (power cut with fsync off, or a copy): the
      // store holds frames the journal no longer has, and new frames will reuse their offsets.
      if (s.from > j.size) this.log.error({ sink: s.name, checkpoint: s.from, journalBytes: j.size, journal: j.file }, `${s.name} is ahead of the journal it was written from; run \`ticktape rebuild --day ${this.day}\` after this session`);
    }
    const minFrom = Math.min(...this.sinks.map((s) => s.from));
    const hasSnapshots = j.channelList().some((c) => c.kind === 'multiquote-lists' || c.kind === 'multiquote-ohlclists');
    if (minFrom >= j.size && !hasSnapshots) return;
    const channels = j.channelList();
    const started = performance.now();
    const b = this.batch;
    resetBatch(b, minFrom, 0);
    let replayed = 0;
    for (const r of readJournal(j.file)) {
      const ch = channels[r.channel];
      if (r.offset < minFrom) {
        this.decoder.prime(ch, r.flags, r.recvNs, r.frame, r.bytes, b);
        b.journal.fromSeq = b.journal.toSeq = r.seq + 1;
        continue;
      }
      if (this.sinks.some((s) => s.from === r.offset) && b.journal.toOffset > b.journal.fromOffset) this.flushNow(true);
      this.decoder.decode(ch, r.flags, r.recvNs, r.frame, r.bytes, b);
      b.journal.toOffset = r.end;
      b.journal.toSeq = r.seq + 1;
      replayed++;
      if (batchRows(b) >= this.batchRows) this.flushNow(true);
    }
    this.flushNow(true);
    resetBatch(b, j.size, j.seq);
    if (replayed > 0) {
      const behind = this.sinks.filter((s) => s.from < j.size).map((s) => ({ sink: s.name, fromOffset: s.from }));
      this.log.info({ journal: j.file, frames: replayed, sinks: behind, ms: Math.round(performance.now() - started) }, `recovered ${replayed} journal records into ${behind.map((s) => s.sink).join(' and ')}`);
    }
  }

  /** The id of a channel (registered on first use, idempotent by name). */
  channel(spec: ChannelSpec): number {
    const known = this.journal.channelList().find((c) => c.name === spec.name);
    if (known && (known.kind !== spec.kind || known.market !== spec.market || known.snapshotKind !== spec.snapshotKind)) {
      throw new Error(`channel ${spec.name} is already registered in ${path.basename(this.journal.file)} with kind ${known.kind}${known.market ? `/${known.market}` : ''}: use another name`);
    }
    const id = this.journal.channel(spec);
    if (this.stat[id] === undefined) this.addStats(this.journal.channelList()[id]);
    return id;
  }

  /** A received frame: journaled (redacted if it carries a credential), then decoded. */
  append(channel: number, frame: string | Buffer, recvNs: bigint = nowNs()): void {
    const ch = this.channelOf(channel);
    const text = typeof frame === 'string' ? frame : frame.toString('utf8');
    const safe = redactFrame(text);
    const st = this.stat[channel];
    const b = this.batch;
    const q = b.quarantine.length;
    const before = this.journal.size;
    this.record(channel, FLAG.incoming, safe === text ? frame : safe, recvNs);
    st.frames++;
    st.bytes += this.journal.size - before - RECORD_HEADER;
    const rows = this.decoder.decode(ch, FLAG.incoming, recvNs, this.journal.framesOn(channel) - 1, safe, b);
    const quarantined = b.quarantine.length - q;
    st.quarantined += quarantined;
    st.rows += rows - quarantined;
    if (batchRows(b) >= this.batchRows) this.flushNow();
  }

  /** A frame we sent (init, registrations): journaled with credentials redacted, never decoded. */
  appendOutgoing(channel: number, frame: string | Buffer): void {
    this.channelOf(channel);
    this.record(channel, FLAG.outgoing, redactFrame(typeof frame === 'string' ? frame : frame.toString('utf8')), nowNs());
  }

  /** A connection event (connect, disconnect, reconnect …), journaled as JSON with credentials redacted. */
  event(channel: number, obj: object): void {
    this.channelOf(channel);
    this.record(channel, FLAG.event, redactObject(obj), nowNs());
  }

  private record(channel: number, flags: RecordFlag, frame: string | Buffer, recvNs: bigint): void {
    if (this.closed) throw new Error('tape is closed');
    this.journal.append(channel, flags, frame, recvNs);
    this.batch.journal.toOffset = this.journal.size;
    this.batch.journal.toSeq = this.journal.seq;
  }

  private channelOf(id: number): JournalChannel {
    const ch = this.journal.channelList()[id];
    if (ch === undefined) throw new RangeError(`unknown channel id ${id}: register it with tape.channel() first`);
    return ch;
  }

  private addStats(ch: JournalChannel): void {
    this.stat[ch.id] = { id: ch.id, name: ch.name, kind: ch.kind, frames: 0, bytes: 0, rows: 0, quarantined: 0 };
  }

  /** Hands the current batch to the sinks. During recovery only to the sinks that lack it. */
  private flushNow(recovering = false): void {
    const b = this.batch;
    const j = b.journal;
    if (j.toSeq === j.fromSeq && j.toOffset === j.fromOffset) return;
    const started = this.onBatch === undefined ? 0 : performance.now();
    if (!recovering) this.journal.syncForBatch();
    for (const s of this.sinks) {
      if (s.failed || (recovering && s.from > j.fromOffset)) continue;
      try {
        s.write(b);
      } catch (e) {
        // Its checkpoint stays where it was: the next open replays the journal from there.
        s.failed = true;
        this.log.error({ sink: s.name, err: e, journal: j.file, fromOffset: j.fromOffset }, `${s.name} sink failed; it stops for this session and is recovered from the journal on the next start`);
      }
    }
    this.onBatch?.({ rows: batchRows(b), seconds: (performance.now() - started) / 1000, recovering });
    resetBatch(b, j.toOffset, j.toSeq);
  }

  /** Writes the pending batch now. */
  async flush(): Promise<void> {
    this.flushNow();
  }

  /** Per channel: frames and bytes received, rows stored, frames (or elements) quarantined in this session. */
  stats(): TapeChannelStats[] {
    return this.stat.filter((s) => s !== undefined).map((s) => ({ ...s }));
  }

  /** Streamed quantity per symbol of this day and market, from the store (for reconciliation). */
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
    if (this.arrow && fs.existsSync(arrowDir)) f.push(arrowDir);
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
    this.journal.close();
    this.arrow?.close();
    await this.sqlite.close();
  }
}
