// A sealed day's journal, compressed: `<day>[.<collector>].journal.br`, one standard Brotli stream
// of the journal file byte for byte (so `brotli -d` gives the original back), beside the same
// channels sidecar. It stays the source of truth: `rebuild` and `replay --source journal` read it.
//
// Codec, measured on a 2 M-trade synthetic day's journal (130 B/trade raw, bench/history.ts has
// the figure on the bench machine): gzip -6 21.5 B/trade at 57 MB/s; Brotli quality 5 with a
// 16 MiB window 17.0 B/trade at 28 MB/s (quality 9: 16.4 at 4 MB/s); zstd (zstd-napi, a native
// build) level 9 17.5 B/trade at 37 MB/s, level 19 14.3 at 0.6 MB/s. Brotli 5 matches zstd's
// useful levels and ships with Node: no native dependency to build on every machine.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import zlib, { crc32 } from 'node:zlib';
import type { TradingDay } from '../protocol/time.js';
import { readManifest } from './history-format.js';
import { FLAG, JOURNAL_MAGIC, JOURNAL_START, MAX_RECORD_BYTES, RECORD_HEADER, dayJournals, readJournal, type JournalRecord } from './journal.js';

export const ARCHIVE_SUFFIX = '.br';
const BROTLI_QUALITY = 5;
const BROTLI_WINDOW_BITS = 24;

/** `<journal>.br` */
export function archivePath(journalFile: string): string {
  return journalFile + ARCHIVE_SUFFIX;
}

/** The journal file an archive holds (its channels sidecar is that file's). */
export function archivedJournal(file: string): string {
  return file.endsWith(ARCHIVE_SUFFIX) ? file.slice(0, -ARCHIVE_SUFFIX.length) : file;
}

export function isArchive(file: string): boolean {
  return file.endsWith(ARCHIVE_SUFFIX);
}

/** A day's journals, each as its plain file or, once compacted, its archive; sorted by journal name. */
export function dayJournalFiles(dataDir: string, day: TradingDay): string[] {
  const plain = dayJournals(dataDir, day);
  const dir = path.join(dataDir, 'journal');
  const archives = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(`.journal${ARCHIVE_SUFFIX}`) && (f === `${day}.journal${ARCHIVE_SUFFIX}` || f.startsWith(`${day}.`)))
        .map((f) => path.join(dir, f))
        .filter((a) => !plain.includes(archivedJournal(a)))
    : [];
  return [...plain, ...archives].sort((a, b) => archivedJournal(a).localeCompare(archivedJournal(b)));
}

async function sha256(stream: NodeJS.ReadableStream): Promise<{ hash: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { hash: h.digest('hex'), bytes };
}

/** SHA-256 and size of what an archive decompresses to: the journal's own bytes. */
function unpacked(archive: string): Promise<{ hash: string; bytes: number }> {
  return sha256(fs.createReadStream(archive).pipe(zlib.createBrotliDecompress()));
}

export async function archiveSha256(archive: string): Promise<string> {
  return (await unpacked(archive)).hash;
}

export interface Archived {
  journal: string;
  archive: string;
  rawBytes: number;
  bytes: number;
  sha256: string;
}

/**
 * Compresses a journal to `<journal>.br` (temporary name, fsync, rename), then checks that the
 * archive decompresses to the same bytes (SHA-256) before it is called done. The plain journal is
 * left for the caller to remove.
 */
export async function archiveJournal(journal: string): Promise<Archived> {
  const archive = archivePath(journal);
  const tmp = `${archive}.${process.pid}.tmp`;
  const rawBytes = fs.statSync(journal).size;
  const source = await sha256(fs.createReadStream(journal));
  try {
    await pipeline(
      fs.createReadStream(journal, { highWaterMark: 1 << 20 }),
      zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: rawBytes } }),
      fs.createWriteStream(tmp),
    );
    const fd = fs.openSync(tmp, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const back = await unpacked(tmp);
    if (back.hash !== source.hash || back.bytes !== rawBytes) throw new Error(`${path.basename(archive)}: decompressed copy differs from the journal (${back.bytes} vs ${rawBytes} bytes)`);
    fs.renameSync(tmp, archive);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return { journal, archive, rawBytes, bytes: fs.statSync(archive).size, sha256: source.hash };
}

/** The size of the journal an archive holds: from its day's history manifest, else by decompressing it. */
export async function archivedBytes(archive: string): Promise<number> {
  const name = path.basename(archive);
  const dataDir = path.dirname(path.dirname(archive));
  const known = readManifest(dataDir, name.slice(0, 10))?.journals.find((j) => j.archive === name)?.rawBytes;
  if (known !== undefined && known > 0) return known;
  return (await unpacked(archive)).bytes;
}

/** Writes the plain journal of an archive back (for the tape, which appends to plain files). */
export async function restoreJournal(archive: string): Promise<string> {
  const journal = archivedJournal(archive);
  const tmp = `${journal}.${process.pid}.tmp`;
  await pipeline(fs.createReadStream(archive), zlib.createBrotliDecompress(), fs.createWriteStream(tmp));
  fs.renameSync(tmp, journal);
  return journal;
}

/**
 * The records of a plain journal or of an archive, as readJournal gives them (same seq, frame,
 * offsets into the uncompressed journal), up to the first bad or incomplete record.
 */
export async function* readJournalRecords(file: string): AsyncGenerator<JournalRecord> {
  if (!isArchive(file)) {
    yield* readJournal(file);
    return;
  }
  let buf: Buffer = Buffer.alloc(0);
  let pos = 0;
  let offset = 0;
  let seq = 0;
  let started = false;
  const frames: number[] = [];
  const input = fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(zlib.createBrotliDecompress());
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      buf = pos < buf.length ? Buffer.concat([buf.subarray(pos), chunk]) : chunk;
      pos = 0;
      if (!started) {
        if (buf.length < JOURNAL_START) continue;
        if (!buf.subarray(0, JOURNAL_START).equals(JOURNAL_MAGIC)) throw new Error(`${file} does not hold a ticktape journal (bad magic)`);
        pos = offset = JOURNAL_START;
        started = true;
      }
      while (buf.length - pos >= RECORD_HEADER) {
        const len = buf.readUInt32LE(pos);
        if (len > MAX_RECORD_BYTES) return;
        if (buf.length - pos < RECORD_HEADER + len) break;
        if (crc32(buf.subarray(pos + 8, pos + RECORD_HEADER + len)) !== buf.readUInt32LE(pos + 4)) return;
        const channel = buf.readUInt16LE(pos + 16);
        const flags = buf[pos + 18];
        const end = offset + RECORD_HEADER + len;
        yield {
          seq: seq++,
          frame: flags === FLAG.incoming ? (frames[channel] = (frames[channel] ?? -1) + 1) : -1,
          offset,
          end,
          recvNs: buf.readBigInt64LE(pos + 8),
          channel,
          flags,
          bytes: Buffer.from(buf.subarray(pos + RECORD_HEADER, pos + RECORD_HEADER + len)),
        };
        offset = end;
        pos += RECORD_HEADER + len;
      }
    }
  } finally {
    input.destroy();
  }
}
