// The backtest data source: stored trades, snapshots and sector flows of a day, from SQLite or
// Arrow, filtered by symbols, markets and a time window, in time order — as async iterators of
// typed rows (or of row chunks, for merging) and as Arrow record batches. Everything streams:
// SQLite rows through a cursor, Arrow parts one at a time.
//
//   const reader = TickReader.open({ dataDir: 'data', source: 'arrow' });
//   for await (const t of reader.trades({ day: '2026-11-20', symbols: ['005930'], from: kstTimeNs('2026-11-20', '09:00'), to: kstTimeNs('2026-11-20', '10:00') })) {
//     strategy.onTrade(t.symbol, t.price, t.qty, t.exchNs);
//   }
//   reader.close();
import fs from 'node:fs';
import type { RecordBatch } from 'apache-arrow';
import { kstMidnight, type TradingDay } from '../protocol/time.js';
import { TradeColumns, MARKET_CODE, TRADE_KIND_CODE, type FlowRecord, type SnapshotRecord } from './batch.js';
import { FlowBatchBuilder, SnapshotBatchBuilder, TradeBatchBuilder } from './arrow-batches.js';
import type { ArrowChannel } from './arrow-format.js';
import { ArrowStore } from './reader-arrow.js';
import { SqliteStore } from './reader-sqlite.js';
import { databaseFile } from './sqlite-sink.js';
import { JournalStore } from './reader-journal.js';
import { ParquetStore } from './reader-parquet.js';
import { daysOf, resolveQuery, type RangeQuery, type ReadQuery, type ResolvedQuery, type SectorFlowRow, type StoredSnapshotRow, type TradeRow } from './reader-query.js';

export type { RangeQuery, ReadQuery, SectorFlowRow, StoredSnapshotRow, TimeBasis, TradeRow } from './reader-query.js';
export type { ArrowChannel } from './arrow-format.js';

/** The tiers rows are read from: SQLite (recent days), Arrow parts, Parquet history (compacted days), the journal (decoded on the fly). */
export type StoreKind = 'sqlite' | 'arrow' | 'parquet' | 'journal';
export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'arrow', 'parquet', 'journal'];

export interface TickReaderOptions {
  dataDir: string;
  /**
   * Read only this tier. Default: every tier, each day from the best that holds it — SQLite, then
   * Arrow, then the Parquet history, then the journal (`source` then names SQLite when the
   * database exists, else Arrow).
   */
  source?: StoreKind;
}

/** The SQLite database of a data directory. */
export const databasePath = databaseFile;

/** An instant given as KST wall-clock time on a day, ns since the epoch: kstTimeNs('2026-11-20', '09:00:30.5'). */
export function kstTimeNs(day: TradingDay, time: string): bigint {
  const m = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(time);
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) throw new RangeError(`time must be HH:MM[:SS[.mmm]] (KST), got ${JSON.stringify(time)}`);
  const ms = ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3] ?? 0)) * 1000 + Number((m[4] ?? '').padEnd(3, '0'));
  return BigInt(kstMidnight(day) + ms) * 1_000_000n;
}

interface Store {
  close?(): void;
  days(): string[];
  channels(day: string): ArrowChannel[];
  trades(q: ResolvedQuery): AsyncGenerator<TradeRow[]>;
  snapshots(q: ResolvedQuery): AsyncGenerator<StoredSnapshotRow[]>;
  sectorFlows(q: ResolvedQuery): AsyncGenerator<SectorFlowRow[]>;
}

async function* rows<R>(chunks: AsyncIterable<R[]>): AsyncGenerator<R> {
  for await (const c of chunks) yield* c;
}

/** A day query or a range query (see RangeQuery): rows of each day in turn, in the day's order. */
export type Query = ReadQuery | RangeQuery;
type FlowQuery = Omit<ReadQuery, 'symbols' | 'markets'> | Omit<RangeQuery, 'symbols' | 'markets'>;

export class TickReader {
  private constructor(
    readonly source: StoreKind,
    private readonly tiers: readonly { kind: StoreKind; store: Store }[],
  ) {}

  static open(opts: TickReaderOptions): TickReader {
    const db = databasePath(opts.dataDir);
    const make = (kind: StoreKind): Store => {
      if (kind === 'sqlite') {
        if (!fs.existsSync(db)) throw new Error(`no SQLite database at ${db}`);
        return new SqliteStore(db);
      }
      return kind === 'arrow' ? new ArrowStore(opts.dataDir) : kind === 'parquet' ? new ParquetStore(opts.dataDir) : new JournalStore(opts.dataDir);
    };
    if (opts.source !== undefined) {
      if (!STORE_KINDS.includes(opts.source)) throw new RangeError(`source must be one of ${STORE_KINDS.join(', ')}, got ${JSON.stringify(opts.source)}`);
      return new TickReader(opts.source, [{ kind: opts.source, store: make(opts.source) }]);
    }
    const kinds = STORE_KINDS.filter((k) => k !== 'sqlite' || fs.existsSync(db));
    return new TickReader(kinds[0], kinds.map((kind) => ({ kind, store: make(kind) })));
  }

  /** Days with stored data in any tier read, ascending. */
  days(): TradingDay[] {
    return [...new Set(this.tiers.flatMap((t) => t.store.days()))].sort();
  }

  /** The tier `day` is read from (undefined: in none). */
  sourceOf(day: TradingDay): StoreKind | undefined {
    return this.tierOf(day)?.kind;
  }

  /** The first tier with rows on `day` (else the first that knows the day, e.g. by a session row). */
  private tierOf(day: TradingDay): { kind: StoreKind; store: Store } | undefined {
    if (this.tiers.length === 1) return this.tiers[0];
    return this.tiers.find((t) => t.store.channels(day).length > 0) ?? this.tiers.find((t) => t.store.days().includes(day));
  }

  /** Channels with rows on `day`. */
  channels(day: TradingDay): ArrowChannel[] {
    return this.tierOf(day)?.store.channels(day) ?? [];
  }

  trades(q: Query): AsyncGenerator<TradeRow> {
    return rows(this.tradeChunks(q));
  }

  snapshots(q: Query): AsyncGenerator<StoredSnapshotRow> {
    return rows(this.snapshotChunks(q));
  }

  sectorFlows(q: FlowQuery): AsyncGenerator<SectorFlowRow> {
    return rows(this.sectorFlowChunks(q));
  }

  /** The same rows in ordered chunks: one await per chunk, for callers that merge streams. */
  tradeChunks(q: Query): AsyncGenerator<TradeRow[]> {
    return this.perDay(q, (s, rq) => s.trades(rq));
  }

  snapshotChunks(q: Query): AsyncGenerator<StoredSnapshotRow[]> {
    return this.perDay(q, (s, rq) => s.snapshots(rq));
  }

  sectorFlowChunks(q: FlowQuery): AsyncGenerator<SectorFlowRow[]> {
    return this.perDay(q, (s, rq) => s.sectorFlows(rq));
  }

  /** Each day of the query from its tier, in day order (days do not overlap in time). The query is checked at once. */
  private perDay<R>(q: Query, read: (s: Store, rq: ResolvedQuery) => AsyncGenerator<R[]>): AsyncGenerator<R[]> {
    const days = 'day' in q && q.day !== undefined ? [q.day] : daysOf(q, this.days());
    const queries = days.map((day) => resolveQuery({ ...q, day }));
    if (queries.length === 1 && this.tiers.length === 1) return read(this.tiers[0].store, queries[0]);
    const tierOf = (day: TradingDay) => this.tierOf(day);
    return (async function* () {
      for (const rq of queries) {
        const tier = tierOf(rq.day);
        if (tier) yield* read(tier.store, rq);
      }
    })();
  }

  /** Trades as record batches of up to `batchRows` rows, in the schema of the Arrow files. */
  async *tradeBatches(q: Query, batchRows = 65_536): AsyncGenerator<RecordBatch> {
    const builder = new TradeBatchBuilder();
    const cols = new TradeColumns(batchRows);
    for await (const chunk of this.tradeChunks(q)) {
      for (const t of chunk) {
        cols.push(MARKET_CODE[t.market], t.symbol, t.exchNs === null ? 0 : nsToMs(t.exchNs), t.price, t.qty, t.recvNs, t.srcSeq, t.srcIdx, t.trdVol, TRADE_KIND_CODE[t.kind]);
        if (cols.length === batchRows) {
          yield builder.build(cols);
          cols.length = 0;
        }
      }
    }
    if (cols.length > 0) yield builder.build(cols);
  }

  async *snapshotBatches(q: Query, batchRows = 65_536): AsyncGenerator<RecordBatch> {
    const builder = new SnapshotBatchBuilder();
    let buf: SnapshotRecord[] = [];
    for await (const chunk of this.snapshotChunks(q)) {
      for (const s of chunk) {
        buf.push(s);
        if (buf.length === batchRows) {
          yield builder.build(buf);
          buf = [];
        }
      }
    }
    if (buf.length > 0) yield builder.build(buf);
  }

  async *sectorFlowBatches(q: FlowQuery, batchRows = 65_536): AsyncGenerator<RecordBatch> {
    const builder = new FlowBatchBuilder();
    let buf: FlowRecord[] = [];
    for await (const chunk of this.sectorFlowChunks(q)) {
      for (const f of chunk) {
        buf.push({ ...f, exchMs: f.exchNs === null ? 0 : nsToMs(f.exchNs) });
        if (buf.length === batchRows) {
          yield builder.build(buf);
          buf = [];
        }
      }
    }
    if (buf.length > 0) yield builder.build(buf);
  }

  close(): void {
    for (const t of this.tiers) t.store.close?.();
  }
}

/** Stored exchange times come from ms-resolution feeds, so ns → ms is exact. */
function nsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}
