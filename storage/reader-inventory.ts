// What a data directory holds, per day and channel, for `ticktape inspect`: row counts, time
// ranges and symbols in SQLite and in Arrow, quarantined frames by reason, what each sink covers
// of the journal, and the files with their sizes. Read-only: it can look at a live collector's data.
import fs from 'node:fs';
import path from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import type Database from 'better-sqlite3';
import { ARROW_CHANNELS, dayDir, listArrowDays, listParts, readCovered, type ArrowChannel, type PartInfo } from './arrow-format.js';
import { emptyBatch, resetBatch, FrameDecoder } from './decode.js';
import { readChannels } from './journal.js';
import { archivedJournal, dayJournalFiles, readJournalRecords } from './journal-archive.js';
import { databasePath } from './reader.js';
import { openReadOnly, sqliteDays } from './reader-sqlite.js';

export interface ChannelStats {
  rows: number;
  /** Distinct symbols (trades, snapshots) or sector codes (sector flows). */
  symbols: number;
  firstRecvNs: bigint | null;
  lastRecvNs: bigint | null;
  firstExchNs: bigint | null;
  lastExchNs: bigint | null;
}

export interface ArrowChannelStats extends ChannelStats {
  parts: number;
  bytes: number;
}

/** The journal records [fromSeq, toSeq) of one journal file a sink holds. */
export interface Coverage {
  sink: 'sqlite' | 'arrow';
  journal: string;
  offset: number;
  seq: number;
}

/** Rows per store table that decoding a stretch of the journal yields. */
export type RowCounts = Record<ArrowChannel | 'quarantine', number>;

export interface JournalSummary {
  /** File name, as the sinks' coverage names it. */
  journal: string;
  path: string;
  bytes: number;
  frames: number;
  /** What every frame decodes to. */
  rows: RowCounts;
  /** What the frames each sink covers decode to (the rows that sink must hold). */
  covered: { sink: 'sqlite' | 'arrow'; seq: number; rows: RowCounts }[];
}

export interface DayInventory {
  day: string;
  /** Whether the data directory has a SQLite database (a directory may hold only Arrow files). */
  database: boolean;
  channels: { channel: ArrowChannel; sqlite: ChannelStats | null; arrow: ArrowChannelStats | null }[];
  quarantine: { total: number; reasons: { reason: string; count: number }[] } | null;
  coverage: Coverage[];
  /** Null when the journal was not read (`journal: false`). */
  journals: JournalSummary[] | null;
  files: { path: string; bytes: number }[];
}

const noRows = (): RowCounts => ({ trades: 0, snapshots: 0, sector_flows: 0, quarantine: 0 });

/** Decodes a journal file (plain or compressed) the way the tape does, counting rows overall and at each sink's coverage. */
async function summarizeJournal(file: string, day: string, coverage: Coverage[]): Promise<JournalSummary> {
  const journal = path.basename(archivedJournal(file));
  const covered = coverage.filter((c) => c.journal === journal).map((c) => ({ sink: c.sink, seq: c.seq, rows: noRows() }));
  const channels = new Map(readChannels(archivedJournal(file)).map((c) => [c.id, c]));
  const decoder = new FrameDecoder(day);
  const batch = emptyBatch(day, journal, 0, 0, 1024);
  const rows = noRows();
  let frames = 0;
  for await (const r of readJournalRecords(file)) {
    decoder.decode(channels.get(r.channel), r.flags, r.recvNs, r.frame, r.bytes, batch);
    rows.trades += batch.trades.length;
    rows.snapshots += batch.snapshots.length;
    rows.sector_flows += batch.flows.length;
    rows.quarantine += batch.quarantine.length;
    resetBatch(batch, r.end, r.seq + 1);
    frames = r.seq + 1;
    for (const c of covered) if (c.seq === frames) c.rows = { ...rows };
  }
  return { journal, path: file, bytes: fs.statSync(file).size, frames, rows, covered };
}

const TOP_REASONS = 10;
const REASON_CHARS = 200;

/** SQL per channel: rows, distinct keys, receive-time and exchange-time bounds. */
const CHANNEL_SQL: Readonly<Record<ArrowChannel, string>> = {
  trades: 'SELECT count(*), count(DISTINCT symbol), min(recv_ns), max(recv_ns), min(exch_ts), max(exch_ts) FROM trades WHERE day = ?',
  snapshots: 'SELECT count(*), count(DISTINCT symbol), min(taken_ns), max(taken_ns), NULL, NULL FROM snapshots WHERE day = ?',
  sector_flows: 'SELECT count(*), count(DISTINCT upcode), min(recv_ns), max(recv_ns), min(exch_ts), max(exch_ts) FROM sector_flows WHERE day = ?',
};

function sqliteStats(db: Database.Database, channel: ArrowChannel, day: string): ChannelStats | null {
  const r = db.prepare(CHANNEL_SQL[channel]).raw(true).safeIntegers(true).get(day) as (bigint | null)[];
  if (r[0] === 0n) return null;
  return { rows: Number(r[0]), symbols: Number(r[1]), firstRecvNs: r[2], lastRecvNs: r[3], firstExchNs: r[4], lastExchNs: r[5] };
}

async function distinctKeys(parts: PartInfo[], channel: ArrowChannel): Promise<number> {
  const keys = new Set<string>();
  for (const p of parts) {
    const fh = await fs.promises.open(p.path, 'r');
    try {
      const reader = await RecordBatchReader.from(fh);
      for await (const b of reader) {
        if (channel === 'sector_flows') {
          for (const v of b.getChild('upcode')!) keys.add(v as string);
          continue;
        }
        // Every batch of a file carries the file's whole symbol dictionary: the first is enough.
        for (const v of b.getChild('symbol')!.data[0].dictionary!) keys.add(v as string);
        break;
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
  return keys.size;
}

const lo = (a: bigint | null, b: bigint | null) => (a === null ? b : b === null || a < b ? a : b);
const hi = (a: bigint | null, b: bigint | null) => (a === null ? b : b === null || a > b ? a : b);

async function arrowStats(parts: PartInfo[], channel: ArrowChannel): Promise<ArrowChannelStats | null> {
  if (parts.length === 0) return null;
  const s: ArrowChannelStats = { rows: 0, symbols: await distinctKeys(parts, channel), firstRecvNs: null, lastRecvNs: null, firstExchNs: null, lastExchNs: null, parts: parts.length, bytes: 0 };
  for (const p of parts) {
    s.rows += p.rows;
    s.bytes += p.bytes;
    s.firstRecvNs = lo(s.firstRecvNs, p.minRecvNs);
    s.lastRecvNs = hi(s.lastRecvNs, p.maxRecvNs);
    s.firstExchNs = lo(s.firstExchNs, p.minExchNs);
    s.lastExchNs = hi(s.lastExchNs, p.maxExchNs);
  }
  return s;
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

function filesUnder(dir: string): { path: string; bytes: number }[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => {
      const p = path.join(e.parentPath, e.name);
      return { path: p, bytes: fs.statSync(p).size };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** The days a data directory holds anything for (journal, SQLite or Arrow), ascending. */
export function storedDays(dataDir: string): string[] {
  const dbFile = databasePath(dataDir);
  const db = fs.existsSync(dbFile) ? openReadOnly(dbFile) : null;
  try {
    return daysIn(dataDir, db);
  } finally {
    db?.close();
  }
}

function daysIn(dataDir: string, db: Database.Database | null): string[] {
  const days = new Set(listArrowDays(dataDir));
  const journalDir = path.join(dataDir, 'journal');
  if (fs.existsSync(journalDir)) for (const f of fs.readdirSync(journalDir)) if (/^\d{4}-\d{2}-\d{2}(\..+)?\.journal(\.br)?$/.test(f)) days.add(f.slice(0, 10));
  if (db) for (const d of sqliteDays(db)) days.add(d);
  return [...days].sort();
}

/**
 * The inventory of `day`, or of every day found when `day` is undefined. `journal: false` skips
 * decoding the journal (the slow part: the whole day's frames).
 */
export async function inventory(dataDir: string, day?: string, opts: { journal?: boolean } = {}): Promise<DayInventory[]> {
  const dbFile = databasePath(dataDir);
  const db = fs.existsSync(dbFile) ? openReadOnly(dbFile) : null;
  try {
    const wanted = day === undefined ? daysIn(dataDir, db) : [day];
    const out: DayInventory[] = [];
    for (const d of wanted) {
      const journalFiles = dayJournalFiles(dataDir, d);
      const inv: DayInventory = {
        day: d,
        database: db !== null,
        channels: [],
        quarantine: null,
        coverage: [],
        journals: null,
        files: [...journalFiles.map((p) => ({ path: p, bytes: fs.statSync(p).size })), ...filesUnder(dayDir(dataDir, d))],
      };
      for (const channel of ARROW_CHANNELS) {
        const parts = listParts(dataDir, d, channel);
        const sqlite = db ? sqliteStats(db, channel, d) : null;
        const arrow = await arrowStats(parts, channel);
        if (sqlite || arrow) inv.channels.push({ channel, sqlite, arrow });
        for (const p of parts) addCoverage(inv.coverage, { sink: 'arrow', journal: p.journal.file, offset: p.journal.toOffset, seq: p.journal.toSeq });
      }
      for (const c of readCovered(dataDir, d)) addCoverage(inv.coverage, { sink: 'arrow', ...c });
      if (db) {
        const total = db.prepare('SELECT count(*) FROM quarantine WHERE day = ?').pluck().get(d) as number;
        const reasons = db.prepare('SELECT reason, count(*) AS count FROM quarantine WHERE day = ? GROUP BY reason ORDER BY count DESC, reason LIMIT ?').all(d, TOP_REASONS) as { reason: string; count: number }[];
        inv.quarantine = { total, reasons: reasons.map((r) => ({ reason: r.reason.length > REASON_CHARS ? r.reason.slice(0, REASON_CHARS) + '…' : r.reason, count: r.count })) };
        if (tableExists(db, 'checkpoints')) {
          const journals = new Set([...inv.coverage.map((c) => c.journal), ...journalFiles.map((f) => path.basename(archivedJournal(f)))]);
          for (const c of db.prepare('SELECT sink, journal, offset, seq FROM checkpoints').all() as { sink: string; journal: string; offset: number; seq: number }[]) {
            if (journals.has(c.journal) || c.journal.includes(d)) addCoverage(inv.coverage, { sink: 'sqlite', journal: c.journal, offset: c.offset, seq: c.seq });
          }
        }
      }
      if (opts.journal !== false) inv.journals = await Promise.all(journalFiles.map((f) => summarizeJournal(f, d, inv.coverage)));
      out.push(inv);
    }
    return out;
  } finally {
    db?.close();
  }
}

function addCoverage(list: Coverage[], c: Coverage): void {
  const have = list.find((x) => x.sink === c.sink && x.journal === c.journal);
  if (!have) list.push(c);
  else if (c.offset > have.offset) Object.assign(have, c);
}
