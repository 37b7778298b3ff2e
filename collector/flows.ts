// The LS sector investor-flow stream (BM_, ls.md §5.1): one WebSocket registering every configured
// market code with the current token (tr_type 3), re-registering after each reconnect. Every frame
// goes to the tape as received; registrations are journaled redacted.
//
// LS has no application heartbeat, so transport ping/pong proves liveness. A server that keeps
// answering pings but stopped sending is caught by a second rule that still ignores lulls: the BM_
// stream is expected to carry data only while the trade streams show the market is trading.
//
// Control frames (LS documents none on the socket, ls.md §4.2) are read, never fatal: a PING
// (`header.tr_id`) is answered with PONG; an authentication error drops the cached token and
// reconnects, registering with a new one; anything else unrecognised is journaled and counted.
import type { Logger } from 'pino';
import { PING, PONG_FRAME, RSP_OK, WS_PATH, decodePush, encodeSubscribe, isAuthError } from '../protocol/ls.js';
import type { CaptureTape } from './capture.js';
import type { CollectorConfig } from './config.js';
import { endpointUrl, LS_PATHS } from './endpoints.js';
import { StreamSocket } from './socket.js';
import { type StreamConfig, type StreamEventListener, VendorStream } from './stream.js';
import type { LsToken } from './token.js';

/** The TR this stream registers; pushes of any other TR are unknown frames. */
const TR_CD = 'BM_';

export class FlowStream extends VendorStream {
  readonly name = 'ls.bm';
  readonly channel: number;
  protected readonly socket: StreamSocket;
  private readonly log: Logger;
  /** The token the current socket registered with. */
  private token: string | undefined;
  /** Kinds of unknown frame already logged (each is logged once, then only counted). */
  private readonly unknownSeen = new Set<string>();

  constructor(
    cfg: Pick<CollectorConfig, 'bmCodes'> & StreamConfig & { ls: NonNullable<CollectorConfig['ls']> },
    private readonly tokens: Pick<LsToken, 'get' | 'invalidate'>,
    tape: CaptureTape,
    log: Logger,
    /** Ms since the trade streams last saw data; the BM_ stream should not be silent much longer. */
    marketSilenceMs: () => number,
    onEvent?: StreamEventListener,
  ) {
    super(tape);
    this.log = log.child({ channel: this.name });
    this.channel = tape.channel({ name: this.name, vendor: 'ls', endpoint: WS_PATH, kind: 'ls.ws' });
    const softCap = cfg.ws.softCapBytes;
    const staleMs = cfg.ws.staleMs;
    this.socket = new StreamSocket({
      ...this.socketOptions(endpointUrl(cfg.ls.wsUrl, cfg.ls.paths?.websocket ?? LS_PATHS.websocket), cfg, log, onEvent),
      handshake: async (send) => {
        let t: string;
        try {
          t = await tokens.get();
        } catch (e) {
          this.refusals++;
          throw e;
        }
        this.token = t;
        for (const code of cfg.bmCodes) {
          const frame = encodeSubscribe(t, TR_CD, code);
          tape.appendOutgoing(this.channel, frame);
          send(frame);
        }
      },
      onFrame: (data, recvNs) => {
        tape.append(this.channel, data, recvNs);
        if (data.length > softCap) this.oversize++;
        else this.read(data.toString('utf8'));
      },
      dataExpected: () => marketSilenceMs() < staleMs,
    });
  }

  /** Acts on what a frame says; the tape has journaled it already (and quarantines it if bad). */
  private read(text: string): void {
    const push = decodePush(text);
    if (!push.ok) return;
    const p = push.value;
    if (p.kind === 'data') {
      if (p.trCd === TR_CD) this.socket.healthy();
      else this.unknown(`push of ${p.trCd}`);
      return;
    }
    const c = p.control;
    if (c.trId === PING) {
      this.tape.appendOutgoing(this.channel, PONG_FRAME);
      this.socket.send(PONG_FRAME);
    } else if (isAuthError(c)) {
      this.refusals++;
      if (this.token !== undefined) this.tokens.invalidate(this.token);
      this.socket.refuse(`LS refused the token: ${c.rspMsg ?? ''} (rsp_cd ${c.rspCd})`);
    } else if (c.rspCd !== RSP_OK) this.unknown(c.rspCd === undefined ? `control frame with header ${Object.keys(p.header).join(', ')}` : `rsp_cd ${c.rspCd} (${c.rspMsg ?? ''})`);
  }

  private unknown(what: string): void {
    this.unknownFrames++;
    if (this.unknownSeen.has(what)) return;
    this.unknownSeen.add(what);
    this.log.warn(`${this.name}: unknown frame kept in the journal: ${what}`);
  }
}
