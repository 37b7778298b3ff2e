// A/B capture after the fact: two collectors' journals of one day (each on its own machine or
// network, shipped here) merged into one journal, each stream frame once, each gap of one filled
// from the other and named in the merged journal; the stores are then rebuilt from it.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TradingDay } from '../protocol/time.js';
import { channelsPath, FLAG, Journal, journalPath, readChannels, type ChannelKind, type JournalChannel, type JournalRecord } from '../storage/journal.js';
import { archivedJournal, dayJournalFiles, readJournalRecords } from '../storage/journal-archive.js';
import { SqliteSink } from '../storage/sqlite-sink.js';
import { AbMerge, type GapFill, type MergeCounts, type Side } from './ab-merge.js';
import { rebuildDay } from './rebuild.js';

/** Channels whose frames are the feed itself (the same content on every connection, however batched): merged. */
const STREAM_KINDS: ReadonlySet<ChannelKind> = new Set(['trades', 'ls.ws', 'detail']);
/** The merged journal's channel of merge events (gaps filled, the totals). */
export const AB_CHANNEL = { name: 'ab-merge', vendor: 'koscom', endpoint: '', kind: 'events' } as const;

export interface AbSource {
  /** The collector's name in reports (its collector id, or `a` / `b`). */
  name: string;
  dataDir: string;
  /** The collector may have no journal of the day (it never ran): the other alone makes the day. */
  optional?: boolean;
}

export interface AbJournalsOptions {
  day: TradingDay;
  a: AbSource;
  b: AbSource;
  /** The data directory that receives the merged journal and its stores. */
  dataDir: string;
  log: Logger;
  /** How long a frame one collector holds waits for the other's copy (receive time), ms (default 2 s). */
  holdMs?: number;
  /** A merged journal of the day left by an interrupted merge is replaced (default: refused). */
  replace?: boolean;
}

export interface NamedGap extends Omit<GapFill, 'by'> {
  /** The collector that filled the gap (the other one missed these frames or trades). */
  filledBy: string;
  missedBy: string;
}

export interface AbJournalsResult {
  journal: string;
  counts: MergeCounts;
  gaps: NamedGap[];
  rows: Record<string, number>;
}

/** The one journal of `day` in a collector's data directory (plain or archived); undefined for an optional collector without one. */
function sourceJournal(src: AbSource, day: TradingDay): string | undefined {
  const files = dayJournalFiles(src.dataDir, day);
  if (files.length === 0 && src.optional) return undefined;
  if (files.length === 0) throw new Error(`no journal for ${day} in ${path.join(src.dataDir, 'journal')} (collector ${src.name})`);
  if (files.length > 1) throw new Error(`${path.join(src.dataDir, 'journal')} holds ${files.length} journals for ${day} (${files.map((f) => path.basename(f)).join(', ')}): give each collector's own data directory`);
  return files[0];
}

async function* noRecords(): AsyncGenerator<JournalRecord> {}

/** Both journals' records in receive order (each journal is in its own receive order already). */
async function* interleaved(a: AsyncGenerator<JournalRecord>, b: AsyncGenerator<JournalRecord>): AsyncGenerator<[Side, JournalRecord]> {
  let ra = await a.next();
  let rb = await b.next();
  while (!ra.done || !rb.done) {
    if (!ra.done && (rb.done || ra.value.recvNs <= rb.value.recvNs)) {
      yield ['a', ra.value];
      ra = await a.next();
    } else if (!rb.done) {
      yield ['b', rb.value];
      rb = await b.next();
    }
  }
}

/**
 * Merges the day's journals of collectors A and B into `dataDir`'s journal of the day, then
 * builds its stores and seals the day. Stream frames are merged by content and order, trade
 * frames trade by trade (ab-merge.ts); REST answers, outgoing frames and events are taken from A, the primary.
 */
export async function mergeAbJournals(o: AbJournalsOptions): Promise<AbJournalsResult> {
  const files = { a: sourceJournal(o.a, o.day), b: sourceJournal(o.b, o.day) };
  if (files.a === undefined && files.b === undefined) throw new Error(`neither ${o.a.name} nor ${o.b.name} has a journal of ${o.day}`);
  const channels = { a: files.a === undefined ? [] : readChannels(archivedJournal(files.a)), b: files.b === undefined ? [] : readChannels(archivedJournal(files.b)) };
  const records = (f: string | undefined) => (f === undefined ? noRecords() : readJournalRecords(f));
  const out = journalPath(o.dataDir, o.day);
  if (o.replace) for (const f of [out, channelsPath(out)]) fs.rmSync(f, { force: true });
  if (fs.existsSync(out) || fs.existsSync(channelsPath(out))) throw new Error(`${out} exists: merge into a data directory that holds no journal of ${o.day}`);
  const journal = Journal.open(out, { fsync: 'off', log: o.log });
  const gaps: NamedGap[] = [];
  const name = (s: Side) => (s === 'a' ? o.a.name : o.b.name);
  const holdMs = o.holdMs ?? 2_000;
  const byName = new Map<string, JournalChannel>();
  const outIds = new Map<string, number>();
  const outChannel = (ch: JournalChannel) => {
    let id = outIds.get(ch.name);
    if (id === undefined) {
      const { id: _, ...spec } = ch;
      outIds.set(ch.name, (id = journal.channel(spec)));
    }
    return id;
  };
  const abChannel = journal.channel(AB_CHANNEL);
  const merge = new AbMerge({
    holdMs,
    // A copy later than five holds is no copy: the frame was the other's gap.
    lateNs: BigInt(holdMs) * 5_000_000n,
    emit: (f) => journal.append(outChannel(byName.get(f.channel)!), FLAG.incoming, f.bytes, f.recvNs),
    gap: (g) => {
      const named: NamedGap = { channel: g.channel, filledBy: name(g.by), missedBy: name(g.by === 'a' ? 'b' : 'a'), frames: g.frames, trades: g.trades, bytes: g.bytes, fromNs: g.fromNs, toNs: g.toNs };
      gaps.push(named);
      journal.append(abChannel, FLAG.event, JSON.stringify({ type: 'ab-gap', ...named, fromNs: String(g.fromNs), toNs: String(g.toNs) }), g.toNs);
    },
  });
  try {
    for await (const [side, r] of interleaved(records(files.a), records(files.b))) {
      const ch = channels[side][r.channel];
      if (ch === undefined) throw new Error(`${files[side]}: record ${r.seq} on channel ${r.channel}, which its sidecar does not list`);
      const nowMs = Number(r.recvNs / 1_000_000n);
      if (r.flags === FLAG.incoming && STREAM_KINDS.has(ch.kind)) {
        byName.set(ch.name, ch);
        merge.push(side, { channel: ch.name, recvNs: r.recvNs, bytes: Buffer.from(r.bytes) }, nowMs);
      } else {
        merge.tick(nowMs);
        // A's, or B's when A never ran.
        if (side === 'a' || files.a === undefined) journal.append(outChannel(ch), r.flags as 0 | 1 | 2, r.bytes, r.recvNs);
      }
    }
    merge.flush();
    journal.append(abChannel, FLAG.event, JSON.stringify({ type: 'ab-merged', collectors: [o.a.name, o.b.name], both: merge.counts.both, aOnly: merge.counts.a, bOnly: merge.counts.b, late: merge.counts.late }), BigInt(Date.now()) * 1_000_000n);
    journal.sync();
  } finally {
    journal.close();
  }
  await rebuildDay({ dataDir: o.dataDir, day: o.day, log: o.log });
  // Both collectors' sessions of the day are over: the merged day is sealed as theirs were.
  const sink = SqliteSink.open({ dataDir: o.dataDir, log: o.log, walCheckpointMs: 0 });
  try {
    sink.sealDay(o.day);
    return { journal: out, counts: merge.counts, gaps, rows: sink.dayCounts(o.day) };
  } finally {
    await sink.close();
  }
}
