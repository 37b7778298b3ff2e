// One long-lived WebSocket that keeps itself connected: handshake on every open, liveness checks,
// reconnects with exponential backoff and jitter for as long as it runs, and an event for every
// disconnect with its reason and how long the stream was down.
//
// Liveness: a market-wide feed can be silent for a long time (lunch lull, a quiet symbol set, the
// pre-open: "outside hours the socket is silent"), so silence alone never triggers a reconnect. A
// heartbeat is sent every heartbeatMs; the socket is declared stale only when nothing at all — no
// data and no heartbeat reply — arrived for staleMs. A transport pong is answered by the WebSocket
// library even when the server application has stopped, so once the server has answered one
// application heartbeat on this socket only frames count; until then (Koscom documents no reply to
// `heartbeat`) a transport ping goes out beside each heartbeat and its pong proves liveness too.
//
// A socket found stale had been open and working, so it reconnects at once with the backoff reset:
// the staleMs it took to notice is the pause. Backoff grows only over failed connects, and in the
// minutes around the market open it is capped at `backoffCapMs()` so that a bad morning never
// leaves the stream waiting out a long delay at 09:00.
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { nowNs } from '../capture/recv-clock.js';

export type ConnectionEvent =
  | { type: 'connected'; url: string }
  | { type: 'disconnected'; reason: string; code?: number }
  | { type: 'reconnected'; reason: string; downMs: number; attempts: number }
  | { type: 'connect-failed'; reason: string; attempt: number; retryInMs: number }
  | { type: 'stopped-while-down'; reason: string; downMs: number };

export interface StreamSocketOptions {
  /** Channel name, for logs and events. */
  name: string;
  url: string;
  log: Logger;
  heartbeatMs: number;
  staleMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** ws maxPayload: a larger frame closes the socket (1009), everything below is delivered. */
  hardCapBytes: number;
  /** Sends the handshake on a fresh socket (init, registrations). Throwing fails this attempt. */
  handshake(send: (frame: string) => void): Promise<void> | void;
  /** Every inbound frame; `recvNs` is taken first thing in the message handler. */
  onFrame(data: Buffer, recvNs: bigint): void;
  /** An application heartbeat frame; without one, transport ping/pong is used. */
  heartbeatFrame?(): string;
  /** The longest reconnect delay right now, if shorter than backoffMaxMs (around the market open). */
  backoffCapMs?(): number;
  /** Whether data should be flowing now; if so, staleMs without a frame is stale despite pongs. */
  dataExpected?(): boolean;
  onEvent(e: ConnectionEvent): void;
}

export interface SocketStats {
  connects: number;
  reconnects: number;
  downtimeMs: number;
  frames: number;
  bytes: number;
  /** Wall-clock ms of the last inbound frame (0 = none yet). */
  lastFrameMs: number;
  lastError?: string;
}

export class StreamSocket {
  readonly stats: SocketStats = { connects: 0, reconnects: 0, downtimeMs: 0, frames: 0, bytes: 0, lastFrameMs: 0 };
  private ws: WebSocket | undefined;
  private running = false;
  private attempt = 0;
  private downSince = 0;
  private downReason = '';
  private lastAliveMs = 0;
  private openedMs = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed: Promise<void> = Promise.resolve();
  /** Why we closed the current socket ourselves (refused session, stale): reported on close. */
  private closeReason: string | undefined;
  private refused = false;
  /** The server answered an application heartbeat on the current socket: pongs no longer count. */
  private heartbeatAnswered = false;
  /** The current socket was closed as stale: reconnect at once. */
  private stale = false;

  constructor(private readonly o: StreamSocketOptions) {}

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.downSince === 0;
  }

  /** Opens the socket and keeps it open until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** The owner saw a frame proving the session works (resets the backoff). */
  healthy(): void {
    this.attempt = 0;
  }

  /** The owner saw a reply to one of our application heartbeats on the current socket. */
  heartbeatReply(): void {
    this.heartbeatAnswered = true;
  }

  /** The owner saw the server refuse the session; the socket closes and retries with backoff. */
  refuse(reason: string): void {
    this.closeReason = reason;
    this.refused = true;
    this.ws?.close(1000, 'refused');
  }

  send(frame: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  /** Closes for good; resolves once the socket is closed. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    if (this.ws !== undefined && this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.close(1000, 'collector stopping');
      const force = setTimeout(() => this.ws?.terminate(), 2000);
      await this.closed;
      clearTimeout(force);
    }
    if (this.downSince !== 0) {
      const downMs = Date.now() - this.downSince;
      this.stats.downtimeMs += downMs;
      this.o.onEvent({ type: 'stopped-while-down', reason: this.downReason, downMs });
      this.downSince = 0;
    }
  }

  private connect(): void {
    // Invalid UTF-8 in a text frame is the sender's bad frame, not a broken connection: the tape
    // journals and quarantines it, and the frames behind it are good data.
    const ws = new WebSocket(this.o.url, { maxPayload: this.o.hardCapBytes, handshakeTimeout: 10_000, perMessageDeflate: false, skipUTF8Validation: true });
    this.ws = ws;
    let opened = false;
    let failure = '';
    this.closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data: Buffer) => {
      const recvNs = nowNs();
      this.lastAliveMs = Date.now();
      this.stats.frames++;
      this.stats.bytes += data.length;
      this.stats.lastFrameMs = this.lastAliveMs;
      this.o.onFrame(data, recvNs);
    });
    ws.on('pong', () => {
      if (!this.heartbeatAnswered) this.lastAliveMs = Date.now();
    });
    ws.on('error', (e) => {
      failure = describeSocketError(e);
    });
    ws.on('open', async () => {
      opened = true;
      this.lastAliveMs = this.openedMs = Date.now();
      this.closeReason = undefined;
      this.refused = false;
      this.heartbeatAnswered = false;
      this.stale = false;
      try {
        await this.o.handshake((f) => ws.send(f));
      } catch (e) {
        failure = `handshake failed: ${(e as Error).message}`;
        ws.close(1000, 'handshake failed');
        return;
      }
      if (ws.readyState !== WebSocket.OPEN) return;
      this.stats.connects++;
      if (this.downSince !== 0) {
        const downMs = Date.now() - this.downSince;
        this.stats.downtimeMs += downMs;
        this.stats.reconnects++;
        this.o.onEvent({ type: 'reconnected', reason: this.downReason, downMs, attempts: this.attempt });
        this.o.log.info({ channel: this.o.name, downMs, reason: this.downReason }, `${this.o.name}: reconnected after ${downMs} ms`);
        this.downSince = 0;
      } else {
        this.o.onEvent({ type: 'connected', url: this.o.url });
        this.o.log.info({ channel: this.o.name }, `${this.o.name}: connected`);
      }
      this.heartbeatTimer = setInterval(() => this.beat(ws), this.o.heartbeatMs);
    });
    ws.on('close', (code: number, why: Buffer) => {
      clearInterval(this.heartbeatTimer);
      const reason = this.closeReason ?? (failure || (opened ? `closed by server (code ${code}${why.length > 0 ? `, ${why.toString().slice(0, 100)}` : ''})` : 'connection failed'));
      if (!this.running) return;
      this.stats.lastError = reason;
      if (this.downSince === 0) {
        this.downSince = Date.now();
        this.downReason = reason;
        this.o.onEvent({ type: 'disconnected', reason, code });
        this.o.log.warn({ channel: this.o.name, code, reason }, `${this.o.name}: disconnected: ${reason}`);
      }
      const wasStale = this.stale;
      this.stale = false;
      if (wasStale) this.attempt = 0;
      const cap = Math.min(this.o.backoffMaxMs, this.o.backoffCapMs?.() ?? Infinity);
      const backoff = Math.min(cap, this.o.backoffInitialMs * 2 ** this.attempt);
      const delay = wasStale ? 0 : Math.round(backoff / 2 + Math.random() * (backoff / 2));
      if (!wasStale) this.attempt++;
      if (!opened || this.refused) this.o.onEvent({ type: 'connect-failed', reason, attempt: this.attempt, retryInMs: delay });
      this.retryTimer = setTimeout(() => {
        if (this.running) this.connect();
      }, delay);
    });
  }

  private beat(ws: WebSocket): void {
    const now = Date.now();
    const silentMs = now - Math.max(this.stats.lastFrameMs, this.openedMs);
    let reason: string | undefined;
    if (now - this.lastAliveMs > this.o.staleMs) reason = `stale: nothing received for ${now - this.lastAliveMs} ms despite heartbeats`;
    else if (silentMs > this.o.staleMs && this.o.dataExpected?.() === true) reason = `stale: no data for ${silentMs} ms while the market is trading`;
    if (reason !== undefined) {
      this.o.log.warn({ channel: this.o.name }, `${this.o.name}: ${reason}`);
      this.closeReason = reason;
      this.stale = true;
      ws.terminate();
      return;
    }
    if (this.o.heartbeatFrame !== undefined) ws.send(this.o.heartbeatFrame());
    if (!this.heartbeatAnswered) ws.ping();
  }
}

function describeSocketError(e: Error & { code?: string }): string {
  if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 'frame above the hard cap (maxPayload)';
  return e.code ?? e.message;
}
