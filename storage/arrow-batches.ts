// Record batches built straight from typed arrays (makeData), not apache-arrow's row builders:
// measured here, 4–5 M rows/s against 0.8–1.1 M rows/s. One builder per channel per part file:
// it owns the part's symbol dictionary (codes stable for the whole part; each batch's dictionary
// is the dictionary so far, a superset of every earlier one) and the part's row count and time bounds.
import { Data, makeData, RecordBatch, Struct, Utf8, Vector, type Schema } from 'apache-arrow';
import type { FlowRecord, SnapshotRecord, TradeColumns } from './batch.js';
import { MARKET_BY_CODE, MARKET_CODE, TRADE_KINDS } from './batch.js';
import { FLOW_INT_COLUMNS, FLOW_SCHEMA, SNAPSHOT_SCHEMA, TRADE_SCHEMA, fillInt64, fillNsFromMs, int32View } from './arrow-format.js';
import type { SnapshotKind } from '../protocol/market.js';

export function utf8Data(values: readonly string[]): Data<Utf8> {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  let bytes = 0;
  for (let i = 0; i < n; i++) offsets[i + 1] = bytes += Buffer.byteLength(values[i]);
  const buf = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < n; i++) buf.write(values[i], offsets[i], 'utf8');
  return makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: offsets, data: buf });
}

/** Fixed dictionaries: the same Vector instance every batch, so the writer emits it once per file. */
const MARKET_VECTOR = new Vector([utf8Data(MARKET_BY_CODE)]);
export const SNAPSHOT_KINDS: readonly SnapshotKind[] = ['seed', 'periodic', 'close'];
const KIND_CODE: Readonly<Record<SnapshotKind, number>> = { seed: 0, periodic: 1, close: 2 };
const KIND_VECTOR = new Vector([utf8Data(SNAPSHOT_KINDS)]);
const TRADE_KIND_VECTOR = new Vector([utf8Data(TRADE_KINDS)]);

/** A growing string dictionary: codes are stable, new values are appended as a new chunk. */
class SymbolDictionary {
  private readonly codes = new Map<string, number>();
  private readonly chunks: Data<Utf8>[] = [];
  private pending: string[] = [];
  private current: Vector<Utf8> | null = null;

  code(symbol: string): number {
    let c = this.codes.get(symbol);
    if (c === undefined) {
      c = this.codes.size;
      this.codes.set(symbol, c);
      this.pending.push(symbol);
    }
    return c;
  }

  vector(): Vector<Utf8> {
    if (this.pending.length > 0 || this.current === null) {
      this.chunks.push(utf8Data(this.pending));
      this.pending = [];
      this.current = new Vector(this.chunks.slice());
    }
    return this.current;
  }

  get size(): number {
    return this.codes.size;
  }
}

/**
 * Row count and time bounds of what a builder produced (for the part's footer metadata), also per
 * record batch: the reader orders a day by these lower bounds without holding more than the rows
 * that are out of order.
 */
export class PartStats {
  rows = 0;
  minRecvNs: bigint | null = null;
  maxRecvNs: bigint | null = null;
  /** Exchange time bounds in epoch ms (the batch's own unit); null = no row had one. */
  minExchMs: number | null = null;
  maxExchMs: number | null = null;
  readonly batchMinRecvNs: bigint[] = [];
  readonly batchMinExchMs: (number | null)[] = [];
  private batchExchMs: number | null = null;

  /** Once per batch, before its exchange times. */
  addRecv(recv: BigInt64Array, n: number): void {
    this.batchExchMs = null;
    if (n === 0) return;
    // Compare through 32-bit halves to find the extremes without a BigInt per row.
    const v = int32View(recv);
    let lo = 0;
    let hi = 0;
    for (let i = 1; i < n; i++) {
      const h = v[2 * i + 1];
      const l = v[2 * i] >>> 0;
      if (h < v[2 * lo + 1] || (h === v[2 * lo + 1] && l < v[2 * lo] >>> 0)) lo = i;
      if (h > v[2 * hi + 1] || (h === v[2 * hi + 1] && l > v[2 * hi] >>> 0)) hi = i;
    }
    if (this.minRecvNs === null || recv[lo] < this.minRecvNs) this.minRecvNs = recv[lo];
    if (this.maxRecvNs === null || recv[hi] > this.maxRecvNs) this.maxRecvNs = recv[hi];
    this.batchMinRecvNs.push(recv[lo]);
  }

  addExchMs(ms: number): void {
    if (ms === 0) return;
    if (this.minExchMs === null || ms < this.minExchMs) this.minExchMs = ms;
    if (this.maxExchMs === null || ms > this.maxExchMs) this.maxExchMs = ms;
    if (this.batchExchMs === null || ms < this.batchExchMs) this.batchExchMs = ms;
  }

  /** After each batch. */
  endBatch(): void {
    if (this.batchMinExchMs.length < this.batchMinRecvNs.length) this.batchMinExchMs.push(this.batchExchMs);
  }
}

function int64Data(values: BigInt64Array): Data {
  return makeData({ type: TRADE_SCHEMA.fields[3].type, length: values.length, nullCount: 0, data: values });
}

function tsData(values: BigInt64Array, validity?: Uint8Array, nullCount = 0): Data {
  const type = TRADE_SCHEMA.fields[5].type;
  return nullCount > 0 ? makeData({ type, length: values.length, nullCount, nullBitmap: validity, data: values }) : makeData({ type, length: values.length, nullCount: 0, data: values });
}

/** exch ms (0 = unknown) → ns column with a validity bitmap. */
function exchData(ms: ArrayLike<number>, n: number, stats: PartStats): Data {
  const values = new BigInt64Array(n);
  fillNsFromMs(int32View(values), ms, n);
  const validity = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = ms[i];
    if (v === 0) nulls++;
    else {
      validity[i >> 3] |= 1 << (i & 7);
      stats.addExchMs(v);
    }
  }
  return tsData(values, validity, nulls);
}

function int64From(src: ArrayLike<number>, n: number): Data {
  const values = new BigInt64Array(n);
  fillInt64(int32View(values), src, n);
  return int64Data(values);
}

function recordBatch(schema: Schema, n: number, children: Data[]): RecordBatch {
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}

function dictData(schema: Schema, field: number, indices: Int8Array | Int32Array, dictionary: Vector): Data {
  return makeData({ type: schema.fields[field].type, length: indices.length, nullCount: 0, data: indices, dictionary });
}

export class TradeBatchBuilder {
  readonly stats = new PartStats();
  private readonly symbols = new SymbolDictionary();

  /** Rows [0, cols.length) as one record batch; copies, so `cols` may be reused right after. */
  build(cols: TradeColumns): RecordBatch {
    const n = cols.length;
    const sym = new Int32Array(n);
    for (let i = 0; i < n; i++) sym[i] = this.symbols.code(cols.symbol[i]);
    const recv = cols.recvNs.slice(0, n);
    this.stats.rows += n;
    this.stats.addRecv(recv, n);
    const rb = recordBatch(TRADE_SCHEMA, n, [
      dictData(TRADE_SCHEMA, 0, new Int8Array(cols.market.subarray(0, n)), MARKET_VECTOR),
      dictData(TRADE_SCHEMA, 1, sym, this.symbols.vector()),
      exchData(cols.exchMs, n, this.stats),
      int64From(cols.price, n),
      int64From(cols.qty, n),
      tsData(recv),
      int64From(cols.srcSeq, n),
      makeData({ type: TRADE_SCHEMA.fields[7].type, length: n, nullCount: 0, data: new Int32Array(cols.srcIdx.subarray(0, n)) }),
      int64From(cols.trdVol, n),
      dictData(TRADE_SCHEMA, 9, new Int8Array(cols.kind.subarray(0, n)), TRADE_KIND_VECTOR),
    ]);
    this.stats.endBatch();
    return rb;
  }

  get symbolCount(): number {
    return this.symbols.size;
  }
}

export class SnapshotBatchBuilder {
  readonly stats = new PartStats();
  private readonly symbols = new SymbolDictionary();

  build(rows: readonly SnapshotRecord[]): RecordBatch {
    const n = rows.length;
    const taken = new BigInt64Array(n);
    const kind = new Int8Array(n);
    const market = new Int8Array(n);
    const sym = new Int32Array(n);
    const ints = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      taken[i] = r.takenNs;
      kind[i] = KIND_CODE[r.kind];
      market[i] = MARKET_CODE[r.market];
      sym[i] = this.symbols.code(r.symbol);
      ints[0][i] = r.price;
      ints[1][i] = r.open;
      ints[2][i] = r.high;
      ints[3][i] = r.low;
      ints[4][i] = r.accVolume;
      ints[5][i] = r.accValue;
      ints[6][i] = r.srcSeq;
    }
    this.stats.rows += n;
    this.stats.addRecv(taken, n);
    this.stats.endBatch();
    return recordBatch(SNAPSHOT_SCHEMA, n, [
      tsData(taken),
      dictData(SNAPSHOT_SCHEMA, 1, kind, KIND_VECTOR),
      dictData(SNAPSHOT_SCHEMA, 2, market, MARKET_VECTOR),
      dictData(SNAPSHOT_SCHEMA, 3, sym, this.symbols.vector()),
      ...ints.map((col) => int64From(col, n)),
    ]);
  }
}

export class FlowBatchBuilder {
  readonly stats = new PartStats();

  build(rows: readonly FlowRecord[]): RecordBatch {
    const n = rows.length;
    const recv = new BigInt64Array(n);
    const exchMs = new Float64Array(n);
    const seq = new Float64Array(n);
    const ints = FLOW_INT_COLUMNS.map(() => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      recv[i] = r.recvNs;
      exchMs[i] = r.exchMs;
      seq[i] = r.srcSeq;
      for (let c = 0; c < FLOW_INT_COLUMNS.length; c++) ints[c][i] = r[FLOW_INT_COLUMNS[c]];
    }
    this.stats.rows += n;
    this.stats.addRecv(recv, n);
    const rb = recordBatch(FLOW_SCHEMA, n, [
      tsData(recv),
      exchData(exchMs, n, this.stats),
      utf8Data(rows.map((r) => r.upcode)),
      utf8Data(rows.map((r) => r.tjjcode)),
      utf8Data(rows.map((r) => r.tjjtime)),
      ...ints.map((col) => int64From(col, n)),
      int64From(seq, n),
    ]);
    this.stats.endBatch();
    return rb;
  }
}
