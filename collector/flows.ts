// The LS sector investor-flow stream (BM_, ls.md §5.1): one WebSocket registering every configured
// market code with the current token (tr_type 3), re-registering after each reconnect. Every frame
// goes to the tape as received; registrations are journaled redacted.
//
// LS has no application heartbeat, so transport ping/pong proves liveness. A server that keeps
// answering pings but stopped sending is caught by a second rule that still ignores lulls: the BM_
// stream is expected to carry data only while the trade streams show the market is trading.
import type { Logger } from 'pino';
import { PING_FRAME, PONG_FRAME, WS_PATH, encodeSubscribe } from '../protocol/ls.js';
import type { CaptureTape } from './capture.js';
import type { CollectorConfig } from './config.js';
import { type ConnectionEvent, StreamSocket } from './socket.js';
import type { LsToken } from './token.js';
import type { StreamStats } from './trades.js';

export class FlowStream {
  readonly name = 'ls.bm';
  readonly channel: number;
  private readonly socket: StreamSocket;
  private oversize = 0;
  private refusals = 0;

  constructor(
    cfg: Pick<CollectorConfig, 'bmCodes' | 'ws'> & { ls: NonNullable<CollectorConfig['ls']> },
    token: LsToken,
    tape: CaptureTape,
    log: Logger,
    /** Ms since the trade streams last saw data; the BM_ stream should not be silent much longer. */
    marketSilenceMs: () => number,
    onEvent?: (stream: string, e: ConnectionEvent) => void,
  ) {
    this.channel = tape.channel({ name: this.name, vendor: 'ls', endpoint: WS_PATH, kind: 'ls.ws' });
    const softCap = cfg.ws.softCapBytes;
    const staleMs = cfg.ws.staleMs;
    this.socket = new StreamSocket({
      name: this.name,
      url: cfg.ls.wsUrl + WS_PATH,
      log,
      heartbeatMs: cfg.ws.heartbeatMs,
      staleMs,
      backoffInitialMs: cfg.ws.backoffInitialMs,
      backoffMaxMs: cfg.ws.backoffMaxMs,
      hardCapBytes: cfg.ws.hardCapBytes,
      handshake: async (send) => {
        let t: string;
        try {
          t = await token.get();
        } catch (e) {
          this.refusals++;
          throw e;
        }
        for (const code of cfg.bmCodes) {
          const frame = encodeSubscribe(t, 'BM_', code);
          tape.appendOutgoing(this.channel, frame);
          send(frame);
        }
      },
      onFrame: (data, recvNs) => {
        tape.append(this.channel, data, recvNs);
        if (data.length > softCap) this.oversize++;
        else if (data.length < 64 && data.toString('utf8') === PING_FRAME) this.socket.send(PONG_FRAME);
        else this.socket.healthy();
      },
      dataExpected: () => marketSilenceMs() < staleMs,
      onEvent: (e) => {
        tape.event(this.channel, { stream: this.name, ...e });
        onEvent?.(this.name, e);
      },
    });
  }

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
}
