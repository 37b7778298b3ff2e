// The Arrow dataset's layout and schemas, shared by the sink that writes it and the reader and
// `ticktape inspect` that read it:
//   <dataDir>/arrow/day=YYYY-MM-DD/channel=<name>/part-NNNN[.<collectorId>].arrow
// Hive-style directories, so DuckDB, Polars and pyarrow read a channel directory as one dataset.
// Parts are written as `.part-NNNN….arrow.tmp` (a leading dot: dataset readers skip hidden files)
// and renamed when finished. A finished part's footer schema metadata records the journal range
// it covers and its time bounds.
import fs from 'node:fs';
import path from 'node:path';
import { Dictionary, Field, Int8, Int32, Int64, Schema, TimeUnit, Timestamp, Utf8 } from 'apache-arrow';
// The public reader API has no way to read a footer without reading the whole file (or going async).
import { Footer } from 'apache-arrow/ipc/metadata/file';

export const ARROW_TIME_ZONE = 'Asia/Seoul';

export type ArrowChannel = 'trades' | 'snapshots' | 'sector_flows';
export const ARROW_CHANNELS: readonly ArrowChannel[] = ['trades', 'snapshots', 'sector_flows'];

/** Schema metadata keys written into every finished part. */
export const META = {
  timeZone: 'ticktape.time_zone',
  day: 'ticktape.day',
  channel: 'ticktape.channel',
  collector: 'ticktape.collector',
  journalFile: 'ticktape.journal.file',
  fromOffset: 'ticktape.journal.from_offset',
  toOffset: 'ticktape.journal.to_offset',
  fromSeq: 'ticktape.journal.from_seq',
  toSeq: 'ticktape.journal.to_seq',
  /** Channels finished together with this part (same part number, same journal range). */
  partChannels: 'ticktape.part.channels',
  rows: 'ticktape.rows',
  minRecvNs: 'ticktape.min_recv_ns',
  maxRecvNs: 'ticktape.max_recv_ns',
  minExchNs: 'ticktape.min_exch_ns',
  maxExchNs: 'ticktape.max_exch_ns',
  /** Per record batch, comma-separated: lowest receive time; lowest exchange time ('' = none). */
  batchMinRecvNs: 'ticktape.batch_min_recv_ns',
  batchMinExchNs: 'ticktape.batch_min_exch_ns',
} as const;

// Dictionary ids are per schema; the same ids in every channel keep them easy to recognize.
const SYMBOL_DICT = 0;
const MARKET_DICT = 1;
const KIND_DICT = 2;
const TRADE_KIND_DICT = 3;

const ts = () => new Timestamp(TimeUnit.NANOSECOND, ARROW_TIME_ZONE);
const dictString = (id: number, index: Int8 | Int32) => new Dictionary(new Utf8(), index, id);

export const TRADE_SCHEMA = new Schema([
  new Field('market', dictString(MARKET_DICT, new Int8()), false),
  new Field('symbol', dictString(SYMBOL_DICT, new Int32()), false),
  new Field('exch_ts', ts(), true),
  new Field('price', new Int64(), false),
  new Field('qty', new Int64(), false),
  new Field('recv_ns', ts(), false),
  new Field('src_seq', new Int64(), false),
  new Field('src_idx', new Int32(), false),
  // trdVol as sent (`qty` is the trade's own quantity) and the trade's kind; parts written before
  // these columns existed lack them (readers take trd_vol = qty, kind 'regular').
  new Field('trd_vol', new Int64(), false),
  new Field('kind', dictString(TRADE_KIND_DICT, new Int8()), false),
]);

export const SNAPSHOT_SCHEMA = new Schema([
  new Field('taken_ns', ts(), false),
  new Field('kind', dictString(KIND_DICT, new Int8()), false),
  new Field('market', dictString(MARKET_DICT, new Int8()), false),
  new Field('symbol', dictString(SYMBOL_DICT, new Int32()), false),
  ...['price', 'open', 'high', 'low', 'acc_volume', 'acc_value', 'src_seq'].map((n) => new Field(n, new Int64(), false)),
]);

export const FLOW_INT_COLUMNS = ['msvolume', 'mdvolume', 'msvol', 'p_msvol', 'msvalue', 'mdvalue', 'msval', 'p_msval'] as const;

export const FLOW_SCHEMA = new Schema([
  new Field('recv_ns', ts(), false),
  new Field('exch_ts', ts(), true),
  new Field('upcode', new Utf8(), false),
  new Field('tjjcode', new Utf8(), false),
  new Field('tjjtime', new Utf8(), false),
  ...FLOW_INT_COLUMNS.map((n) => new Field(n, new Int64(), false)),
  new Field('src_seq', new Int64(), false),
]);

export const SCHEMA_BY_CHANNEL: Readonly<Record<ArrowChannel, Schema>> = {
  trades: TRADE_SCHEMA,
  snapshots: SNAPSHOT_SCHEMA,
  sector_flows: FLOW_SCHEMA,
};

export function arrowRoot(dataDir: string): string {
  return path.join(dataDir, 'arrow');
}

export function dayDir(dataDir: string, day: string): string {
  return path.join(arrowRoot(dataDir), `day=${day}`);
}

export function channelDir(dataDir: string, day: string, channel: ArrowChannel): string {
  return path.join(dayDir(dataDir, day), `channel=${channel}`);
}

export function partFileName(part: number, collectorId: string | undefined, tmp: boolean): string {
  const name = `part-${String(part).padStart(4, '0')}${collectorId ? '.' + collectorId : ''}.arrow`;
  return tmp ? `.${name}.tmp` : name;
}

export interface PartName {
  part: number;
  collectorId: string | undefined;
  tmp: boolean;
}

const PART_NAME = /^(\.?)part-(\d{4,})(?:\.([A-Za-z0-9_-]+))?\.arrow(\.tmp)?$/;

export function parsePartName(name: string): PartName | null {
  const m = PART_NAME.exec(name);
  if (!m || (m[1] === '.') !== (m[4] !== undefined)) return null;
  return { part: Number(m[2]), collectorId: m[3], tmp: m[1] === '.' };
}

/** What a finished part's footer says about it. */
export interface PartInfo {
  path: string;
  channel: ArrowChannel;
  part: number;
  collectorId: string | undefined;
  bytes: number;
  rows: number;
  journal: { file: string; fromOffset: number; toOffset: number; fromSeq: number; toSeq: number };
  partChannels: ArrowChannel[];
  minRecvNs: bigint | null;
  maxRecvNs: bigint | null;
  minExchNs: bigint | null;
  maxExchNs: bigint | null;
  /** Per record batch lower bounds (null when the footer lacks them). */
  batchMinRecvNs: bigint[] | null;
  batchMinExchNs: (bigint | null)[] | null;
}

const MAGIC_AND_LENGTH = 10; // int32 footer length + "ARROW1"

/** The footer schema of a finished Arrow IPC file (reads only the file's tail). */
export function readFooterSchema(file: string): Schema {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const tail = Buffer.alloc(MAGIC_AND_LENGTH);
    if (size < 2 * MAGIC_AND_LENGTH || fs.readSync(fd, tail, 0, MAGIC_AND_LENGTH, size - MAGIC_AND_LENGTH) !== MAGIC_AND_LENGTH || tail.toString('latin1', 4) !== 'ARROW1') {
      throw new Error(`${file}: not a finished Arrow IPC file`);
    }
    const length = tail.readInt32LE(0);
    if (length <= 0 || length > size - MAGIC_AND_LENGTH) throw new Error(`${file}: bad Arrow footer length ${length}`);
    const footer = new Uint8Array(length);
    fs.readSync(fd, footer, 0, length, size - MAGIC_AND_LENGTH - length);
    return Footer.decode(footer).schema;
  } finally {
    fs.closeSync(fd);
  }
}

const optionalNs = (v: string | undefined) => (v === undefined || v === '' ? null : BigInt(v));

export function readPartInfo(file: string, channel: ArrowChannel): PartInfo {
  const name = parsePartName(path.basename(file));
  if (!name || name.tmp) throw new Error(`${file}: not a finished part file name`);
  const meta = readFooterSchema(file).metadata;
  const num = (key: string) => {
    const v = Number(meta.get(key));
    if (!Number.isSafeInteger(v)) throw new Error(`${file}: schema metadata ${key} missing or not an integer`);
    return v;
  };
  return {
    path: file,
    channel,
    part: name.part,
    collectorId: name.collectorId,
    bytes: fs.statSync(file).size,
    rows: num(META.rows),
    journal: { file: meta.get(META.journalFile) ?? '', fromOffset: num(META.fromOffset), toOffset: num(META.toOffset), fromSeq: num(META.fromSeq), toSeq: num(META.toSeq) },
    partChannels: (meta.get(META.partChannels) ?? channel).split(',').filter((c): c is ArrowChannel => (ARROW_CHANNELS as readonly string[]).includes(c)),
    minRecvNs: optionalNs(meta.get(META.minRecvNs)),
    maxRecvNs: optionalNs(meta.get(META.maxRecvNs)),
    minExchNs: optionalNs(meta.get(META.minExchNs)),
    maxExchNs: optionalNs(meta.get(META.maxExchNs)),
    batchMinRecvNs: meta.get(META.batchMinRecvNs)?.split(',').map((v) => BigInt(v)) ?? null,
    batchMinExchNs: meta.get(META.batchMinExchNs)?.split(',').map(optionalNs) ?? null,
  };
}

/** Finished parts of one channel of one day (all collectors), in part order. */
export function listParts(dataDir: string, day: string, channel: ArrowChannel): PartInfo[] {
  const dir = channelDir(dataDir, day, channel);
  if (!fs.existsSync(dir)) return [];
  const parts: PartInfo[] = [];
  for (const name of fs.readdirSync(dir)) {
    const p = parsePartName(name);
    if (p && !p.tmp) parts.push(readPartInfo(path.join(dir, name), channel));
  }
  return parts.sort((a, b) => a.part - b.part || (a.collectorId ?? '').localeCompare(b.collectorId ?? ''));
}

/** Days present in the Arrow dataset, ascending. */
export function listArrowDays(dataDir: string): string[] {
  const root = arrowRoot(dataDir);
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map((n) => /^day=(\d{4}-\d{2}-\d{2})$/.exec(n)?.[1])
    .filter((d): d is string => d !== undefined)
    .sort();
}

// 64-bit columns are filled through an Int32 view of their buffer (little-endian, like every
// platform Node runs on), so no BigInt is allocated per row.
const TWO_32 = 4294967296;

/** dst[i] = src[i] as int64, for safe integers. `dst` is the Int32 view of a BigInt64Array. */
export function fillInt64(dst: Int32Array, src: ArrayLike<number>, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = src[i];
    const hi = Math.floor(v / TWO_32);
    dst[2 * i] = v - hi * TWO_32;
    dst[2 * i + 1] = hi;
  }
}

/** dst[i] = src[i] (epoch ms, ≥ 0) × 10^6 exactly: the ns value, split into 32-bit halves. */
export function fillNsFromMs(dst: Int32Array, src: ArrayLike<number>, n: number): void {
  for (let i = 0; i < n; i++) {
    const ms = src[i];
    const msHi = Math.floor(ms / TWO_32);
    const low = (ms - msHi * TWO_32) * 1e6; // < 2^52: exact
    const carry = Math.floor(low / TWO_32);
    dst[2 * i] = low - carry * TWO_32;
    dst[2 * i + 1] = msHi * 1e6 + carry;
  }
}

/** The int64 at `i` of an Int32 view as a number (exact up to 2^53). */
export function int64At(view: Int32Array, i: number): number {
  return view[2 * i + 1] * TWO_32 + (view[2 * i] >>> 0);
}

export function int32View(a: BigInt64Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length * 2);
}

/**
 * Where a day's Arrow coverage past its last parts is noted: a journal's last records may decode
 * to no Arrow rows (events, sent frames), and without the note they would look unstored.
 */
export function coveredPath(dataDir: string, day: string, collectorId: string | undefined): string {
  return path.join(dayDir(dataDir, day), `covered${collectorId ? `.${collectorId}` : ''}.json`);
}

/** The day's covered notes (every collector): per journal file, the end offset and seq covered. */
export function readCovered(dataDir: string, day: string): { journal: string; offset: number; seq: number }[] {
  const dir = dayDir(dataDir, day);
  if (!fs.existsSync(dir)) return [];
  const out: { journal: string; offset: number; seq: number }[] = [];
  for (const f of fs.readdirSync(dir)) {
    if (!/^covered(\..+)?\.json$/.test(f)) continue;
    const notes = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, { offset: number; seq: number }>;
    for (const [journal, c] of Object.entries(notes)) out.push({ journal, offset: c.offset, seq: c.seq });
  }
  return out;
}
