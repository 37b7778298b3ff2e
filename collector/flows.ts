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
import { StreamSocket } from './socket.js';
import { type StreamConfig, type StreamEventListener, VendorStream } from './stream.js';
import type { LsToken } from './token.js';

export class FlowStream extends VendorStream {
  readonly name = 'ls.bm';
  readonly channel: number;
  protected readonly socket: StreamSocket;

  constructor(
    cfg: Pick<CollectorConfig, 'bmCodes'> & StreamConfig & { ls: NonNullable<CollectorConfig['ls']> },
    token: LsToken,
    tape: CaptureTape,
    log: Logger,
    /** Ms since the trade streams last saw data; the BM_ stream should not be silent much longer. */
    marketSilenceMs: () => number,
    onEvent?: StreamEventListener,
  ) {
    super(tape);
    this.channel = tape.channel({ name: this.name, vendor: 'ls', endpoint: WS_PATH, kind: 'ls.ws' });
    const softCap = cfg.ws.softCapBytes;
    const staleMs = cfg.ws.staleMs;
    this.socket = new StreamSocket({
      ...this.socketOptions(cfg.ls.wsUrl + WS_PATH, cfg, log, onEvent),
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
    });
  }
}
