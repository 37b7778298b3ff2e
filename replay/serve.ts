// `replay serve`: a local server that speaks the vendors' own protocols and plays a recorded day
// through them, so an unchanged collector (or any Koscom / LS client) connects to it as if live.
//   Koscom  WS /ws_ksp /ws_kdq   init → OK, then bare arrays of ≤ 50 trades as recorded
//           REST stock lists, multiquote lists / ohlclists: the snapshot recorded at the session time
//   LS      POST /oauth2/token → a replay token; WS /websocket: BM_ register by market code,
//           pushes as recorded
// From the journal, frames go out byte-identical; from SQLite/Arrow they are re-encoded.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { BLOCK_TRADE_CODE_OF, codeMsOfDay, encodeTradeFrame, MAX_TRADES_PER_FRAME, type WireTrade } from '../protocol/koscom.js';
import { encodeOhlcLists, encodeQuoteLists, encodeStockList, encodeGatewayError, GATEWAY_MESSAGE } from '../protocol/koscom-rest.js';
import { encodeSectorFlowPush } from '../protocol/ls.js';
import type { Listing, Market } from '../protocol/market.js';
import { kstMidnight, kstMsOfDay } from '../protocol/time.js';
import { frameRoute, SERVED_STREAMS, VendorEndpoints, type MarketDataRequest, type ServedStream } from '../publish/vendor-endpoints.js';
import type { FrameEvent, ReplayEvent, SnapshotEvent, TradeEvent } from './event.js';
import { replay, type Replay, type ReplayOptions } from './index.js';
import { defaultSource, readListings } from './source.js';
import { dayJournals, readChannels } from '../storage/journal.js';

export { SERVED_STREAMS, type ServedStream };

export interface ServeOptions extends Omit<ReplayOptions, 'channels' | 'beforeWait'> {
  /** 0 = any free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  logger: Logger;
  /**
   * The replay starts once each of these has a client (Koscom: after init; LS: after a BM_
   * register). Default: once every client that connected within CLIENT_SETTLE_MS of the last is.
   */
  waitFor?: readonly ServedStream[];
  /** Start anyway after this long without all of `waitFor` (ms). Default 30 s; 0 = start at once. */
  startTimeoutMs?: number;
}

export interface ReplayServer {
  /** Base URL, `http://127.0.0.1:<port>` (WebSocket clients use the `ws://` form). */
  url: string;
  port: number;
  /** Resolves when the recorded day has been played out (the server keeps answering). */
  done: Promise<void>;
  replay: Replay;
  close(): Promise<void>;
}

/** Once every waited-for stream has a client, let the remaining registrations of a burst land. */
const SETTLE_MS = 300;
/** With no `waitFor`: start when no client has connected or become ready for this long (and one is ready). */
const CLIENT_SETTLE_MS = 1000;
export const SETTLE_SECONDS = CLIENT_SETTLE_MS / 1000;
/** While waiting for clients, say what is still missing this often. */
const WAIT_LOG_MS = 5000;
/** Pause the replay while a client has more than this queued: the pace of the slowest consumer. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

interface SnapshotState {
  takenNs: bigint;
  rows: SnapshotEvent[];
}

export async function startReplayServer(options: ServeOptions): Promise<ReplayServer> {
  const log = options.logger;
  if (options.day === undefined) throw new RangeError('replay serve plays one day: give day');
  const day = options.day;
  const source = options.source ?? defaultSource(options.dataDir, day);
  const journal = source === 'journal';
  const rp = replay({ ...options, source, channels: journal ? ['frames'] : ['trades', 'snapshots', 'sector_flows'], beforeWait: () => flush() });

  const listings: Partial<Record<Market, Listing[]>> = {};
  const snapshots: Partial<Record<Market, SnapshotState>> = {};
  /** Journal source: the REST bodies recorded so far, by request path (the latest answers). */
  const restBodies = new Map<string, string>();

  let startNow: () => void = () => {};
  const started = new Promise<void>((resolve) => (startNow = resolve));
  const waitFor = options.waitFor === undefined ? undefined : new Set(options.waitFor);
  let settleTimer: NodeJS.Timeout | undefined;
  const endpoints = new VendorEndpoints({ log, name: 'replay serve', answer, onClientsChanged: () => checkStart() });
  const hasClient = (s: ServedStream): boolean => endpoints.hasClient(s);
  const readyStreams = (): ServedStream[] => endpoints.readyStreams();
  const pending = endpoints.pending;
  const checkStart = (): void => {
    clearTimeout(settleTimer);
    if (waitFor !== undefined) {
      if ([...waitFor].every(hasClient)) settleTimer = setTimeout(startNow, SETTLE_MS).unref();
    } else if (pending.size === 0 && readyStreams().length > 0) settleTimer = setTimeout(startNow, CLIENT_SETTLE_MS).unref();
  };
  /** What the replay still waits for, in words. */
  const waitingFor = (): string => {
    if (waitFor !== undefined) return `clients on ${[...waitFor].filter((s) => !hasClient(s)).join(', ') || 'nothing (settling)'}`;
    if (pending.size > 0) return `${pending.size} connected client(s) to init or register`;
    return readyStreams().length > 0 ? `${SETTLE_SECONDS} s without a new client` : 'a first client (Koscom /ws_ksp or /ws_kdq, LS /websocket)';
  };

  /** REST: the latest recorded answer; else (SQLite/Arrow) the stored stock list or the snapshot at the session time. */
  async function answer({ path, market, multiquote, list }: MarketDataRequest): Promise<{ status?: number; body: string }> {
    await seeded;
    const recorded = restBodies.get(path);
    if (recorded !== undefined) return { body: recorded };
    if (!multiquote) {
      if (list !== 'lists') return { status: 404, body: encodeGatewayError(GATEWAY_MESSAGE.noRoute) };
      listings[market] ??= readListings(options.dataDir, day, market) ?? listingsFromSnapshot(market);
      return { body: encodeStockList({ day, mktEndTm: '1540', listings: listings[market] }) };
    }
    const snap = snapshots[market];
    const takenMs = snap === undefined ? kstMidnight(day) : Number(snap.takenNs / 1_000_000n);
    const rows = snap?.rows ?? [];
    return { body: list === 'lists' ? encodeQuoteLists({ day, takenMs, rows }) : encodeOhlcLists({ day, takenMs, rows }) };
  }

  /** Without a stored stock list (an Arrow-only data dir), the seed snapshot names the symbols. */
  function listingsFromSnapshot(market: Market): Listing[] {
    return (snapshots[market]?.rows ?? []).map((r) => ({ market, symbol: r.symbol, isin: '', name: r.symbol, abbr: r.symbol }));
  }

  // Trades of one recorded frame arrive back to back (same recv_ns, same src_seq): gather them
  // and send one frame, as the vendor did, when the next frame starts or the replay waits for
  // the clock. Snapshot rows of one REST answer likewise.
  const wire: WireTrade[] = [];
  let wireMarket: Market = 'kospi';
  let wireSeq = -1;
  let pendingSnapshot: { market: Market; state: SnapshotState } | undefined;

  function flush(): void {
    if (wire.length > 0) {
      endpoints.sendKoscom(wireMarket, encodeTradeFrame(wire));
      wire.length = 0;
    }
    if (pendingSnapshot !== undefined) {
      snapshots[pendingSnapshot.market] = pendingSnapshot.state;
      pendingSnapshot = undefined;
    }
  }

  function onTrade(e: TradeEvent): void {
    if (wire.length > 0 && (e.market !== wireMarket || e.srcSeq !== wireSeq || wire.length === MAX_TRADES_PER_FRAME)) flush();
    wireMarket = e.market;
    wireSeq = e.srcSeq;
    // trdVol as recorded, and a block trade's trdTm code: the frames the vendor sent.
    const msOfDay = e.kind !== 'regular' ? codeMsOfDay(BLOCK_TRADE_CODE_OF[e.kind]) : e.exchNs === null ? -1 : kstMsOfDay(Number(e.exchNs / 1_000_000n));
    wire.push({ symbol: e.symbol, price: e.price, qty: e.trdVol, msOfDay });
  }

  function onSnapshot(e: SnapshotEvent): void {
    if (pendingSnapshot !== undefined && (pendingSnapshot.market !== e.market || pendingSnapshot.state.takenNs !== e.takenNs)) flush();
    pendingSnapshot ??= { market: e.market, state: { takenNs: e.takenNs, rows: [] } };
    pendingSnapshot.state.rows.push(e);
  }

  function onFrame(e: FrameEvent): void {
    const route = frameRoute(e);
    if (route.kind === 'trades') endpoints.sendKoscom(route.market, e.bytes);
    else if (route.kind === 'ls') endpoints.sendLs(route.trKey, e.bytes);
    else if (route.kind === 'rest') restBodies.set(route.path, Buffer.from(e.bytes).toString('utf8'));
  }

  function dispatch(e: ReplayEvent): void {
    switch (e.type) {
      case 'trade':
        return onTrade(e);
      case 'snapshot':
        return onSnapshot(e);
      case 'sectorFlow':
        flush();
        return endpoints.sendLs(e.upcode, encodeSectorFlowPush(e));
      case 'frame':
        flush();
        return onFrame(e);
    }
  }

  function backlogged(): boolean {
    for (const ws of endpoints.sockets()) if (ws.bufferedAmount > HIGH_WATER_BYTES) return true;
    return false;
  }

  async function play(): Promise<void> {
    await seeded;
    const timeout = options.startTimeoutMs ?? 30_000;
    let timedOut = false;
    const timer = timeout > 0 ? setTimeout(() => ((timedOut = true), startNow()), timeout) : undefined;
    if (timeout === 0) startNow();
    checkStart();
    const rule = waitFor === undefined ? `once every client that connected within ${SETTLE_SECONDS} s is ready` : `once ${[...waitFor].join(', ')} each have a client`;
    if (timeout > 0) log.info(`replay serve: waiting for ${waitingFor()}; starts ${rule}, or anyway in ${timeout / 1000} s`);
    const waitedAt = Date.now();
    const reminder = setInterval(() => log.info(`replay serve: still waiting for ${waitingFor()}; starting anyway in ${Math.max(0, Math.round((timeout - (Date.now() - waitedAt)) / 1000))} s`), WAIT_LOG_MS);
    await started;
    clearInterval(reminder);
    clearTimeout(timer);
    clearTimeout(settleTimer);
    if (timedOut) log.warn(`replay serve: start timeout (${timeout / 1000} s): starting anyway, still without ${waitingFor()}`);
    log.info(`replay serve: playing ${options.day} (${source}, speed ${options.speed ?? 'max'}) to ${readyStreams().join(', ') || 'no client'}`);
    let n = 0;
    for await (const e of rp) {
      dispatch(e);
      // The gathered frame stays pending: it may not be complete yet.
      if ((++n & 1023) === 0) while (backlogged()) await sleep(5);
    }
    flush();
    const lateness = rp.progress().lateness;
    log.info(`replay serve: day played out: ${n.toLocaleString('en-US')} events, lateness p99 ${lateness.p99.toFixed(3)} ms, max ${lateness.max.toFixed(3)} ms`);
  }

  /**
   * Before the start, REST answers what the collector took as its seed: the stock lists and the
   * snapshot of kind `seed`, found by kind wherever they lie in the day (a collector may open the
   * streams before or beside its seed, so stream frames can precede it).
   */
  async function seedSnapshots(): Promise<void> {
    const seedChannels = journal ? journalSeedChannels(options.dataDir, day) : new Set<string>();
    const seen = new Set<string>();
    if (journal && seedChannels.size === 0) return;
    const first = replay({ ...options, source, channels: journal ? ['frames'] : ['snapshots'], speed: 'max' });
    try {
      for await (const e of first) {
        if (e.type === 'frame') {
          if (!seedChannels.has(e.channel) || seen.has(e.channel)) continue;
          const route = frameRoute(e);
          if (route.kind !== 'rest') continue;
          // First body per channel: a restart's second seed is not the day's seed.
          seen.add(e.channel);
          restBodies.set(route.path, Buffer.from(e.bytes).toString('utf8'));
          if (seen.size === seedChannels.size) break;
        } else if (e.type === 'snapshot') {
          // Stored snapshots come in time order and the seed is a day's first: stop at the first later kind.
          if (e.kind !== 'seed') break;
          const have = snapshots[e.market];
          if (have === undefined) snapshots[e.market] = { takenNs: e.takenNs, rows: [e] };
          else if (have.takenNs === e.takenNs) have.rows.push(e);
        }
      }
    } finally {
      await first.return();
    }
  }

  const port = await endpoints.listen(options.port, options.host ?? '127.0.0.1');
  const seeded = seedSnapshots();
  const done = play();
  done.catch((e: Error) => log.error({ err: e.message }, 'replay serve: replay failed'));

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    done,
    replay: rp,
    async close() {
      startNow();
      await rp.return();
      await endpoints.close();
      await done.catch(() => undefined);
    },
  };
}

/** The journal channels of a day that hold its seed: the stock lists and the snapshot of kind `seed`. */
function journalSeedChannels(dataDir: string, day: string): Set<string> {
  const names = new Set<string>();
  for (const file of dayJournals(dataDir, day)) {
    for (const c of readChannels(file)) if (c.kind === 'stock-list' || c.snapshotKind === 'seed') names.add(c.name);
  }
  return names;
}
