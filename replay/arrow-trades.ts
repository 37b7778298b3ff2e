// The fast path for the hot channel: trades streamed from the Arrow parts batch by batch, straight
// into events. The storage reader sorts each whole part in memory (one part = up to a million
// rows) before its first row comes out; on the receive clock that is not needed, because the
// capture stamps a trade frame's recv_ns as it arrives and journals it at once, so a collector's
// parts are already in receive order. This path checks that — footers must not overlap (else it
// hands back to the reader), and rows are compared as they stream: a slice out of order is sorted,
// one that overlaps the previous slice is merged with it. Rows are converted in slices of 4,096,
// and the trades of a frame share one BigInt: little garbage, most of it dying young.
import fsp from 'node:fs/promises';
import { RecordBatchReader, type Data, type RecordBatch, type Vector } from 'apache-arrow';
import type { Market } from '../protocol/market.js';
import { listParts, type PartInfo } from '../storage/arrow-format.js';
import { compareReceive } from '../storage/reader-query.js';
import type { TradeKind } from '../storage/batch.js';
import type { TradeEvent } from './event.js';
import { byReceive, mergeChunks } from './merge.js';
import type { ChannelQuery } from './source.js';

const TWO_32 = 4294967296;
const SLICE_ROWS = 4096;

/** Receive-ordered trade events, or undefined when the parts do not allow streaming (use the reader). */
export function arrowTradeStream(q: ChannelQuery): AsyncIterable<readonly TradeEvent[]> | undefined {
  if (q.time !== 'receive') return undefined;
  const byCollector = new Map<string, PartInfo[]>();
  for (const p of listParts(q.dataDir, q.day, 'trades')) {
    if (p.rows === 0 || p.minRecvNs === null || p.maxRecvNs === null) continue;
    if ((q.from !== undefined && p.maxRecvNs < q.from) || (q.to !== undefined && p.minRecvNs >= q.to)) continue;
    const key = p.collectorId ?? '';
    byCollector.set(key, [...(byCollector.get(key) ?? []), p]);
  }
  for (const parts of byCollector.values()) {
    parts.sort((a, b) => (a.minRecvNs! < b.minRecvNs! ? -1 : a.minRecvNs! > b.minRecvNs! ? 1 : 0));
    for (let i = 1; i < parts.length; i++) if (parts[i - 1].maxRecvNs! > parts[i].minRecvNs!) return undefined;
  }
  return mergeChunks([...byCollector.values()].map((parts) => inOrder(partEvents(parts, q))), byReceive);
}

async function* partEvents(parts: readonly PartInfo[], q: ChannelQuery): AsyncGenerator<TradeEvent[]> {
  const convert = new TradeConverter(q);
  for (const part of parts) {
    const fh = await fsp.open(part.path, 'r');
    try {
      for await (const rb of await RecordBatchReader.from(fh)) {
        // Few events alive at once: they die young instead of filling the old generation.
        for (let at = 0; at < rb.numRows; at += SLICE_ROWS) {
          const events = convert.events(rb, at, Math.min(rb.numRows, at + SLICE_ROWS));
          if (events.length > 0) yield events;
          // Rows are displaced by at most a slice: once a whole slice is past the window, nothing
          // later is in it. Stopping here also releases the window's last slice (held by inOrder
          // until the next one arrives) on time, not after a scan of the rest of the part.
          if (convert.pastWindow) return;
        }
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
}

/**
 * Puts slices in receive order where a row is displaced by at most the next slice (the capture's
 * order makes them sorted already; then this only checks). A slice is released once the next one
 * shows which of its rows come before everything still to come.
 */
async function* inOrder(batches: AsyncIterable<TradeEvent[]>): AsyncGenerator<readonly TradeEvent[]> {
  let pending: TradeEvent[] = [];
  for await (const batch of batches) {
    if (!isSorted(batch)) batch.sort(compareReceive);
    if (pending.length === 0 || compareReceive(pending[pending.length - 1], batch[0]) <= 0) {
      if (pending.length > 0) yield pending;
      pending = batch;
      continue;
    }
    let release = pending.length;
    while (release > 0 && compareReceive(pending[release - 1], batch[0]) > 0) release--;
    if (release > 0) yield pending.slice(0, release);
    pending = pending.slice(release).concat(batch).sort(compareReceive);
  }
  if (pending.length > 0) yield pending;
}

function isSorted(rows: readonly TradeEvent[]): boolean {
  for (let i = 1; i < rows.length; i++) if (compareReceive(rows[i - 1], rows[i]) > 0) return false;
  return true;
}

function int32s(d: Data): Int32Array {
  const v = d.values as BigInt64Array;
  return new Int32Array(v.buffer, v.byteOffset + d.offset * 8, d.length * 2);
}

/** Record batches of the trades schema (storage/arrow-format.ts) → events, window and filters applied. */
class TradeConverter {
  private readonly dictionaries = new WeakMap<Vector, string[]>();
  private readonly symbols: ReadonlySet<string> | undefined;
  private readonly markets: ReadonlySet<string> | undefined;
  /** True when every row of the last slice converted was at or after the window's end. */
  pastWindow = false;

  constructor(private readonly q: ChannelQuery) {
    this.symbols = q.symbols && q.symbols.length > 0 ? new Set(q.symbols) : undefined;
    this.markets = q.markets && q.markets.length > 0 ? new Set(q.markets) : undefined;
  }

  private strings(d: Data): string[] {
    const dict = d.dictionary as Vector;
    let s = this.dictionaries.get(dict);
    if (s === undefined) this.dictionaries.set(dict, (s = dict.toArray() as string[]));
    return s;
  }

  private mask(d: Data, allowed: ReadonlySet<string> | undefined): Uint8Array | undefined {
    if (allowed === undefined) return undefined;
    const s = this.strings(d);
    const m = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) m[i] = allowed.has(s[i]) ? 1 : 0;
    return m;
  }

  /** Events of rows [from, to) of a batch. */
  events(rb: RecordBatch, from: number, to: number): TradeEvent[] {
    const c = rb.data.children;
    const [mk, sym, ex, , , rc, , ix] = c;
    const mkCodes = mk.values as Int8Array;
    const symCodes = sym.values as Int32Array;
    const mkNames = this.strings(mk);
    const symNames = this.strings(sym);
    const mkMask = this.mask(mk, this.markets);
    const symMask = this.mask(sym, this.symbols);
    const exch = ex.values as BigInt64Array;
    const exch32 = int32s(ex);
    const exchBits = ex.nullCount > 0 ? ex.nullBitmap : undefined;
    const price = int32s(c[3]);
    const qty = int32s(c[4]);
    const recv = rc.values as BigInt64Array;
    const recv32 = int32s(rc);
    const seq = int32s(c[6]);
    const idx = ix.values as Int32Array;
    // Parts written before trd_vol and kind existed: trdVol was the quantity, every trade regular.
    const trdVol = c.length > 8 ? int32s(c[8]) : qty;
    const kindCodes = c.length > 9 ? (c[9].values as Int8Array) : undefined;
    const kindNames = c.length > 9 ? this.strings(c[9]) : undefined;
    const kindAt = c.length > 9 ? c[9].offset : 0;
    const { day } = this.q;
    const windowFrom = this.q.from;
    const windowTo = this.q.to;
    const out: TradeEvent[] = [];
    // Trades of one frame share recv_ns, and often exch_ts: reuse the BigInt rather than allocate one per row.
    let recvNs = 0n;
    let recvHi = NaN;
    let recvLo = NaN;
    let exchNs: bigint | null = null;
    let exchHi = NaN;
    let exchLo = NaN;
    let past = 0;
    for (let i = from; i < to; i++) {
      if (recv32[2 * i] !== recvLo || recv32[2 * i + 1] !== recvHi) {
        recvLo = recv32[2 * i];
        recvHi = recv32[2 * i + 1];
        recvNs = recv[rc.offset + i];
      }
      if (windowTo !== undefined && recvNs >= windowTo) {
        past++;
        continue;
      }
      if (windowFrom !== undefined && recvNs < windowFrom) continue;
      const m = mkCodes[mk.offset + i];
      const s = symCodes[sym.offset + i];
      if ((mkMask !== undefined && mkMask[m] === 0) || (symMask !== undefined && symMask[s] === 0)) continue;
      const e = ex.offset + i;
      if (exchBits !== undefined && ((exchBits[e >> 3] >> (e & 7)) & 1) === 0) {
        exchNs = null;
        exchHi = NaN;
      } else if (exch32[2 * i] !== exchLo || exch32[2 * i + 1] !== exchHi) {
        exchLo = exch32[2 * i];
        exchHi = exch32[2 * i + 1];
        exchNs = exch[e];
      }
      out.push({
        day,
        market: mkNames[m] as Market,
        symbol: symNames[s],
        exchNs,
        price: price[2 * i + 1] * TWO_32 + (price[2 * i] >>> 0),
        qty: qty[2 * i + 1] * TWO_32 + (qty[2 * i] >>> 0),
        recvNs,
        srcSeq: seq[2 * i + 1] * TWO_32 + (seq[2 * i] >>> 0),
        srcIdx: idx[ix.offset + i],
        trdVol: trdVol[2 * i + 1] * TWO_32 + (trdVol[2 * i] >>> 0),
        kind: kindCodes === undefined ? 'regular' : (kindNames![kindCodes[kindAt + i]] as TradeKind),
        type: 'trade',
      });
    }
    this.pastWindow = past === to - from;
    return out;
  }
}
