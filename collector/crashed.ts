// A session whose collector was killed (SIGKILL, OOM, power cut) never writes its end: its row in
// `sessions` stays 'running'. The next session of the same day and collector marks it 'crashed'
// and dates its end from the journal's last write (frames are journaled as they arrive, so that is
// when capture stopped), so the report and the table show the downtime between the two.
import fs from 'node:fs';
import { openReadOnly } from '../storage/reader-sqlite.js';
import { databaseFile } from '../storage/sqlite-sink.js';
import type { TradingDay } from '../protocol/time.js';

export interface CrashedSession {
  id: number;
  startedNs: bigint;
  /** When capture stopped: the journal's last write, or the next session's start if earlier. */
  endedNs: bigint;
}

/** The journal's last write, ms since the epoch (read before opening it: recovery may touch it). */
export function lastJournalWriteMs(journalFile: string): number | undefined {
  try {
    return fs.statSync(journalFile).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Sessions of `day` and `collector` left 'running', other than `exceptId`, with their end. */
export function crashedSessions(dataDir: string, day: TradingDay, collector: string, exceptId: number, lastWriteMs: number | undefined, nowMs: number): CrashedSession[] {
  const db = openReadOnly(databaseFile(dataDir));
  try {
    db.defaultSafeIntegers(true);
    const rows = db.prepare("SELECT id, started_ns AS startedNs FROM sessions WHERE day = ? AND collector = ? AND status = 'running' AND id != ? ORDER BY id").all(day, collector, exceptId) as { id: bigint; startedNs: bigint }[];
    const later = db.prepare('SELECT MIN(started_ns) FROM sessions WHERE day = ? AND collector = ? AND id > ?').pluck();
    const lastWriteNs = BigInt(Math.floor(lastWriteMs ?? nowMs)) * 1_000_000n;
    return rows.map((r) => {
      const next = (later.get(day, collector, r.id) as bigint | null) ?? lastWriteNs;
      let ended = lastWriteNs < next ? lastWriteNs : next;
      if (ended < r.startedNs) ended = r.startedNs;
      return { id: Number(r.id), startedNs: r.startedNs, endedNs: ended };
    });
  } finally {
    db.close();
  }
}
