// The journal: every frame, as received, appended before anything decodes it — the one source of
// truth the stores are rebuilt from (kdb+'s tickerplant log is the model). One file per trading
// day and collector, written by one process at a time (`<journal>.lock`); records are framed and
// CRC-checked so a torn tail after a crash is found and cut on the next open, and a bad record with
// valid ones after it is moved aside (`<journal>.corrupt`) without losing them.
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
import { type FileLock, lockFile } from './lock-file.js';

export const JOURNAL_MAGIC = Buffer.from('TTJRNL01', 'latin1');
/** Offset of the first record. */
export const JOURNAL_START = JOURNAL_MAGIC.length;
export const RECORD_HEADER = 19;
/** Larger records are taken as corruption (a full-market REST body is ~0.5 MB). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** What a record holds. */
export const FLAG = { incoming: 0, outgoing: 1, event: 2 } as const;
export type RecordFlag = (typeof FLAG)[keyof typeof FLAG];

/** The `type` of the event a capture journals as it stops (on its `events` channel). */
export const CAPTURE_END = 'capture-end';

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

type PlausibleHeader = (offset: number, length: number, channel: number, flags: number, recvNs: bigint) => boolean;

/** A read window over a journal (or a `.corrupt` copy of part of one) that parses a record at any offset. */
class RecordCursor {
  private buf = Buffer.allocUnsafe(1 << 20);
  /** File offset of buf[0], and how many bytes from there the buffer holds. */
  private start = 0;
  private held = 0;
  /** The last record found by recordAt: where its header is in `buf`, and its fields. */
  private at = 0;
  length = 0;
  recvNs = 0n;
  channel = 0;
  flags = 0;

  constructor(private readonly fd: number) {}

  /** Makes file bytes [offset, offset + need) readable; their index in `buf`, or -1 if the file ends first. */
  private fill(offset: number, need: number): number {
    if (offset >= this.start && offset + need <= this.start + this.held) return offset - this.start;
    const keep = offset >= this.start && offset < this.start + this.held ? this.start + this.held - offset : 0;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, offset - this.start, offset - this.start + keep);
      this.buf = bigger;
    } else if (keep > 0) {
      this.buf.copy(this.buf, 0, offset - this.start, offset - this.start + keep);
    }
    this.start = offset;
    this.held = keep;
    while (this.held < need) {
      const n = fs.readSync(this.fd, this.buf, this.held, this.buf.length - this.held, this.start + this.held);
      if (n === 0) return -1;
      this.held += n;
    }
    return 0;
  }

  /**
   * Whether a whole record whose CRC matches starts at `offset`; if so its fields are set. The
   * cheap `plausible` test of its header runs before the payload is read and checksummed.
   */
  recordAt(offset: number, plausible?: PlausibleHeader): boolean {
    let i = this.fill(offset, RECORD_HEADER);
    if (i < 0) return false;
    const len = this.buf.readUInt32LE(i);
    if (len > MAX_RECORD_BYTES) return false;
    if (plausible !== undefined && !plausible(offset, len, this.buf.readUInt16LE(i + 16), this.buf[i + 18], this.buf.readBigInt64LE(i + 8))) return false;
    i = this.fill(offset, RECORD_HEADER + len);
    if (i < 0 || crc32(this.buf.subarray(i + 8, i + RECORD_HEADER + len)) !== this.buf.readUInt32LE(i + 4)) return false;
    this.at = i;
    this.length = len;
    this.recvNs = this.buf.readBigInt64LE(i + 8);
    this.channel = this.buf.readUInt16LE(i + 16);
    this.flags = this.buf[i + 18];
    return true;
  }

  /** Drops the buffered bytes (a growing file's last record may have been read half-written). */
  forget(): void {
    this.held = 0;
  }

  /** The last record's payload in the read buffer: valid until the next read. */
  view(): Buffer {
    return this.buf.subarray(this.at + RECORD_HEADER, this.at + RECORD_HEADER + this.length);
  }

  /** A copy of the last record's payload (the buffer is reused). */
  payload(): Buffer {
    return Buffer.from(this.buf.subarray(this.at + RECORD_HEADER, this.at + RECORD_HEADER + this.length));
  }
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
  private readonly frames: number[] = [];
  private readonly cursor: RecordCursor;

  private constructor(
    readonly file: string,
    private readonly fd: number,
  ) {
    this.cursor = new RecordCursor(fd);
  }

  static open(file: string): JournalTail {
    return new JournalTail(file, fs.openSync(file, 'r'));
  }

  /**
   * The next whole, valid record ending at or before `limit` (default: the file's end), or
   * undefined. With `borrow`, its bytes are a view of the read buffer, valid only until the next
   * call (a follower that decodes each record at once saves a copy per frame).
   */
  next(limit = Number.MAX_SAFE_INTEGER, borrow = false): JournalRecord | undefined {
    const c = this.cursor;
    if (this.offset + RECORD_HEADER > limit) return undefined;
    if (!c.recordAt(this.offset)) {
      // Incomplete, or still being written: read it afresh next time.
      c.forget();
      return undefined;
    }
    const end = this.offset + RECORD_HEADER + c.length;
    if (end > limit) return undefined;
    const channel = c.channel;
    const rec: JournalRecord = {
      seq: this.seq++,
      frame: c.flags === FLAG.incoming ? (this.frames[channel] = (this.frames[channel] ?? -1) + 1) : -1,
      offset: this.offset,
      end,
      recvNs: c.recvNs,
      channel,
      flags: c.flags,
      bytes: borrow ? c.view() : c.payload(),
    };
    this.offset = end;
    return rec;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** A record found past a bad one: its place in the file searched and its content. */
export interface SalvagedRecord {
  offset: number;
  recvNs: bigint;
  channel: number;
  flags: number;
  bytes: Buffer;
}

/** Receive times this far past the clock are taken as garbage while searching for a record. */
const RECV_FUTURE_NS = 86_400n * 1_000_000_000n;

/**
 * A header that could be a record of a journal with `channels` channels, ending by `size`: the
 * filters that keep a byte-by-byte search for the next record linear (few offsets reach the CRC).
 */
function plausibleHeader(channels: number, size: number): PlausibleHeader {
  const latest = BigInt(Date.now()) * 1_000_000n + RECV_FUTURE_NS;
  return (offset, length, channel, flags, recvNs) => offset + RECORD_HEADER + length <= size && flags <= FLAG.event && channel < channels && recvNs >= 0n && recvNs <= latest;
}

/**
 * Every record of `file` from `from` on, searching byte by byte past bad bytes for the next record
 * whose header is plausible (see plausibleHeader) and whose CRC matches. Reads a journal's
 * `.corrupt` copy (from 0) as well as a journal (from JOURNAL_START).
 */
export function* salvageRecords(file: string, channels: number, from = 0): Generator<SalvagedRecord> {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const c = new RecordCursor(fd);
    const plausible = plausibleHeader(channels, size);
    let offset = from;
    while (offset + RECORD_HEADER <= size) {
      if (!c.recordAt(offset, plausible)) {
        offset++;
        continue;
      }
      yield { offset, recvNs: c.recvNs, channel: c.channel, flags: c.flags, bytes: c.payload() };
      offset += RECORD_HEADER + c.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface JournalRecovery {
  /** Offset of the bad record, where the re-appended records start. */
  at: number;
  /** The `.corrupt` files holding every byte from the bad record on. */
  corruptFiles: string[];
  /** Valid records found after the bad one and appended again. */
  records: number;
}

function hasRecordAfter(file: string, channels: number, from: number): boolean {
  // Leaving the loop closes the generator (and its file).
  for (const _ of salvageRecords(file, channels, from)) return true;
  return false;
}

/** While a recovery re-appends records: where they start and the `.corrupt` files they come from. */
interface RecoveryMarker {
  at: number;
  corrupt: string[];
}

function recoveryMarkerPath(journalFile: string): string {
  return `${journalFile}.recovering`;
}

function readRecoveryMarker(journalFile: string): RecoveryMarker | undefined {
  const p = recoveryMarkerPath(journalFile);
  return fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, 'utf8')) as RecoveryMarker) : undefined;
}

/** Copies bytes [from, to) of the journal to the first free `<journal>.corrupt[.N]`, durably; returns its path. */
function moveAside(fd: number, file: string, from: number, to: number): string {
  let aside = `${file}.corrupt`;
  for (let n = 1; fs.existsSync(aside); n++) aside = `${file}.corrupt.${n}`;
  const tmp = `${aside}.${process.pid}.tmp`;
  const out = fs.openSync(tmp, 'w');
  try {
    const buf = Buffer.allocUnsafe(Math.min(1 << 20, to - from));
    for (let at = from; at < to; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, to - at), at);
      if (n === 0) throw new Error(`${file} ended at ${at} while copying its bytes ${from}–${to} aside`);
      fs.writeSync(out, buf, 0, n);
      at += n;
    }
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(out);
  }
  fs.renameSync(tmp, aside);
  return aside;
}

/** `<journal>.lock`: held by the one process that writes the journal. */
export function journalLockPath(journalFile: string): string {
  return `${journalFile}.lock`;
}

/**
 * Takes a journal's writer lock (throws LockHeldError naming the holder's pid). A writer that
 * must hold it before Journal.open — `rebuild` deletes the day's rows first — takes it here and
 * passes it in JournalOptions.lock.
 */
export function lockJournal(journalFile: string, log: Logger): FileLock {
  fs.mkdirSync(path.dirname(journalFile), { recursive: true });
  const lock = lockFile(journalLockPath(journalFile), 'ticktape writer of this journal');
  if (lock.tookOverFrom !== undefined) log.warn({ journal: journalFile, pid: lock.tookOverFrom }, `took over the stale lock of ${path.basename(journalFile)} left by pid ${lock.tookOverFrom} (no longer running)`);
  return lock;
}

export interface JournalOptions {
  fsync?: FsyncPolicy;
  log: Logger;
  /**
   * The journal's lock, already taken by the caller with lockJournal: the journal then neither
   * takes nor releases it. Without it, open takes the lock and close releases it, so that no
   * writer can forget it; both appends and open's cutting of a torn tail need it.
   */
  lock?: FileLock;
}

/** Appends records to one journal file; one writer per file, enforced by its lock (lockJournal). */
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
  /** The lock this journal took itself, released by close. */
  private ownLock: FileLock | undefined;
  /**
   * Set when open found a bad record with valid ones after it: the records from `at` on are the
   * valid ones found after it, appended again. A store whose checkpoint is past `at` was written
   * from the old offsets and must be rebuilt (`ticktape rebuild`).
   */
  recovered: JournalRecovery | undefined;

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

  /**
   * Opens (creating) a journal, taking its lock unless `opts.lock` holds it. A torn tail left by a
   * crash (no valid record after the first bad one) is cut off and logged. A bad record with valid
   * records after it is not cut: every byte from it to the end is moved aside to
   * `<journal>.corrupt` (`.corrupt.1`, … if taken) and the valid records found there are appended
   * again (`recovered` says where), both logged. A marker file makes that crash-safe: the
   * `.corrupt` copy is durable before the journal is cut, and an interrupted re-append is redone.
   */
  static open(file: string, opts: JournalOptions): Journal {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (opts.lock !== undefined && opts.lock.file !== journalLockPath(file)) throw new Error(`the lock passed to open ${file} is ${opts.lock.file}, not ${journalLockPath(file)}`);
    const ownLock = opts.lock === undefined ? lockJournal(file, opts.log) : undefined;
    let fd: number | undefined;
    let journal: Journal;
    let corrupt: string[];
    try {
      fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
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
      // A recovery that a crash interrupted: its re-appended records are cut and appended again.
      const marker = readRecoveryMarker(file);
      if (marker !== undefined && marker.at < size) {
        fs.ftruncateSync(fd, marker.at);
        size = marker.at;
      }
      let end = JOURNAL_START;
      let seq = 0;
      const frames: number[] = [];
      for (const r of readJournal(file)) {
        end = r.end;
        seq = r.seq + 1;
        if (r.frame >= 0) frames[r.channel] = r.frame + 1;
      }
      const channels = readChannels(file);
      corrupt = marker?.corrupt.map((f) => path.join(path.dirname(file), f)) ?? [];
      if (end < size) {
        if (hasRecordAfter(file, channels.length, end + 1)) {
          // A bad record with valid ones after it is not a crash's torn tail: keep every byte.
          const aside = moveAside(fd, file, end, size);
          opts.log.warn({ journal: file, offset: end, movedBytes: size - end, corruptFile: aside, records: seq }, `journal ${path.basename(file)}: bad record at offset ${end} (after record ${seq}) with valid records after it: moved its ${size - end} bytes from there to the end aside to ${path.basename(aside)}`);
          corrupt.unshift(aside);
        } else {
          opts.log.warn({ journal: file, validBytes: end, cutBytes: size - end, records: seq }, `journal ${path.basename(file)}: cut a torn or corrupt tail of ${size - end} bytes after record ${seq} (offset ${end})`);
        }
      }
      if (corrupt.length > 0) writeFileAtomic(recoveryMarkerPath(file), JSON.stringify({ at: end, corrupt: corrupt.map((f) => path.basename(f)) } satisfies RecoveryMarker));
      if (end < size) {
        fs.ftruncateSync(fd, end);
        fs.fsyncSync(fd);
      }
      journal = new Journal(file, fd, end, seq, frames, channels, opts.fsync ?? 'batch');
      journal.ownLock = ownLock;
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      ownLock?.release();
      throw e;
    }
    if (corrupt.length > 0) {
      try {
        journal.reappend(corrupt, opts.log);
      } catch (e) {
        // The marker stays: the next open appends them again.
        journal.close();
        throw e;
      }
    }
    return journal;
  }

  /**
   * Appends the valid records of the `.corrupt` copies (in order) again, so that no record found
   * after a bad one is lost, then drops the recovery marker. They get new offsets: a store that
   * had read past `recovered.at` holds rows of the old ones (see `recovered`).
   */
  private reappend(corrupt: string[], log: Logger): void {
    const at = this.size;
    let records = 0;
    for (const f of corrupt) for (const r of salvageRecords(f, this.channels.length)) {
      this.append(r.channel, r.flags as RecordFlag, r.bytes, r.recvNs);
      records++;
    }
    this.sync();
    fs.rmSync(recoveryMarkerPath(this.file));
    this.recovered = { at, corruptFiles: corrupt, records };
    log.warn({ journal: this.file, offset: at, records, corruptFiles: corrupt }, `journal ${path.basename(this.file)}: re-appended the ${records} valid records found after the bad one (from offset ${at}); the bad bytes stay in ${corrupt.map((f) => path.basename(f)).join(', ')}`);
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
    try {
      if (this.policy !== 'off') this.sync();
    } finally {
      try {
        fs.closeSync(this.fd);
      } finally {
        this.ownLock?.release();
      }
    }
  }
}
