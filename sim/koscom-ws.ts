// Koscom WebSocket endpoints of the simulator: the market-wide trade streams /ws_ksp /ws_kdq
// (koscom.md §7) and the per-symbol subscription feed /ws (§6). Both start with `init` carrying
// the API key; a bad key gets a JSON-RPC error and the socket is closed.

import type { WebSocket } from 'ws';
import {
  RESULT_OK, RPC_MALFORMED, RPC_MALFORMED_MESSAGE, type Preset, decodeInitParams, decodeRpcMessage,
  decodeSubscriptionParams, encodeHeartbeat, encodePushNotification, encodeResult, encodeRpcError, encodeTickPush,
} from '../protocol/jsonrpc.js';
import { MAX_TRADES_PER_FRAME, arrayElementSpans } from '../protocol/koscom.js';
import { pricePresetWire } from '../protocol/koscom-rest.js';
import type { Market } from '../protocol/market.js';
import { formatHhmmsscc } from '../protocol/time.js';
import { type SimContext, isStale } from './context.js';
import { junkFrame, oversizeFrame, truncated, wrongTypedTradeFrame } from './garble.js';
import type { Issue } from './market.js';
import { Random } from './random.js';
import { bestQuotes, orderBook, pricePreset, trdTmNumber } from './quotes.js';

/** JSON-RPC error codes of the simulator besides 47, picked from Koscom's market-data code list (koscom.md §10). */
export const WS_ERROR = {
  /** Bad or missing API key, or a request before `init` (10070 고객정보 불일치). */
  auth: 10070,
  unknownMethod: 10000,
  unknownSymbol: 10040,
  /** Preset not served (index, change) or bad parameters (20055 입력 오류). */
  badInput: 20055,
  /** Past the subscription limit, 200 (20 in sandbox) per session (20056 종목수 초과). */
  tooManySubscriptions: 20056,
  /** A second /ws session while one is open (single-session fault; 13004 재접속 요망). */
  secondSession: 13004,
} as const;

/** Presets the simulator serves; `index` and `change` are refused with badInput. */
const SERVED_PRESETS: readonly Preset[] = ['tick', 'quote', 'tick10', 'quote10'];

/** A consumer this far behind is cut off rather than buffered without bound. */
const MAX_BUFFERED = 64 * 1024 * 1024;

/** What every Koscom connection tracks: its socket, whether init passed, and server heartbeats. */
interface KoscomConn {
  ws: WebSocket;
  ready: boolean;
  openedAt: number;
  /** Server heartbeats sent and not answered yet (server-heartbeat fault). */
  heartbeatsDue: number;
  lastHeartbeatAt: number;
}

interface TradeConn extends KoscomConn {
  /** Its place among the trade-stream connections opened: the seed of its frame cuts. */
  seed: number;
  /** Batch-per-connection fault: this connection's own cuts of the trade stream into frames. */
  batching?: Batching;
}

/** A connection's frame cuts: trades not sent yet, the size of its next frame, and how long what is left may wait. */
interface Batching {
  rng: Random;
  pending: string[];
  size: number;
  /** When the trades left over (fewer than `size`) go out as they are, epoch ms. */
  dueAt: number;
}

/** Trades left over after a connection's last full frame wait up to this long for more (its own draw each time), ms. */
const MAX_CARRY_MS = 200;

interface Subscription {
  conn: SubscriptionConn;
  issue: Issue;
  preset: Preset;
  id: number;
}

interface SubscriptionConn extends KoscomConn {
  subs: Map<string, Subscription>;
}

/** A server heartbeat left unanswered this many times closes the connection. */
const MAX_HEARTBEATS_DUE = 3;
/** Request ids of the server's own heartbeats, far from any client's. */
const FIRST_SERVER_HEARTBEAT_ID = 1_000_000;

export class KoscomStreams {
  readonly tradeConns: Record<Market, Set<TradeConn>> = { kospi: new Set(), kosdaq: new Set() };
  /** Per issue: the /ws subscriptions on it (so the exchange only builds pushes for watched issues). */
  readonly watched: Uint16Array;
  private readonly subsByIssue = new Map<number, Set<Subscription>>();
  private readonly subConns = new Set<SubscriptionConn>();
  private nextHeartbeatId = FIRST_SERVER_HEARTBEAT_ID;
  /** Trade-stream connections opened so far. */
  private tradeConnsOpened = 0;
  /** Connections holding trades not sent yet, and what sends them (batch-per-connection fault). */
  private readonly batchesDue = new Set<TradeConn>();
  private batchesQueued = false;
  private batchTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: SimContext) {
    this.watched = new Uint16Array(ctx.market.issues.length);
  }

  acceptTradeStream(ws: WebSocket, market: Market): void {
    const conn: TradeConn = { ...newConn(ws), seed: ++this.tradeConnsOpened };
    this.tradeConns[market].add(conn);
    ws.on('close', () => {
      this.tradeConns[market].delete(conn);
      this.batchesDue.delete(conn);
    });
    ws.on('message', (data, isBinary) => {
      const req = this.request(ws, conn, String(data), isBinary);
      if (req === undefined) return;
      if (req.method === 'heartbeat') this.heartbeatReply(conn, req.id);
      else this.send(ws, conn.openedAt, encodeRpcError(WS_ERROR.unknownMethod, `지원하지 않는 요청입니다: ${req.method}`, req.id));
    });
  }

  acceptSubscriptions(ws: WebSocket): void {
    const conn: SubscriptionConn = { ...newConn(ws), subs: new Map() };
    this.subConns.add(conn);
    ws.on('close', () => {
      this.subConns.delete(conn);
      for (const sub of conn.subs.values()) this.unwatch(sub);
      conn.subs.clear();
    });
    ws.on('message', (data, isBinary) => {
      const req = this.request(ws, conn, String(data), isBinary, () => !(this.ctx.faults.wsSingleSession && [...this.subConns].some((c) => c !== conn && c.ready)));
      if (req === undefined) return;
      if (req.method === 'heartbeat') this.heartbeatReply(conn, req.id);
      else if (req.method === 'subscribe' || req.method === 'unsubscribe') this.subscription(conn, req.method, req.id, req.params);
      else this.send(ws, conn.openedAt, encodeRpcError(WS_ERROR.unknownMethod, `지원하지 않는 요청입니다: ${req.method}`, req.id));
    });
  }

  /**
   * Common handling of a client frame: malformed → error 47; `init` → key check (and `mayOpen`,
   * the single-session fault); anything before a successful init → error and close. Returns the
   * request still to be handled.
   */
  private request(ws: WebSocket, conn: KoscomConn, text: string, isBinary: boolean, mayOpen = () => true) {
    const ctx = this.ctx;
    if (isStale(ctx, conn.openedAt, Date.now())) return undefined;
    const msg = isBinary ? undefined : decodeRpcMessage(text);
    if (msg?.ok && msg.value.kind === 'result' && msg.value.id !== undefined && msg.value.id >= FIRST_SERVER_HEARTBEAT_ID) {
      conn.heartbeatsDue = 0;
      ctx.stats.serverHeartbeatReplies++;
      return undefined;
    }
    if (msg === undefined || !msg.ok || msg.value.kind !== 'request') {
      this.send(ws, conn.openedAt, encodeRpcError(RPC_MALFORMED, RPC_MALFORMED_MESSAGE));
      return undefined;
    }
    const req = msg.value;
    if (req.method === 'init') {
      const init = decodeInitParams(req.params);
      if (!init.ok || init.value.key !== ctx.credentials.koscomApiKey || ctx.faults.rejectCredentials) {
        ws.send(encodeRpcError(WS_ERROR.auth, init.ok ? '인증되지 않은 API Key 입니다' : `init: ${init.error.field} ${init.error.reason}`, req.id));
        ws.close(1008, 'authentication failed');
        return undefined;
      }
      if (!mayOpen()) {
        ctx.stats.refusedSessions++;
        ws.send(encodeRpcError(WS_ERROR.secondSession, '이미 접속 중인 세션이 있습니다', req.id));
        ws.close(1008, 'second session');
        return undefined;
      }
      conn.ready = true;
      if (!ctx.faults.noInitReply) this.send(ws, conn.openedAt, encodeResult(req.id, RESULT_OK));
      return undefined;
    }
    if (!conn.ready) {
      ws.send(encodeRpcError(WS_ERROR.auth, 'init 요청이 필요합니다', req.id));
      ws.close(1008, 'init required');
      return undefined;
    }
    return req;
  }

  private subscription(conn: SubscriptionConn, method: 'subscribe' | 'unsubscribe', id: number, params: Record<string, unknown>): void {
    const ctx = this.ctx;
    const p = decodeSubscriptionParams(params);
    if (!p.ok) return this.send(conn.ws, conn.openedAt, encodeRpcError(WS_ERROR.badInput, `${p.error.field}: ${p.error.reason}`, id));
    const { symbol, preset } = p.value;
    if (method === 'unsubscribe') {
      for (const [key, sub] of conn.subs) {
        if (preset === undefined ? sub.id === id : sub.issue.symbol === symbol && sub.preset === preset) {
          conn.subs.delete(key);
          this.unwatch(sub);
        }
      }
      return this.send(conn.ws, conn.openedAt, encodeResult(id, RESULT_OK));
    }
    if (preset === undefined || !SERVED_PRESETS.includes(preset)) {
      return this.send(conn.ws, conn.openedAt, encodeRpcError(WS_ERROR.badInput, `preset: ${SERVED_PRESETS.join(', ')} 중 하나 (${preset ?? '없음'})`, id));
    }
    const issue = ctx.market.issue(symbol);
    if (!issue) return this.send(conn.ws, conn.openedAt, encodeRpcError(WS_ERROR.unknownSymbol, `종목코드 오류: ${symbol}`, id));
    const key = `${symbol}|${preset}`;
    if (!conn.subs.has(key)) {
      if (conn.subs.size >= ctx.maxSubscriptions) {
        return this.send(conn.ws, conn.openedAt, encodeRpcError(WS_ERROR.tooManySubscriptions, `구독 한도 초과: 세션당 최대 ${ctx.maxSubscriptions}건`, id));
      }
      const sub: Subscription = { conn, issue, preset, id };
      conn.subs.set(key, sub);
      let set = this.subsByIssue.get(issue.index);
      if (!set) this.subsByIssue.set(issue.index, (set = new Set()));
      set.add(sub);
      this.watched[issue.index]++;
    }
    this.send(conn.ws, conn.openedAt, encodeResult(id, RESULT_OK));
    this.send(conn.ws, conn.openedAt, this.push(issue, preset));
  }

  /** The OK reply to a client heartbeat, unless the no-heartbeat-reply fault is on. */
  private heartbeatReply(conn: KoscomConn, id: number): void {
    if (!this.ctx.faults.noHeartbeatReply) this.send(conn.ws, conn.openedAt, encodeResult(id, RESULT_OK));
  }

  /**
   * Server-heartbeat fault: every initialised Koscom connection gets a `heartbeat` request each
   * `serverHeartbeatMs`; one that leaves three unanswered is closed, as a strict server would.
   */
  serverHeartbeats(now: number): void {
    const every = this.ctx.faults.serverHeartbeatMs;
    if (every <= 0) return;
    for (const conn of [...this.tradeConns.kospi, ...this.tradeConns.kosdaq, ...this.subConns]) {
      if (!conn.ready || now - conn.lastHeartbeatAt < every || isStale(this.ctx, conn.openedAt, now)) continue;
      if (conn.heartbeatsDue >= MAX_HEARTBEATS_DUE) {
        this.ctx.stats.heartbeatTimeouts++;
        conn.ws.close(1008, 'heartbeat timeout');
        continue;
      }
      conn.lastHeartbeatAt = now;
      conn.heartbeatsDue++;
      this.ctx.stats.serverHeartbeats++;
      this.send(conn.ws, conn.openedAt, encodeHeartbeat(this.nextHeartbeatId++), now);
    }
  }

  private unwatch(sub: Subscription): void {
    const set = this.subsByIssue.get(sub.issue.index);
    if (set?.delete(sub)) this.watched[sub.issue.index]--;
  }

  /** The current state of an issue as a push of `preset`. */
  private push(issue: Issue, preset: Preset): string {
    const m = this.ctx.market;
    const k = issue.index;
    switch (preset) {
      case 'tick':
        return encodeTickPush({ isuSrtCd: issue.symbol, trdPrc: m.last[k], trdvol: m.lastQty[k], trdTm: trdTmNumber(m.lastMs[k]), accTrdvol: m.accVolume[k], accTrdval: m.accValue[k] });
      case 'quote': {
        const book = orderBook(m, issue);
        const [ask, bid] = bestQuotes(m.last[k]);
        return encodePushNotification({
          preset, isuSrtCd: issue.symbol, accTrdvol: m.accVolume[k], askStep1BstordPrc: ask, bidStep1BstordPrc: bid,
          askStep1BstordRqty: book.askStep1BstordRqty, bidStep1BstordRqty: book.bidStep1BstordRqty,
        });
      }
      case 'tick10':
        return encodePushNotification({ preset, ...pricePresetWire(pricePreset(m, issue)) });
      default:
        return encodePushNotification({ preset, ...orderBook(m, issue) });
    }
  }

  /**
   * After a trade of a watched issue: one push per subscription on it. `tick` carries this
   * trade's own values; the other presets show the issue's state after it.
   */
  onTrade(issue: number, price: number, qty: number, accVolume: number, accValue: number, msOfDay: number, now: number): void {
    const set = this.subsByIssue.get(issue);
    if (!set) return;
    let tick: string | undefined;
    for (const sub of set) {
      const frame = sub.preset === 'tick'
        ? (tick ??= encodeTickPush({ isuSrtCd: sub.issue.symbol, trdPrc: price, trdvol: qty, trdTm: trdTmNumber(msOfDay), accTrdvol: accVolume, accTrdval: accValue }))
        : this.push(sub.issue, sub.preset);
      this.send(sub.conn.ws, sub.conn.openedAt, frame, now);
    }
  }

  /** Sends one trade frame to every initialised connection of the market, plus any injected bad frames. */
  broadcastTrades(market: Market, frame: string, sampleSymbol: string, sampleMs: number, now: number): void {
    const conns = this.tradeConns[market];
    if (conns.size === 0) return;
    const ctx = this.ctx;
    let extra: string | undefined;
    if (ctx.faults.malformedRate > 0 && ctx.faultRng.next() < ctx.faults.malformedRate) extra = truncated(frame, ctx.faultRng);
    else if (ctx.faults.wrongTypeRate > 0 && ctx.faultRng.next() < ctx.faults.wrongTypeRate) extra = wrongTypedTradeFrame(sampleSymbol, formatHhmmsscc(sampleMs), ctx.faultRng);
    const junk = ctx.faults.junkRate > 0 ? Math.floor(ctx.faults.junkRate) + (ctx.faultRng.next() < ctx.faults.junkRate % 1 ? 1 : 0) : 0;
    let oversize: string | undefined;
    if (ctx.faults.oversizeCount > 0) {
      ctx.faults.oversizeCount--;
      oversize = oversizeFrame(ctx.faults.oversizeBytes);
    }
    const spans = ctx.faults.batchPerConnection ? arrayElementSpans(frame) : undefined;
    for (const c of conns) {
      if (!c.ready) continue;
      if (spans === undefined) this.send(c.ws, c.openedAt, frame, now);
      else this.sendRebatched(c, frame, spans, now);
      if (extra !== undefined) {
        this.send(c.ws, c.openedAt, extra, now);
        ctx.stats.badFrames++;
      }
      for (let i = 0; i < junk; i++) {
        const j = junkFrame(frame, ctx.faultRng);
        if (this.deliver(c.ws, c.openedAt, j.data, now, j.binary)) ctx.stats.badFrames++;
      }
      if (oversize !== undefined && this.deliver(c.ws, c.openedAt, oversize, now, false)) ctx.stats.badFrames++;
    }
  }

  /**
   * Batch-per-connection fault: the frame's trades join the connection's own queue, which goes out
   * in frames of its own sizes. What is left waits for more trades for a time of its own drawing, so
   * that no boundary (a step's end, say) is shared by every connection.
   */
  private sendRebatched(c: TradeConn, frame: string, spans: readonly number[], now: number): void {
    const b = (c.batching ??= newBatching(c.seed));
    for (let i = 0; i < spans.length; i += 2) b.pending.push(frame.slice(spans[i], spans[i + 1]));
    while (b.pending.length >= b.size) {
      this.send(c.ws, c.openedAt, `[${b.pending.splice(0, b.size).join(',')}]`, now);
      b.size = 1 + b.rng.int(MAX_TRADES_PER_FRAME);
    }
    if (b.pending.length === 0) this.batchesDue.delete(c);
    else if (!this.batchesDue.has(c)) {
      b.dueAt = now + b.rng.int(MAX_CARRY_MS);
      this.batchesDue.add(c);
    }
    // A step broadcasts all its frames in one go: what is due is sent right after them.
    if (!this.batchesQueued && this.batchesDue.size > 0) {
      this.batchesQueued = true;
      queueMicrotask(() => this.sendBatchesDue());
    }
  }

  /** Sends the leftovers that waited long enough; a timer sends the others in time if no trade comes. */
  private sendBatchesDue(): void {
    this.batchesQueued = false;
    clearTimeout(this.batchTimer);
    const now = Date.now();
    let next = Infinity;
    for (const c of this.batchesDue) {
      const b = c.batching!;
      if (b.dueAt > now) {
        next = Math.min(next, b.dueAt);
        continue;
      }
      this.send(c.ws, c.openedAt, `[${b.pending.join(',')}]`, now);
      b.pending.length = 0;
      b.size = 1 + b.rng.int(MAX_TRADES_PER_FRAME);
      this.batchesDue.delete(c);
    }
    if (next < Infinity) this.batchTimer = setTimeout(() => this.sendBatchesDue(), next - now).unref();
  }

  /** Initialised trade-stream connections of a market that can take more data now (throughput mode). */
  backpressured(market: Market, highWater: number): boolean {
    for (const c of this.tradeConns[market]) if (c.ready && c.ws.bufferedAmount > highWater) return true;
    return false;
  }

  /**
   * Throughput mode: hold back the sockets' writes while a burst of frames is queued, then send
   * them in one system call per socket (`ws` exposes no cork of its own, hence `_socket`).
   */
  cork(market: Market, on: boolean): void {
    for (const c of this.tradeConns[market]) {
      const socket = (c.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      if (on) socket?.cork();
      else socket?.uncork();
    }
  }

  /** Close-every fault: drop every Koscom connection abruptly (no close frame, like a network cut). */
  dropAll(): void {
    for (const m of ['kospi', 'kosdaq'] as const) for (const c of this.tradeConns[m]) this.cut(c.ws);
    for (const c of this.subConns) this.cut(c.ws);
  }

  private cut(ws: WebSocket): void {
    ws.terminate();
    this.ctx.stats.forcedCloses++;
  }

  hasTradeClients(market: Market): boolean {
    for (const c of this.tradeConns[market]) if (c.ready) return true;
    return false;
  }

  private send(ws: WebSocket, openedAt: number, frame: string, now = Date.now()): void {
    this.deliver(ws, openedAt, frame, now, false);
  }

  /** Whether the frame went out (not to a closed, stale or cut-off connection). */
  private deliver(ws: WebSocket, openedAt: number, frame: string | Buffer, now: number, binary: boolean): boolean {
    if (ws.readyState !== ws.OPEN || isStale(this.ctx, openedAt, now)) return false;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      this.ctx.log.warn({ buffered: ws.bufferedAmount }, 'slow consumer cut off');
      ws.terminate();
      return false;
    }
    ws.send(frame, { binary });
    this.ctx.stats.framesSent++;
    return true;
  }
}

function newBatching(seed: number): Batching {
  const rng = new Random(Math.imul(seed, 0x9e3779b1) ^ 0xba7c4ed);
  return { rng, pending: [], size: 1 + rng.int(MAX_TRADES_PER_FRAME), dueAt: 0 };
}

function newConn(ws: WebSocket): KoscomConn {
  const now = Date.now();
  return { ws, ready: false, openedAt: now, heartbeatsDue: 0, lastHeartbeatAt: now };
}
