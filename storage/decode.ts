// Journal record → rows of a RowBatch, by the kind of channel it came in on. Decoding is a pure
// function of the journal (in order): replaying a journal gives the same rows, which is what
// recovery and `ticktape rebuild` rely on. Its state — the half of a REST snapshot waiting for its
// partner, and each market's trdVol reading (storage/trade-quantity.ts) — is rebuilt by priming
// (see `prime`).

import { type BadElement, describeError, type DecodeError } from '../protocol/decoded.js';
import { BLOCK_TRADE_CODES, decodeTradeFrame, isBlockTradeCode, type TradeSink } from '../protocol/koscom.js';
import { decodeDetailFrame } from '../protocol/koscom-detail.js';
import { badElementSymbol, decodeOhlcLists, decodeQuoteLists, decodeStockList, joinSnapshot, type Multiquote, type OhlcRow, type QuoteRow } from '../protocol/koscom-rest.js';
import { decodePush, decodeSectorFlowBody } from '../protocol/ls.js';
import type { Market, SnapshotKind } from '../protocol/market.js';
import { exchTime, hhmmsscc, kstMidnight, type TradingDay } from '../protocol/time.js';
import { MARKET_CODE, TRADE_KIND_CODE, TradeColumns, type RowBatch } from './batch.js';
import { CAPTURE_END, FLAG, type JournalChannel } from './journal.js';
import { TradeQuantities, type TrdVolMode } from './trade-quantity.js';

/** Quarantined raw text is capped so that one absurd frame cannot bloat the database. */
const MAX_RAW_CHARS = 1_000_000;
const MAX_REASON_CHARS = 2_000;

/** A new, empty batch for `day` over a journal file. */
export function emptyBatch(day: TradingDay, file: string, offset: number, seq: number, tradeCapacity: number): RowBatch {
  return {
    day,
    trades: new TradeColumns(tradeCapacity),
    flows: [],
    snapshots: [],
    listings: [],
    signals: [],
    modes: [],
    quotes: [],
    books: [],
    quarantine: [],
    journal: { file, fromOffset: offset, toOffset: offset, fromSeq: seq, toSeq: seq },
  };
}

/** Empties a batch for reuse, starting at journal position (offset, seq). */
export function resetBatch(b: RowBatch, offset: number, seq: number): void {
  b.trades.length = 0;
  b.flows.length = 0;
  b.snapshots.length = 0;
  b.listings.length = 0;
  b.signals.length = 0;
  if (b.modes) b.modes.length = 0;
  if (b.quotes) b.quotes.length = 0;
  if (b.books) b.books.length = 0;
  b.quarantine.length = 0;
  b.journal.fromOffset = b.journal.toOffset = offset;
  b.journal.fromSeq = b.journal.toSeq = seq;
}

export function batchRows(b: RowBatch): number {
  return b.trades.length + b.flows.length + b.snapshots.length + b.listings.length + b.signals.length + (b.quotes?.length ?? 0) + (b.books?.length ?? 0) + b.quarantine.length;
}

interface PendingHalf {
  kind: 'multiquote-lists' | 'multiquote-ohlclists';
  value: Multiquote<QuoteRow> | Multiquote<OhlcRow>;
  raw: string;
  recvNs: bigint;
  seq: number;
  source: string;
}

/** Writes decoded trades straight into the batch's columns: no object per trade. */
class TradeColumnsSink implements TradeSink {
  batch!: RowBatch;
  market: Market = 'kospi';
  marketCode = 0;
  recvNs = 0n;
  seq = 0;
  readonly quantities = new TradeQuantities();

  trade(symbol: string, price: number, trdVol: number, exchMs: number, idx: number, block: number): void {
    let t = this.batch.trades;
    if (t.length === t.capacity) t = this.batch.trades = grow(t);
    if (isBlockTradeCode(block)) {
      // A block trade has no clock time: its exchange time is when it was received (to the ms).
      t.push(this.marketCode, symbol, Number(this.recvNs / 1_000_000n), price, trdVol, this.recvNs, this.seq, idx, trdVol, TRADE_KIND_CODE[BLOCK_TRADE_CODES[block]]);
      return;
    }
    t.push(this.marketCode, symbol, exchMs, price, trdVol, this.recvNs, this.seq, idx, trdVol, 0);
    this.quantities.derive(t, t.length - 1, this.seq, (this.batch.modes ??= []));
  }

  signal(symbol: string, code: number): void {
    this.batch.signals.push({ recvNs: this.recvNs, market: this.market, symbol, code, srcSeq: this.seq });
  }
}

/** A frame with more trades than the batch has room for (the tape flushes on row count, frames carry ≤ 50). */
function grow(t: TradeColumns): TradeColumns {
  const g = new TradeColumns(t.capacity * 2);
  g.market.set(t.market);
  for (let i = 0; i < t.length; i++) g.symbol[i] = t.symbol[i];
  g.exchMs.set(t.exchMs);
  g.price.set(t.price);
  g.qty.set(t.qty);
  g.trdVol.set(t.trdVol);
  g.kind.set(t.kind);
  g.recvNs.set(t.recvNs);
  g.srcSeq.set(t.srcSeq);
  g.srcIdx.set(t.srcIdx);
  g.length = t.length;
  return g;
}

export class FrameDecoder {
  readonly dayStartMs: number;
  private readonly tradeSink = new TradeColumnsSink();
  /** Keyed by market + snapshot kind. */
  private readonly pending = new Map<string, PendingHalf>();

  constructor(readonly day: TradingDay) {
    this.dayStartMs = kstMidnight(day);
  }

  /** The batch holds trades whose quantity waits for their market's trdVol reading: do not write it yet. */
  get holding(): boolean {
    return this.tradeSink.quantities.holding;
  }

  /** The trdVol reading of each market decided so far (`kospi` → `cumulative`). */
  trdVolModes(): ReadonlyMap<Market, TrdVolMode> {
    return this.tradeSink.quantities.modes();
  }

  /** Decides the markets still undecided as per-trade and fixes their held rows in `batch` (a store stopping). */
  settle(batch: RowBatch): void {
    this.tradeSink.quantities.settle(batch.trades, (batch.modes ??= []));
  }

  /**
   * Decodes one journal record into `batch` and returns the rows it added (quarantined ones
   * included). Outgoing frames and events are journal-only. `seq` is the record's frame number on
   * its channel (`JournalRecord.frame`), stored as the rows' `src_seq`.
   */
  decode(ch: JournalChannel | undefined, flags: number, recvNs: bigint, seq: number, bytes: Buffer | string, batch: RowBatch): number {
    if (flags === FLAG.event) this.captureEnd(ch, bytes, batch);
    if (flags !== FLAG.incoming) return 0;
    const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
    const source = ch?.name ?? 'unknown';
    if (ch === undefined) return quarantine(batch, recvNs, source, text, 'frame on a channel missing from the journal sidecar', seq);
    switch (ch.kind) {
      case 'trades':
        return this.trades(ch, recvNs, seq, text, batch);
      case 'ls.ws':
        return lsFrame(source, recvNs, seq, text, batch, this.dayStartMs);
      case 'detail':
        return ch.market === undefined ? quarantine(batch, recvNs, source, text, 'detail channel registered without a market', seq) : detailFrame(ch.market, source, recvNs, seq, text, batch, this.dayStartMs);
      case 'stock-list': {
        if (ch.market === undefined) return quarantine(batch, recvNs, source, text, 'stock-list channel registered without a market', seq);
        const r = decodeStockList(text, ch.market);
        if (!r.ok) return quarantine(batch, recvNs, source, text, describeError(r.error), seq);
        for (const l of r.value.listings) batch.listings.push(l);
        return r.value.listings.length + quarantineElements(batch, recvNs, source, seq, r.value.bad);
      }
      case 'multiquote-lists':
      case 'multiquote-ohlclists':
        return this.snapshotHalf(ch, recvNs, seq, text, batch, true);
      case 'events':
        return 0;
    }
  }

  /**
   * Feeds a record that lies before the resume point of a replay: the pending snapshot half and
   * the trdVol readings (trades decoded into `scratch`, emptied whenever nothing is held; none
   * once their market is read per-trade) are tracked, nothing is emitted. Makes a resumed decoder
   * identical to one that read everything.
   */
  prime(ch: JournalChannel | undefined, flags: number, recvNs: bigint, seq: number, bytes: Buffer, scratch: RowBatch): void {
    if (flags === FLAG.event) this.captureEnd(ch, bytes, scratch);
    if (flags !== FLAG.incoming || ch === undefined) return;
    if (ch.kind === 'trades' && ch.market !== undefined && this.tradeSink.quantities.follows(ch.market)) {
      this.trades(ch, recvNs, seq, bytes.toString('utf8'), scratch);
      if (!this.holding) resetBatch(scratch, 0, 0);
    }
    if (ch.kind !== 'multiquote-lists' && ch.kind !== 'multiquote-ohlclists') return;
    this.snapshotHalf(ch, recvNs, seq, bytes.toString('utf8'), scratch, false);
  }

  /** A capture's end (journaled as it stops) settles the markets still undecided: nothing more can come in that capture. */
  private captureEnd(ch: JournalChannel | undefined, bytes: Buffer | string, batch: RowBatch): void {
    if (!this.holding || ch?.kind !== 'events') return;
    const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
    if (text.includes(`"type":"${CAPTURE_END}"`)) this.settle(batch);
  }

  private trades(ch: JournalChannel, recvNs: bigint, seq: number, text: string, batch: RowBatch): number {
    const s = this.tradeSink;
    const before = batch.trades.length + batch.signals.length;
    s.batch = batch;
    s.market = ch.market ?? 'kospi';
    s.marketCode = MARKET_CODE[s.market];
    s.recvNs = recvNs;
    s.seq = seq;
    const errors = ch.market === undefined ? [{ field: '$', reason: 'trades channel registered without a market' }] : decodeTradeFrame(text, this.dayStartMs, s);
    const added = batch.trades.length + batch.signals.length - before;
    return errors.length === 0 ? added : added + quarantine(batch, recvNs, ch.name, text, describeErrors(errors), seq);
  }

  private snapshotHalf(ch: JournalChannel, recvNs: bigint, seq: number, text: string, batch: RowBatch, emit: boolean): number {
    const kind = ch.kind as PendingHalf['kind'];
    if (ch.market === undefined) return emit ? quarantine(batch, recvNs, ch.name, text, `${kind} channel registered without a market`, seq) : 0;
    const r = kind === 'multiquote-lists' ? decodeQuoteLists(text) : decodeOhlcLists(text);
    if (!r.ok) return emit ? quarantine(batch, recvNs, ch.name, text, describeError(r.error), seq) : 0;
    const snapshotKind: SnapshotKind = ch.snapshotKind ?? 'periodic';
    const key = `${ch.market}/${snapshotKind}`;
    const other = this.pending.get(key);
    if (other === undefined || other.kind === kind) {
      this.pending.set(key, { kind, value: r.value, raw: text, recvNs, seq, source: ch.name });
      // A half replaced before its partner came is kept, not dropped.
      if (other !== undefined && emit) return quarantine(batch, other.recvNs, other.source, other.raw, `${kind} snapshot half superseded before its pair arrived`, other.seq);
      return 0;
    }
    this.pending.delete(key);
    if (!emit) return 0;
    const lists = (kind === 'multiquote-lists' ? r.value : other.value) as Multiquote<QuoteRow>;
    const ohlc = (kind === 'multiquote-ohlclists' ? r.value : other.value) as Multiquote<OhlcRow>;
    // A symbol whose element is bad in either half is left out (its O/H/L would read as untraded).
    const badOhlc = new Set((ohlc.bad ?? []).map(badElementSymbol));
    const rows = joinSnapshot(ch.market, lists, ohlc).filter((row) => !badOhlc.has(row.symbol));
    for (const row of rows) batch.snapshots.push({ ...row, takenNs: recvNs, kind: snapshotKind, srcSeq: seq });
    return rows.length + quarantineElements(batch, other.recvNs, other.source, other.seq, other.value.bad) + quarantineElements(batch, recvNs, ch.name, seq, r.value.bad);
  }
}

function lsFrame(source: string, recvNs: bigint, seq: number, text: string, batch: RowBatch, dayStartMs: number): number {
  const push = decodePush(text);
  if (!push.ok) return quarantine(batch, recvNs, source, text, describeError(push.error), seq);
  const p = push.value;
  // Control frames and TRs other than BM_ are kept in the journal only.
  if (p.kind !== 'data' || p.trCd !== 'BM_') return 0;
  const flow = decodeSectorFlowBody(p.body);
  if (!flow.ok) return quarantine(batch, recvNs, source, text, describeError(flow.error), seq);
  const msOfDay = hhmmsscc(Number(flow.value.tjjtime));
  batch.flows.push({ ...flow.value, recvNs, exchMs: msOfDay >= 0 ? dayStartMs + msOfDay : 0, srcSeq: seq });
  return 1;
}

function detailFrame(market: Market, source: string, recvNs: bigint, seq: number, text: string, batch: RowBatch, dayStartMs: number): number {
  const r = decodeDetailFrame(text);
  if (!r.ok) return quarantine(batch, recvNs, source, text, describeError(r.error), seq);
  const f = r.value;
  if (f.kind === 'tick10') {
    const t = exchTime(f.quote.trdTm, dayStartMs);
    (batch.quotes ??= []).push({ ...f.quote, recvNs, market, exchMs: t.kind === 'time' ? t.epochMs : 0, srcSeq: seq });
    return 1;
  }
  if (f.kind === 'quote10') {
    (batch.books ??= []).push({ ...f.book, recvNs, market, srcSeq: seq });
    return 1;
  }
  // Subscribe/heartbeat replies and presets we do not store are kept in the journal only.
  return 0;
}

/** Each bad element of a list, on its own, with its reason: the rest of the list was stored. */
function quarantineElements(batch: RowBatch, recvNs: bigint, source: string, seq: number, bad: readonly BadElement[] | undefined): number {
  if (bad === undefined) return 0;
  for (const b of bad) quarantine(batch, recvNs, source, JSON.stringify(b.element) ?? 'undefined', `${describeError(b.error)} (list element ${b.index}; the other elements were stored)`, seq);
  return bad.length;
}

function describeErrors(errors: readonly DecodeError[]): string {
  let s = errors.map(describeError).join('; ');
  if (s.length > MAX_REASON_CHARS) s = `${s.slice(0, MAX_REASON_CHARS)}… (${errors.length} errors)`;
  return s;
}

function quarantine(batch: RowBatch, recvNs: bigint, source: string, raw: string, reason: string, seq: number): number {
  const kept = raw.length > MAX_RAW_CHARS ? `${raw.slice(0, MAX_RAW_CHARS)}…[${raw.length - MAX_RAW_CHARS} chars cut; the journal holds the whole frame]` : raw;
  batch.quarantine.push({ recvNs, source, raw: kept, reason, srcSeq: seq });
  return 1;
}
