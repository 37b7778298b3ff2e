// The journal: every frame, as received, appended before anything decodes it — the one source of
// truth the stores are rebuilt from (kdb+'s tickerplant log is the model). One file per trading
// day and collector; records are framed and CRC-checked so a torn tail after a crash is found and
// cut on the next open.
//
// File: 8-byte magic, then records:
//   u32 payload length | u32 CRC-32 of bytes [8, end) | i64 recv ns | u16 channel | u8 flags | payload
// Little-endian. Channels are described in a sidecar `<journal>.channels.json`.

import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import type { Market, SnapshotKind } from '../protocol/market.js';
import type { TradingDay } from '../protocol/time.js';

export const JOURNAL_MAGIC = Buffer.from('TTJRNL01', 'latin1');
/** Offset of the first record. */
export const JOURNAL_START = JOURNAL_MAGIC.length;
export const RECORD_HEADER = 19;
/** Larger records are taken as corruption (a full-market REST body is ~0.5 MB). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** What a record holds. */
export const FLAG = { incoming: 0, outgoing: 1, event: 2 } as const;
export type RecordFlag = (typeof FLAG)[keyof typeof FLAG];

export type ChannelKind = 'trades' | 'ls.ws' | 'stock-list' | 'multiquote-lists' | 'multiquote-ohlclists' | 'detail' | 'events';

export interface ChannelSpec {
  name: string;
  vendor: 'koscom' | 'ls';
  endpoint: string;
  kind: ChannelKind;
  market?: Market;
  snapshotKind?: SnapshotKind;
}

export interface JournalChannel extends ChannelSpec {
  id: number;
}

export interface JournalRecord {
  /** Record number within the file, from 0. */
  seq: number;
  /**
   * An incoming record's number among the incoming records of its channel, from 0 (-1 for
   * outgoing frames and events): the `src_seq` of its rows. Unlike `seq`, a second capture of the
   * same stream numbers its frames the same way, whatever else the journal interleaves.
   */
  frame: number;
  offset: number;
  /** Offset just past the record. */
  end: number;
  recvNs: bigint;
  channel: number;
  flags: number;
  bytes: Buffer;
}

/**
 * Test-only fault switch: while the file this variable names exists, every journal write fails
 * with ENOSPC, as on a full disk (a real size-capped file system needs root to mount).
 */
const TEST_ENOSPC_FILE = process.env.TICKTAPE_TEST_ENOSPC_FILE;

function failIfTestDiskFull(): void {
  if (TEST_ENOSPC_FILE === undefined || !fs.existsSync(TEST_ENOSPC_FILE)) return;
  throw Object.assign(new Error('ENOSPC: no space left on device, write (TICKTAPE_TEST_ENOSPC_FILE)'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** `batch` = fdatasync before each batch reaches the sinks; a number = every N ms; `off` = leave it to the OS. */
export type FsyncPolicy = 'batch' | 'off' | number;

/** `<dataDir>/journal/<day>[.<collectorId>].journal` */
export function journalPath(dataDir: string, day: TradingDay, collectorId?: string): string {
  return path.join(dataDir, 'journal', `${day}${collectorId ? `.${collectorId}` : ''}.journal`);
}

/** The journal files of a day (every collector), sorted. */
export function dayJournals(dataDir: string, day: TradingDay): string[] {
  const dir = path.join(dataDir, 'journal');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.journal') && (f === `${day}.journal` || f.startsWith(`${day}.`)))
    .sort()
    .map((f) => path.join(dir, f));
}

/** The collector id encoded in a journal file name, or undefined. */
export function journalCollectorId(file: string): string | undefined {
  const m = /^\d{4}-\d{2}-\d{2}\.(.+)\.journal$/.exec(path.basename(file));
  return m ? m[1] : undefined;
}

export function channelsPath(journalFile: string): string {
  return `${journalFile}.channels.json`;
}

export function readChannels(journalFile: string): JournalChannel[] {
  const p = channelsPath(journalFile);
  if (!fs.existsSync(p)) return [];
  return JSON.parse(fs.readFileSync(p, 'utf8')) as JournalChannel[];
}

/** Writes a file so that a reader (or a crash) sees the old or the new content, never a mix. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Reads records from the first to the first bad or incomplete one. */
export function* readJournal(file: string): Generator<JournalRecord> {
  const tail = JournalTail.open(file);
  try {
    for (let r = tail.next(); r !== undefined; r = tail.next()) yield r;
  } finally {
    tail.close();
  }
}

/**
 * Reads a journal record by record, and can be asked again after the writer appended more: a
 * follower's view of a file that is still growing. It stops (for now) at `limit` and at the first
 * incomplete or bad record; a bad record in a live file is usually one still being written, so
 * the next call retries from the same offset.
 */
export class JournalTail {
  /** Offset of the next record. */
  offset = JOURNAL_START;
  /** Number of the next record. */
  seq = 0;
  private buf = Buffer.allocUnsafe(1 << 20);
  /** File offset of buf[0]. */
  private bufStart = JOURNAL_START;
  private bufLen = 0;
  private pos = 0;
  private readonly frames: number[] = [];

  private constructor(
    readonly file: string,
    private readonly fd: number,
  ) {}

  static open(file: string): JournalTail {
    return new JournalTail(file, fs.openSync(file, 'r'));
  }

  /** Incoming records read so far on a channel (the `frame` of its next one). */
  framesOn(channel: number): number {
    return this.frames[channel] ?? 0;
  }

  /** The next whole, valid record ending at or before `limit` (default: the file's end), or undefined. */
  next(limit = Number.MAX_SAFE_INTEGER): JournalRecord | undefined {
    if (!this.fill(RECORD_HEADER, limit)) return undefined;
    const len = this.buf.readUInt32LE(this.pos);
    if (len > MAX_RECORD_BYTES) return this.unread();
    if (!this.fill(RECORD_HEADER + len, limit)) return undefined;
    const q = this.pos;
    if (crc32(this.buf.subarray(q + 8, q + RECORD_HEADER + len)) !== this.buf.readUInt32LE(q + 4)) return this.unread();
    const channel = this.buf.readUInt16LE(q + 16);
    const flags = this.buf[q + 18];
    const rec: JournalRecord = {
      seq: this.seq++,
      frame: flags === FLAG.incoming ? (this.frames[channel] = (this.frames[channel] ?? -1) + 1) : -1,
      offset: this.offset,
      end: this.offset + RECORD_HEADER + len,
      recvNs: this.buf.readBigInt64LE(q + 8),
      channel,
      flags,
      // A copy: the read buffer is reused.
      bytes: Buffer.from(this.buf.subarray(q + RECORD_HEADER, q + RECORD_HEADER + len)),
    };
    this.pos += RECORD_HEADER + len;
    this.offset = rec.end;
    return rec;
  }

  /** Forgets the buffered bytes from the current record on: a writer may be rewriting them. */
  private unread(): undefined {
    this.bufLen = this.pos;
    return undefined;
  }

  /** Makes `need` bytes from the current record available in the buffer, reading no further than `limit`. */
  private fill(need: number, limit: number): boolean {
    if (this.bufLen - this.pos >= need) return this.offset + need <= limit;
    if (this.offset + need > limit) return false;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, this.pos, this.bufLen);
      this.buf = bigger;
    } else {
      this.buf.copy(this.buf, 0, this.pos, this.bufLen);
    }
    this.bufStart += this.pos;
    this.bufLen -= this.pos;
    this.pos = 0;
    while (this.bufLen < need) {
      const n = fs.readSync(this.fd, this.buf, this.bufLen, this.buf.length - this.bufLen, this.bufStart + this.bufLen);
      if (n === 0) return false;
      this.bufLen += n;
    }
    return true;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export interface JournalOptions {
  fsync?: FsyncPolicy;
  log: Logger;
}

/** Appends records to one journal file. Not safe for two processes: one collector per file. */
export class Journal {
  /** Offset just past the last record. */
  size: number;
  /** Records in the file (= seq of the next record). */
  seq: number;
  /** Incoming records per channel id (= `frame` of the channel's next one). */
  private readonly frames: number[];
  private readonly fd: number;
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private channels: JournalChannel[];
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(readonly file: string, fd: number, size: number, seq: number, frames: number[], channels: JournalChannel[], private readonly policy: FsyncPolicy) {
    this.fd = fd;
    this.size = size;
    this.seq = seq;
    this.frames = frames;
    this.channels = channels;
    if (typeof policy === 'number') {
      this.timer = setInterval(() => this.sync(), Math.max(1, policy));
      this.timer.unref();
    }
  }

  /** Opens (creating) a journal; a torn or corrupt tail left by a crash is cut off and logged. */
  static open(file: string, opts: JournalOptions): Journal {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
    try {
      let size = fs.fstatSync(fd).size;
      if (size < JOURNAL_START) {
        // Empty, or the crash came while the header was being written: nothing else can be there.
        fs.ftruncateSync(fd, 0);
        fs.writeSync(fd, JOURNAL_MAGIC, 0, JOURNAL_START, 0);
        fs.fsyncSync(fd);
        size = JOURNAL_START;
      } else {
        const head = Buffer.alloc(JOURNAL_START);
        fs.readSync(fd, head, 0, JOURNAL_START, 0);
        if (!head.equals(JOURNAL_MAGIC)) throw new Error(`${file} is not a ticktape journal (bad magic)`);
      }
      let end = JOURNAL_START;
      let seq = 0;
      const frames: number[] = [];
      for (const r of readJournal(file)) {
        end = r.end;
        seq = r.seq + 1;
        if (r.frame >= 0) frames[r.channel] = r.frame + 1;
      }
      if (end < size) {
        opts.log.warn({ journal: file, validBytes: end, cutBytes: size - end, records: seq }, `journal ${path.basename(file)}: cut a torn or corrupt tail of ${size - end} bytes after record ${seq} (offset ${end})`);
        fs.ftruncateSync(fd, end);
        fs.fsyncSync(fd);
      }
      return new Journal(file, fd, end, seq, frames, readChannels(file), opts.fsync ?? 'batch');
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** The id of a channel, registering it (sidecar written atomically, before any record uses it). */
  channel(spec: ChannelSpec): number {
    const known = this.channels.find((c) => c.name === spec.name);
    if (known) return known.id;
    const ch: JournalChannel = { id: this.channels.length, ...spec };
    this.channels = [...this.channels, ch];
    writeFileAtomic(channelsPath(this.file), JSON.stringify(this.channels, null, 1));
    return ch.id;
  }

  channelList(): readonly JournalChannel[] {
    return this.channels;
  }

  /**
   * Appends one record with one write syscall, so a frame handed to append survives a SIGKILL of
   * this process (the OS holds it). Returns the record's seq; `size` is then its end offset.
   */
  append(channel: number, flags: RecordFlag, frame: string | Buffer, recvNs: bigint): number {
    const len = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
    if (len > MAX_RECORD_BYTES) throw new RangeError(`frame of ${len} bytes exceeds the journal's ${MAX_RECORD_BYTES}-byte record limit`);
    const total = RECORD_HEADER + len;
    if (this.scratch.length < total) this.scratch = Buffer.allocUnsafe(Math.max(total, this.scratch.length * 2));
    const b = this.scratch;
    b.writeUInt32LE(len, 0);
    b.writeBigInt64LE(recvNs, 8);
    b.writeUInt16LE(channel, 16);
    b[18] = flags;
    if (typeof frame === 'string') b.write(frame, RECORD_HEADER, 'utf8');
    else frame.copy(b, RECORD_HEADER);
    b.writeUInt32LE(crc32(b.subarray(8, total)), 4);
    if (TEST_ENOSPC_FILE !== undefined) failIfTestDiskFull();
    // Positional writes from `size`: if one fails half-way (ENOSPC), `size` stays put and the next
    // record overwrites the partial bytes; a crash leaves them as a torn tail, cut on open.
    let done = 0;
    while (done < total) done += fs.writeSync(this.fd, b, done, total - done, this.size + done);
    this.size += total;
    this.dirty = true;
    if (flags === FLAG.incoming) this.frames[channel] = (this.frames[channel] ?? 0) + 1;
    return this.seq++;
  }

  /** Incoming records on a channel so far; the last one's `frame` is this minus one. */
  framesOn(channel: number): number {
    return this.frames[channel] ?? 0;
  }

  /** fdatasync if anything was appended since the last sync. */
  sync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    fs.fdatasyncSync(this.fd);
  }

  /**
   * fdatasync on libuv's thread pool, so the appending thread goes on reading its sockets; resolves
   * with the size it made durable. Wait for it before close().
   */
  syncAsync(): Promise<number> {
    const size = this.size;
    if (!this.dirty) return Promise.resolve(size);
    this.dirty = false;
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (e) => (e ? reject(e) : resolve(size))));
  }

  /** Called by the tape before a batch reaches the sinks. */
  syncForBatch(): void {
    if (this.policy === 'batch') this.sync();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.policy !== 'off') this.sync();
    fs.closeSync(this.fd);
  }
}
