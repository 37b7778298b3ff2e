// Live fan-out: a follower of the live journal (like the stores, on a thread of its own — see
// fan-out-worker.ts) that hands each record to local subscribers as soon as it is written:
//   - on the vendors' endpoints, as `replay serve` does (Koscom /ws_ksp /ws_kdq trade frames
//     byte-identical, REST answers as last recorded, LS /websocket BM_ pushes), so an unchanged
//     collector or vendor client connects to it;
//   - on /stream, normalized JSON rows (trades, signals, sector flows, snapshots) filtered by
//     channel, market and symbol; `from=start` sends the day so far from the journal first.
// It never waits for a subscriber: each has a bounded queue (bytes and frames), and one that
// falls behind is disconnected with a close code and the reason. Capture never sees any of it.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { encodeGatewayError } from '../protocol/koscom-rest.js';
import type { TradingDay } from '../protocol/time.js';
import type { RowBatch } from '../storage/batch.js';
import { emptyBatch, FrameDecoder, resetBatch } from '../storage/decode.js';
import { JOURNAL_START, JournalTail, readChannels, type JournalChannel, type JournalRecord } from '../storage/journal.js';
import type { JournalProgress } from '../storage/journal-progress.js';
import { EncodedRows, parseStreamFilter, STREAM_PATH, type StreamFilter } from './stream-events.js';
import { frameRoute, VendorEndpoints, type MarketDataRequest } from './vendor-endpoints.js';

export interface FanOutOptions {
  journalFile: string;
  day: TradingDay;
  /** The live journal's progress (written by the capture thread). */
  progress: JournalProgress;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** A subscriber with more than this many bytes queued is disconnected. */
  queueBytes: number;
  /** … or more than this many messages not yet written to its socket. */
  queueFrames: number;
  log: Logger;
  /** How often to look for new records while caught up, ms. */
  pollMs?: number;
}

/** Where a subscriber is connected: a vendor stream, or the normalized JSON stream. */
export type FanOutEndpoint = `koscom.${'kospi' | 'kosdaq'}` | 'ls' | 'stream';
export const FAN_OUT_ENDPOINTS: readonly FanOutEndpoint[] = ['koscom.kospi', 'koscom.kosdaq', 'ls', 'stream'];

export interface FanOutStatus {
  /** Per endpoint: subscribers connected now and in all, messages sent, subscribers disconnected for falling behind. */
  endpoints: { endpoint: FanOutEndpoint; subscribers: number; connected: number; messages: number; dropped: number }[];
  /** Journal bytes written but not yet handed out. */
  lagBytes: number;
}

/** The close code a subscriber that fell behind gets (1008, policy violation), with the reason as text. */
export const SLOW_SUBSCRIBER_CLOSE = 1008;
/** The close code when the session ends (1001, going away). */
export const SESSION_END_CLOSE = 1001;
/** A dropped subscriber's close frame waits behind its queue; past this the socket is cut. */
const CLOSE_GRACE_MS = 10_000;
/** Records read before the loop lets sockets flush. */
const CHUNK_RECORDS = 5_000;
/** The day so far is sent while the subscriber's queue is under this share of its bounds: it joins the live tail with room to spare. */
const CATCH_UP_SHARE = 4;
const GATEWAY_NOT_YET = 'not recorded yet in this session; try again';

interface Subscriber {
  id: number;
  endpoint: FanOutEndpoint;
  ws: WebSocket;
  /** Messages handed to the socket and not yet written out. */
  queued: number;
  dropped: boolean;
  /** /stream only. */
  filter?: StreamFilter;
}

export class FanOut {
  private readonly endpoints: VendorEndpoints;
  private readonly tail: JournalTail;
  private channels: JournalChannel[];
  private readonly decoder: FrameDecoder;
  private readonly batch: RowBatch;
  private readonly rows = new EncodedRows();
  /** Per record: the message of each filter (null: the filter keeps none of its rows). */
  private readonly shared = new Map<string, Buffer | null>();
  private readonly bySocket = new WeakMap<WebSocket, Subscriber>();
  /** /stream subscribers on the live tail. */
  private readonly streams = new Set<Subscriber>();
  private readonly all = new Set<Subscriber>();
  private readonly restBodies = new Map<string, string>();
  private readonly counts = new Map<FanOutEndpoint, { connected: number; messages: number; dropped: number }>(FAN_OUT_ENDPOINTS.map((e) => [e, { connected: 0, messages: 0, dropped: 0 }]));
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  port = 0;

  constructor(private readonly o: FanOutOptions) {
    this.tail = JournalTail.open(o.journalFile);
    this.channels = readChannels(o.journalFile);
    this.decoder = new FrameDecoder(o.day);
    this.batch = emptyBatch(o.day, o.journalFile, JOURNAL_START, 0, 1024);
    this.endpoints = new VendorEndpoints({
      log: o.log,
      name: 'publish',
      answer: (req) => this.answer(req),
      onClient: (ws, stream) => this.subscribe(ws, stream === 'ls' ? 'ls' : `koscom.${stream}`),
      send: (ws, frame) => this.send(this.bySocket.get(ws)!, frame, true),
      upgrade: (path, req, socket, head) => this.upgradeStream(path, req, socket, head),
    });
  }

  /** Reads what the journal holds so far (REST answers, decoder state), then listens and follows it. */
  async start(): Promise<number> {
    this.follow(this.o.progress.size, Number.MAX_SAFE_INTEGER);
    this.port = await this.endpoints.listen(this.o.port, this.o.host);
    this.schedule(0);
    return this.port;
  }

  status(): FanOutStatus {
    const n = new Map<FanOutEndpoint, number>();
    for (const s of this.all) n.set(s.endpoint, (n.get(s.endpoint) ?? 0) + 1);
    return {
      endpoints: FAN_OUT_ENDPOINTS.map((endpoint) => ({ endpoint, subscribers: n.get(endpoint) ?? 0, ...this.counts.get(endpoint)! })),
      lagBytes: Math.max(0, this.o.progress.size - this.tail.offset),
    };
  }

  /**
   * Once the journal is closed: hands out its last records, closes every subscriber (1001, the
   * session ended), waits up to `timeoutMs` for their queues to drain, and stops listening.
   */
  async finish(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.o.progress.closed && this.tail.offset >= this.o.progress.size) && Date.now() < deadline) await sleep(this.o.pollMs ?? 5);
    this.stopped = true;
    clearTimeout(this.timer);
    this.follow(this.o.progress.size, Number.MAX_SAFE_INTEGER);
    for (const s of this.all) s.ws.close(SESSION_END_CLOSE, 'the capture session ended');
    while ([...this.all].some((s) => s.ws.bufferedAmount > 0) && Date.now() < deadline) await sleep(20);
    await this.endpoints.close();
    this.tail.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const read = this.follow(this.o.progress.size, CHUNK_RECORDS);
      this.schedule(read >= CHUNK_RECORDS ? 0 : (this.o.pollMs ?? 5));
    }, ms);
  }

  /** Hands out the records up to `limit` (at most `max` of them); returns how many were read. */
  private follow(limit: number, max: number): number {
    let n = 0;
    for (; n < max; n++) {
      const r = this.tail.next(limit, true);
      if (r === undefined) break;
      this.record(r);
    }
    return n;
  }

  private record(r: JournalRecord): void {
    const ch = this.channelOf(r.channel);
    if (ch === undefined) return;
    const route = frameRoute({ flags: r.flags, kind: ch.kind, market: ch.market, bytes: r.bytes });
    if (route.kind === 'trades') {
      // The bytes are borrowed from the reader: copied once for every socket that gets them.
      if (this.endpoints.koscom[route.market].size > 0) this.endpoints.sendKoscom(route.market, Buffer.from(r.bytes));
    } else if (route.kind === 'ls') {
      if (this.endpoints.ls.size > 0) this.endpoints.sendLs(route.trKey, Buffer.from(r.bytes));
    } else if (route.kind === 'rest') this.restBodies.set(route.path, r.bytes.toString('utf8'));
    if (this.streams.size === 0) {
      // Nobody wants rows: only the decoder's state (a snapshot's first half) is kept.
      this.decoder.prime(ch, r.flags, r.recvNs, r.frame, r.bytes, this.batch);
      return;
    }
    this.decoder.decode(ch, r.flags, r.recvNs, r.frame, r.bytes, this.batch);
    this.rows.encode(this.batch);
    if (this.rows.length > 0) {
      // Subscribers with the same filter share one message, encoded once.
      const shared = this.shared;
      shared.clear();
      for (const s of this.streams) {
        const key = s.filter!.key;
        let m = shared.get(key);
        if (m === undefined) {
          const text = this.rows.message(r.offset, s.filter!);
          shared.set(key, (m = text === undefined ? null : Buffer.from(text)));
        }
        if (m !== null) this.send(s, m, true);
      }
    }
    this.rows.clear();
    resetBatch(this.batch, r.end, r.seq + 1);
  }

  private channelOf(id: number): JournalChannel | undefined {
    // Registered after we read the sidecar: the writer writes it before any record uses it.
    if (this.channels[id] === undefined) this.channels = readChannels(this.o.journalFile);
    return this.channels[id];
  }

  /** REST as last recorded in this session; 503 before the collector has recorded one. */
  private async answer(req: MarketDataRequest): Promise<{ status?: number; body: string }> {
    const body = this.restBodies.get(req.path);
    return body === undefined ? { status: 503, body: encodeGatewayError(GATEWAY_NOT_YET) } : { body };
  }

  private subscribe(ws: WebSocket, endpoint: FanOutEndpoint, filter?: StreamFilter): Subscriber {
    const s: Subscriber = { id: this.nextId++, endpoint, ws, queued: 0, dropped: false, filter };
    this.bySocket.set(ws, s);
    this.all.add(s);
    this.counts.get(endpoint)!.connected++;
    ws.on('close', () => {
      this.all.delete(s);
      this.streams.delete(s);
    });
    return s;
  }

  private upgradeStream(path: string, req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (path !== STREAM_PATH) return false;
    const filter = parseStreamFilter(new URL(req.url ?? '/', 'http://local').searchParams);
    if (typeof filter === 'string') {
      const body = `${STREAM_PATH}: ${filter}\n`;
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return true;
    }
    this.endpoints.wss.handleUpgrade(req, socket, head, (ws) => {
      const s = this.subscribe(ws, 'stream', filter);
      this.o.log.info({ subscriber: s.id, channels: [...filter.channels], markets: filter.markets && [...filter.markets], symbols: filter.symbols?.size, from: filter.from }, `publish: stream subscriber #${s.id} connected (${filter.from === 'start' ? 'the day so far, then live' : 'live'})`);
      if (filter.from === 'start') void this.catchUp(s);
      else this.goLive(s);
    });
    return true;
  }

  /** The seam: the subscriber has everything before the live tail's position; the tail sends the rest. */
  private goLive(s: Subscriber): void {
    this.send(s, `{"type":"live","day":"${this.o.day}","pos":${this.tail.offset}}`, false);
    this.streams.add(s);
  }

  /**
   * The day so far, from the journal's start to wherever the live tail stands when this reader
   * reaches it, at the pace the subscriber reads (it is not dropped for that); then it joins the
   * live tail in the same turn of the loop, so no record is missed or sent twice.
   */
  private async catchUp(s: Subscriber): Promise<void> {
    const tail = JournalTail.open(this.o.journalFile);
    const decoder = new FrameDecoder(this.o.day);
    const batch = emptyBatch(this.o.day, this.o.journalFile, JOURNAL_START, 0, 1024);
    const rows = new EncodedRows();
    try {
      for (;;) {
        if (s.dropped || this.stopped || s.ws.readyState !== s.ws.OPEN) return;
        if (tail.offset >= this.tail.offset) return this.goLive(s);
        if (s.ws.bufferedAmount > this.o.queueBytes / CATCH_UP_SHARE || s.queued > this.o.queueFrames / CATCH_UP_SHARE) {
          await sleep(10);
          continue;
        }
        let n = 0;
        for (; n < CHUNK_RECORDS; n++) {
          const r = tail.next(this.tail.offset, true);
          if (r === undefined) break;
          const ch = this.channelOf(r.channel);
          decoder.decode(ch, r.flags, r.recvNs, r.frame, r.bytes, batch);
          rows.encode(batch);
          const m = rows.length > 0 ? rows.message(r.offset, s.filter!) : undefined;
          if (m !== undefined) this.send(s, m, false);
          rows.clear();
          resetBatch(batch, r.end, r.seq + 1);
        }
        // Nothing readable short of the live tail's position (a record still being read there): wait a poll.
        if (n === 0) await sleep(this.o.pollMs ?? 5);
        else await yieldToLoop();
      }
    } catch (e) {
      this.o.log.error({ subscriber: s.id, err: (e as Error).message }, `publish: reading the day so far for subscriber #${s.id} failed: ${(e as Error).message}`);
      s.ws.close(1011, 'reading the journal failed');
    } finally {
      tail.close();
    }
  }

  /** Queues a message; on the live path, a subscriber past its queue's bounds is disconnected. */
  private send(s: Subscriber, data: string | Uint8Array, live: boolean): void {
    if (s.dropped) return;
    s.queued++;
    s.ws.send(data, { binary: false }, () => s.queued--);
    this.counts.get(s.endpoint)!.messages++;
    if (!live) return;
    const bytes = s.ws.bufferedAmount;
    if (bytes > this.o.queueBytes) this.drop(s, `fell behind: ${bytes} bytes queued (limit ${this.o.queueBytes})`);
    else if (s.queued > this.o.queueFrames) this.drop(s, `fell behind: ${s.queued} messages queued (limit ${this.o.queueFrames})`);
  }

  private drop(s: Subscriber, reason: string): void {
    s.dropped = true;
    this.all.delete(s);
    this.streams.delete(s);
    this.endpoints.forget(s.ws);
    this.counts.get(s.endpoint)!.dropped++;
    this.o.log.warn({ subscriber: s.id, endpoint: s.endpoint, reason }, `publish: subscriber #${s.id} on ${s.endpoint} disconnected: ${reason}`);
    // The close frame waits behind what is queued: a subscriber that reads again learns why.
    s.ws.close(SLOW_SUBSCRIBER_CLOSE, reason);
    setTimeout(() => s.ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}
