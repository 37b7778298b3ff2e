// Regenerates a day's rows in the stores from its journals: the way to recover a damaged store and
// to apply a decoder fix to old data. It holds every journal's writer lock from before it deletes
// the day's rows to the end, so it is refused while a collector writes that day (and vice versa).

import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TradingDay } from '../protocol/time.js';
import { dayDir } from '../storage/arrow-format.js';
import { journalCollectorId, lockJournal } from '../storage/journal.js';
import { archivedJournal, dayJournalFiles, isArchive, restoreJournal } from '../storage/journal-archive.js';
import type { FileLock } from '../storage/lock-file.js';
import { SqliteSink } from '../storage/sqlite-sink.js';
import { Tape } from './tape.js';

export interface RebuildOptions {
  dataDir: string;
  day: TradingDay;
  log: Logger;
  /** Also rewrite the day's Arrow files (default true). */
  arrow?: boolean;
}

export interface RebuildResult {
  journals: string[];
  /** Rows of the day per table after the rebuild. */
  rows: Record<string, number>;
  sealed: boolean;
}

export async function rebuildDay(o: RebuildOptions): Promise<RebuildResult> {
  const journals = dayJournalFiles(o.dataDir, o.day);
  if (journals.length === 0) throw new Error(`no journal for ${o.day} in ${path.join(o.dataDir, 'journal')}`);
  const locks: FileLock[] = [];
  try {
    // The lock of a journal is the plain file's, archived or not.
    for (const file of journals) locks.push(lockJournal(archivedJournal(file), o.log));
    return await rebuildLocked(o, journals, locks);
  } finally {
    for (const l of locks) l.release();
  }
}

async function rebuildLocked(o: RebuildOptions, journals: string[], locks: FileLock[]): Promise<RebuildResult> {
  const sink = SqliteSink.open({ dataDir: o.dataDir, log: o.log, walCheckpointMs: 0 });
  const sealed = sink.isSealed(o.day);
  try {
    sink.deleteDay(o.day, journals.map((j) => path.basename(archivedJournal(j))));
  } finally {
    await sink.close();
  }
  if (o.arrow !== false) fs.rmSync(dayDir(o.dataDir, o.day), { recursive: true, force: true });
  for (const [i, file] of journals.entries()) {
    // The tape reads (and appends to) plain journals: a compacted day's archive is restored for the
    // rebuild and the plain copy removed after it; the archive stays the day's journal.
    const restored = isArchive(file) ? await restoreJournal(file) : null;
    try {
      // Opening a tape replays its journal into every store from the start: the checkpoints are gone.
      const tape = await Tape.open({ dataDir: o.dataDir, day: o.day, collectorId: journalCollectorId(archivedJournal(file)), log: o.log, arrow: o.arrow, walCheckpointMs: 0, journalLock: locks[i] });
      if (sealed) await tape.sealDay();
      await tape.close();
    } finally {
      if (restored) fs.rmSync(restored, { force: true });
    }
  }
  const counted = SqliteSink.open({ dataDir: o.dataDir, log: o.log, walCheckpointMs: 0 });
  try {
    return { journals, rows: counted.dayCounts(o.day), sealed };
  } finally {
    await counted.close();
  }
}
