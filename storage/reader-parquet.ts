// The reader API's history back end: a compacted day's Parquet files (history-format.ts). Trades
// and sector flows are stored in receive order and snapshots in taken order, so those reads stream
// straight through; on the exchange clock, rows wait only until the manifest's per-block lower
// bounds show nothing earlier can still come (as the Arrow back end does with its batch bounds).
import fs from 'node:fs';
import type { RecordBatch } from 'apache-arrow';
import type { Market, SnapshotKind } from '../protocol/market.js';
import { FLOW_INT_COLUMNS, int32View, int64At, type ArrowChannel } from './arrow-format.js';
import { HISTORY_BLOCK_ROWS, historyFile, listHistoryDays, readManifest } from './history-format.js';
import { readParquetBatches } from './parquet-read.js';
import { readTradeWindows, windowTrades } from './history-trades.js';
import { inWindow, release } from './reader-arrow.js';
import { CHUNK_ROWS, compareExchange, exchangeKey, type ResolvedQuery, type SectorFlowRow, type StoredSnapshotRow, type TradeRow } from './reader-query.js';

const STORED: readonly ArrowChannel[] = ['trades', 'snapshots', 'sector_flows'];

function nsColumn(b: RecordBatch, name: string): (i: number) => bigint | null {
  const d = b.getChild(name)!.data[0];
  const v = d.values as BigInt64Array;
  return d.nullCount === 0 ? (i) => v[d.offset + i] : (i) => (d.getValid(i) ? v[d.offset + i] : null);
}

function intColumn(b: RecordBatch, name: string): (i: number) => number {
  const d = b.getChild(name)!.data[0];
  const view = int32View(d.values as BigInt64Array);
  return (i) => int64At(view, d.offset + i);
}

/**
 * Strings of a Utf8 column. Short values (codes, markets: at most 6 bytes) repeat on every row, so
 * they are decoded once and then found by their bytes; longer ones are decoded per row.
 */
function strColumn(b: RecordBatch, name: string): (i: number) => string {
  const d = b.getChild(name)!.data[0];
  const offsets = d.valueOffsets as Int32Array;
  const bytes = d.values as Uint8Array;
  const short = new Map<number, string>();
  return (i) => {
    const from = offsets[d.offset + i];
    const to = offsets[d.offset + i + 1];
    if (to - from > 6) return decoder.decode(bytes.subarray(from, to));
    let key = to - from;
    for (let k = from; k < to; k++) key = key * 256 + bytes[k];
    let s = short.get(key);
    if (s === undefined) short.set(key, (s = decoder.decode(bytes.subarray(from, to))));
    return s;
  };
}

const decoder = new TextDecoder();

export class ParquetStore {
  constructor(readonly dataDir: string) {}

  days(): string[] {
    return listHistoryDays(this.dataDir);
  }

  channels(day: string): ArrowChannel[] {
    const m = readManifest(this.dataDir, day);
    return STORED.filter((ch) => (m?.channels.find((c) => c.channel === ch)?.rows ?? 0) > 0);
  }

  trades(q: ResolvedQuery): AsyncGenerator<TradeRow[]> {
    const windowRows = this.manifest(q.day, 'trades')?.windowRows;
    return this.ordered<TradeRow>(q, 'trades', async function* (file) {
      for await (const w of readTradeWindows(file, windowRows)) {
        for (let at = 0; at < w.rows; at += HISTORY_BLOCK_ROWS) {
          const end = Math.min(w.rows, at + HISTORY_BLOCK_ROWS);
          const rows: TradeRow[] = [];
          windowTrades(w, q, at, end, rows, false);
          // The window's rows lie anywhere in its file span: it counts as read once all of it is.
          yield { read: end === w.rows ? w.rows : 0, rows };
        }
      }
    });
  }

  snapshots(q: ResolvedQuery): AsyncGenerator<StoredSnapshotRow[]> {
    return this.ordered<StoredSnapshotRow>({ ...q, time: 'receive' }, 'snapshots', batchRows((b, out) => {
      const kind = strColumn(b, 'kind');
      const market = strColumn(b, 'market');
      const symbol = strColumn(b, 'symbol');
      const taken = nsColumn(b, 'taken_ns');
      const [price, open, high, low, accVolume, accValue, seq] = ['price', 'open', 'high', 'low', 'acc_volume', 'acc_value', 'src_seq'].map((n) => intColumn(b, n));
      for (let i = 0; i < b.numRows; i++) {
        const s = symbol(i);
        const m = market(i) as Market;
        if ((q.symbols && !q.symbols.has(s)) || (q.markets && !q.markets.has(m))) continue;
        const takenNs = taken(i)!;
        if (!inWindow(takenNs, q)) continue;
        out.push({ day: q.day, takenNs, kind: kind(i) as SnapshotKind, market: m, symbol: s, price: price(i), open: open(i), high: high(i), low: low(i), accVolume: accVolume(i), accValue: accValue(i), srcSeq: seq(i) });
      }
    }));
  }

  sectorFlows(q: ResolvedQuery): AsyncGenerator<SectorFlowRow[]> {
    return this.ordered<SectorFlowRow>(q, 'sector_flows', batchRows((b, out) => {
      const recv = nsColumn(b, 'recv_ns');
      const exch = nsColumn(b, 'exch_ts');
      const [upcode, tjjcode, tjjtime] = ['upcode', 'tjjcode', 'tjjtime'].map((n) => strColumn(b, n));
      const ints = FLOW_INT_COLUMNS.map((n) => intColumn(b, n));
      const seq = intColumn(b, 'src_seq');
      for (let i = 0; i < b.numRows; i++) {
        const recvNs = recv(i)!;
        const exchNs = exch(i);
        if (!inWindow(q.time === 'exchange' ? (exchNs ?? recvNs) : recvNs, q)) continue;
        const row = { day: q.day, recvNs, exchNs, upcode: upcode(i), tjjcode: tjjcode(i), tjjtime: tjjtime(i), srcSeq: seq(i) } as SectorFlowRow;
        for (let c = 0; c < FLOW_INT_COLUMNS.length; c++) row[FLOW_INT_COLUMNS[c]] = ints[c](i);
        out.push(row);
      }
    }));
  }

  private manifest(day: string, channel: ArrowChannel) {
    return readManifest(this.dataDir, day)?.channels.find((c) => c.channel === channel);
  }

  /**
   * The file's rows, as `decode` gives them (with how many file rows each piece covers). On the
   * receive clock in that order; on the exchange clock sorted, releasing rows below the lowest
   * bound of the blocks not yet read.
   */
  private async *ordered<R>(q: ResolvedQuery, channel: ArrowChannel, decode: (file: string) => AsyncIterable<{ read: number; rows: R[] }>): AsyncGenerator<R[]> {
    // Only trades and sector flows (which have both stamps) are read on the exchange clock.
    const byExchange = compareExchange as (a: R, b: R) => number;
    const file = historyFile(this.dataDir, q.day, channel);
    if (!fs.existsSync(file)) return;
    const exchange = q.time === 'exchange' && channel !== 'snapshots';
    const blocks = (this.manifest(q.day, channel)?.blockMinKeyNs ?? []).map(BigInt);
    if (exchange && blocks.length === 0) throw new Error(`${q.day} ${channel}: the history manifest lacks the block bounds an exchange-clock read needs`);
    // floor[k] = the lowest key of blocks k… (rows from position k·B on).
    const floor = new Array<bigint | null>(blocks.length + 1).fill(null);
    for (let k = blocks.length - 1; k >= 0; k--) floor[k] = floor[k + 1] === null || blocks[k] < floor[k + 1]! ? blocks[k] : floor[k + 1];
    let pending: R[] = [];
    let read = 0;
    for await (const piece of decode(file)) {
      read += piece.read;
      if (!exchange) {
        for (let at = 0; at < piece.rows.length; at += CHUNK_ROWS) yield piece.rows.slice(at, at + CHUNK_ROWS);
        continue;
      }
      pending = pending.length === 0 ? piece.rows : pending.concat(piece.rows);
      // The rows still to come are those from position `read` on: blocks floor(read / B)….
      pending = yield* release(pending, floor[Math.min(Math.floor(read / HISTORY_BLOCK_ROWS), blocks.length)], byExchange, exchangeKey as (r: R) => bigint);
    }
    if (pending.length > 0) yield* release(pending, null, byExchange, exchangeKey as (r: R) => bigint);
  }
}

/** A channel's rows from its file's record batches (the channels stored in their read order). */
function batchRows<R>(extract: (b: RecordBatch, out: R[]) => void): (file: string) => AsyncGenerator<{ read: number; rows: R[] }> {
  return async function* (file) {
    for await (const b of readParquetBatches(file, { batchSize: HISTORY_BLOCK_ROWS })) {
      const rows: R[] = [];
      extract(b, rows);
      yield { read: b.numRows, rows };
    }
  };
}
