// The reader API's Arrow back end. Parts are read one at a time through an async file reader
// (batch by batch from the file handle), filtered, and put in time order. Each part's footer holds
// a lower time bound per record batch; after reading a batch, the rows below the lowest bound of
// every batch still to be read are final and released, and only the rows that are out of order
// (a few batches' worth: receive and exchange times are nearly monotone) wait in memory.
import fsp from 'node:fs/promises';
import { RecordBatchReader, type Data, type RecordBatch, type Vector } from 'apache-arrow';
import type { Market, SnapshotKind } from '../protocol/market.js';
import { FLOW_INT_COLUMNS, int32View, int64At, listArrowDays, listParts, ARROW_CHANNELS, type ArrowChannel, type PartInfo } from './arrow-format.js';
import type { TradeKind } from './batch.js';
import { CHUNK_ROWS, compareExchange, compareReceive, exchangeKey, type ResolvedQuery, type SectorFlowRow, type StoredSnapshotRow, type TradeRow } from './reader-query.js';

/** Column readers over one record batch (index = row within the batch). */
function column(batch: RecordBatch, name: string): Data {
  const i = batch.schema.fields.findIndex((f) => f.name === name);
  if (i < 0) throw new Error(`Arrow part lacks column ${name}`);
  const d = batch.data.children[i];
  if (d.offset !== 0) throw new Error(`Arrow column ${name} has an unexpected offset`);
  return d;
}

function hasColumn(batch: RecordBatch, name: string): boolean {
  return batch.schema.fields.some((f) => f.name === name);
}

function int64Column(batch: RecordBatch, name: string): Int32Array {
  return int32View(column(batch, name).values as BigInt64Array);
}

function nsColumn(batch: RecordBatch, name: string): (i: number) => bigint | null {
  const d = column(batch, name);
  const v = d.values as BigInt64Array;
  return d.nullCount === 0 ? (i) => v[i] : (i) => (d.getValid(i) ? v[i] : null);
}

/** Decoded dictionary values, once per dictionary (a file's batches share one). */
const decoded = new WeakMap<Vector, string[]>();
function dictionaryStrings(d: Data): string[] {
  const dict = d.dictionary!;
  let s = decoded.get(dict);
  if (!s) decoded.set(dict, (s = dict.toArray() as string[]));
  return s;
}

function dictColumn(batch: RecordBatch, name: string): { codes: Int8Array | Int32Array; values: string[] } {
  const d = column(batch, name);
  return { codes: d.values as Int8Array | Int32Array, values: dictionaryStrings(d) };
}

/** Which dictionary codes pass a set filter (null = all). */
function allowed(values: string[], set: ReadonlySet<string> | null): Uint8Array | null {
  if (!set) return null;
  const m = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) m[i] = set.has(values[i]) ? 1 : 0;
  return m;
}

async function* partBatches(part: PartInfo): AsyncGenerator<RecordBatch> {
  const fh = await fsp.open(part.path, 'r');
  try {
    const reader = await RecordBatchReader.from(fh);
    for await (const b of reader) yield b;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Lower bound of the ordering key per record batch of a part: exch ?? recv ≥ min(exch, recv). */
function batchBounds(p: PartInfo, exchange: boolean, partLow: bigint, batches: number): bigint[] {
  const recv = p.batchMinRecvNs;
  const exch = p.batchMinExchNs;
  if (!recv || recv.length !== batches || (exchange && (!exch || exch.length !== batches))) return new Array<bigint>(batches).fill(partLow);
  return exchange ? recv.map((r, i) => min(r, exch![i])!) : recv;
}

export function inWindow(k: bigint, q: ResolvedQuery): boolean {
  return (q.from === null || k >= q.from) && (q.to === null || k < q.to);
}

const min = (a: bigint | null, b: bigint | null) => (a === null ? b : b === null || a < b ? a : b);
const max = (a: bigint | null, b: bigint | null) => (a === null ? b : b === null || a > b ? a : b);

export class ArrowStore {
  constructor(readonly dataDir: string) {}

  days(): string[] {
    return listArrowDays(this.dataDir);
  }

  channels(day: string): ArrowChannel[] {
    return ARROW_CHANNELS.filter((ch) => listParts(this.dataDir, day, ch).some((p) => p.rows > 0));
  }

  trades(q: ResolvedQuery): AsyncGenerator<TradeRow[]> {
    const exchange = q.time === 'exchange';
    return this.ordered<TradeRow>(q, 'trades', exchange, exchange ? compareExchange : compareReceive, exchange ? exchangeKey : (r) => r.recvNs, (b, out) => {
      const market = dictColumn(b, 'market');
      const symbol = dictColumn(b, 'symbol');
      const okMarket = allowed(market.values, q.markets as ReadonlySet<string> | null);
      const okSymbol = allowed(symbol.values, q.symbols);
      const exch = nsColumn(b, 'exch_ts');
      const recv = nsColumn(b, 'recv_ns');
      const price = int64Column(b, 'price');
      const qty = int64Column(b, 'qty');
      const seq = int64Column(b, 'src_seq');
      const idx = column(b, 'src_idx').values as Int32Array;
      // Parts written before trd_vol and kind existed: trdVol was the quantity, every trade regular.
      const trdVol = hasColumn(b, 'trd_vol') ? int64Column(b, 'trd_vol') : qty;
      const kinds = hasColumn(b, 'kind') ? dictColumn(b, 'kind') : undefined;
      for (let i = 0; i < b.numRows; i++) {
        if ((okMarket && !okMarket[market.codes[i]]) || (okSymbol && !okSymbol[symbol.codes[i]])) continue;
        const recvNs = recv(i)!;
        const exchNs = exch(i);
        if (!inWindow(exchange ? (exchNs ?? recvNs) : recvNs, q)) continue;
        out.push({
          day: q.day,
          market: market.values[market.codes[i]] as Market,
          symbol: symbol.values[symbol.codes[i]],
          exchNs,
          price: int64At(price, i),
          qty: int64At(qty, i),
          recvNs,
          srcSeq: int64At(seq, i),
          srcIdx: idx[i],
          trdVol: int64At(trdVol, i),
          kind: (kinds === undefined ? 'regular' : kinds.values[kinds.codes[i]]) as TradeKind,
        });
      }
    });
  }

  snapshots(q: ResolvedQuery): AsyncGenerator<StoredSnapshotRow[]> {
    const byTaken = (a: StoredSnapshotRow, b: StoredSnapshotRow) => (a.takenNs !== b.takenNs ? (a.takenNs < b.takenNs ? -1 : 1) : a.srcSeq - b.srcSeq);
    return this.ordered(q, 'snapshots', false, byTaken, (r) => r.takenNs, (b, out) => {
      const kind = dictColumn(b, 'kind');
      const market = dictColumn(b, 'market');
      const symbol = dictColumn(b, 'symbol');
      const okMarket = allowed(market.values, q.markets as ReadonlySet<string> | null);
      const okSymbol = allowed(symbol.values, q.symbols);
      const taken = nsColumn(b, 'taken_ns');
      const [price, open, high, low, accVolume, accValue, seq] = ['price', 'open', 'high', 'low', 'acc_volume', 'acc_value', 'src_seq'].map((n) => int64Column(b, n));
      for (let i = 0; i < b.numRows; i++) {
        if ((okMarket && !okMarket[market.codes[i]]) || (okSymbol && !okSymbol[symbol.codes[i]])) continue;
        const takenNs = taken(i)!;
        if (!inWindow(takenNs, q)) continue;
        out.push({
          day: q.day,
          takenNs,
          kind: kind.values[kind.codes[i]] as SnapshotKind,
          market: market.values[market.codes[i]] as Market,
          symbol: symbol.values[symbol.codes[i]],
          price: int64At(price, i),
          open: int64At(open, i),
          high: int64At(high, i),
          low: int64At(low, i),
          accVolume: int64At(accVolume, i),
          accValue: int64At(accValue, i),
          srcSeq: int64At(seq, i),
        });
      }
    });
  }

  sectorFlows(q: ResolvedQuery): AsyncGenerator<SectorFlowRow[]> {
    const exchange = q.time === 'exchange';
    return this.ordered<SectorFlowRow>(q, 'sector_flows', exchange, exchange ? compareExchange : compareReceive, exchange ? exchangeKey : (r) => r.recvNs, (b, out) => {
      const recv = nsColumn(b, 'recv_ns');
      const exch = nsColumn(b, 'exch_ts');
      const upcode = b.getChild('upcode')!;
      const tjjcode = b.getChild('tjjcode')!;
      const tjjtime = b.getChild('tjjtime')!;
      const ints = FLOW_INT_COLUMNS.map((n) => int64Column(b, n));
      const seq = int64Column(b, 'src_seq');
      for (let i = 0; i < b.numRows; i++) {
        const recvNs = recv(i)!;
        const exchNs = exch(i);
        if (!inWindow(exchange ? (exchNs ?? recvNs) : recvNs, q)) continue;
        const row = { day: q.day, recvNs, exchNs, upcode: upcode.get(i) as string, tjjcode: tjjcode.get(i) as string, tjjtime: tjjtime.get(i) as string, srcSeq: int64At(seq, i) } as SectorFlowRow;
        for (let c = 0; c < FLOW_INT_COLUMNS.length; c++) row[FLOW_INT_COLUMNS[c]] = int64At(ints[c], i);
        out.push(row);
      }
    });
  }

  private async *ordered<R>(
    q: ResolvedQuery,
    channel: ArrowChannel,
    exchange: boolean,
    compare: (a: R, b: R) => number,
    key: (r: R) => bigint,
    extract: (b: RecordBatch, out: R[]) => void,
  ): AsyncGenerator<R[]> {
    const parts = listParts(this.dataDir, q.day, channel)
      .filter((p) => p.rows > 0)
      .map((p) => ({ p, lo: exchange ? min(p.minExchNs, p.minRecvNs)! : p.minRecvNs!, hi: exchange ? max(p.maxExchNs, p.maxRecvNs)! : p.maxRecvNs! }))
      .filter((x) => (q.to === null || x.lo < q.to) && (q.from === null || x.hi >= q.from))
      .sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    // The batches in reading order, and the lowest bound of all batches from each one on.
    const bounds = parts.flatMap((x) => batchBounds(x.p, exchange, x.lo, x.p.batchMinRecvNs?.length ?? 1));
    const floor = new Array<bigint | null>(bounds.length + 1).fill(null);
    for (let k = bounds.length - 1; k >= 0; k--) floor[k] = min(bounds[k], floor[k + 1]);
    let pending: R[] = [];
    let k = 0;
    for (const { p } of parts) {
      // Without per-batch bounds (a file not written by ArrowSink) the whole part is one unit.
      const perBatch = p.batchMinRecvNs !== null;
      const end = k + (p.batchMinRecvNs?.length ?? 1);
      for await (const b of partBatches(p)) {
        extract(b, pending);
        if (perBatch && k < end) pending = yield* release(pending, floor[++k], compare, key);
      }
      k = end;
      pending = yield* release(pending, floor[k], compare, key);
    }
  }
}

/** Sorts `rows`, yields those below `bound` (all when null) and returns the rest. */
export function* release<R>(rows: R[], bound: bigint | null, compare: (a: R, b: R) => number, key: (r: R) => bigint): Generator<R[], R[]> {
  rows.sort(compare); // stable, and fast on nearly sorted rows
  let n = rows.length;
  if (bound !== null) {
    let lo = 0;
    while (lo < n) {
      const mid = (lo + n) >>> 1;
      if (key(rows[mid]) < bound) lo = mid + 1;
      else n = mid;
    }
  }
  for (let at = 0; at < n; at += CHUNK_ROWS) yield rows.slice(at, Math.min(n, at + CHUNK_ROWS));
  return rows.slice(n);
}
