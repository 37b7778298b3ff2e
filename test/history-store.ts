// A store of several short synthetic trading days (sim/write-day.ts), each journaled, replayed into
// SQLite and Arrow through the real tape, and sealed — as a collector leaves them. The days skip a
// weekend and a holiday, so range reads cross gaps between sessions.
import pino from 'pino';
import { writeSyntheticDay } from '../sim/write-day.js';
import { Tape } from '../followers/tape.js';

/** Fri, Mon, (Tue 2025-03-04 missing: a holiday), Wed. */
export const STORE_DAYS = ['2025-02-28', '2025-03-03', '2025-03-05'] as const;

/** 09:00–09:04 market time, ~1,000 trades a day over 60 symbols. */
export const UNTIL_MS = 9 * 3_600_000 + 4 * 60_000;

export async function writeStore(dataDir: string, days: readonly string[] = STORE_DAYS): Promise<void> {
  const log = pino({ level: 'silent' });
  for (const [i, day] of days.entries()) {
    // One seed (one symbol universe); a different activity per day gives each day its own trades.
    writeSyntheticDay({ dataDir, day, seed: 100, kospiSymbols: 30, kosdaqSymbols: 30, tradesPerDay: 100_000 + i * 7_000, untilMs: UNTIL_MS });
    const tape = await Tape.open({ dataDir, day, log, walCheckpointMs: 0, fsync: 'off' });
    tape.writeSession({ day, startedNs: BigInt(Date.parse(`${day}T08:40:00+09:00`)) * 1_000_000n, endedNs: BigInt(Date.parse(`${day}T15:45:00+09:00`)) * 1_000_000n, status: 'complete' });
    await tape.sealDay();
    await tape.close();
  }
}
