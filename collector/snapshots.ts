// The Koscom REST side of a session: the symbol universe per market and full-market snapshots
// (multiquote `lists` + `ohlclists`; koscom.md §5.1–5.2). Every 2xx body goes to the tape as
// received (the tape decodes it into symbols / snapshots rows); the cumulative volumes of the
// latest snapshot are kept here for reconciliation.
import type { Logger } from 'pino';
import { badElementSymbol, decodeQuoteLists, decodeStockList } from '../protocol/koscom-rest.js';
import type { Market, SnapshotKind } from '../protocol/market.js';
import type { CaptureTape } from './capture.js';
import type { CollectorConfig } from './config.js';
import { endpointUrl, KOSCOM_PATHS } from './endpoints.js';
import { type RestClient, RestError } from './rest.js';

export interface MarketSnapshot {
  kind: SnapshotKind;
  /** When the body was received, epoch ms. */
  takenMs: number;
  /** symbol → cumulative volume (accTrdvol). */
  volumes: Map<string, number>;
  /** Symbols whose snapshot element was bad (quarantined): reconciliation cannot check them. */
  unchecked: Set<string>;
}

export interface SnapshotFailure {
  market: Market;
  what: string;
  error: string;
  kind: RestError['kind'] | 'decode';
}

export class SnapshotSource {
  /** The latest snapshot per market that decoded. */
  readonly latest = new Map<Market, MarketSnapshot>();
  readonly symbols = new Map<Market, number>();
  readonly failures: SnapshotFailure[] = [];
  snapshotsTaken = 0;
  private readonly channels = new Map<string, number>();
  private readonly eventsChannel: number;

  constructor(
    private readonly cfg: Pick<CollectorConfig, 'koscom' | 'markets'>,
    private readonly rest: RestClient,
    private readonly tape: CaptureTape,
    private readonly log: Logger,
  ) {
    this.eventsChannel = tape.channel({ name: 'koscom.rest', vendor: 'koscom', endpoint: '/v2/market', kind: 'events' });
  }

  /** The symbol list of every market. Resolves with how many markets answered. */
  async symbolLists(signal?: AbortSignal): Promise<number> {
    let answered = 0;
    await Promise.all(
      this.cfg.markets.map(async (market) => {
        const path = this.path('stockList', market);
        const body = await this.get(market, path, signal);
        if (body === undefined) return;
        this.tape.append(this.channel(market, 'stock-list', path), body.text, body.recvNs);
        const list = decodeStockList(body.text, market);
        if (list.ok) {
          this.symbols.set(market, list.value.listings.length);
          this.log.info({ market, symbols: list.value.listings.length }, `${market}: ${list.value.listings.length} listed symbols`);
        } else this.fail(market, path, `${list.error.field}: ${list.error.reason}`, 'decode');
        answered++;
      }),
    );
    return answered;
  }

  /** One full-market snapshot of every market; resolves with how many markets were captured. */
  async snapshot(kind: SnapshotKind, signal?: AbortSignal): Promise<number> {
    const done = await Promise.all(this.cfg.markets.map((m) => this.marketSnapshot(m, kind, signal)));
    this.snapshotsTaken++;
    return done.filter(Boolean).length;
  }

  /** REST calls one snapshot of all markets costs (for the quota budget). */
  get callsPerSnapshot(): number {
    return 2 * this.cfg.markets.length;
  }

  private async marketSnapshot(market: Market, kind: SnapshotKind, signal?: AbortSignal): Promise<boolean> {
    const listsPath = this.path('lists', market);
    const ohlcPath = this.path('ohlcLists', market);
    const [lists, ohlc] = await Promise.all([this.get(market, listsPath, signal), this.get(market, ohlcPath, signal)]);
    // The tape pairs the two halves per market and kind: hand over both or neither.
    if (lists === undefined || ohlc === undefined) return false;
    this.tape.append(this.channel(market, 'multiquote-lists', listsPath, kind), lists.text, lists.recvNs);
    this.tape.append(this.channel(market, 'multiquote-ohlclists', ohlcPath, kind), ohlc.text, ohlc.recvNs);
    const q = decodeQuoteLists(lists.text);
    if (!q.ok) {
      this.fail(market, listsPath, `${q.error.field}: ${q.error.reason}`, 'decode');
      return false;
    }
    const volumes = new Map<string, number>();
    for (const r of q.value.rows) volumes.set(r.symbol, r.accVolume);
    const unchecked = new Set<string>();
    const bad = q.value.bad ?? [];
    for (const b of bad) {
      const symbol = badElementSymbol(b);
      if (symbol !== undefined) unchecked.add(symbol);
    }
    if (bad.length > 0) this.log.warn({ market, bad: bad.length, first: `${bad[0].error.field}: ${bad[0].error.reason}` }, `${market}: ${bad.length} snapshot element(s) quarantined, the other ${q.value.rows.length} kept`);
    this.latest.set(market, { kind, takenMs: Number(lists.recvNs / 1_000_000n), volumes, unchecked });
    return true;
  }

  /** The endpoint's path (or full URL, when overridden with one) for the REST client. */
  private path(endpoint: 'stockList' | 'lists' | 'ohlcLists', market: Market): string {
    return endpointUrl('', this.cfg.koscom.paths?.[endpoint] ?? KOSCOM_PATHS[endpoint], market);
  }

  private async get(market: Market, path: string, signal?: AbortSignal) {
    try {
      return await this.rest.request({ path, query: { apikey: this.cfg.koscom.apiKey }, signal });
    } catch (e) {
      if (signal?.aborted) return undefined;
      if (!(e instanceof RestError)) throw e;
      this.fail(market, path, e.message, e.kind);
      return undefined;
    }
  }

  private fail(market: Market, what: string, error: string, kind: SnapshotFailure['kind']): void {
    this.failures.push({ market, what, error, kind });
    this.tape.event(this.eventsChannel, { type: 'rest-failed', market, path: what, error, kind });
    this.log.error({ market, path: what, kind }, error);
  }

  private channel(market: Market, kind: 'stock-list' | 'multiquote-lists' | 'multiquote-ohlclists', endpoint: string, snapshotKind?: SnapshotKind): number {
    const name = snapshotKind === undefined ? `koscom.${kind}.${market}` : `koscom.${kind}.${market}.${snapshotKind}`;
    let id = this.channels.get(name);
    if (id === undefined) {
      id = this.tape.channel({ name, vendor: 'koscom', endpoint, kind, market, snapshotKind });
      this.channels.set(name, id);
    }
    return id;
  }
}
