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
import { inWindow, release } from './reader-arrow.js';
import type { TradeKind } from './batch.js';
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

/** The trade kind column: nearly every row is 'regular' (read by its first byte), block trades are decoded. */
function kindColumn(b: RecordBatch): (i: number) => TradeKind {
  const d = b.getChild('kind')?.data[0];
  // Days compacted before the column existed: every trade regular.
  if (d === undefined) return () => 'regular';
  const offsets = d.valueOffsets as Int32Array;
  const bytes = d.values as Uint8Array;
  const R = 'r'.charCodeAt(0);
  return (i) => {
    const from = offsets[d.offset + i];
    return bytes[from] === R ? 'regular' : (decoder.decode(bytes.subarray(from, offsets[d.offset + i + 1])) as TradeKind);
  };
}

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
    return this.ordered<TradeRow>(q, 'trades', (b, out) => {
      const market = strColumn(b, 'market');
      const symbol = strColumn(b, 'symbol');
      const exch = nsColumn(b, 'exch_ts');
      const recv = nsColumn(b, 'recv_ns');
      const [price, qty, seq] = ['price', 'qty', 'src_seq'].map((n) => intColumn(b, n));
      const trdVol = b.getChild('trd_vol') === null ? qty : intColumn(b, 'trd_vol');
      const kind = kindColumn(b);
      const idx = b.getChild('src_idx')!.data[0];
      const idxValues = idx.values as Int32Array;
      for (let i = 0; i < b.numRows; i++) {
        const s = symbol(i);
        const m = market(i) as Market;
        if ((q.symbols && !q.symbols.has(s)) || (q.markets && !q.markets.has(m))) continue;
        const recvNs = recv(i)!;
        const exchNs = exch(i);
        if (!inWindow(q.time === 'exchange' ? (exchNs ?? recvNs) : recvNs, q)) continue;
        out.push({ day: q.day, market: m, symbol: s, exchNs, price: price(i), qty: qty(i), recvNs, srcSeq: seq(i), srcIdx: idxValues[idx.offset + i], trdVol: trdVol(i), kind: kind(i) });
      }
    });
  }

  snapshots(q: ResolvedQuery): AsyncGenerator<StoredSnapshotRow[]> {
    return this.ordered<StoredSnapshotRow>({ ...q, time: 'receive' }, 'snapshots', (b, out) => {
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
    });
  }

  sectorFlows(q: ResolvedQuery): AsyncGenerator<SectorFlowRow[]> {
    return this.ordered<SectorFlowRow>(q, 'sector_flows', (b, out) => {
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
    });
  }

  /**
   * The file's rows through `extract`. In file order on the receive clock; on the exchange clock
   * sorted, releasing rows below the lowest bound of the blocks not yet read.
   */
  private async *ordered<R>(q: ResolvedQuery, channel: ArrowChannel, extract: (b: RecordBatch, out: R[]) => void): AsyncGenerator<R[]> {
    // Only trades and sector flows (which have both stamps) are read on the exchange clock.
    const byExchange = compareExchange as (a: R, b: R) => number;
    const file = historyFile(this.dataDir, q.day, channel);
    if (!fs.existsSync(file)) return;
    const exchange = q.time === 'exchange' && channel !== 'snapshots';
    const blocks = (readManifest(this.dataDir, q.day)?.channels.find((c) => c.channel === channel)?.blockMinKeyNs ?? []).map(BigInt);
    if (exchange && blocks.length === 0) throw new Error(`${q.day} ${channel}: the history manifest lacks the block bounds an exchange-clock read needs`);
    // floor[k] = the lowest key of blocks k… (rows from position k·B on).
    const floor = new Array<bigint | null>(blocks.length + 1).fill(null);
    for (let k = blocks.length - 1; k >= 0; k--) floor[k] = floor[k + 1] === null || blocks[k] < floor[k + 1]! ? blocks[k] : floor[k + 1];
    let pending: R[] = [];
    let read = 0;
    for await (const b of readParquetBatches(file, { batchSize: HISTORY_BLOCK_ROWS })) {
      extract(b, pending);
      read += b.numRows;
      if (!exchange) {
        for (let at = 0; at < pending.length; at += CHUNK_ROWS) yield pending.slice(at, at + CHUNK_ROWS);
        pending = [];
        continue;
      }
      // The rows still to come are those from position `read` on: blocks floor(read / B)….
      pending = yield* release(pending, floor[Math.min(Math.floor(read / HISTORY_BLOCK_ROWS), blocks.length)], byExchange, exchangeKey as (r: R) => bigint);
    }
    if (pending.length > 0) yield* release(pending, null, byExchange, exchangeKey as (r: R) => bigint);
  }
}
