// What the day report shows, gathered from a data directory: trades per minute per market (by
// exchange time, the KRX session's clock; receive time for trades the feed sent without one),
// cumulative streamed volume beside the REST snapshots' cumulative volume (reconciliation), BM_
// sector net flows per investor group, capture health (sessions, connection events from the
// journals, quarantined frames per minute) and the top symbols. Reads through the storage reader
// API (streaming, per-minute aggregates only), the sessions and quarantine tables, and the
// journals' event records.
import fs from 'node:fs';
import type { Logger } from 'pino';
import { FLAG, journalCollectorId, readChannels } from '../storage/journal.js';
import { archivedJournal, dayJournalFiles, readJournalRecords } from '../storage/journal-archive.js';
import { TickReader, databasePath, type StoreKind } from '../storage/reader.js';
import { openReadOnly } from '../storage/reader-sqlite.js';
import { MARKETS, type Market } from '../protocol/market.js';
import { kstMidnight } from '../protocol/time.js';

const NS_PER_MIN = 60_000_000_000;
/** The KRX regular session, seconds after KST midnight. */
const SESSION_OPEN_SEC = 9 * 3600;
const SESSION_CLOSE_SEC = 15 * 3600 + 30 * 60;
const TOP_SYMBOLS = 20;

/** Minute series: x = epoch seconds of each minute start; one array of values per series. */
export interface MinuteSeries {
  minutes: number[];
  series: Record<string, (number | null)[]>;
}

export interface SnapshotPoint {
  /** Epoch seconds. */
  at: number;
  kind: string;
  market: Market;
  accVolume: number;
}

export interface FlowPoint {
  at: number;
  /** Net bought value (msval) of each investor group, cumulative for the day. */
  net: Record<string, number>;
}

export interface ConnectionEventPoint {
  at: number;
  collector: string;
  stream: string;
  type: string;
  downMs?: number;
  reason?: string;
}

/** A/B capture (`ticktape merge`): a run of frames (or trades of them) one collector missed and the other supplied. */
export interface AbGapPoint {
  channel: string;
  filledBy: string;
  missedBy: string;
  /** The supplier's frames the run came in, whole or in part. */
  frames: number;
  /** The trades among them only the supplier held (0 for frames that are not trade arrays). */
  trades: number;
  /** Receive times of the run's first and last frame, epoch seconds. */
  from: number;
  to: number;
}

export interface SessionSummary {
  collector: string;
  startedAt: number;
  endedAt: number | null;
  status: string;
  reconnects: number;
  downtimeMs: number;
  /** Each store at the session's end: how far behind the journal, whether it caught up. */
  stores: { store: string; frames: number; bytes: number; seconds: number; caughtUp: boolean; sealed: boolean; errors: number }[];
}

export interface DayReport {
  day: string;
  /** When the report was made, epoch ms. */
  generatedAt: number;
  /** The regular session, 09:00 and 15:30 KST of the day, epoch seconds: the charts' time axis. */
  session: { open: number; close: number };
  source: StoreKind;
  totals: { trades: number; volume: number; symbols: number; flows: number; snapshots: number; quarantined: number };
  tradesPerMinute: MinuteSeries;
  cumulativeVolume: MinuteSeries;
  snapshots: SnapshotPoint[];
  flows: Record<string, FlowPoint[]>;
  sessions: SessionSummary[];
  events: ConnectionEventPoint[];
  abGaps: AbGapPoint[];
  quarantinePerMinute: { minutes: number[]; frames: number[] };
  topSymbols: { symbol: string; market: Market; trades: number; volume: number; value: number }[];
  /** How each market's trdVol was read (per-trade or cumulative), and what decided it. */
  trdVol: { market: Market; mode: string; basis: string }[];
}

export interface DayReportOptions {
  dataDir: string;
  day: string;
  log: Logger;
}

const minuteOf = (ns: bigint) => Math.floor(Number(ns) / NS_PER_MIN);

export async function gatherDayReport(o: DayReportOptions): Promise<DayReport> {
  const reader = TickReader.open({ dataDir: o.dataDir });
  try {
    if (!reader.days().includes(o.day)) throw new Error(`no data for ${o.day} in ${o.dataDir} (days: ${reader.days().join(', ') || 'none'})`);
    const perMinute = new Map<number, number[]>();
    const volumeByMinute = new Map<number, number[]>();
    const bySymbol = new Map<string, { symbol: string; market: Market; trades: number; volume: number; value: number }>();
    let trades = 0;
    let volume = 0;
    for await (const chunk of reader.tradeChunks({ day: o.day })) {
      for (const t of chunk) {
        const m = minuteOf(t.exchNs ?? t.recvNs);
        const mi = t.market === 'kospi' ? 0 : 1;
        let c = perMinute.get(m);
        if (!c) {
          perMinute.set(m, (c = [0, 0]));
          volumeByMinute.set(m, [0, 0]);
        }
        c[mi]++;
        // Beside the snapshots' accTrdvol, as reconciliation counts: each regular trade's own quantity.
        if (t.kind === 'regular') volumeByMinute.get(m)![mi] += t.qty;
        let s = bySymbol.get(t.symbol);
        if (!s) bySymbol.set(t.symbol, (s = { symbol: t.symbol, market: t.market, trades: 0, volume: 0, value: 0 }));
        s.trades++;
        s.volume += t.qty;
        s.value += t.price * t.qty;
        trades++;
        volume += t.qty;
      }
    }
    const minutes = [...perMinute.keys()].sort((a, b) => a - b);
    const tradesPerMinute: MinuteSeries = { minutes: minutes.map((m) => m * 60), series: Object.fromEntries(MARKETS.map((mk, i) => [mk, minutes.map((m) => perMinute.get(m)![i])])) };
    const running = [0, 0];
    const cumulative = MARKETS.map(() => [] as number[]);
    for (const m of minutes) MARKETS.forEach((_, i) => cumulative[i].push((running[i] += volumeByMinute.get(m)![i])));
    const cumulativeVolume: MinuteSeries = { minutes: tradesPerMinute.minutes, series: Object.fromEntries(MARKETS.map((mk, i) => [mk, cumulative[i]])) };

    // One point per snapshot and market: the market's summed cumulative volume as REST saw it.
    const snapTotals = new Map<string, SnapshotPoint>();
    let snapshots = 0;
    for await (const s of reader.snapshots({ day: o.day })) {
      snapshots++;
      const key = `${s.takenNs}/${s.market}`;
      const p = snapTotals.get(key);
      if (p) p.accVolume += s.accVolume;
      else snapTotals.set(key, { at: Math.floor(Number(s.takenNs) / 1e9), kind: s.kind, market: s.market, accVolume: s.accVolume });
    }

    const flows: Record<string, FlowPoint[]> = {};
    let flowRows = 0;
    for await (const f of reader.sectorFlows({ day: o.day })) {
      flowRows++;
      const series = (flows[f.upcode] ??= []);
      const at = Math.floor(Number(f.exchNs ?? f.recvNs) / 1e9);
      const last = series[series.length - 1];
      // Pushes of the same second merge into one point carrying every group's latest value.
      if (last && last.at === at) last.net[f.tjjcode] = f.msval;
      else series.push({ at, net: { ...(last?.net ?? {}), [f.tjjcode]: f.msval } });
    }

    const health = healthFromDatabase(o.dataDir, o.day);
    const { events, abGaps } = await journalEvents(o.dataDir, o.day, o.log);
    const midnight = kstMidnight(o.day) / 1000;
    return {
      day: o.day,
      generatedAt: Date.now(),
      session: { open: midnight + SESSION_OPEN_SEC, close: midnight + SESSION_CLOSE_SEC },
      source: reader.sourceOf(o.day) ?? reader.source,
      totals: { trades, volume, symbols: bySymbol.size, flows: flowRows, snapshots, quarantined: health.quarantinePerMinute.frames.reduce((a, b) => a + b, 0) },
      tradesPerMinute,
      cumulativeVolume,
      snapshots: [...snapTotals.values()].sort((a, b) => a.at - b.at),
      flows,
      sessions: health.sessions,
      events,
      abGaps,
      quarantinePerMinute: health.quarantinePerMinute,
      topSymbols: [...bySymbol.values()].sort((a, b) => b.value - a.value || a.symbol.localeCompare(b.symbol)).slice(0, TOP_SYMBOLS),
      trdVol: health.trdVol,
    };
  } finally {
    reader.close();
  }
}

function healthFromDatabase(dataDir: string, day: string): { sessions: SessionSummary[]; quarantinePerMinute: { minutes: number[]; frames: number[] }; trdVol: DayReport['trdVol'] } {
  const file = databasePath(dataDir);
  if (!fs.existsSync(file)) return { sessions: [], quarantinePerMinute: { minutes: [], frames: [] }, trdVol: [] };
  const db = openReadOnly(file);
  try {
    // Databases from before migration 0003 have no store lag per session.
    const hasStores = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('sessions') as string[]).includes('stores');
    const sql = `SELECT collector, started_ns, ended_ns, status, reconnects, downtime_ms, ${hasStores ? 'stores' : "'[]'"} AS stores FROM sessions WHERE day = ? ORDER BY started_ns`;
    const sessions = (db.prepare(sql).safeIntegers(true).all(day) as { collector: string; started_ns: bigint; ended_ns: bigint | null; status: string; reconnects: bigint; downtime_ms: bigint; stores: string }[]).map((s) => ({
      collector: s.collector,
      startedAt: Math.floor(Number(s.started_ns) / 1e9),
      endedAt: s.ended_ns === null ? null : Math.floor(Number(s.ended_ns) / 1e9),
      status: s.status,
      reconnects: Number(s.reconnects),
      downtimeMs: Number(s.downtime_ms),
      stores: JSON.parse(s.stores) as SessionSummary['stores'],
    }));
    const q = db.prepare('SELECT recv_ns / ? AS minute, count(*) AS frames FROM quarantine WHERE day = ? GROUP BY minute ORDER BY minute').all(NS_PER_MIN, day) as { minute: number; frames: number }[];
    // Databases from before migration 0004 record no trdVol reading.
    const hasModes = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'trade_modes'").get() !== undefined;
    const trdVol = hasModes ? (db.prepare("SELECT market, mode, basis FROM trade_modes WHERE day = ? AND symbol = '' ORDER BY market").all(day) as DayReport['trdVol']) : [];
    return { sessions, quarantinePerMinute: { minutes: q.map((r) => r.minute * 60), frames: q.map((r) => r.frames) }, trdVol };
  } finally {
    db.close();
  }
}

/** Events journaled by the collectors (JSON records flagged as events), and an A/B merge's gaps; compressed journals too. */
async function journalEvents(dataDir: string, day: string, log: Logger): Promise<{ events: ConnectionEventPoint[]; abGaps: AbGapPoint[] }> {
  const out: ConnectionEventPoint[] = [];
  const abGaps: AbGapPoint[] = [];
  for (const file of dayJournalFiles(dataDir, day)) {
    const collector = journalCollectorId(archivedJournal(file)) ?? '';
    const names = new Map(readChannels(archivedJournal(file)).map((c) => [c.id, c.name]));
    for await (const r of readJournalRecords(file)) {
      if (r.flags !== FLAG.event) continue;
      try {
        const e = JSON.parse(r.bytes.toString('utf8')) as { type?: unknown; stream?: unknown; downMs?: unknown; reason?: unknown };
        if (typeof e.type !== 'string') continue;
        if (e.type === 'ab-gap') {
          const g = e as unknown as Record<string, string | number>;
          abGaps.push({ channel: String(g.channel), filledBy: String(g.filledBy), missedBy: String(g.missedBy), frames: Number(g.frames), trades: Number(g.trades ?? 0), from: Number(g.fromNs) / 1e9, to: Number(g.toNs) / 1e9 });
          continue;
        }
        out.push({
          at: Number(r.recvNs) / 1e9,
          collector,
          stream: typeof e.stream === 'string' ? e.stream : (names.get(r.channel) ?? String(r.channel)),
          type: e.type,
          downMs: typeof e.downMs === 'number' ? e.downMs : undefined,
          reason: typeof e.reason === 'string' ? e.reason.slice(0, 200) : undefined,
        });
      } catch {
        log.warn({ journal: file, seq: r.seq }, 'report: an event record is not JSON; skipped');
      }
    }
  }
  return { events: out.sort((a, b) => a.at - b.at), abGaps: abGaps.sort((a, b) => a.from - b.from) };
}
