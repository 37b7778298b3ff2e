// What every vendor stream shares: one StreamSocket configured from `ws` settings, its connection
// events journaled on the stream's channel, its counters, and (Koscom) the JSON-RPC control frames.
import type { Logger } from 'pino';
import { decodeRpcMessage, type RpcMessage } from '../protocol/jsonrpc.js';
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
}

export type StreamEventListener = (stream: string, e: ConnectionEvent) => void;

export abstract class VendorStream {
  abstract readonly name: string;
  /** The journal channel of the stream's data frames and connection events. */
  abstract readonly channel: number;
  protected abstract readonly socket: StreamSocket;
  protected oversize = 0;
  protected refusals = 0;

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
    return { name: this.name, connected: this.socket.connected, ...this.socket.stats, oversize: this.oversize, refusals: this.refusals };
  }

  /** The socket options every stream takes from the configuration, with its events journaled. */
  protected socketOptions(url: string, ws: CollectorConfig['ws'], log: Logger, onEvent?: StreamEventListener): Omit<StreamSocketOptions, 'handshake' | 'onFrame'> {
    return {
      name: this.name,
      url,
      log,
      heartbeatMs: ws.heartbeatMs,
      staleMs: ws.staleMs,
      backoffInitialMs: ws.backoffInitialMs,
      backoffMaxMs: ws.backoffMaxMs,
      hardCapBytes: ws.hardCapBytes,
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
}
