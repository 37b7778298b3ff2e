// Retention: a policy per tier — keep SQLite for the newest N stored days, Arrow parts for M, the
// Parquet history and the compressed journals for ever by default — applied after each seal (the
// daemon) and by `ticktape retain`. A day leaves a tier only once the next tier holds it, checked
// against the data itself: SQLite and Arrow go only when the history manifest's row counts and
// per-column checksums equal both what that tier holds and what the Parquet files hold; the
// history goes only when the day's compressed journal is there with the manifest's SHA-256.
//
// Every removal is one atomic step (a SQLite transaction; a rename of the Arrow day directory to a
// hidden name before it is deleted; the manifest removed before the history files), so a run
// killed at any point leaves each day readable from some tier, and the next run finishes the job.
import fs from 'node:fs';
import path from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { TradingDay } from '../protocol/time.js';
import { arrowRoot, dayDir, listArrowDays, listParts, type ArrowChannel } from './arrow-format.js';
import { bytesUnder } from './days.js';
import { diskStatus, type DiskStatus } from './disk.js';
import { checksumBatch, checksumRecord, checksums, type CellValue } from './history-columns.js';
import { channelSpec, historyDayDir, type HistoryChannel, historyFile, listHistoryDays, manifestPath, readManifest, type DayManifest } from './history-format.js';
import { archiveSha256, dayJournalFiles, isArchive } from './journal-archive.js';
import { readParquetBatches } from './parquet-read.js';
import { databasePath } from './reader.js';
import { openReadOnly, sqliteDays } from './reader-sqlite.js';

/** Days to keep per tier, counted among the newest stored days; 0 = for ever. */
export interface RetentionPolicy {
  sqliteDays: number;
  arrowDays: number;
  parquetDays: number;
  journalDays: number;
}

export type RetentionTier = 'sqlite' | 'arrow' | 'parquet' | 'journal';

export interface RetentionAction {
  day: TradingDay;
  tier: RetentionTier;
  /** Bytes freed (SQLite: an estimate, its pages are shared by all days). */
  bytes: number;
  /** Why it may go, or why it stays although the policy would let it go. */
  note: string;
  /** False: the next tier does not hold the day (yet), so it stays. */
  allowed: boolean;
}

export interface RetentionResult {
  actions: RetentionAction[];
  /** Actions carried out (empty on a dry run). */
  done: RetentionAction[];
  bytesFreed: number;
}

const TRASH_PREFIX = '.trash-';

/** Days of a tier to let go: those not among the newest `keep` days of the whole store. */
function beyond(keep: number, newest: readonly TradingDay[], tierDays: readonly TradingDay[]): TradingDay[] {
  if (keep <= 0) return [];
  const kept = new Set(newest.slice(-keep));
  return tierDays.filter((d) => !kept.has(d));
}

/** SQLite rows of one history channel of a day: count and column checksums. */
function sqliteSums(db: Database.Database, day: TradingDay, channel: HistoryChannel): { rows: number; sums: Record<string, string> } {
  const spec = channelSpec(channel);
  const sums = checksums(spec.columns);
  let rows = 0;
  for (const r of db.prepare(`SELECT ${spec.columns.map((c) => c.name).join(', ')} FROM ${spec.table} WHERE day = ?`).raw(true).safeIntegers(true).iterate(day) as IterableIterator<CellValue[]>) {
    for (let k = 0; k < r.length; k++) sums[k].add(r[k]);
    rows++;
  }
  return { rows, sums: checksumRecord(spec.columns, sums) };
}

async function parquetSums(dataDir: string, day: TradingDay, channel: HistoryChannel): Promise<{ rows: number; sums: Record<string, string> }> {
  const spec = channelSpec(channel);
  const sums = checksums(spec.columns);
  let rows = 0;
  const file = historyFile(dataDir, day, spec.channel);
  if (fs.existsSync(file)) {
    for await (const b of readParquetBatches(file)) {
      checksumBatch(b, spec.columns, sums);
      rows += b.numRows;
    }
  }
  return { rows, sums: checksumRecord(spec.columns, sums) };
}

async function arrowSums(dataDir: string, day: TradingDay, channel: ArrowChannel): Promise<{ rows: number; sums: Record<string, string> }> {
  const spec = channelSpec(channel);
  const sums = checksums(spec.columns);
  let rows = 0;
  for (const p of listParts(dataDir, day, channel)) {
    const fh = await fs.promises.open(p.path, 'r');
    try {
      for await (const b of await RecordBatchReader.from(fh)) {
        checksumBatch(b, spec.columns, sums);
        rows += b.numRows;
      }
    } finally {
      await fh.close();
    }
  }
  return { rows, sums: checksumRecord(spec.columns, sums) };
}

function differs(m: DayManifest, channel: string, got: { rows: number; sums: Record<string, string> }): string | null {
  const c = m.channels.find((x) => x.channel === channel);
  if (!c) return `${channel}: not in the history manifest`;
  if (c.rows !== got.rows) return `${channel}: ${got.rows} rows here, ${c.rows} in the history`;
  const bad = Object.keys(c.checksums).filter((k) => c.checksums[k] !== got.sums[k]);
  return bad.length > 0 ? `${channel}: column(s) ${bad.join(', ')} differ from the history` : null;
}

/** Whether the history holds what this tier holds, channel by channel (null = verified). */
async function historyHolds(dataDir: string, day: TradingDay, channels: readonly HistoryChannel[], here: (channel: HistoryChannel) => Promise<{ rows: number; sums: Record<string, string> }> | { rows: number; sums: Record<string, string> }): Promise<string | null> {
  const m = readManifest(dataDir, day);
  if (!m) return 'not compacted (no history manifest)';
  for (const ch of channels) {
    const bad = differs(m, ch, await here(ch)) ?? differs(m, ch, await parquetSums(dataDir, day, ch));
    if (bad) return bad;
  }
  return null;
}

/** The day's compressed journals, each matching the manifest's SHA-256 (null = verified). */
async function journalHolds(dataDir: string, day: TradingDay): Promise<string | null> {
  const m = readManifest(dataDir, day);
  const files = dayJournalFiles(dataDir, day);
  if (!m || files.length === 0 || !files.every(isArchive)) return 'no compressed journal';
  for (const f of files) {
    const j = m.journals.find((x) => x.archive === path.basename(f));
    if (!j?.sha256 || (await archiveSha256(f)) !== j.sha256) return `${path.basename(f)} does not match the manifest`;
  }
  return null;
}

const SQLITE_CHANNELS: readonly HistoryChannel[] = ['trades', 'sector_flows', 'snapshots', 'quotes', 'order_books', 'signals', 'sessions', 'symbols'];
/** Tables a day leaves SQLite from (quarantined frames stay in the journal, and rebuild restores them). */
const SQLITE_TABLES = ['trades_live', 'trades_sealed', 'snapshots', 'sector_flows', 'symbols', 'quarantine', 'signals', 'quotes', 'order_books', 'sessions', 'sealed_days'];

/** Removes stale Arrow trash left by a run that was killed while deleting. */
function emptyTrash(dataDir: string): void {
  for (const root of [arrowRoot(dataDir), path.join(dataDir, 'history')]) {
    if (!fs.existsSync(root)) continue;
    for (const n of fs.readdirSync(root)) if (n.startsWith(TRASH_PREFIX)) fs.rmSync(path.join(root, n), { recursive: true, force: true });
  }
}

/** Moves a directory out of its tier in one rename, then deletes it. */
function discard(dir: string): void {
  const trash = path.join(path.dirname(dir), `${TRASH_PREFIX}${path.basename(dir)}`);
  fs.renameSync(dir, trash);
  fs.rmSync(trash, { recursive: true, force: true });
}

/**
 * Works out what the policy lets go (each checked against the next tier), and unless `dryRun`
 * removes it. Tiers are handled newest first (SQLite, Arrow, history, journal).
 */
export async function applyRetention(dataDir: string, policy: RetentionPolicy, log: Logger, opts: { dryRun?: boolean } = {}): Promise<RetentionResult> {
  if (!opts.dryRun) emptyTrash(dataDir);
  const dbFile = databasePath(dataDir);
  const ro = fs.existsSync(dbFile) ? openReadOnly(dbFile) : null;
  const actions: RetentionAction[] = [];
  const done: RetentionAction[] = [];
  try {
    const sqlite = ro ? sqliteDays(ro).filter((d) => ro.prepare('SELECT 1 FROM sealed_days WHERE day = ?').get(d) !== undefined) : [];
    const arrow = listArrowDays(dataDir);
    const history = listHistoryDays(dataDir);
    const journal = [...new Set(fs.existsSync(path.join(dataDir, 'journal')) ? fs.readdirSync(path.join(dataDir, 'journal')).filter((f) => /\.journal\.br$/.test(f)).map((f) => f.slice(0, 10)) : [])].sort();
    const newest = [...new Set([...sqlite, ...arrow, ...history, ...journal])].sort();
    let perRow = 0;
    if (ro) {
      const pages = (ro.pragma('page_count', { simple: true }) as number) * (ro.pragma('page_size', { simple: true }) as number);
      const rows = ro.prepare('SELECT (SELECT count(*) FROM trades_live) + (SELECT count(*) FROM trades_sealed) + (SELECT count(*) FROM snapshots) + (SELECT count(*) FROM sector_flows)').pluck().get() as number;
      perRow = rows > 0 ? pages / rows : 0;
    }
    const act = async (day: TradingDay, tier: RetentionTier, bytes: number, check: () => Promise<string | null>, remove: () => void) => {
      const problem = await check();
      const a: RetentionAction = { day, tier, bytes, allowed: problem === null, note: problem ?? 'held by the next tier (verified)' };
      actions.push(a);
      if (!a.allowed) {
        log.warn({ day, tier, reason: problem }, `retain: ${day} stays in ${tier}: ${problem}`);
        return;
      }
      if (opts.dryRun) return;
      remove();
      done.push(a);
      log.info({ day, tier, bytes }, `retain: ${day} removed from ${tier}`);
    };
    for (const day of beyond(policy.sqliteDays, newest, sqlite)) {
      const rows = ro!.prepare('SELECT (SELECT count(*) FROM trades WHERE day = ?) + (SELECT count(*) FROM snapshots WHERE day = ?) + (SELECT count(*) FROM sector_flows WHERE day = ?)').pluck().get(day, day, day) as number;
      await act(day, 'sqlite', Math.round(rows * perRow), () => historyHolds(dataDir, day, SQLITE_CHANNELS, (ch) => sqliteSums(ro!, day, ch)), () => {
        const db = new Database(dbFile);
        try {
          db.pragma('busy_timeout = 10000');
          db.transaction(() => {
            for (const t of SQLITE_TABLES) db.prepare(`DELETE FROM ${t} WHERE day = ?`).run(day);
          }).immediate();
        } finally {
          db.close();
        }
      });
    }
    for (const day of beyond(policy.arrowDays, newest, arrow)) {
      const channels = (['trades', 'snapshots', 'sector_flows'] as const).filter((ch) => listParts(dataDir, day, ch).length > 0);
      await act(day, 'arrow', bytesUnder(dayDir(dataDir, day)), () => historyHolds(dataDir, day, channels, (ch) => arrowSums(dataDir, day, ch as ArrowChannel)), () => discard(dayDir(dataDir, day)));
    }
    for (const day of beyond(policy.parquetDays, newest, history)) {
      await act(day, 'parquet', bytesUnder(historyDayDir(dataDir, day)), () => journalHolds(dataDir, day), () => {
        fs.rmSync(manifestPath(dataDir, day));
        discard(historyDayDir(dataDir, day));
      });
    }
    for (const day of beyond(policy.journalDays, newest, journal)) {
      const files = dayJournalFiles(dataDir, day).filter(isArchive);
      // The last tier: a journal goes only while the history still holds the day.
      await act(day, 'journal', files.reduce((n, f) => n + fs.statSync(f).size, 0), async () => (readManifest(dataDir, day) ? null : 'the history does not hold the day'), () => {
        for (const f of files) fs.rmSync(f);
      });
    }
  } finally {
    ro?.close();
  }
  return { actions, done, bytesFreed: done.reduce((n, a) => n + a.bytes, 0) };
}

/**
 * The low-disk guard: when free space is under `minFreeBytes`, warns and applies the policy at
 * once, tightened to keep only the newest day in SQLite and in Arrow (every older day must be in
 * the history first, as always). Returns the disk status it found and what it removed.
 */
export async function guardDisk(dataDir: string, policy: RetentionPolicy, minFreeBytes: number, log: Logger): Promise<{ disk: DiskStatus; result: RetentionResult | null }> {
  const disk = diskStatus(dataDir, minFreeBytes);
  if (!disk.low) return { disk, result: null };
  log.warn({ freeBytes: disk.freeBytes, minFreeBytes }, `low disk: ${disk.freeBytes} bytes free under ${dataDir} (floor ${minFreeBytes}); applying retention now`);
  const result = await applyRetention(dataDir, { ...policy, sqliteDays: 1, arrowDays: 1 }, log);
  return { disk: diskStatus(dataDir, minFreeBytes), result };
}
