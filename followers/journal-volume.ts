// Reconciliation's side of the stream, read from the journal rather than from a store: what was
// captured does not depend on how far SQLite has got. Reads the journal incrementally (only the
// trade channels are decoded) and keeps the streamed quantity per symbol.
import path from 'node:path';
import type { Market } from '../protocol/market.js';
import type { TradingDay } from '../protocol/time.js';
import { MARKET_BY_CODE, type RowBatch } from '../storage/batch.js';
import { emptyBatch, FrameDecoder, resetBatch } from '../storage/decode.js';
import { type JournalChannel, JournalTail, readChannels } from '../storage/journal.js';
import type { StreamedVolume } from '../storage/sqlite-sink.js';

const CAPACITY = 1 << 16;

export class JournalVolume {
  private readonly tail: JournalTail;
  private readonly decoder: FrameDecoder;
  private readonly batch: RowBatch;
  private channels: readonly JournalChannel[] = [];
  private readonly volume = new Map<Market, StreamedVolume>();

  constructor(
    private readonly journalFile: string,
    day: TradingDay,
  ) {
    this.tail = JournalTail.open(journalFile);
    this.decoder = new FrameDecoder(day);
    this.batch = emptyBatch(day, path.basename(journalFile), 0, 0, CAPACITY + 1024);
  }

  /** Reads the journal up to `limit` (an offset). */
  update(limit: number): void {
    for (let r = this.tail.next(limit, true); r !== undefined; r = this.tail.next(limit, true)) {
      if (this.channels[r.channel] === undefined) this.channels = readChannels(this.journalFile);
      const ch = this.channels[r.channel];
      if (ch?.kind !== 'trades') continue;
      this.decoder.decode(ch, r.flags, r.recvNs, r.frame, r.bytes, this.batch);
      if (this.batch.trades.length >= CAPACITY) this.drain();
    }
    this.drain();
  }

  /** Counts the batch's trades, unless some still wait for their market's trdVol reading. */
  private drain(): void {
    if (this.decoder.holding) return;
    const t = this.batch.trades;
    for (let i = 0; i < t.length; i++) {
      const v = this.volumeOf(MARKET_BY_CODE[t.market[i]]);
      const s = t.symbol[i];
      const into = t.kind[i] === 0 ? v.sum : v.block;
      into.set(s, (into.get(s) ?? 0) + t.qty[i]);
    }
    resetBatch(this.batch, 0, 0);
  }

  private volumeOf(market: Market): StreamedVolume {
    let v = this.volume.get(market);
    if (v === undefined) this.volume.set(market, (v = { sum: new Map(), block: new Map() }));
    return v;
  }

  /** Streamed quantity per symbol of a market, as far as the journal was read (trades whose market is undecided not yet). */
  streamedVolume(market: Market): StreamedVolume {
    return { ...this.volumeOf(market), mode: this.decoder.trdVolModes().get(market) };
  }

  close(): void {
    this.tail.close();
  }
}
