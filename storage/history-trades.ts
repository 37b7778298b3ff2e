// The layout of a day's trades in the history tier, and reading them back in receive order.
//
// A day's trades (20 M on a busy day) are cut, in receive order, into windows of
// HISTORY_WINDOW_ROWS rows. Within a window the rows are grouped into clusters of contiguous symbol
// ranges (the window's symbols sorted, cut every ~HISTORY_CLUSTER_ROWS rows), each cluster keeping
// receive order, and written as row groups of HISTORY_CLUSTER_ROWS rows. So:
//   - each row group holds a narrow symbol range: its min/max statistics let DuckDB (and any
//     Parquet reader) skip the row groups of other symbols — one symbol's trades over 20 days read
//     a few row groups a day instead of every row;
//   - a reader puts a window back into receive order by its frames (receiveOrder, a counting sort)
//     — the whole day is never held or sorted.
// The price: ~1 B/trade more than a file in receive order (6.2 against 5.2 on a 5 M-trade day),
// as recv_ns, src_seq and src_idx no longer run in long equal or ascending stretches (the first
// two are delta-encoded, ascending within a cluster).
// Files written before this layout (no `windowRows` in the manifest) are in receive order already:
// every row group is then a window of its own.
import fs from 'node:fs';
import { makeData, RecordBatch, Struct, tableFromIPC, type Data, type DataType, type Schema } from 'apache-arrow';
import { ParquetFile } from 'parquet-wasm';
import { utf8Data } from './arrow-batches.js';
import type { CellValue } from './history-columns.js';
import type { ColumnSpec } from './history-format.js';
import type { Market } from '../protocol/market.js';
import type { ResolvedQuery, TradeRow } from './reader-query.js';
import type { TradeKind } from './batch.js';

/** Rows of a receive-time window (a multiple of the cluster size). */
export const HISTORY_WINDOW_ROWS = 1 << 20;
/** Rows of a symbol-range cluster, and of a row group of the trades file. */
export const HISTORY_CLUSTER_ROWS = 1 << 15;

/** A column buffered compactly: strings as codes into a table, numbers in typed arrays, a null mask. */
class BufferedColumn {
  readonly strings: string[] = [];
  private readonly codes = new Map<string, number>();
  private values: Uint32Array | BigInt64Array | Int32Array | Float64Array;
  private nulls: Uint8Array | null = null;

  constructor(
    readonly spec: ColumnSpec,
    capacity: number,
  ) {
    this.values = spec.kind === 'str' ? new Uint32Array(capacity) : spec.kind === 'i32' ? new Int32Array(capacity) : spec.kind === 'f64' ? new Float64Array(capacity) : new BigInt64Array(capacity);
  }

  set(i: number, v: CellValue): void {
    if (v === null) {
      (this.nulls ??= new Uint8Array(this.values.length))[i] = 1;
      return;
    }
    if (this.nulls) this.nulls[i] = 0;
    if (this.spec.kind === 'str') {
      let c = this.codes.get(v as string);
      if (c === undefined) {
        this.codes.set(v as string, (c = this.strings.length));
        this.strings.push(v as string);
      }
      this.values[i] = c;
    } else if (this.values instanceof BigInt64Array) this.values[i] = typeof v === 'bigint' ? v : BigInt(v);
    else this.values[i] = Number(v);
  }

  code(i: number): number {
    return (this.values as Uint32Array)[i];
  }

  /** Rows order[from..to) as an Arrow column. */
  data(type: DataType, order: Int32Array, from: number, to: number): Data {
    const n = to - from;
    let nullCount = 0;
    let bitmap: Uint8Array | undefined;
    if (this.nulls) {
      bitmap = new Uint8Array((n + 7) >> 3);
      for (let k = 0; k < n; k++) {
        if (this.nulls[order[from + k]] === 1) nullCount++;
        else bitmap[k >> 3] |= 1 << (k & 7);
      }
    }
    const nullBitmap = nullCount === 0 ? undefined : bitmap;
    if (this.spec.kind === 'str') {
      const values: string[] = new Array<string>(n);
      for (let k = 0; k < n; k++) values[k] = this.nulls?.[order[from + k]] === 1 ? '' : this.strings[this.values[order[from + k]] as number];
      const d = utf8Data(values);
      return nullCount === 0 ? d : makeData({ type: d.type, length: n, nullCount, nullBitmap, valueOffsets: d.valueOffsets, data: d.values });
    }
    const src = this.values as BigInt64Array | Int32Array | Float64Array;
    const out = new (src.constructor as { new (n: number): typeof src })(n);
    for (let k = 0; k < n; k++) out[k] = src[order[from + k]];
    return makeData({ type, length: n, nullCount, nullBitmap, data: out } as never);
  }
}

/**
 * Lays out a day's trades, given in receive order, as record batches of the history file: each
 * window's rows clustered by symbol range (receive order within a cluster), in batches of
 * HISTORY_CLUSTER_ROWS rows (the writer's row groups).
 */
export async function* clusteredTradeBatches(rows: AsyncIterable<CellValue[]> | Iterable<CellValue[]>, schema: Schema, columns: readonly ColumnSpec[], windowRows = HISTORY_WINDOW_ROWS, clusterRows = HISTORY_CLUSTER_ROWS): AsyncGenerator<RecordBatch> {
  const symbolAt = columns.findIndex((c) => c.name === 'symbol');
  let buffered = columns.map((c) => new BufferedColumn(c, windowRows));
  let n = 0;
  const flush = function* (): Generator<RecordBatch> {
    const order = clusterOrder(buffered[symbolAt], n, clusterRows);
    for (let from = 0; from < n; from += clusterRows) {
      const to = Math.min(n, from + clusterRows);
      const children = buffered.map((b, k) => b.data(schema.fields[k].type, order, from, to));
      yield new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: to - from, nullCount: 0, children }));
    }
  };
  for await (const r of rows) {
    for (let k = 0; k < r.length; k++) buffered[k].set(n, r[k]);
    if (++n === windowRows) {
      yield* flush();
      buffered = columns.map((c) => new BufferedColumn(c, windowRows));
      n = 0;
    }
  }
  if (n > 0) yield* flush();
}

/** Positions 0..n-1 grouped by cluster (contiguous ranges of the sorted symbols, ~clusterRows rows each), stable. */
function clusterOrder(symbols: BufferedColumn, n: number, clusterRows: number): Int32Array {
  const counts = new Uint32Array(symbols.strings.length);
  for (let i = 0; i < n; i++) counts[symbols.code(i)]++;
  // Parquet compares strings by their UTF-8 bytes; for these codes (ASCII) that is JS string order.
  const sorted = symbols.strings.map((s, code) => ({ s, code })).sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  const clusterOf = new Uint32Array(symbols.strings.length);
  let cluster = 0;
  let acc = 0;
  for (const { code } of sorted) {
    if (acc > 0 && acc + counts[code] > clusterRows) {
      cluster++;
      acc = 0;
    }
    clusterOf[code] = cluster;
    acc += counts[code];
  }
  const start = new Uint32Array(cluster + 2);
  for (let i = 0; i < n; i++) start[clusterOf[symbols.code(i)] + 1]++;
  for (let c = 1; c < start.length; c++) start[c] += start[c - 1];
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[start[clusterOf[symbols.code(i)]]++] = i;
  return order;
}

/** A window of a trades file, decoded: its columns and the positions of its rows in receive order. */
export interface TradeWindow {
  rows: number;
  /** The window's columns, flat. */
  market: { codes: Uint16Array; names: string[] };
  symbol: { codes: Uint16Array; names: string[] };
  exch: BigInt64Array;
  /** 1 where exch_ts is null; null when none is. */
  exchNull: Uint8Array | null;
  price: BigInt64Array;
  qty: BigInt64Array;
  /** `trdVol` as sent (days compacted before the column existed: the quantity). */
  trdVol: BigInt64Array;
  /** The trade kinds (days compacted before the column existed: every trade regular). */
  kind: { codes: Uint16Array; names: string[] } | null;
  recv: BigInt64Array;
  seq: BigInt64Array;
  idx: Int32Array;
  /** Window positions in receive order (recv_ns, src_seq, src_idx). */
  order: Int32Array;
}

const decoder = new TextDecoder();
/** Rows per record batch decoded (the reader's default, 1,024, makes a thousand batches of a window). */
const READ_BATCH_ROWS = 65_536;

/** Codes of a Utf8 column over batches, with one string per distinct value (the values are short codes). */
function stringCodes(batches: readonly RecordBatch[], name: string, rows: number): { codes: Uint16Array; names: string[] } {
  const codes = new Uint16Array(rows);
  const names: string[] = [];
  const byKey = new Map<number, number>();
  const long = new Map<string, number>();
  let lastKey = -1;
  let lastCode = 0;
  let at = 0;
  for (const b of batches) {
    for (const d of b.getChild(name)!.data) {
      const offsets = d.valueOffsets as Int32Array;
      const bytes = d.values as Uint8Array;
      for (let i = 0; i < d.length; i++, at++) {
        const from = offsets[d.offset + i];
        const to = offsets[d.offset + i + 1];
        let c: number | undefined;
        if (to - from <= 6) {
          let key = to - from;
          for (let k = from; k < to; k++) key = key * 256 + bytes[k];
          if (key === lastKey) c = lastCode;
          else {
            c = byKey.get(key);
            if (c === undefined) byKey.set(key, (c = names.push(decoder.decode(bytes.subarray(from, to))) - 1));
            lastKey = key;
            lastCode = c;
          }
        } else {
          const s = decoder.decode(bytes.subarray(from, to));
          c = long.get(s);
          if (c === undefined) long.set(s, (c = names.push(s) - 1));
        }
        codes[at] = c;
      }
    }
  }
  return { codes, names };
}

function int64s(batches: readonly RecordBatch[], name: string, rows: number): BigInt64Array {
  const out = new BigInt64Array(rows);
  let at = 0;
  for (const b of batches) {
    for (const d of b.getChild(name)!.data) {
      out.set((d.values as BigInt64Array).subarray(d.offset, d.offset + d.length), at);
      at += d.length;
    }
  }
  return out;
}

function nullsOf(batches: readonly RecordBatch[], name: string, rows: number): Uint8Array | null {
  if (batches.every((b) => b.getChild(name)!.nullCount === 0)) return null;
  const out = new Uint8Array(rows);
  let at = 0;
  for (const b of batches) {
    for (const d of b.getChild(name)!.data) {
      for (let i = 0; i < d.length; i++, at++) if (!d.getValid(i)) out[at] = 1;
    }
  }
  return out;
}

/**
 * The receive order of a window. Usually by frames: a trade frame's rows share recv_ns and src_seq
 * (the frame's number on its market's channel), so when each (market, src_seq) has one recv_ns,
 * the frames are sorted once on (recv_ns, src_seq) and their rows placed by a counting sort, then
 * ordered by src_idx within a frame (or within frames tied on both). Otherwise (several collectors'
 * journals) the window's maximal ascending runs — its clusters — are merged with a heap.
 */
export function receiveOrder(recv: BigInt64Array, seq: BigInt64Array, idx: Int32Array, market: Uint16Array): Int32Array {
  return frameOrder(recv, seq, idx, market) ?? mergedOrder(recv, seq, idx);
}

function frameOrder(recv: BigInt64Array, seq: BigInt64Array, idx: Int32Array, market: Uint16Array): Int32Array | null {
  const n = recv.length;
  const r32 = new Int32Array(recv.buffer, recv.byteOffset, 2 * n);
  const s32 = new Int32Array(seq.buffer, seq.byteOffset, 2 * n);
  let min = Infinity;
  let max = -Infinity;
  let markets = 0;
  for (let i = 0; i < n; i++) {
    const s = s32[2 * i + 1] * 4294967296 + (s32[2 * i] >>> 0);
    if (s < min) min = s;
    if (s > max) max = s;
    if (market[i] >= markets) markets = market[i] + 1;
  }
  const span = max - min + 1;
  if (n === 0 || markets * span > 8 * n + 65_536) return null;
  // Slot of a row: its (market, src_seq); each slot must have one recv_ns, and its src_idx values
  // must be distinct and contiguous (a frame's positions, or part of them where a window cuts it).
  const slots = markets * span;
  const slotOf = new Int32Array(n);
  const count = new Int32Array(slots);
  const hi = new Int32Array(slots);
  const lo = new Uint32Array(slots);
  const firstIdx = new Int32Array(slots).fill(0x7fffffff);
  for (let i = 0; i < n; i++) {
    const f = market[i] * span + (s32[2 * i + 1] * 4294967296 + (s32[2 * i] >>> 0) - min);
    slotOf[i] = f;
    if (count[f]++ === 0) {
      hi[f] = r32[2 * i + 1];
      lo[f] = r32[2 * i];
    } else if (hi[f] !== r32[2 * i + 1] || lo[f] !== r32[2 * i] >>> 0) return null;
    if (idx[i] < firstIdx[f]) firstIdx[f] = idx[i];
  }
  const used: number[] = [];
  for (let f = 0; f < slots; f++) if (count[f] > 0) used.push(f);
  const frames = Int32Array.from(used).sort((x, y) => hi[x] - hi[y] || lo[x] - lo[y] || (x % span) - (y % span));
  const base = new Int32Array(slots);
  // Frames tied on (recv_ns, src_seq) (two markets' frames stamped alike) form one bucket, its
  // rows interleaved by src_idx afterwards: [from, to) ranges of such buckets.
  const tied: number[] = [];
  let bucket = 0;
  let at = 0;
  for (let k = 0; k < frames.length; k++) {
    const f = frames[k];
    const p = k > 0 ? frames[k - 1] : -1;
    if (p >= 0 && !(hi[p] === hi[f] && lo[p] === lo[f] && p % span === f % span)) {
      if (base[p] !== bucket) tied.push(bucket, at);
      bucket = at;
    }
    base[f] = at;
    at += count[f];
  }
  if (frames.length > 0 && base[frames[frames.length - 1]] !== bucket) tied.push(bucket, at);
  const order = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const f = slotOf[i];
    const k = idx[i] - firstIdx[f];
    if (k >= count[f] || order[base[f] + k] !== -1) return null;
    order[base[f] + k] = i;
  }
  for (let k = 0; k < tied.length; k += 2) order.subarray(tied[k], tied[k + 1]).sort((x, y) => idx[x] - idx[y]);
  return order;
}

function mergedOrder(recv: BigInt64Array, seq: BigInt64Array, idx: Int32Array): Int32Array {
  const n = recv.length;
  const order = new Int32Array(n);
  if (n === 0) return order;
  // Exact keys as doubles: recv_ns relative to the first row (a window spans far less than 2^53 ns),
  // then src_seq·2^16 + src_idx (src_idx < 2^16: a frame's position).
  const r32 = new Int32Array(recv.buffer, recv.byteOffset, 2 * n);
  const s32 = new Int32Array(seq.buffer, seq.byteOffset, 2 * n);
  const hi0 = r32[1];
  const lo0 = r32[0] >>> 0;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const starts: number[] = [0];
  for (let i = 0; i < n; i++) {
    a[i] = (r32[2 * i + 1] - hi0) * 4294967296 + ((r32[2 * i] >>> 0) - lo0);
    b[i] = (s32[2 * i + 1] * 4294967296 + (s32[2 * i] >>> 0)) * 65536 + idx[i];
    if (i > 0 && (a[i] < a[i - 1] || (a[i] === a[i - 1] && b[i] < b[i - 1]))) starts.push(i);
  }
  if (starts.length === 1) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order;
  }
  const k = starts.length;
  const pos = Int32Array.from(starts);
  const end = Int32Array.from(starts.slice(1).concat(n));
  // heap[0..size) of run numbers, ordered by their head's key.
  const heap = Int32Array.from({ length: k }, (_, i) => i);
  const less = (x: number, y: number) => {
    const px = pos[x];
    const py = pos[y];
    return a[px] < a[py] || (a[px] === a[py] && b[px] < b[py]);
  };
  const down = (at: number, size: number) => {
    const run = heap[at];
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && less(heap[child + 1], heap[child])) child++;
      if (!less(heap[child], run)) break;
      heap[at] = heap[child];
      at = child;
    }
    heap[at] = run;
  };
  let size = k;
  for (let i = (size >> 1) - 1; i >= 0; i--) down(i, size);
  for (let out = 0; out < n; out++) {
    const run = heap[0];
    order[out] = pos[run]++;
    if (pos[run] === end[run]) heap[0] = heap[--size];
    if (size > 0) down(0, size);
  }
  return order;
}

/**
 * The windows of a trades history file in turn, each decoded and put in receive order.
 * `windowRows`: the manifest's (absent for files written in receive order: a row group at a time).
 */
export async function* readTradeWindows(file: string, windowRows: number | undefined): AsyncGenerator<TradeWindow> {
  const pf = await ParquetFile.fromFile(await fs.openAsBlob(file));
  try {
    const meta = pf.metadata();
    const groups = meta.numRowGroups();
    let g = 0;
    while (g < groups) {
      // The window's row groups: those starting within its rows.
      const take: number[] = [];
      let rows = 0;
      do {
        take.push(g);
        rows += meta.rowGroup(g).numRows();
        g++;
      } while (g < groups && windowRows !== undefined && rows < windowRows);
      if (windowRows !== undefined && rows !== windowRows && g < groups) throw new Error(`${file}: row groups do not end at a window of ${windowRows} rows (${rows})`);
      const batches = tableFromIPC((await pf.read({ rowGroups: take, batchSize: READ_BATCH_ROWS })).intoIPCStream()).batches;
      const recv = int64s(batches, 'recv_ns', rows);
      const seq = int64s(batches, 'src_seq', rows);
      const idx = new Int32Array(rows);
      let at = 0;
      for (const b of batches) {
        for (const d of b.getChild('src_idx')!.data) {
          idx.set((d.values as Int32Array).subarray(d.offset, d.offset + d.length), at);
          at += d.length;
        }
      }
      const market = stringCodes(batches, 'market', rows);
      const qty = int64s(batches, 'qty', rows);
      const hasTrdVol = batches[0]?.getChild('trd_vol') != null;
      yield {
        rows,
        market,
        symbol: stringCodes(batches, 'symbol', rows),
        exch: int64s(batches, 'exch_ts', rows),
        exchNull: nullsOf(batches, 'exch_ts', rows),
        price: int64s(batches, 'price', rows),
        qty,
        trdVol: hasTrdVol ? int64s(batches, 'trd_vol', rows) : qty,
        kind: batches[0]?.getChild('kind') != null ? stringCodes(batches, 'kind', rows) : null,
        recv,
        seq,
        idx,
        order: receiveOrder(recv, seq, idx, market.codes),
      };
    }
  } finally {
    pf.free();
  }
}

/** A trade row, and the replay's event of it: the same fields with `type` (built in one go, not tagged after). */
export type WindowTrade = TradeRow | (TradeRow & { type: 'trade' });

/** 1 for each name in `allowed` (all when there is no filter). */
function mask(names: readonly string[], allowed: ReadonlySet<string> | null): Uint8Array | null {
  if (allowed === null) return null;
  return Uint8Array.from(names, (s) => (allowed.has(s) ? 1 : 0));
}

const TWO_32 = 4294967296;

/**
 * Rows at receive-order positions [from, to) of a window that pass the query's filters and time
 * window (on its clock), appended to `out` — as events (`type: 'trade'`) when `events`. Returns how
 * many positions were at or past the query's end on the receive clock (0 on the exchange clock).
 */
export function windowTrades(w: TradeWindow, q: ResolvedQuery, from: number, to: number, out: WindowTrade[], events: boolean): number {
  const okMarket = mask(w.market.names, q.markets as ReadonlySet<string> | null);
  const okSymbol = mask(w.symbol.names, q.symbols);
  const r32 = new Int32Array(w.recv.buffer, w.recv.byteOffset, 2 * w.rows);
  const e32 = new Int32Array(w.exch.buffer, w.exch.byteOffset, 2 * w.rows);
  const p32 = new Int32Array(w.price.buffer, w.price.byteOffset, 2 * w.rows);
  const q32 = new Int32Array(w.qty.buffer, w.qty.byteOffset, 2 * w.rows);
  const v32 = new Int32Array(w.trdVol.buffer, w.trdVol.byteOffset, 2 * w.rows);
  const s32 = new Int32Array(w.seq.buffer, w.seq.byteOffset, 2 * w.rows);
  const exchange = q.time === 'exchange';
  const { day } = q;
  // Trades of one frame share recv_ns (and often exch_ts): one BigInt for the run of equal values.
  let recvNs = 0n;
  let recvLo = NaN;
  let recvHi = NaN;
  let exchNs: bigint | null = null;
  let exchLo = NaN;
  let exchHi = NaN;
  let past = 0;
  for (let k = from; k < to; k++) {
    const i = w.order[k];
    if (r32[2 * i] !== recvLo || r32[2 * i + 1] !== recvHi) {
      recvLo = r32[2 * i];
      recvHi = r32[2 * i + 1];
      recvNs = w.recv[i];
    }
    if (!exchange && q.to !== null && recvNs >= q.to) {
      past++;
      continue;
    }
    if ((okMarket !== null && okMarket[w.market.codes[i]] === 0) || (okSymbol !== null && okSymbol[w.symbol.codes[i]] === 0)) continue;
    if (w.exchNull !== null && w.exchNull[i] === 1) {
      exchNs = null;
      exchHi = NaN;
    } else if (e32[2 * i] !== exchLo || e32[2 * i + 1] !== exchHi) {
      exchLo = e32[2 * i];
      exchHi = e32[2 * i + 1];
      exchNs = w.exch[i];
    }
    const key = exchange ? (exchNs ?? recvNs) : recvNs;
    if ((q.to !== null && key >= q.to) || (q.from !== null && key < q.from)) continue;
    const market = w.market.names[w.market.codes[i]] as Market;
    const symbol = w.symbol.names[w.symbol.codes[i]];
    const price = p32[2 * i + 1] * TWO_32 + (p32[2 * i] >>> 0);
    const qty = q32[2 * i + 1] * TWO_32 + (q32[2 * i] >>> 0);
    const srcSeq = s32[2 * i + 1] * TWO_32 + (s32[2 * i] >>> 0);
    const srcIdx = w.idx[i];
    const trdVol = v32[2 * i + 1] * TWO_32 + (v32[2 * i] >>> 0);
    const kind = (w.kind === null ? 'regular' : w.kind.names[w.kind.codes[i]]) as TradeKind;
    out.push(events ? { day, market, symbol, exchNs, price, qty, recvNs, srcSeq, srcIdx, trdVol, kind, type: 'trade' } : { day, market, symbol, exchNs, price, qty, recvNs, srcSeq, srcIdx, trdVol, kind });
  }
  return past;
}
