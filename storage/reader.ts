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
import { TradeColumns, MARKET_CODE, type FlowRecord, type SnapshotRecord } from './batch.js';
import { FlowBatchBuilder, SnapshotBatchBuilder, TradeBatchBuilder } from './arrow-batches.js';
import type { ArrowChannel } from './arrow-format.js';
import { ArrowStore } from './reader-arrow.js';
import { SqliteStore } from './reader-sqlite.js';
import { databaseFile } from './sqlite-sink.js';
import { resolveQuery, type ReadQuery, type ResolvedQuery, type SectorFlowRow, type StoredSnapshotRow, type TradeRow } from './reader-query.js';

export type { ReadQuery, SectorFlowRow, StoredSnapshotRow, TimeBasis, TradeRow } from './reader-query.js';
export type { ArrowChannel } from './arrow-format.js';

export type StoreKind = 'sqlite' | 'arrow';

export interface TickReaderOptions {
  dataDir: string;
  /** Default: SQLite when `<dataDir>/ticktape.db` exists, else Arrow. */
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
  days(): string[];
  channels(day: string): ArrowChannel[];
  trades(q: ResolvedQuery): AsyncGenerator<TradeRow[]>;
  snapshots(q: ResolvedQuery): AsyncGenerator<StoredSnapshotRow[]>;
  sectorFlows(q: ResolvedQuery): AsyncGenerator<SectorFlowRow[]>;
}

async function* rows<R>(chunks: AsyncIterable<R[]>): AsyncGenerator<R> {
  for await (const c of chunks) yield* c;
}

export class TickReader {
  private constructor(
    readonly source: StoreKind,
    private readonly store: Store,
    private readonly onClose: () => void,
  ) {}

  static open(opts: TickReaderOptions): TickReader {
    const db = databasePath(opts.dataDir);
    const source = opts.source ?? (fs.existsSync(db) ? 'sqlite' : 'arrow');
    if (source === 'sqlite') {
      if (!fs.existsSync(db)) throw new Error(`no SQLite database at ${db}`);
      const store = new SqliteStore(db);
      return new TickReader(source, store, () => store.close());
    }
    if (source !== 'arrow') throw new RangeError(`source must be 'sqlite' or 'arrow', got ${JSON.stringify(source)}`);
    return new TickReader(source, new ArrowStore(opts.dataDir), () => undefined);
  }

  /** Days with stored data, ascending. */
  days(): TradingDay[] {
    return this.store.days();
  }

  /** Channels with rows on `day`. */
  channels(day: TradingDay): ArrowChannel[] {
    return this.store.channels(day);
  }

  trades(q: ReadQuery): AsyncGenerator<TradeRow> {
    return rows(this.store.trades(resolveQuery(q)));
  }

  snapshots(q: ReadQuery): AsyncGenerator<StoredSnapshotRow> {
    return rows(this.store.snapshots(resolveQuery(q)));
  }

  sectorFlows(q: Omit<ReadQuery, 'symbols' | 'markets'>): AsyncGenerator<SectorFlowRow> {
    return rows(this.store.sectorFlows(resolveQuery(q)));
  }

  /** The same rows in ordered chunks: one await per chunk, for callers that merge streams. */
  tradeChunks(q: ReadQuery): AsyncGenerator<TradeRow[]> {
    return this.store.trades(resolveQuery(q));
  }

  snapshotChunks(q: ReadQuery): AsyncGenerator<StoredSnapshotRow[]> {
    return this.store.snapshots(resolveQuery(q));
  }

  sectorFlowChunks(q: Omit<ReadQuery, 'symbols' | 'markets'>): AsyncGenerator<SectorFlowRow[]> {
    return this.store.sectorFlows(resolveQuery(q));
  }

  /** Trades as record batches of up to `batchRows` rows, in the schema of the Arrow files. */
  async *tradeBatches(q: ReadQuery, batchRows = 65_536): AsyncGenerator<RecordBatch> {
    const builder = new TradeBatchBuilder();
    const cols = new TradeColumns(batchRows);
    for await (const chunk of this.store.trades(resolveQuery(q))) {
      for (const t of chunk) {
        cols.push(MARKET_CODE[t.market], t.symbol, t.exchNs === null ? 0 : nsToMs(t.exchNs), t.price, t.qty, t.recvNs, t.srcSeq, t.srcIdx);
        if (cols.length === batchRows) {
          yield builder.build(cols);
          cols.length = 0;
        }
      }
    }
    if (cols.length > 0) yield builder.build(cols);
  }

  async *snapshotBatches(q: ReadQuery, batchRows = 65_536): AsyncGenerator<RecordBatch> {
    const builder = new SnapshotBatchBuilder();
    let buf: SnapshotRecord[] = [];
    for await (const chunk of this.store.snapshots(resolveQuery(q))) {
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

  async *sectorFlowBatches(q: Omit<ReadQuery, 'symbols' | 'markets'>, batchRows = 65_536): AsyncGenerator<RecordBatch> {
    const builder = new FlowBatchBuilder();
    let buf: FlowRecord[] = [];
    for await (const chunk of this.store.sectorFlows(resolveQuery(q))) {
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
    this.onClose();
  }
}

/** Stored exchange times come from ms-resolution feeds, so ns → ms is exact. */
function nsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}
