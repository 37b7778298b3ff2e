// The replay library API: re-emits a recorded day (or a window of it) as one time-ordered stream
// of typed events at the recorded timing, a speed factor, or as fast as the consumer takes.
//
//   for await (const e of replay({ dataDir: 'data', day: '2025-03-14', speed: 10 })) {
//     if (e.type === 'trade') strategy.onTrade(e.symbol, e.price, e.qty);
//   }
//
// A range of days (`fromDay`/`toDay`) plays each day from the best tier that holds it, one after
// another; at recorded timing the time between sessions (nights, weekends, holidays) is skipped.
import type { RecordBatch } from 'apache-arrow';
import type { Market } from '../protocol/market.js';
import { kstDay, type TradingDay } from '../protocol/time.js';
import { kstTimeNs, TickReader } from '../storage/reader.js';
import { ReplayClock, type LatenessSummary, type Speed } from './clock.js';
import type { ReplayChannel, ReplayEvent, SessionEvent } from './event.js';
import { byExchange, byReceive, exchangeKey, mergeChunks } from './merge.js';
import { defaultSource, journalFrames, replayDays, storedChannel, type ChannelQuery, type ReplaySource } from './source.js';

export type { Speed, LatenessSummary } from './clock.js';
export type { ReplayChannel, ReplayEvent, TradeEvent, SnapshotEvent, SectorFlowEvent, FrameEvent, SessionEvent } from './event.js';
export type { ReplaySource } from './source.js';
export { kstTimeNs };

/** Which recorded time orders and paces the stream. */
export type ReplayClockKind = 'receive' | 'exchange';

export interface ReplayOptions {
  /** The data directory the collector wrote (holds the SQLite file, arrow/ and journal/). */
  dataDir: string;
  /** One day; or give `fromDay`/`toDay` for a range. */
  day?: TradingDay;
  /** First day of a range (inclusive; default the first stored day). */
  fromDay?: TradingDay;
  /** Last day of a range (inclusive; default the last stored day). */
  toDay?: TradingDay;
  /** Window start, KST `HH:MM[:SS[.mmm]]` on `day` (on the first day of a range), inclusive. Default: the whole day. */
  from?: string;
  /** Window end, KST `HH:MM[:SS[.mmm]]` on `day` (on the last day of a range), exclusive. */
  to?: string;
  /** Emit a `session` event before each day's first event and after its last. */
  sessionEvents?: boolean;
  /** Default: trades, snapshots and sector_flows (frames when `source` is 'journal'). */
  channels?: readonly ReplayChannel[];
  /** Only these short codes (trades, snapshots). */
  symbols?: readonly string[];
  /** Only these markets (trades, snapshots). */
  markets?: readonly Market[];
  /** Where rows are read from. Default, per day: Arrow if the day has Arrow parts, else SQLite, else the Parquet history, else the journal. */
  source?: ReplaySource;
  /** Default 'max'. */
  speed?: Speed;
  /**
   * Default 'receive': order, window and pace by recv_ns. 'exchange': by the feed's time stamp
   * (receive time for rows without one, and for journal frames).
   */
  clock?: ReplayClockKind;
  /**
   * Called when the stream is about to wait for the clock: everything due so far has been handed
   * out (never between the rows of one frame, which share their receive time). `replay serve`
   * sends its gathered frame here.
   */
  beforeWait?: () => void;
}

const EMPTY: readonly ReplayEvent[] = [];
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** Where the stream stands, for progress displays. */
export interface ReplayProgress {
  events: number;
  /** Day of the last event emitted (a range replay moves through several). */
  day: TradingDay | undefined;
  /** Gaps between sessions skipped at recorded timing (a range replay does not sleep overnight). */
  gapsSkipped: number;
  /** Recorded instant (ns) of the last event emitted, on the replay's clock. */
  position: bigint | undefined;
  lateness: LatenessSummary;
}

/**
 * A running replay: an async iterable of events (iterate it once) with playback controls.
 * Events already due are handed out without waiting (one resolved promise each, no timer).
 */
export class Replay implements AsyncIterableIterator<ReplayEvent> {
  readonly clock: ReplayClock;
  readonly channels: readonly ReplayChannel[];
  private readonly fromNs: bigint | undefined;
  private readonly toNs: bigint | undefined;
  private readonly exchange: boolean;
  private readonly source: ReplaySource;
  private stream: AsyncIterator<readonly ReplayEvent[]> | undefined;
  /**
   * The next chunk, read while the clock waits: reading and converting it then costs no lateness
   * (read at the chunk's end instead, it made the events just after a chunk boundary late).
   */
  private ahead: Promise<IteratorResult<readonly ReplayEvent[]>> | undefined;
  private chunk: readonly ReplayEvent[] = EMPTY;
  private at = 0;
  private seekTo: bigint | undefined;
  private last: ReplayEvent | undefined;
  private count = 0;
  private finished = false;
  /** The days played, in order. */
  readonly days: readonly TradingDay[];
  /** First instants of the days after the first, in order, as the stream reaches them: the clock jumps there. */
  private readonly dayStarts: { day: TradingDay; t: bigint }[] = [];
  private day: TradingDay | undefined;
  private gapsSkipped = 0;

  constructor(private readonly options: ReplayOptions) {
    this.clock = new ReplayClock(options.speed ?? 'max');
    const range = options.day === undefined;
    if (!range && (options.fromDay !== undefined || options.toDay !== undefined)) throw new RangeError('give either day or fromDay/toDay, not both');
    const first = options.day ?? options.fromDay;
    const frames = options.source === 'journal' || (options.channels?.includes('frames') ?? false);
    this.days = range ? replayDays(options.dataDir, frames, options.fromDay, options.toDay) : [options.day!];
    const source = (this.source = options.source ?? (first !== undefined ? defaultSource(options.dataDir, first) : this.days.length > 0 ? defaultSource(options.dataDir, this.days[0]) : 'sqlite'));
    this.channels = options.channels ?? (source === 'journal' ? ['frames'] : ['trades', 'snapshots', 'sector_flows']);
    this.fromNs = options.from === undefined || this.days.length === 0 ? undefined : kstTimeNs(this.days[0], options.from);
    this.toNs = options.to === undefined || this.days.length === 0 ? undefined : kstTimeNs(this.days[this.days.length - 1], options.to);
    this.exchange = options.clock === 'exchange';
    if (options.source === 'journal' && this.channels.some((c) => c !== 'frames')) throw new RangeError(`source 'journal' replays raw frames (channel 'frames') only, got ${this.channels.join(', ')}`);
    if (this.channels.includes('frames') && this.channels.some((c) => c !== 'frames')) throw new RangeError(`channel 'frames' (the raw journal) does not mix with stored channels, got ${this.channels.join(', ')}`);
    if (options.source !== undefined && options.source !== 'journal' && this.channels.includes('frames')) throw new RangeError(`channel 'frames' is the raw journal: use source 'journal'`);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The instant an event stands at on this replay's clock. */
  timeOf(e: ReplayEvent): bigint {
    return this.exchange ? exchangeKey(e) : e.recvNs;
  }

  pause(): void {
    this.clock.pause();
  }

  resume(): void {
    this.clock.resume();
  }

  /** Jumps to a recorded instant (ns, or KST `HH:MM:SS` on the day — the first day of a range); the next event is the first at or after it. */
  seek(to: bigint | string): void {
    this.seekTo = typeof to === 'string' ? kstTimeNs(this.days[0] ?? this.options.day!, to) : to;
  }

  progress(): ReplayProgress {
    return { events: this.count, day: this.day, gapsSkipped: this.gapsSkipped, position: this.last === undefined ? undefined : this.timeOf(this.last), lateness: this.clock.lateness.summary() };
  }

  next(): Promise<IteratorResult<ReplayEvent>> {
    // Fast path: the next event is buffered and due (always, at speed max) — no await, no timer.
    if (this.at < this.chunk.length && this.seekTo === undefined) {
      const e = this.chunk[this.at];
      const t = this.timeOf(e);
      if ((this.dayStarts.length === 0 || t < this.dayStarts[0].t) && this.clock.ready(t)) {
        this.at++;
        this.count++;
        this.last = e;
        return Promise.resolve({ done: false, value: e });
      }
    }
    return this.nextSlow();
  }

  private async nextSlow(): Promise<IteratorResult<ReplayEvent>> {
    for (;;) {
      if (this.finished) return DONE;
      if (this.seekTo !== undefined) {
        const to = this.seekTo;
        this.seekTo = undefined;
        await this.closeStream();
        this.stream = this.open(to);
        this.chunk = EMPTY;
        this.at = 0;
        this.clock.seek(to);
      }
      this.stream ??= this.open(undefined);
      if (this.at >= this.chunk.length) {
        const r = await (this.ahead ?? this.stream.next());
        this.ahead = undefined;
        if (r.done) {
          if (this.seekTo !== undefined) continue;
          this.finished = true;
          return DONE;
        }
        this.chunk = r.value;
        this.at = 0;
        continue;
      }
      const e = this.chunk[this.at];
      const t = this.timeOf(e);
      if (this.dayStarts.length > 0 && t >= this.dayStarts[0].t) {
        // A new session: the time since the last one is not waited out.
        this.day = this.dayStarts.shift()!.day;
        if (this.last !== undefined) {
          this.gapsSkipped++;
          this.clock.seek(t);
        }
      }
      if (!this.clock.ready(t)) {
        this.options.beforeWait?.();
        if (this.ahead === undefined) {
          this.ahead = this.stream.next();
          // Handled where it is awaited; this only keeps a failure from being "unhandled" meanwhile.
          this.ahead.catch(() => undefined);
        }
        await this.clock.until(t);
      }
      if (this.seekTo !== undefined) continue;
      this.at++;
      this.count++;
      this.last = e;
      return { done: false, value: e };
    }
  }

  async return(): Promise<IteratorResult<ReplayEvent>> {
    this.finished = true;
    this.chunk = EMPTY;
    await this.closeStream();
    return DONE;
  }

  private async closeStream(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = undefined;
    await ahead?.catch(() => undefined);
    await this.stream?.return?.();
  }

  /** The merged chunk stream from `startNs` (a seek target) or the window start. */
  private open(startNs: bigint | undefined): AsyncIterator<readonly ReplayEvent[]> {
    const from = startNs !== undefined && (this.fromNs === undefined || startNs > this.fromNs) ? startNs : this.fromNs;
    this.dayStarts.length = 0;
    return this.daysFrom(from)[Symbol.asyncIterator]();
  }

  /** Each day's merged stream in turn (days before `from`'s day skipped), with session events when asked. */
  private async *daysFrom(from: bigint | undefined): AsyncGenerator<readonly ReplayEvent[]> {
    const o = this.options;
    const fromDay = from === undefined ? undefined : kstDay(Number(from / 1_000_000n));
    const frames = this.channels.includes('frames');
    for (const day of this.days) {
      if (fromDay !== undefined && day < fromDay) continue;
      // Rows of a day held only as a journal come from the reader's journal tier (decoded).
      const source = o.source ?? (this.days.length === 1 ? this.source : defaultSource(o.dataDir, day));
      const q: ChannelQuery = { dataDir: o.dataDir, day, from, to: this.toNs, time: this.exchange ? 'exchange' : 'receive', symbols: o.symbols, markets: o.markets };
      const stream = frames ? journalFrames(q) : readAll(TickReader.open({ dataDir: o.dataDir, source }), this.channels, q, this.exchange ? byExchange : byReceive);
      let last: ReplayEvent | undefined;
      for await (const chunk of stream) {
        if (chunk.length === 0) continue;
        if (last === undefined) {
          this.dayStarts.push({ day, t: this.timeOf(chunk[0]) });
          if (o.sessionEvents) yield [sessionEvent(day, 'start', chunk[0], this.timeOf(chunk[0]))];
        }
        last = chunk[chunk.length - 1];
        yield chunk;
      }
      if (last !== undefined && o.sessionEvents) yield [sessionEvent(day, 'end', last, this.timeOf(last))];
    }
  }
}

function sessionEvent(day: TradingDay, boundary: 'start' | 'end', at: ReplayEvent, t: bigint): SessionEvent {
  return { type: 'session', day, boundary, recvNs: t, exchNs: null, srcSeq: boundary === 'start' ? -1 : at.srcSeq, srcIdx: 0 };
}

/** The channels merged into one stream; the reader is closed when the stream ends or is abandoned. */
async function* readAll(reader: TickReader, channels: readonly ReplayChannel[], q: ChannelQuery, before: typeof byReceive): AsyncGenerator<readonly ReplayEvent[]> {
  try {
    yield* mergeChunks(
      channels.map((ch) => storedChannel(reader, ch as Exclude<ReplayChannel, 'frames'>, q)),
      before,
    );
  } finally {
    reader.close();
  }
}

/** One record batch of one channel, in the schema of the Arrow files (storage/arrow-format.ts). */
export interface ReplayBatch {
  channel: Exclude<ReplayChannel, 'frames'>;
  day: TradingDay;
  batch: RecordBatch;
  /** Instants (ns, on the replay's clock) of the batch's first and last rows. */
  firstNs: bigint;
  lastNs: bigint;
}

/** Time column of each channel's schema, and the exchange column where there is one. */
const TIME_COLUMN = { trades: ['recv_ns', 'exch_ts'], snapshots: ['taken_ns', null], sector_flows: ['recv_ns', 'exch_ts'] } as const;

function rowInstant(batch: RecordBatch, channel: ReplayBatch['channel'], i: number, exchange: boolean): bigint {
  const [recvName, exchName] = TIME_COLUMN[channel];
  if (exchange && exchName !== null) {
    const d = batch.getChild(exchName)!.data[0];
    if (d.getValid(i)) return (d.values as BigInt64Array)[i];
  }
  return (batch.getChild(recvName)!.data[0].values as BigInt64Array)[i];
}

/**
 * The batch form, for vectorized consumers: each channel as Arrow record batches of up to
 * `batchRows` rows (same window and filters as `replay`), channels interleaved by their batches'
 * first rows. Paced per batch: a batch is released when its last row is due; over a range of days
 * the gaps between sessions are skipped. Not for the journal.
 */
export async function* replayBatches(options: ReplayOptions & { batchRows?: number }): AsyncGenerator<ReplayBatch> {
  if (options.source === 'journal') throw new RangeError("the batch form reads stored rows: source 'sqlite', 'arrow' or 'parquet'");
  if (options.day !== undefined && (options.fromDay !== undefined || options.toDay !== undefined)) throw new RangeError('give either day or fromDay/toDay, not both');
  const days = options.day !== undefined ? [options.day] : replayDays(options.dataDir, false, options.fromDay, options.toDay);
  const channels = (options.channels ?? ['trades', 'snapshots', 'sector_flows']).filter((c): c is ReplayBatch['channel'] => c !== 'frames');
  const exchange = options.clock === 'exchange';
  const clock = new ReplayClock(options.speed ?? 'max');
  let played = false;
  for (const [i, day] of days.entries()) {
    // A day held only as a journal: its rows decoded by the reader's journal tier.
    const source = options.source ?? defaultSource(options.dataDir, day);
    const q = {
      day,
      from: options.from === undefined || i > 0 ? undefined : kstTimeNs(day, options.from),
      to: options.to === undefined || i < days.length - 1 ? undefined : kstTimeNs(day, options.to),
      time: exchange ? ('exchange' as const) : ('receive' as const),
      symbols: options.symbols,
      markets: options.markets,
    };
    const reader = TickReader.open({ dataDir: options.dataDir, source });
    async function* tagged(channel: ReplayBatch['channel']): AsyncGenerator<readonly ReplayBatch[]> {
      const batches = channel === 'trades' ? reader.tradeBatches(q, options.batchRows) : channel === 'snapshots' ? reader.snapshotBatches(q, options.batchRows) : reader.sectorFlowBatches(q, options.batchRows);
      for await (const batch of batches) {
        if (batch.numRows > 0) yield [{ channel, day, batch, firstNs: rowInstant(batch, channel, 0, exchange), lastNs: rowInstant(batch, channel, batch.numRows - 1, exchange) }];
      }
    }
    try {
      let first = true;
      for await (const chunk of mergeChunks(channels.map(tagged), (a, b) => a.firstNs < b.firstNs)) {
        for (const b of chunk) {
          // A new session: the time since the last one is not waited out.
          if (first && played) clock.seek(b.firstNs);
          first = false;
          played = true;
          if (!clock.ready(b.lastNs)) await clock.until(b.lastNs);
          yield b;
        }
      }
    } finally {
      reader.close();
    }
  }
}

/** Starts a replay. Nothing is read until the first event is asked for. */
export function replay(options: ReplayOptions): Replay {
  return new Replay(options);
}
