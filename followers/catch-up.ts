// At start, before or beside the new session: every day whose stores are behind its journal is
// brought up to it — a crash after the streams ended, a store that failed until the process
// stopped, a seal that was interrupted. Each journal is stored to its end by the same follower
// threads a session uses, then its day is sealed; the stores' checkpoints make this a no-op for a
// day already complete.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TradingDay } from '../protocol/time.js';
import { ARROW_CHANNELS, listParts, readCovered } from '../storage/arrow-format.js';
import { journalCollectorId } from '../storage/journal.js';
import { openReadOnly } from '../storage/reader-sqlite.js';
import { databaseFile, SQLITE_SINK } from '../storage/sqlite-sink.js';
import { FollowerThread } from './follower-thread.js';
import { STORES, type StoreName } from './stores.js';

const JOURNAL_NAME = /^(\d{4}-\d{2}-\d{2})(?:\.([A-Za-z0-9_-]+))?\.journal$/;

export interface BehindJournal {
  day: TradingDay;
  journal: string;
  collectorId?: string;
  bytes: number;
  /** Stores whose checkpoint is before the journal's end. */
  behind: StoreName[];
  sealed: boolean;
}

/** Journals whose stores are behind, or whose day is not sealed; `except` days are left alone. */
export function journalsBehind(dataDir: string, except: readonly TradingDay[] = []): BehindJournal[] {
  const dir = path.join(dataDir, 'journal');
  if (!fs.existsSync(dir)) return [];
  const dbFile = databaseFile(dataDir);
  const db = fs.existsSync(dbFile) ? openReadOnly(dbFile) : undefined;
  try {
    const checkpoint = db?.prepare('SELECT offset FROM checkpoints WHERE sink = ? AND journal = ?').pluck();
    const sealed = db?.prepare('SELECT 1 FROM sealed_days WHERE day = ?').pluck();
    const out: BehindJournal[] = [];
    for (const name of fs.readdirSync(dir).sort()) {
      const m = JOURNAL_NAME.exec(name);
      if (m === null || except.includes(m[1])) continue;
      const file = path.join(dir, name);
      const bytes = fs.statSync(file).size;
      const stored: Record<StoreName, number> = {
        sqlite: Number(checkpoint?.get(SQLITE_SINK, name) ?? 0),
        arrow: arrowCoverage(dataDir, m[1], name),
      };
      const behind = STORES.filter((s) => stored[s] < bytes);
      const isSealed = sealed?.get(m[1]) !== undefined;
      if (behind.length > 0 || !isSealed) out.push({ day: m[1], journal: file, collectorId: journalCollectorId(file), bytes, behind, sealed: isSealed });
    }
    return out;
  } finally {
    db?.close();
  }
}

/** How far the finished Arrow parts (and the day's covered notes) reach into a journal. */
function arrowCoverage(dataDir: string, day: TradingDay, journal: string): number {
  let offset = 0;
  for (const ch of ARROW_CHANNELS) for (const p of listParts(dataDir, day, ch)) if (p.journal.file === journal) offset = Math.max(offset, p.journal.toOffset);
  for (const c of readCovered(dataDir, day)) if (c.journal === journal) offset = Math.max(offset, c.offset);
  return offset;
}

export interface CatchUpOptions {
  dataDir: string;
  log: Logger;
  /** Days to leave alone (the one being captured). */
  except?: readonly TradingDay[];
  batchRows?: number;
  batchMs?: number;
  /** Nice value of each store's thread (config.stores.nice). */
  nice?: Record<StoreName, number>;
  signal?: AbortSignal;
}

/** Brings every other day's stores up to its journal and seals it; resolves with one line per problem. */
export async function catchUpDays(o: CatchUpOptions): Promise<string[]> {
  const problems: string[] = [];
  const behind = journalsBehind(o.dataDir, o.except);
  for (const [i, j] of behind.entries()) {
    if (o.signal?.aborted) {
      problems.push(`catching up earlier days stopped with ${behind.length - i} journal(s) left (${behind.slice(i).map((b) => b.day).join(', ')}); the next start goes on`);
      break;
    }
    o.log.info({ day: j.day, journal: j.journal, behind: j.behind, sealed: j.sealed }, `catching up ${j.day}: ${j.behind.length > 0 ? `${j.behind.join(' and ')} behind the journal` : 'not sealed'}`);
    const threads = STORES.filter((s) => j.behind.includes(s) || (s === 'sqlite' && !j.sealed)).map((store) =>
      FollowerThread.start({ follower: { store, dataDir: o.dataDir, day: j.day, journalFile: j.journal, collectorId: j.collectorId, batchRows: o.batchRows, walCheckpointMs: 0 }, log: o.log, seal: store === 'sqlite', batchMs: o.batchMs ?? 200, nice: o.nice?.[store] }),
    );
    const stop = () => void Promise.all(threads.map((t) => t.terminate()));
    o.signal?.addEventListener('abort', stop, { once: true });
    const results = await Promise.all(threads.map((t) => t.done()));
    o.signal?.removeEventListener('abort', stop);
    for (const r of results) {
      problems.push(...r.problems.map((p) => `${j.day}: ${p}`));
      if (r.caughtUp) o.log.info({ day: j.day, store: r.store, sealed: r.sealed }, `${j.day}: ${r.store} caught up${r.sealed ? ', day sealed' : ''}`);
    }
  }
  return problems;
}
