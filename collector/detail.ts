// The watchlist detail feed: per-symbol subscriptions on Koscom /ws (koscom.md §6) for the
// configured symbols and presets (tick10, quote10). A session holds at most 200 (symbol, preset)
// subscriptions, so the list is sharded over as many sessions as that needs, one market per
// session: the journal channel then names the market, which the pushes themselves do not carry.
// Each session re-inits and re-subscribes on every (re)connect, since closing a session discards
// its subscriptions. Frames carrying a symbol (pushes, and a snapshot sent as a subscribe result)
// go to the tape as received; replies and errors go to a journal-only control channel.
import type { Logger } from 'pino';
import { encodeHeartbeat, encodeInit, encodeSubscription, MAX_SUBSCRIPTIONS, SUBSCRIPTION_PATH } from '../protocol/jsonrpc.js';
import { MARKETS, type Market } from '../protocol/market.js';
import type { CaptureTape } from './capture.js';
import type { CollectorConfig, DetailPreset } from './config.js';
import { StreamSocket } from './socket.js';
import { type StreamConfig, type StreamEventListener, VendorStream } from './stream.js';

const INIT_ID = 1;
/** Subscribe request ids are FIRST_SUBSCRIBE_ID + the subscription's index, so a reply names it. */
const FIRST_SUBSCRIBE_ID = 2;
const SYMBOL_KEY = Buffer.from('"isuSrtCd"');

export interface DetailSubscription {
  symbol: string;
  preset: DetailPreset;
}

type DetailConfig = Pick<CollectorConfig, 'koscom' | 'watchlist' | 'watchlistPresets'> & StreamConfig;

/**
 * The detail sessions for the configured watchlist: per market, its (symbol, preset) pairs in
 * runs of `perSession` (a symbol's presets stay in one session). Empty when the watchlist is.
 */
export function detailStreams(cfg: DetailConfig, tape: CaptureTape, log: Logger, onEvent?: StreamEventListener, perSession = MAX_SUBSCRIPTIONS): DetailStream[] {
  const out: DetailStream[] = [];
  for (const market of MARKETS) {
    const subs = cfg.watchlist.filter((w) => w.market === market).flatMap((w) => cfg.watchlistPresets.map((preset) => ({ symbol: w.symbol, preset })));
    for (let i = 0, n = 0; i < subs.length; i += perSession, n++) out.push(new DetailStream(market, n, subs.slice(i, i + perSession), cfg, tape, log, onEvent));
  }
  return out;
}

export class DetailStream extends VendorStream {
  readonly name: string;
  readonly channel: number;
  readonly controlChannel: number;
  protected readonly socket: StreamSocket;
  private readonly log: Logger;
  private nextId: number;
  /** Subscriptions the server answered with an error (unknown symbol, over the limit …), by index. */
  private readonly rejected = new Map<number, string>();

  constructor(
    readonly market: Market,
    index: number,
    readonly subscriptions: readonly DetailSubscription[],
    cfg: Pick<CollectorConfig, 'koscom'> & StreamConfig,
    tape: CaptureTape,
    log: Logger,
    onEvent?: StreamEventListener,
  ) {
    super(tape);
    this.name = `koscom.detail.${market}.${index}`;
    this.log = log.child({ channel: this.name });
    this.channel = tape.channel({ name: this.name, vendor: 'koscom', endpoint: SUBSCRIPTION_PATH, kind: 'detail', market });
    this.controlChannel = tape.channel({ name: `${this.name}.control`, vendor: 'koscom', endpoint: SUBSCRIPTION_PATH, kind: 'events', market });
    this.nextId = FIRST_SUBSCRIBE_ID + subscriptions.length;
    this.socket = new StreamSocket({
      ...this.socketOptions(cfg.koscom.wsUrl + SUBSCRIPTION_PATH, cfg, log, onEvent),
      handshake: (send) => {
        const init = encodeInit(INIT_ID, cfg.koscom.apiKey, cfg.koscom.member);
        tape.appendOutgoing(this.channel, init);
        send(init);
        // The server handles a socket's requests in order, so the subscribes need not wait for the init reply.
        this.subscriptions.forEach((s, i) => {
          const frame = encodeSubscription(FIRST_SUBSCRIBE_ID + i, 'subscribe', s.preset, s.symbol);
          tape.appendOutgoing(this.channel, frame);
          send(frame);
        });
      },
      heartbeatFrame: () => encodeHeartbeat(this.nextId++),
      onFrame: (data, recvNs) => {
        if (data.includes(SYMBOL_KEY)) {
          tape.append(this.channel, data, recvNs);
          this.socket.healthy();
        } else this.control(data, recvNs);
      },
    });
  }

  /** Subscriptions the server refused, with its reason (the rest of the session goes on). */
  rejectedSubscriptions(): { symbol: string; preset: DetailPreset; reason: string }[] {
    return [...this.rejected].map(([i, reason]) => ({ ...this.subscriptions[i], reason }));
  }

  /** An init reply proves the session; an error refuses one subscription, or the whole session. */
  private control(data: Buffer, recvNs: bigint): void {
    const msg = this.controlFrame(this.controlChannel, data, recvNs);
    if (msg === undefined || this.heartbeat(msg, (id) => id >= FIRST_SUBSCRIBE_ID + this.subscriptions.length)) return;
    if (msg.kind === 'result' && msg.id === INIT_ID) this.socket.healthy();
    else if (msg.kind === 'error') {
      const sub = msg.id === undefined ? -1 : msg.id - FIRST_SUBSCRIBE_ID;
      if (sub >= 0 && sub < this.subscriptions.length) {
        const reason = `${msg.message} (code ${msg.code})`;
        if (!this.rejected.has(sub)) this.log.warn({ ...this.subscriptions[sub], code: msg.code }, `${this.name}: subscription ${this.subscriptions[sub].preset} ${this.subscriptions[sub].symbol} refused: ${reason}`);
        this.rejected.set(sub, reason);
      } else {
        // An error to init, or without a request id: the session itself was refused.
        this.refusals++;
        this.socket.refuse(`Koscom refused the session: ${msg.message} (code ${msg.code})`);
      }
    }
  }
}
