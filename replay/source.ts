// One recorded channel of a day as a time-ordered stream of event chunks, so the replay awaits
// once per chunk, not once per row. Stored rows come from the storage reader (SQLite or Arrow;
// Arrow trades on the receive clock from the streaming path in arrow-trades.ts) and become events
// in place; raw frames come from the journal. Also what `replay serve` needs besides the rows:
// the stored stock list.
import fs from 'node:fs';
import path from 'node:path';
import type { Listing, Market } from '../protocol/market.js';
import type { TradingDay } from '../protocol/time.js';
import { dayDir } from '../storage/arrow-format.js';
import { historyFile, readManifest } from '../storage/history-format.js';
import { readTradeWindows, windowTrades, type WindowTrade } from '../storage/history-trades.js';
import type { ResolvedQuery } from '../storage/reader-query.js';
import { databasePath, TickReader, type TimeBasis } from '../storage/reader.js';
import { openReadOnly } from '../storage/reader-sqlite.js';
import { FLAG, readChannels } from '../storage/journal.js';
import { archivedJournal, dayJournalFiles, readJournalRecords } from '../storage/journal-archive.js';
import { arrowTradeStream } from './arrow-trades.js';
import type { FrameEvent, ReplayChannel, ReplayEvent, SectorFlowEvent, SnapshotEvent, TradeEvent } from './event.js';
import { byReceive, mergeChunks } from './merge.js';

export type ReplaySource = 'sqlite' | 'arrow' | 'parquet' | 'journal';
export const REPLAY_SOURCES: readonly ReplaySource[] = ['sqlite', 'arrow', 'parquet', 'journal'];

function sqliteHasDay(file: string, day: TradingDay): boolean {
  const db = openReadOnly(file);
  try {
    return db.prepare('SELECT 1 FROM trades WHERE day = ? LIMIT 1').get(day) !== undefined;
  } finally {
    db.close();
  }
}

/**
 * Arrow when the day has an Arrow partition (the fastest to stream), else SQLite when the database
 * holds the day, else the Parquet history when the day was compacted, else the journal when there
 * is one, else SQLite when there is a database, else the journal.
 */
export function defaultSource(dataDir: string, day: TradingDay): ReplaySource {
  if (fs.existsSync(dayDir(dataDir, day))) return 'arrow';
  const db = databasePath(dataDir);
  const hasDb = fs.existsSync(db);
  if (hasDb && sqliteHasDay(db, day)) return 'sqlite';
  if (readManifest(dataDir, day) !== null) return 'parquet';
  if (dayJournalFiles(dataDir, day).length > 0) return 'journal';
  return hasDb ? 'sqlite' : 'journal';
}

/** Days a range replay covers: days with rows in any tier (or with a journal, for frames), within [fromDay, toDay]. */
export function replayDays(dataDir: string, frames: boolean, fromDay: TradingDay | undefined, toDay: TradingDay | undefined): TradingDay[] {
  const days = new Set<TradingDay>();
  if (frames) {
    const dir = path.join(dataDir, 'journal');
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (/^\d{4}-\d{2}-\d{2}\..*journal/.test(f)) days.add(f.slice(0, 10));
  } else {
    const reader = TickReader.open({ dataDir });
    try {
      for (const d of reader.days()) days.add(d);
    } finally {
      reader.close();
    }
  }
  return [...days].filter((d) => (fromDay === undefined || d >= fromDay) && (toDay === undefined || d <= toDay)).sort();
}

/** What to read: a day, a window [from, to) on the chosen clock, optional symbol and market filters. */
export interface ChannelQuery {
  dataDir: string;
  day: TradingDay;
  from?: bigint;
  to?: bigint;
  time: TimeBasis;
  symbols?: readonly string[];
  markets?: readonly Market[];
}

/** One stored channel as event chunks, in the order of `q.time`. */
export function storedChannel(reader: TickReader, channel: Exclude<ReplayChannel, 'frames'>, q: ChannelQuery): AsyncIterable<readonly ReplayEvent[]> {
  const rq = { day: q.day, from: q.from, to: q.to, time: q.time, symbols: q.symbols, markets: q.markets };
  switch (channel) {
    case 'trades':
      return (reader.source === 'arrow' ? arrowTradeStream(q) : reader.source === 'parquet' && q.time === 'receive' ? parquetTradeStream(q) : undefined) ?? tradeEvents(reader.tradeChunks(rq));
    case 'snapshots':
      return snapshotEvents(reader.snapshotChunks(rq));
    case 'sector_flows':
      return flowEvents(reader.sectorFlowChunks({ day: q.day, from: q.from, to: q.to, time: q.time }));
  }
}

const SLICE_ROWS = 4096;

/**
 * A compacted day's trades on the receive clock, straight from the history file's windows into
 * events (built with their `type`, in slices: few alive at once), stopping at the query's end.
 */
async function* parquetTradeStream(q: ChannelQuery): AsyncGenerator<readonly TradeEvent[]> {
  const file = historyFile(q.dataDir, q.day, 'trades');
  if (!fs.existsSync(file)) return;
  const rq: ResolvedQuery = { day: q.day, symbols: q.symbols && q.symbols.length > 0 ? new Set(q.symbols) : null, markets: q.markets && q.markets.length > 0 ? new Set(q.markets) : null, from: q.from ?? null, to: q.to ?? null, time: 'receive' };
  const windowRows = readManifest(q.dataDir, q.day)?.channels.find((c) => c.channel === 'trades')?.windowRows;
  for await (const w of readTradeWindows(file, windowRows)) {
    for (let at = 0; at < w.rows; at += SLICE_ROWS) {
      const end = Math.min(w.rows, at + SLICE_ROWS);
      const events: TradeEvent[] = [];
      const past = windowTrades(w, rq, at, end, events as WindowTrade[], true);
      if (events.length > 0) yield events;
      if (past === end - at) return;
    }
  }
}

// Rows are tagged in place: the reader made them for us alone, and a copy per row would double
// the allocation on the hot path.
async function* tradeEvents(chunks: AsyncIterable<object[]>): AsyncGenerator<readonly TradeEvent[]> {
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) (chunk[i] as TradeEvent).type = 'trade';
    yield chunk as TradeEvent[];
  }
}

async function* snapshotEvents(chunks: AsyncIterable<object[]>): AsyncGenerator<readonly SnapshotEvent[]> {
  let row = 0;
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const e = chunk[i] as SnapshotEvent;
      e.type = 'snapshot';
      e.recvNs = e.takenNs;
      e.exchNs = null;
      // Rows of one snapshot share taken_ns and src_seq: their position keeps them in order.
      e.srcIdx = row++;
    }
    yield chunk as SnapshotEvent[];
  }
}

async function* flowEvents(chunks: AsyncIterable<object[]>): AsyncGenerator<readonly SectorFlowEvent[]> {
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const e = chunk[i] as SectorFlowEvent;
      e.type = 'sectorFlow';
      e.srcIdx = 0;
    }
    yield chunk as SectorFlowEvent[];
  }
}

const FRAME_CHUNK = 1024;

/**
 * The day's journal records as frame events, in journal order (the order they were received and
 * written; a REST body's recv_ns can precede frames journaled before it, and the clock then
 * releases it at once). Several collectors' journals are merged by receive time. A compacted
 * day's journals are read from their compressed archives.
 */
export function journalFrames(q: ChannelQuery): AsyncIterable<readonly FrameEvent[]> {
  const files = dayJournalFiles(q.dataDir, q.day);
  return mergeChunks(files.map((f) => journalFile(f, q)), byReceive);
}

async function* journalFile(file: string, q: ChannelQuery): AsyncGenerator<readonly FrameEvent[]> {
  const channels = new Map(readChannels(archivedJournal(file)).map((c) => [c.id, c]));
  const markets = q.markets && q.markets.length > 0 ? new Set<string>(q.markets) : undefined;
  let chunk: FrameEvent[] = [];
  for await (const r of readJournalRecords(file)) {
    if ((q.from !== undefined && r.recvNs < q.from) || (q.to !== undefined && r.recvNs >= q.to)) continue;
    const ch = channels.get(r.channel);
    if (markets !== undefined && ch?.market !== undefined && !markets.has(ch.market)) continue;
    chunk.push({ type: 'frame', channel: ch?.name ?? `#${r.channel}`, kind: ch?.kind ?? 'unknown', market: ch?.market, outgoing: r.flags === FLAG.outgoing, flags: r.flags, bytes: r.bytes, recvNs: r.recvNs, exchNs: null, srcSeq: r.seq, srcIdx: 0 });
    if (chunk.length === FRAME_CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** The day's stock list of a market from the SQLite `symbols` table; undefined when there is none. */
export function readListings(dataDir: string, day: TradingDay, market: Market): Listing[] | undefined {
  const file = databasePath(dataDir);
  if (!fs.existsSync(file)) return undefined;
  const db = openReadOnly(file);
  try {
    const rows = db.prepare('SELECT symbol, isin, name, abbr FROM symbols WHERE day = ? AND market = ? ORDER BY symbol').all(day, market) as Omit<Listing, 'market'>[];
    return rows.length === 0 ? undefined : rows.map((r) => ({ market, ...r }));
  } finally {
    db.close();
  }
}
