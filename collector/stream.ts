// What every vendor stream shares: one StreamSocket configured from `ws` settings, its connection
// events journaled on the stream's channel, its counters, and (Koscom) the JSON-RPC control frames.
import type { Logger } from 'pino';
import { decodeRpcMessage, encodeResult, RESULT_OK, type RpcMessage } from '../protocol/jsonrpc.js';
import type { CaptureTape } from './capture.js';
import type { CollectorConfig } from './config.js';
import type { ConnectionEvent, SocketStats, StreamSocket, StreamSocketOptions } from './socket.js';

export interface StreamStats extends SocketStats {
  name: string;
  connected: boolean;
  /** Frames above the soft cap, handed to the tape for quarantine. */
  oversize: number;
  /** Sessions the vendor refused (a rejected key or token). */
  refusals: number;
  /** Frames the stream did not recognise (journaled, never fatal). */
  unknownFrames: number;
}

/**
 * What a stream's socket takes from the configuration, and when the market opens today (epoch
 * ms, from the calendar: see marketOpenAt); without it, no backoff cap at the open.
 */
export type StreamConfig = Pick<CollectorConfig, 'ws'> & { marketOpenAt?: number };

/** Around the open the reconnect backoff is capped, so a bad morning never waits out 09:00. */
const OPEN_WINDOW_MS = 10 * 60_000;

/** The longest reconnect delay at `nowMs`: `capMs` within 10 minutes of the open, else unlimited. */
export function backoffCapAt(nowMs: number, openAtMs: number, capMs: number): number {
  return Math.abs(nowMs - openAtMs) <= OPEN_WINDOW_MS ? capMs : Infinity;
}

export type StreamEventListener = (stream: string, e: ConnectionEvent) => void;

export abstract class VendorStream {
  abstract readonly name: string;
  /** The journal channel of the stream's data frames and connection events. */
  abstract readonly channel: number;
  protected abstract readonly socket: StreamSocket;
  protected oversize = 0;
  protected refusals = 0;
  protected unknownFrames = 0;

  constructor(protected readonly tape: CaptureTape) {}

  start(): void {
    this.socket.start();
  }

  stop(): Promise<void> {
    return this.socket.stop();
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  stats(): StreamStats {
    return { name: this.name, connected: this.socket.connected, ...this.socket.stats, oversize: this.oversize, refusals: this.refusals, unknownFrames: this.unknownFrames };
  }

  /** The socket options every stream takes from the configuration, with its events journaled. */
  protected socketOptions(url: string, cfg: StreamConfig, log: Logger, onEvent?: StreamEventListener): Omit<StreamSocketOptions, 'handshake' | 'onFrame'> {
    const ws = cfg.ws;
    return {
      name: this.name,
      url,
      log,
      heartbeatMs: ws.heartbeatMs,
      staleMs: ws.staleMs,
      backoffInitialMs: ws.backoffInitialMs,
      backoffMaxMs: ws.backoffMaxMs,
      hardCapBytes: ws.hardCapBytes,
      backoffCapMs: () => (cfg.marketOpenAt === undefined ? Infinity : backoffCapAt(Date.now(), cfg.marketOpenAt, ws.backoffAtOpenMs)),
      onEvent: (e) => {
        this.tape.event(this.channel, { stream: this.name, ...e });
        onEvent?.(this.name, e);
      },
    };
  }

  /**
   * A Koscom JSON-RPC reply or error is journaled on `controlChannel` (kept, not decoded) and
   * returned; anything unreadable goes to the data channel, for the tape to quarantine.
   */
  protected controlFrame(controlChannel: number, data: Buffer, recvNs: bigint): RpcMessage | undefined {
    const m = decodeRpcMessage(data.toString('utf8'));
    this.tape.append(m.ok ? controlChannel : this.channel, data, recvNs);
    return m.ok ? m.value : undefined;
  }

  /**
   * Koscom heartbeats in both directions (koscom.md §7: "may be sent and received"): a heartbeat
   * the server sends is answered; a result to one of ours shows the server application alive.
   * Returns whether `msg` was one of these.
   */
  protected heartbeat(msg: RpcMessage, ours: (id: number) => boolean): boolean {
    if (msg.kind === 'request' && msg.method === 'heartbeat') {
      const reply = encodeResult(msg.id, RESULT_OK);
      this.tape.appendOutgoing(this.channel, reply);
      this.socket.send(reply);
      return true;
    }
    if (msg.kind === 'result' && msg.id !== undefined && ours(msg.id)) {
      this.socket.heartbeatReply();
      return true;
    }
    return false;
  }
}
