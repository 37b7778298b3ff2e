// The watchlist detail feed: per-symbol subscriptions on Koscom /ws (koscom.md §6) for the
// configured symbols and presets (tick10, quote10). Koscom allows one /ws session with at most
// 200 (symbol, preset) subscriptions (§6.1; whether per key or per licence is not documented, so
// ticktape assumes the stricter reading): one session holds them all, across both markets, and
// pairs past the limit are not subscribed but reported. The pushes do not name their market, so
// the symbol → market map stays on our side: each frame goes to the journal channel of its
// symbol's market (`koscom.detail.kospi`, `koscom.detail.kosdaq`). The session re-inits and
// re-subscribes on every (re)connect, since closing it discards its subscriptions. Replies and
// errors go to a journal-only control channel.
import type { Logger } from 'pino';
import { encodeHeartbeat, encodeInit, encodeSubscription, MAX_SUBSCRIPTIONS, SUBSCRIPTION_PATH } from '../protocol/jsonrpc.js';
import { MARKETS, type Market } from '../protocol/market.js';
import type { CaptureTape } from './capture.js';
import type { CollectorConfig, DetailPreset } from './config.js';
import { endpointUrl, KOSCOM_PATHS } from './endpoints.js';
import { StreamSocket } from './socket.js';
import { type StreamConfig, type StreamEventListener, VendorStream } from './stream.js';

const INIT_ID = 1;
/** Subscribe request ids are FIRST_SUBSCRIBE_ID + the subscription's index, so a reply names it. */
const FIRST_SUBSCRIBE_ID = 2;
const SYMBOL_KEY = Buffer.from('"isuSrtCd"');
/** The symbol of a frame; the vendor may send it unquoted (koscom.md §13). */
const SYMBOL = /"isuSrtCd"\s*:\s*"?([0-9A-Za-z*]+)/;

export interface DetailSubscription {
  market: Market;
  symbol: string;
  preset: DetailPreset;
}

type DetailConfig = Pick<CollectorConfig, 'koscom' | 'watchlist' | 'watchlistPresets'> & StreamConfig;

/**
 * The detail session for the configured watchlist (none when the watchlist is empty): its
 * (symbol, preset) pairs in watchlist order, the first `limit` subscribed, the rest reported as
 * refused (a symbol's presets stay together).
 */
export function detailStreams(cfg: DetailConfig, tape: CaptureTape, log: Logger, onEvent?: StreamEventListener, limit = MAX_SUBSCRIPTIONS): DetailStream[] {
  const pairs = cfg.watchlist.flatMap((w) => cfg.watchlistPresets.map((preset) => ({ market: w.market, symbol: w.symbol, preset })));
  if (pairs.length === 0) return [];
  const fit = Math.floor(limit / cfg.watchlistPresets.length) * cfg.watchlistPresets.length;
  return [new DetailStream(pairs.slice(0, fit), pairs.slice(fit), cfg, tape, log, onEvent)];
}

export class DetailStream extends VendorStream {
  readonly name = 'koscom.detail';
  /** The data channel of the first market: connection events, our frames, frames naming no known symbol. */
  readonly channel: number;
  readonly controlChannel: number;
  protected readonly socket: StreamSocket;
  private readonly log: Logger;
  private nextId: number;
  private readonly channelOf = new Map<Market, number>();
  private readonly marketOf = new Map<string, Market>();
  /** Subscriptions the server answered with an error (unknown symbol, over the limit …), by index. */
  private readonly rejected = new Map<number, string>();

  constructor(
    readonly subscriptions: readonly DetailSubscription[],
    /** Pairs past the per-session limit: never subscribed. */
    private readonly overflow: readonly DetailSubscription[],
    cfg: Pick<CollectorConfig, 'koscom'> & StreamConfig,
    tape: CaptureTape,
    log: Logger,
    onEvent?: StreamEventListener,
  ) {
    super(tape);
    this.log = log.child({ channel: this.name });
    const url = endpointUrl(cfg.koscom.wsUrl, cfg.koscom.paths?.detail ?? KOSCOM_PATHS.detail);
    for (const s of subscriptions) this.marketOf.set(s.symbol, s.market);
    for (const market of MARKETS) {
      if (subscriptions.some((s) => s.market === market)) this.channelOf.set(market, tape.channel({ name: `${this.name}.${market}`, vendor: 'koscom', endpoint: SUBSCRIPTION_PATH, kind: 'detail', market }));
    }
    const first = subscriptions[0]?.market ?? overflow[0].market;
    this.channel = this.channelOf.get(first) ?? tape.channel({ name: `${this.name}.${first}`, vendor: 'koscom', endpoint: SUBSCRIPTION_PATH, kind: 'detail', market: first });
    this.controlChannel = tape.channel({ name: `${this.name}.control`, vendor: 'koscom', endpoint: SUBSCRIPTION_PATH, kind: 'events' });
    if (overflow.length > 0) this.log.warn({ subscribed: subscriptions.length, left: overflow.length }, `${this.name}: ${overflow.length} (symbol, preset) pairs past the ${MAX_SUBSCRIPTIONS} a /ws session may hold are not subscribed`);
    this.nextId = FIRST_SUBSCRIBE_ID + subscriptions.length;
    this.socket = new StreamSocket({
      ...this.socketOptions(url, cfg, log, onEvent),
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
          tape.append(this.dataChannel(data), data, recvNs);
          this.socket.healthy();
        } else this.control(data, recvNs);
      },
    });
  }

  /** Subscriptions the server refused, and those past the per-session limit, with the reason. */
  rejectedSubscriptions(): { symbol: string; preset: DetailPreset; reason: string }[] {
    const over = `not subscribed: past the ${MAX_SUBSCRIPTIONS} subscriptions one /ws session may hold`;
    const refused = [...this.rejected].map(([i, reason]) => ({ symbol: this.subscriptions[i].symbol, preset: this.subscriptions[i].preset, reason }));
    return [...refused, ...this.overflow.map((s) => ({ symbol: s.symbol, preset: s.preset, reason: over }))];
  }

  /** The channel of the market of the frame's symbol (the first market's for a symbol we did not subscribe). */
  private dataChannel(data: Buffer): number {
    const symbol = SYMBOL.exec(data.toString('utf8'))?.[1];
    const market = symbol === undefined ? undefined : this.marketOf.get(symbol);
    return (market !== undefined ? this.channelOf.get(market) : undefined) ?? this.channel;
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
