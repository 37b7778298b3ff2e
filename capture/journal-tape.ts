// The capture side of the tape: every frame a source hands over is journaled (credentials
// redacted) with one write syscall, and nothing else — decoding and the stores follow the journal
// from other threads (followers/). Durability: fdatasync on libuv's thread pool every `syncMs`
// (policy `batch`: the batch interval), so a slow disk never pauses the socket reads; followers
// read only what is durable, so no store holds a row the journal could lose.
import path from 'node:path';
import type { RecordableHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { CaptureTape } from '../collector/capture.js';
import { FLAG, Journal, type ChannelSpec, type FsyncPolicy, type JournalChannel, RECORD_HEADER, type RecordFlag } from '../storage/journal.js';
import { JournalProgress } from '../storage/journal-progress.js';
import type { FileLock } from '../storage/lock-file.js';
import { redactFrame, redactObject } from '../storage/redact.js';
import { nowNs } from './recv-clock.js';

export interface JournalTapeOptions {
  file: string;
  fsync: FsyncPolicy;
  /** The sync interval of policy `batch`, ms. */
  batchMs: number;
  log: Logger;
  progress?: JournalProgress;
  /** The journal's writer lock, when the caller holds it (lockJournal); else the journal takes it. */
  lock?: FileLock;
  /** Records, per received frame, ns from its receive time to its journal write returning. */
  latency?: RecordableHistogram;
}

/** Frames and bytes journaled per channel by this process. */
export interface JournaledChannel {
  id: number;
  name: string;
  kind: ChannelSpec['kind'];
  frames: number;
  bytes: number;
}

export class JournalTape implements CaptureTape {
  readonly progress: JournalProgress;
  private readonly journal: Journal;
  private readonly stat: JournaledChannel[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: JournalTapeOptions) {
    // The journal's own timer would sync on this thread; this tape syncs on the thread pool.
    this.journal = Journal.open(o.file, { fsync: 'off', log: o.log, lock: o.lock });
    this.progress = o.progress ?? new JournalProgress();
    const durable = o.fsync === 'off';
    this.progress.appended(this.journal.size, this.journal.seq, 0n, durable);
    if (!durable) this.progress.synced(this.journal.size);
    for (const ch of this.journal.channelList()) this.addStats(ch);
    if (o.fsync !== 'off') {
      this.timer = setInterval(() => this.sync(), Math.max(1, o.fsync === 'batch' ? o.batchMs : o.fsync));
      this.timer.unref();
    }
  }

  get file(): string {
    return this.journal.file;
  }

  get name(): string {
    return path.basename(this.journal.file);
  }

  channel(spec: ChannelSpec): number {
    const known = this.journal.channelList().find((c) => c.name === spec.name);
    if (known && (known.kind !== spec.kind || known.market !== spec.market || known.snapshotKind !== spec.snapshotKind)) {
      throw new Error(`channel ${spec.name} is already registered in ${this.name} with kind ${known.kind}${known.market ? `/${known.market}` : ''}: use another name`);
    }
    const id = this.journal.channel(spec);
    if (this.stat[id] === undefined) this.addStats(this.journal.channelList()[id]);
    return id;
  }

  channelList(): readonly JournalChannel[] {
    return this.journal.channelList();
  }

  /** A received frame, journaled as received (a credential in it redacted). */
  append(channel: number, frame: string | Buffer, recvNs: bigint = nowNs()): void {
    this.channelOf(channel);
    const text = typeof frame === 'string' ? frame : frame.toString('utf8');
    const safe = redactFrame(text);
    const before = this.journal.size;
    this.record(channel, FLAG.incoming, safe === text ? frame : safe, recvNs);
    const st = this.stat[channel];
    st.frames++;
    st.bytes += this.journal.size - before - RECORD_HEADER;
    if (this.o.latency !== undefined) this.o.latency.record(Math.max(1, Number(nowNs() - recvNs)));
  }

  /** A frame we sent (init, registrations), credentials redacted. */
  appendOutgoing(channel: number, frame: string | Buffer): void {
    this.channelOf(channel);
    this.record(channel, FLAG.outgoing, redactFrame(typeof frame === 'string' ? frame : frame.toString('utf8')), nowNs());
  }

  /** A connection event, journaled as JSON with credentials redacted. */
  event(channel: number, obj: object): void {
    this.channelOf(channel);
    this.record(channel, FLAG.event, redactObject(obj), nowNs());
  }

  private record(channel: number, flags: RecordFlag, frame: string | Buffer, recvNs: bigint): void {
    if (this.closed) throw new Error('journal tape is closed');
    this.journal.append(channel, flags, frame, recvNs);
    this.progress.appended(this.journal.size, this.journal.seq, recvNs, this.o.fsync === 'off');
  }

  /** Makes what was appended durable now (on the thread pool) and lets the followers read it. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      if (this.closed) return;
      try {
        this.progress.synced(await this.journal.syncAsync());
      } catch (e) {
        this.o.log.error({ err: e, journal: this.file }, `journal fdatasync failed: ${(e as Error).message}`);
      }
    });
    return this.syncing;
  }

  /** fdatasync on this thread, now (the in-process tape, before a batch reaches the stores). */
  syncNow(): void {
    if (this.o.fsync === 'off') return;
    this.journal.sync();
    this.progress.synced(this.journal.size);
  }

  stats(): JournaledChannel[] {
    return this.stat.filter((s) => s !== undefined).map((s) => ({ ...s }));
  }

  get size(): number {
    return this.journal.size;
  }

  private channelOf(id: number): JournalChannel {
    const ch = this.journal.channelList()[id];
    if (ch === undefined) throw new RangeError(`unknown channel id ${id}: register it with channel() first`);
    return ch;
  }

  private addStats(ch: JournalChannel): void {
    this.stat[ch.id] = { id: ch.id, name: ch.name, kind: ch.kind, frames: 0, bytes: 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.syncing;
    this.closed = true;
    if (this.o.fsync !== 'off') this.journal.sync();
    this.progress.close();
    this.journal.close();
  }
}
