// When a command finds nothing, it says what it looked for and what the data directory holds
// instead (days, symbols, channels and their time ranges on each clock), and exits 1.
import fs from 'node:fs';
import { distance } from 'fastest-levenshtein';
import { MARKETS } from '../protocol/market.js';
import { readListings } from '../replay/source.js';
import { inventory, storedDays } from '../storage/reader-inventory.js';
import { TickReader } from '../storage/reader.js';
import { count, kstClock } from './present.js';

/** A command found nothing: main prints the message and exits 1. */
export class NothingFound extends Error {}

export function requireDataDir(dataDir: string): void {
  if (!fs.existsSync(dataDir)) throw new NothingFound(`no data directory ${dataDir} (give --data-dir, or set TICKTAPE_DATA_DIR)`);
}

/** Throws naming the days that do exist when `day` has no data. */
export function requireDay(dataDir: string, day: string): void {
  requireDataDir(dataDir);
  const days = storedDays(dataDir);
  if (days.length === 0) throw new NothingFound(`no data in ${dataDir}: no journal, database or Arrow files (capture a day with \`ticktape collect\`)`);
  if (!days.includes(day)) throw new NothingFound(`no data for ${day} in ${dataDir}; days with data: ${days.join(', ')}`);
}

/** One line per stored channel of the day: rows, symbols, first–last on the exchange and the receive clock. */
export async function dayHolds(dataDir: string, day: string): Promise<string[]> {
  const [inv] = await inventory(dataDir, day, { journal: false });
  const lines = inv.channels.map(({ channel, sqlite, arrow }) => {
    const s = (arrow ?? sqlite)!;
    const exch = s.firstExchNs === null ? '' : `, exchange ${kstClock(s.firstExchNs)}–${kstClock(s.lastExchNs)} KST`;
    return `  ${channel}: ${count(s.rows)} rows, ${count(s.symbols)} ${channel === 'sector_flows' ? 'sectors' : 'symbols'}${exch}, receive ${kstClock(s.firstRecvNs)}–${kstClock(s.lastRecvNs)} KST`;
  });
  const journals = inv.files.filter((f) => f.path.endsWith('.journal'));
  if (journals.length > 0) lines.push(`  journal: ${journals.length} file(s) (raw frames: --source journal)`);
  return lines;
}

/**
 * The short codes of a day: the stored stock lists, else every code that traded (a full scan of
 * the day's trades, for a data directory with Arrow parts and no database).
 */
export async function knownSymbols(dataDir: string, day: string): Promise<Set<string>> {
  const known = new Set<string>();
  for (const m of MARKETS) for (const l of readListings(dataDir, day, m) ?? []) known.add(l.symbol);
  if (known.size > 0) return known;
  let reader: TickReader;
  try {
    reader = TickReader.open({ dataDir });
  } catch {
    return known;
  }
  try {
    for await (const chunk of reader.tradeChunks({ day })) for (const t of chunk) known.add(t.symbol);
  } finally {
    reader.close();
  }
  return known;
}

/** The `n` known codes closest to `code`: fewest edits, then nearest in number. */
export function nearestCodes(code: string, known: Iterable<string>, n = 5): string[] {
  const scored = [...known].map((k) => ({ k, d: distance(code, k), gap: Math.abs(Number.parseInt(k, 36) - Number.parseInt(code, 36)) }));
  return scored
    .sort((a, b) => a.d - b.d || a.gap - b.gap || a.k.localeCompare(b.k))
    .slice(0, n)
    .map((s) => s.k);
}
