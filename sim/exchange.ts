// The local exchange: one HTTP server on 127.0.0.1 serving Koscom REST, LS OAuth, and the
// WebSocket endpoints (/ws_ksp, /ws_kdq, /ws, /websocket) path-routed on the same port, all fed by
// one synthetic market. A step timer advances the market along the session clock and streams what
// it generated; in throughput mode (`maxRate`) the trade streams instead emit as fast as the
// sockets drain.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_SUBSCRIPTIONS, MAX_SUBSCRIPTIONS_SANDBOX, SUBSCRIPTION_PATH } from '../protocol/jsonrpc.js';
import { TRADE_STREAM_PATH, MAX_TRADES_PER_FRAME, type WireTrade, codeMsOfDay, encodeTradeFrame, isBlockTradeCode } from '../protocol/koscom.js';
import { TOKEN_PATH } from '../protocol/ls-rest.js';
import { WS_PATH as LS_WS_PATH } from '../protocol/ls.js';
import { MARKETS, type Market } from '../protocol/market.js';
import { formatHhmmsscc, type TradingDay } from '../protocol/time.js';
import { type Credentials, type ExchangeStats, type SimContext, emptyStats } from './context.js';
import { type Faults, NO_FAULTS } from './faults.js';
import { KoscomRest } from './koscom-rest.js';
import { KoscomStreams } from './koscom-ws.js';
import { LsEndpoints } from './ls.js';
import { DEFAULT_MARKET, SyntheticMarket, TradeTape } from './market.js';
import { Random } from './random.js';
import { CLOSE_MS, SessionClock, type SessionState } from './session.js';
import { type TruthRecord, TruthLog } from './truth.js';

export interface ExchangeOptions {
  /** Seed of the market (universe, prices, trades) and of the credentials. */
  seed: number;
  kospiSymbols: number;
  kosdaqSymbols: number;
  /** Expected trades over the whole session, both markets (paced mode). */
  tradesPerDay: number;
  /** Wall-clock length of 09:00–15:30; 0 = real time on the KST clock. */
  dayLengthMs: number;
  /** Compressed mode: wall-clock ms from start to 09:00 (REST answers, streams silent). */
  preOpenMs: number;
  /** Trading day, YYYY-MM-DD; default: today in KST. */
  date?: TradingDay;
  /** Initial fault switches; change them at run time through `Exchange.faults`. */
  faults: Partial<Faults>;
  /** REST calls per UTC day before HTTP 429 (Koscom's documented 50,000). */
  quotaPerDay: number;
  /** Throughput mode: stream trades as fast as the sockets take them. */
  maxRate: boolean;
  /** NDJSON ground-truth file. */
  truthFile?: string;
  /** Keep the ground truth in memory for `truth()`; default on, except in throughput mode. */
  keepTruth: boolean;
  /** Called with every ground-truth record as it is generated. */
  onTruth?: (r: TruthRecord) => void;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Koscom sandbox limit of 20 /ws subscriptions instead of 200. */
  sandbox: boolean;
  /** Send the simulator-only LS register/release ack frame. */
  lsAck: boolean;
  /** Generation and streaming step, ms (frames go out at most this far apart; ≤ 500). */
  stepMs: number;
  /** Cadence of BM_ flows and IJ_ index pushes, ms. */
  flowIntervalMs: number;
  logger?: Logger;
}

export const DEFAULT_EXCHANGE: ExchangeOptions = {
  seed: DEFAULT_MARKET.seed,
  kospiSymbols: DEFAULT_MARKET.kospiSymbols,
  kosdaqSymbols: DEFAULT_MARKET.kosdaqSymbols,
  tradesPerDay: DEFAULT_MARKET.tradesPerDay,
  dayLengthMs: 60_000,
  preOpenMs: 2_000,
  faults: {},
  quotaPerDay: 50_000,
  maxRate: false,
  keepTruth: true,
  host: '127.0.0.1',
  port: 0,
  sandbox: false,
  lsAck: false,
  stepMs: 100,
  flowIntervalMs: 1_000,
};

export interface Exchange {
  /** `http://127.0.0.1:PORT`; clients append the documented paths. */
  koscomRestUrl: string;
  /** `ws://127.0.0.1:PORT`; clients append /ws_ksp, /ws_kdq or /ws. */
  koscomWsUrl: string;
  /** `http://127.0.0.1:PORT`; clients append /oauth2/token. */
  lsRestUrl: string;
  /** `ws://127.0.0.1:PORT`; clients append /websocket. */
  lsWsUrl: string;
  port: number;
  credentials: Credentials;
  day: TradingDay;
  /** Wall-clock instants (epoch ms) of 09:00, 15:30 and 15:40 (closeprice available) on the market clock. */
  openAt: number;
  closeAt: number;
  closeDataAt: number;
  sessionState(): SessionState;
  /** KST ms since midnight on the market clock now. */
  marketTime(): number;
  /** Live switches: assign to change them while the exchange runs. */
  faults: Faults;
  market: SyntheticMarket;
  /** Live counters. */
  stats: ExchangeStats;
  /** Every trade and flow generated so far (empty when keepTruth is off). */
  truth(): readonly TruthRecord[];
  /** Resolves once the session has closed and its last trades and flows went out. */
  sessionEnded: Promise<void>;
  /** Stops everything, closes all connections, flushes the truth file. */
  close(): Promise<void>;
}

/** Throughput mode stops feeding a socket whose send buffer is above this. */
const HIGH_WATER = 4 * 1024 * 1024;
/** Throughput mode: frames per market before yielding to the event loop. */
const FRAMES_PER_TURN = 64;

export async function startExchange(opts: Partial<ExchangeOptions> = {}): Promise<Exchange> {
  const o: ExchangeOptions = { ...DEFAULT_EXCHANGE, keepTruth: !opts.maxRate, ...opts };
  if (o.stepMs <= 0 || o.stepMs > 500) throw new RangeError(`stepMs: ${o.stepMs}, expected 1..500 (frames at most 500 ms apart)`);
  const log = o.logger ?? pino({ level: 'silent' });
  const startMs = Date.now();
  const clock = new SessionClock({ day: o.date, startMs, preOpenMs: o.preOpenMs, dayLengthMs: o.dayLengthMs });
  const market = new SyntheticMarket({ seed: o.seed, kospiSymbols: o.kospiSymbols, kosdaqSymbols: o.kosdaqSymbols, tradesPerDay: o.tradesPerDay });
  const seedRng = new Random(o.seed ^ 0x51f15eed);
  const ctx: SimContext = {
    market, clock, log,
    faults: { ...NO_FAULTS, ...o.faults },
    credentials: syntheticCredentials(seedRng),
    stats: emptyStats(),
    faultRng: seedRng.fork(),
    maxSubscriptions: o.sandbox ? MAX_SUBSCRIPTIONS_SANDBOX : MAX_SUBSCRIPTIONS,
    quotaPerDay: o.quotaPerDay,
    lsAck: o.lsAck,
  };
  const truth = new TruthLog({ file: o.truthFile, keep: o.keepTruth, onRecord: o.onTruth });
  const rest = new KoscomRest(ctx);
  const koscom = new KoscomStreams(ctx);
  const ls = new LsEndpoints(ctx);
  const session = new Session(ctx, o, koscom, ls, truth);

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = trimSlash(url.pathname);
    if (path === TOKEN_PATH) ls.handleToken(req, res);
    else rest.handle(req, res, path, url.searchParams);
  });
  const routes: Record<string, (ws: WebSocket) => void> = {
    [TRADE_STREAM_PATH.kospi]: (ws) => koscom.acceptTradeStream(ws, 'kospi'),
    [TRADE_STREAM_PATH.kosdaq]: (ws) => koscom.acceptTradeStream(ws, 'kosdaq'),
    [SUBSCRIPTION_PATH]: (ws) => koscom.acceptSubscriptions(ws),
    [LS_WS_PATH]: (ws) => ls.accept(ws),
  };
  server.on('upgrade', (req, socket, head) => {
    const route = routes[trimSlash(new URL(req.url ?? '/', 'http://sim').pathname)];
    if (!route) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ctx.stats.connections++;
      ws.on('error', (err) => log.debug({ err: err.message }, 'websocket error'));
      route(ws);
      session.kick();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  session.start();
  log.info({ port, day: clock.day, openAt: new Date(clock.openAt).toISOString(), closeAt: new Date(clock.closeAt).toISOString() }, 'sim exchange listening');

  let closing: Promise<void> | undefined;
  return {
    koscomRestUrl: `http://${host}:${port}`,
    koscomWsUrl: `ws://${host}:${port}`,
    lsRestUrl: `http://${host}:${port}`,
    lsWsUrl: `ws://${host}:${port}`,
    port,
    credentials: ctx.credentials,
    day: clock.day,
    openAt: clock.openAt,
    closeAt: clock.closeAt,
    closeDataAt: clock.closeDataAt,
    sessionState: () => clock.state(Date.now()),
    marketTime: () => clock.msOfDay(Date.now()),
    get faults() {
      return ctx.faults;
    },
    set faults(f: Faults) {
      ctx.faults = { ...NO_FAULTS, ...f };
    },
    market,
    stats: ctx.stats,
    truth: () => truth.records(),
    sessionEnded: session.ended,
    close: () =>
      (closing ??= (async () => {
        session.stop();
        for (const ws of wss.clients) ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await truth.close();
      })()),
  };
}

/** Drives the market along the session clock and streams what it generates. */
class Session {
  readonly ended: Promise<void>;
  private endSession!: () => void;
  private timer: NodeJS.Timeout | undefined;
  private state: SessionState = 'pre-open';
  private lastFlowAt = 0;
  private closeArmedAt = Date.now();
  private readonly tapes: Record<Market, TradeTape> = { kospi: new TradeTape(), kosdaq: new TradeTape() };
  /** Reused frame elements: encoding a frame allocates only its string. */
  private readonly wire: WireTrade[] = Array.from({ length: MAX_TRADES_PER_FRAME }, () => ({ symbol: '', price: 0, qty: 0, msOfDay: 0 }));
  private readonly pumping: Record<Market, boolean> = { kospi: false, kosdaq: false };
  private stopped = false;

  constructor(
    private readonly ctx: SimContext,
    private readonly o: ExchangeOptions,
    private readonly koscom: KoscomStreams,
    private readonly ls: LsEndpoints,
    private readonly truth: TruthLog,
  ) {
    this.ended = new Promise((resolve) => (this.endSession = resolve));
  }

  start(): void {
    const now = Date.now();
    // Started mid-session or later (real-time mode): the day's market begins now, not at 09:00.
    if (this.ctx.clock.state(now) !== 'pre-open') this.ctx.market.skipTo(this.ctx.clock.msOfDay(now));
    this.timer = setInterval(() => this.step(), this.o.stepMs);
    this.step();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.endSession();
  }

  /** A client connected: start throughput pumping at once rather than at the next step. */
  kick(): void {
    if (this.o.maxRate && this.state === 'open') for (const m of MARKETS) this.pump(m);
  }

  private step(): void {
    const { clock, market, faults } = this.ctx;
    const now = Date.now();
    const state = clock.state(now);
    if (this.state === 'closed') return;
    if (state !== 'pre-open' && this.state === 'pre-open') {
      this.state = 'open';
      this.ls.sessionEvent('21', now);
      if (faults.signalCodes) for (const m of MARKETS) this.signalFrame(m, OPEN_SIGNALS, now);
    }
    if (this.state === 'open') {
      const msOfDay = state === 'closed' ? CLOSE_MS : clock.msOfDay(now);
      if (!this.o.maxRate) {
        market.advance(msOfDay, this.tapes);
        for (const m of MARKETS) this.stream(m, this.tapes[m], now);
      } else for (const m of MARKETS) this.pump(m);
      if (state === 'closed' || now - this.lastFlowAt >= this.o.flowIntervalMs) {
        this.lastFlowAt = now;
        this.flows(msOfDay, now);
      }
      if (state === 'closed') {
        if (faults.signalCodes) for (const m of MARKETS) this.signalFrame(m, CLOSE_SIGNALS, now);
        this.state = 'closed';
        this.ls.sessionEvent('41', now);
        this.truth.flush();
        this.ctx.log.info({ trades: this.ctx.stats.tradesGenerated }, 'session closed');
        this.endSession();
      }
    }
    this.koscom.serverHeartbeats(now);
    this.ls.faultTick(now);
    if (faults.closeEveryMs <= 0) this.closeArmedAt = now;
    else if (now - this.closeArmedAt >= faults.closeEveryMs) {
      this.closeArmedAt = now;
      this.koscom.dropAll();
      this.ls.dropAll();
    }
  }

  private flows(msOfDay: number, now: number): void {
    const flows = this.ctx.market.flows.emit(msOfDay);
    this.ctx.stats.flowsGenerated += flows.length;
    if (this.truth.active) for (const f of flows) this.truth.add({ ch: 'flow', ...f });
    this.ls.broadcastFlows(flows, now);
    this.ls.pushIndices(msOfDay, now);
  }

  /** Ground truth, drop fault, per-symbol pushes and /ws_ksp /ws_kdq frames for one tape of trades. */
  private stream(m: Market, tape: TradeTape, now: number): void {
    const { ctx, koscom, ls, truth, wire } = this;
    const { market, faults, stats } = ctx;
    const issues = market.issues;
    const streaming = koscom.hasTradeClients(m);
    const cumulative = faults.cumulativeTrdVol;
    let n = 0;
    for (let k = 0; k < tape.length; k++) {
      const i = tape.issue[k];
      const issue = issues[i];
      const drop = faults.dropRate > 0 && ctx.faultRng.next() < faults.dropRate;
      const ms = tape.msOfDay[k];
      if (truth.active) {
        truth.add({ ch: 'trade', market: m, symbol: issue.symbol, price: tape.price[k], qty: tape.qty[k], trdTm: formatHhmmsscc(ms), sent: !drop });
      }
      if (drop) stats.tradesDropped++;
      else {
        stats.tradesStreamed++;
        if (streaming) {
          const w = wire[n++];
          w.symbol = issue.symbol;
          w.price = tape.price[k];
          w.qty = cumulative ? tape.accVolume[k] : tape.qty[k];
          w.msOfDay = ms;
          if (n === MAX_TRADES_PER_FRAME) {
            this.sendFrame(m, n, now);
            n = 0;
          }
        }
      }
      if (koscom.watched[i] > 0) koscom.onTrade(i, tape.price[k], tape.qty[k], tape.accVolume[k], tape.accValue[k], ms, now);
      if (ls.watched[i] > 0) ls.onTrade(issue, tape.price[k], tape.qty[k], tape.accVolume[k], tape.accValue[k], ms, now);
    }
    if (n > 0) this.sendFrame(m, n, now);
    stats.tradesGenerated += tape.length;
    tape.length = 0;
  }

  /** Signal-codes fault: one frame of `codes`, one per symbol from the market's first, block trades with a price and quantity. */
  private signalFrame(m: Market, codes: readonly number[], now: number): void {
    const { market } = this.ctx;
    const issues = market.byMarket[m];
    const sent = this.koscom.hasTradeClients(m);
    const wire = codes.map((code, i) => {
      const issue = issues[i % issues.length];
      const block = isBlockTradeCode(code);
      const w = { symbol: issue.symbol, price: market.last[issue.index], qty: block ? 1_000 * (i + 1) : 0, msOfDay: codeMsOfDay(code) };
      if (this.truth.active) this.truth.add({ ch: 'signal', market: m, symbol: w.symbol, code, price: w.price, qty: w.qty, sent });
      return w;
    });
    this.koscom.broadcastTrades(m, encodeTradeFrame(wire), wire[0].symbol, wire[0].msOfDay, now);
  }

  private sendFrame(m: Market, n: number, now: number): void {
    const trades = n === MAX_TRADES_PER_FRAME ? this.wire : this.wire.slice(0, n);
    this.koscom.broadcastTrades(m, encodeTradeFrame(trades), trades[0].symbol, trades[0].msOfDay, now);
    this.ctx.stats.tradeFrames++;
  }

  /** Throughput mode: frames of 50 fresh trades for as long as every client of the market keeps up. */
  private pump(m: Market): void {
    if (this.pumping[m]) return;
    this.pumping[m] = true;
    const turn = () => {
      const { clock, market } = this.ctx;
      const now = Date.now();
      if (this.stopped || clock.state(now) !== 'open' || !this.koscom.hasTradeClients(m)) {
        this.pumping[m] = false;
        return;
      }
      const ms = clock.msOfDay(now);
      const tape = this.tapes[m];
      this.koscom.cork(m, true);
      for (let f = 0; f < FRAMES_PER_TURN && !this.koscom.backpressured(m, HIGH_WATER); f++) {
        for (let k = 0; k < MAX_TRADES_PER_FRAME; k++) market.trade(m, ms, tape);
        this.stream(m, tape, now);
      }
      this.koscom.cork(m, false);
      if (this.koscom.backpressured(m, HIGH_WATER)) setTimeout(turn, 1);
      else setImmediate(turn);
    };
    turn();
  }
}

/** `trdTm` codes of the signal-codes fault (koscom.md §4): block trades 장전/장중/장후, then the session signals. */
const OPEN_SIGNALS: readonly number[] = [51000000];
const CLOSE_SIGNALS: readonly number[] = [61000000, 71000000, 31000000, 41000000, 81000000, 91000007, 91000008];

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** Credentials in the vendors' formats (Koscom `l7xx…` 36 chars; LS 36-char app key and secret), drawn from the seed. */
function syntheticCredentials(rng: Random): Credentials {
  const draw = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[rng.int(alphabet.length)]).join('');
  const hex = '0123456789abcdef';
  const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return {
    koscomApiKey: `l7xx${draw(hex, 32)}`,
    koscomMember: 'ticktape-sim',
    lsAppKey: `PS${draw(alnum, 34)}`,
    lsAppSecret: draw(alnum, 36),
  };
}
