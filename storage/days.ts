// The days of a data directory and their condition, as Databento publishes per-day dataset
// conditions: which tiers hold each day (bytes per tier), its trades, and whether it is
//   complete  — a session ran to completion without reconnects, downtime or reconciliation gaps;
//   degraded  — a session completed, but with reconnects, downtime or gaps (reasons listed);
//   partial   — data without a completed session (crashed, still running, or no session row);
//   missing   — a trading day (per the caller's calendar) between the first and last stored day
//               with nothing stored.
// Sessions come from SQLite, or from the history tier's sessions file once SQLite let the day go.
import fs from 'node:fs';
import path from 'node:path';
import type { TradingDay } from '../protocol/time.js';
import { dayDir } from './arrow-format.js';
import { historyDayDir, historyFile, readManifest } from './history-format.js';
import { dayJournalFiles } from './journal-archive.js';
import { readParquetBatches } from './parquet-read.js';
import { TickReader, databasePath } from './reader.js';
import { openReadOnly } from './reader-sqlite.js';

export type DayCondition = 'complete' | 'degraded' | 'partial' | 'missing';
export const DAY_CONDITIONS: readonly DayCondition[] = ['complete', 'degraded', 'partial', 'missing'];

export interface DayTiers {
  /** Trades of the day in SQLite (it shares one file across days: rows, not bytes). */
  sqliteTrades: number | null;
  arrowBytes: number | null;
  parquetBytes: number | null;
  journalBytes: number | null;
  /** Whether the journal is held compressed (compacted). */
  journalCompressed: boolean;
}

export interface DayInfo {
  day: TradingDay;
  condition: DayCondition;
  reasons: string[];
  trades: number | null;
  tiers: DayTiers;
}

interface SessionRow {
  status: string;
  reconnects: number;
  downtimeMs: number;
  gaps: number;
}

/** Bytes of the files under `p` (or of the file `p`); 0 when it does not exist. */
export function bytesUnder(p: string): number {
  if (!fs.existsSync(p)) return 0;
  if (fs.statSync(p).isFile()) return fs.statSync(p).size;
  let n = 0;
  for (const e of fs.readdirSync(p, { recursive: true, withFileTypes: true }) as fs.Dirent[]) if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
  return n;
}

const bytesIfAny = (dir: string): number | null => (fs.existsSync(dir) ? bytesUnder(dir) : null);

const gapCount = (json: string): number => {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.length : 0;
  } catch {
    return 0;
  }
};

async function historySessions(dataDir: string, day: TradingDay): Promise<SessionRow[]> {
  const file = historyFile(dataDir, day, 'sessions');
  if (!fs.existsSync(file)) return [];
  const out: SessionRow[] = [];
  for await (const b of readParquetBatches(file)) {
    for (let i = 0; i < b.numRows; i++) {
      out.push({ status: b.getChild('status')!.get(i) as string, reconnects: Number(b.getChild('reconnects')!.get(i)), downtimeMs: Number(b.getChild('downtime_ms')!.get(i)), gaps: gapCount(b.getChild('gaps')!.get(i) as string) });
    }
  }
  return out;
}

function judge(sessions: readonly SessionRow[], hasData: boolean): { condition: DayCondition; reasons: string[] } {
  if (!hasData && sessions.length === 0) return { condition: 'missing', reasons: ['nothing stored'] };
  if (sessions.length === 0) return { condition: 'partial', reasons: ['no session recorded'] };
  const unfinished = sessions.filter((s) => s.status !== 'complete');
  if (unfinished.length > 0) return { condition: 'partial', reasons: unfinished.map((s) => `session ${s.status}`) };
  const reasons: string[] = [];
  const reconnects = sessions.reduce((n, s) => n + s.reconnects, 0);
  const downtime = sessions.reduce((n, s) => n + s.downtimeMs, 0);
  const gaps = sessions.reduce((n, s) => n + s.gaps, 0);
  if (reconnects > 0) reasons.push(`${reconnects} reconnect(s)`);
  if (downtime > 0) reasons.push(`${(downtime / 1000).toFixed(1)} s of downtime`);
  if (gaps > 0) reasons.push(`${gaps} reconciliation gap(s)`);
  return { condition: reasons.length > 0 ? 'degraded' : 'complete', reasons };
}

function* daysBetween(first: TradingDay, last: TradingDay): Generator<TradingDay> {
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += 86_400_000) yield new Date(t).toISOString().slice(0, 10);
}

/**
 * Every day stored in any tier (and, with `isTradingDay`, the trading days between the first and
 * the last that nothing holds), ascending, with its condition and tiers.
 */
export async function listDays(dataDir: string, isTradingDay?: (day: TradingDay) => boolean): Promise<DayInfo[]> {
  const reader = TickReader.open({ dataDir });
  const dbFile = databasePath(dataDir);
  const db = fs.existsSync(dbFile) ? openReadOnly(dbFile) : null;
  try {
    const stored = new Set(reader.days());
    const journalDir = path.join(dataDir, 'journal');
    if (fs.existsSync(journalDir)) for (const f of fs.readdirSync(journalDir)) if (/^\d{4}-\d{2}-\d{2}\..*journal/.test(f)) stored.add(f.slice(0, 10));
    const sorted = [...stored].sort();
    const all = new Set(sorted);
    if (isTradingDay && sorted.length > 0) for (const d of daysBetween(sorted[0], sorted[sorted.length - 1])) if (isTradingDay(d)) all.add(d);
    const out: DayInfo[] = [];
    for (const day of [...all].sort()) {
      const manifest = readManifest(dataDir, day);
      const sqliteTrades = db ? (db.prepare('SELECT count(*) FROM trades WHERE day = ?').pluck().get(day) as number) : null;
      const journals = dayJournalFiles(dataDir, day);
      const tiers: DayTiers = {
        sqliteTrades: sqliteTrades === 0 ? null : sqliteTrades,
        arrowBytes: bytesIfAny(dayDir(dataDir, day)),
        parquetBytes: manifest ? bytesIfAny(historyDayDir(dataDir, day)) : null,
        journalBytes: journals.length > 0 ? journals.reduce((n, f) => n + fs.statSync(f).size, 0) : null,
        journalCompressed: journals.length > 0 && journals.every((f) => f.endsWith('.br')),
      };
      const sqliteSessions = db
        ? (db.prepare('SELECT status, reconnects, downtime_ms AS downtimeMs, gaps FROM sessions WHERE day = ?').all(day) as { status: string; reconnects: number; downtimeMs: number; gaps: string }[]).map((s) => ({ ...s, gaps: gapCount(s.gaps) }))
        : [];
      const sessions = sqliteSessions.length > 0 ? sqliteSessions : await historySessions(dataDir, day);
      const trades = tiers.sqliteTrades ?? manifest?.channels.find((c) => c.channel === 'trades')?.rows ?? null;
      const hasData = stored.has(day);
      out.push({ day, ...judge(sessions, hasData), trades: hasData ? trades : null, tiers });
    }
    return out;
  } finally {
    db?.close();
    reader.close();
  }
}
