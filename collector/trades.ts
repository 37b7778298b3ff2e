// The Koscom market-wide trade stream of one market (/ws_ksp, /ws_kdq; koscom.md §7): init with
// the key, then every frame goes to the tape exactly as received. Trade frames are bare JSON
// arrays; anything else is the JSON-RPC control traffic (init and heartbeat replies, errors),
// which this class reads to tell a working session from a refused one.
import type { Logger } from 'pino';
import { encodeHeartbeat, encodeInit } from '../protocol/jsonrpc.js';
import type { Market } from '../protocol/market.js';
import type { CaptureTape } from './capture.js';
import type { CollectorConfig } from './config.js';
import { endpointUrl, KOSCOM_PATHS } from './endpoints.js';
import { StreamSocket } from './socket.js';
import { type StreamConfig, type StreamEventListener, VendorStream } from './stream.js';

const OPEN_BRACKET = 0x5b;
const INIT_ID = 1;

export class TradeStream extends VendorStream {
  readonly name: string;
  readonly channel: number;
  /** Journal-only channel of the JSON-RPC replies on the same socket. */
  readonly controlChannel: number;
  protected readonly socket: StreamSocket;
  private readonly log: Logger;
  /** Wall-clock ms of the last trade frame (0 = none yet); heartbeat replies do not count. */
  lastDataMs = 0;
  private nextId = INIT_ID + 1;

  constructor(
    readonly market: Market,
    cfg: Pick<CollectorConfig, 'koscom'> & StreamConfig,
    tape: CaptureTape,
    log: Logger,
    onEvent?: StreamEventListener,
  ) {
    super(tape);
    const url = endpointUrl(cfg.koscom.wsUrl, cfg.koscom.paths?.trades ?? KOSCOM_PATHS.trades, market);
    const endpoint = new URL(url).pathname;
    this.name = `koscom.trades.${market}`;
    this.log = log.child({ channel: this.name });
    this.channel = tape.channel({ name: this.name, vendor: 'koscom', endpoint, kind: 'trades', market });
    this.controlChannel = tape.channel({ name: `${this.name}.control`, vendor: 'koscom', endpoint, kind: 'events', market });
    const softCap = cfg.ws.softCapBytes;
    this.socket = new StreamSocket({
      ...this.socketOptions(url, cfg, log, onEvent),
      handshake: (send) => {
        const init = encodeInit(INIT_ID, cfg.koscom.apiKey, cfg.koscom.member);
        tape.appendOutgoing(this.channel, init);
        send(init);
      },
      heartbeatFrame: () => encodeHeartbeat(this.nextId++),
      onFrame: (data, recvNs) => {
        if (data.length > softCap) {
          this.oversize++;
          this.log.warn({ bytes: data.length, softCap }, `${this.name}: frame above the soft cap, handed to quarantine`);
          tape.append(this.channel, data, recvNs);
        } else if (firstByte(data) === OPEN_BRACKET) {
          tape.append(this.channel, data, recvNs);
          this.lastDataMs = Date.now();
          this.socket.healthy();
        } else this.control(data, recvNs);
      },
    });
  }

  /**
   * A JSON-RPC frame (init/heartbeat reply, server heartbeat, error) tells a working session from
   * a refused one. Nothing here is required: an init nobody answers is fine, trades prove the session.
   */
  private control(data: Buffer, recvNs: bigint): void {
    const msg = this.controlFrame(this.controlChannel, data, recvNs);
    if (msg === undefined || this.heartbeat(msg, (id) => id > INIT_ID)) return;
    if (msg.kind === 'result' && msg.id === INIT_ID) this.socket.healthy();
    else if (msg.kind === 'error') {
      // Koscom documents no error for a bad key on the socket; an error right after init means
      // the session was refused, and retrying at full speed would only be refused again.
      this.refusals++;
      this.socket.refuse(`Koscom refused the session: ${msg.message} (code ${msg.code})`);
    }
  }
}

function firstByte(b: Buffer): number {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return -1;
}
