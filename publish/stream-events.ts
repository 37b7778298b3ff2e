// The fan-out's normalized stream (`/stream`): what a subscriber asks for at connect time, and the
// rows of one journal record as JSON events in the shape `ticktape replay print` writes (camelCase,
// nanosecond times as decimal strings). Each row is encoded once per record, whatever the number
// of subscribers; a subscriber's message is the join of the rows its filter keeps.
import { MARKETS, type Market } from '../protocol/market.js';
import { TRDTM_SIGNALS } from '../protocol/time.js';
import { MARKET_BY_CODE, type RowBatch } from '../storage/batch.js';

/** The channels of the normalized stream (their table names). */
export const STREAM_CHANNELS = ['trades', 'signals', 'sector_flows', 'snapshots'] as const;
export type StreamChannel = (typeof STREAM_CHANNELS)[number];
export const STREAM_PATH = '/stream';

/** What a subscriber asked for; an absent set means all. */
export interface StreamFilter {
  channels: ReadonlySet<StreamChannel>;
  markets?: ReadonlySet<Market>;
  symbols?: ReadonlySet<string>;
  /** `start`: the day so far from the journal first, then the live tail. */
  from: 'live' | 'start';
  /** The same for every subscriber that keeps the same rows: they share one encoded message. */
  key: string;
}

const SYMBOL = /^[0-9A-Z]{6}$/;
const PARAMS = new Set(['channels', 'markets', 'symbols', 'from']);

/** Reads `?channels=…&markets=…&symbols=…&from=start|live`; a string names what was wrong. */
export function parseStreamFilter(query: URLSearchParams): StreamFilter | string {
  for (const k of query.keys()) if (!PARAMS.has(k)) return `unknown parameter "${k}" (expected ${[...PARAMS].join(', ')})`;
  const list = (name: string): string[] | undefined => {
    const v = query.get(name);
    return v === null ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  };
  const channels = list('channels') ?? [...STREAM_CHANNELS];
  const badChannel = channels.find((c) => !(STREAM_CHANNELS as readonly string[]).includes(c));
  if (badChannel !== undefined || channels.length === 0) return `channels: expected a comma-separated list of ${STREAM_CHANNELS.join(', ')} (got "${query.get('channels')}")`;
  const markets = list('markets');
  const badMarket = markets?.find((m) => !(MARKETS as readonly string[]).includes(m));
  if (badMarket !== undefined || markets?.length === 0) return `markets: expected a comma-separated list of ${MARKETS.join(', ')} (got "${query.get('markets')}")`;
  const symbols = list('symbols');
  const badSymbol = symbols?.find((s) => !SYMBOL.test(s));
  if (badSymbol !== undefined || symbols?.length === 0) return `symbols: expected comma-separated 6-character short codes such as 005930 (got "${query.get('symbols')}")`;
  const from = query.get('from') ?? 'live';
  if (from !== 'live' && from !== 'start') return `from: expected start (the day so far, then live) or live (got "${from}")`;
  const sortedList = (xs: string[] | undefined) => (xs === undefined ? '*' : [...new Set(xs)].sort().join(','));
  return {
    channels: new Set(channels as StreamChannel[]),
    markets: markets && new Set(markets as Market[]),
    symbols: symbols && new Set(symbols),
    from,
    key: `${sortedList(channels)}|${sortedList(markets)}|${sortedList(symbols)}`,
  };
}

/**
 * The rows of one journal record, encoded: parallel arrays of JSON text, channel, market and
 * symbol (undefined for sector flows, which belong to no market or symbol: the market and symbol
 * filters let them through, the channel filter selects them).
 */
export class EncodedRows {
  readonly json: string[] = [];
  readonly channel: StreamChannel[] = [];
  readonly market: (Market | undefined)[] = [];
  readonly symbol: (string | undefined)[] = [];

  get length(): number {
    return this.json.length;
  }

  clear(): void {
    this.json.length = this.channel.length = this.market.length = this.symbol.length = 0;
  }

  /** Encodes the rows a decoder wrote into `b` (one record's worth). */
  encode(b: RowBatch): void {
    const day = JSON.stringify(b.day);
    const t = b.trades;
    // The rows of one record share their receive time and frame: their text is made once.
    let recv = '';
    let recvNs = -1n;
    for (let i = 0; i < t.length; i++) {
      const market = MARKET_BY_CODE[t.market[i]];
      if (t.recvNs[i] !== recvNs) recv = `,"recvNs":"${(recvNs = t.recvNs[i])}","srcSeq":${t.srcSeq[i]},"srcIdx":`;
      const ms = t.exchMs[i];
      // Whole milliseconds (the feed's resolution is 10 ms): nanoseconds are the digits and six zeros.
      const exch = ms === 0 ? 'null' : Number.isInteger(ms) ? `"${ms}000000"` : `"${BigInt(Math.round(ms * 1e6))}"`;
      const symbol = t.symbol[i];
      this.push(`{"type":"trade","day":${day},"market":"${market}","symbol":${JSON.stringify(symbol)},"price":${t.price[i]},"qty":${t.qty[i]},"exchNs":${exch}${recv}${t.srcIdx[i]}}`, 'trades', market, symbol);
    }
    for (const s of b.signals) this.push(json({ type: 'signal', day: b.day, market: s.market, symbol: s.symbol, code: s.code, label: TRDTM_SIGNALS[s.code] ?? null, recvNs: s.recvNs, srcSeq: s.srcSeq }), 'signals', s.market, s.symbol);
    for (const f of b.flows) {
      const { recvNs, exchMs, srcSeq, ...flow } = f;
      this.push(json({ type: 'sectorFlow', day: b.day, ...flow, exchNs: exchMs === 0 ? null : BigInt(exchMs) * 1_000_000n, recvNs, srcSeq }), 'sector_flows', undefined, undefined);
    }
    for (const s of b.snapshots) this.push(json({ type: 'snapshot', day: b.day, ...s }), 'snapshots', s.market, s.symbol);
  }

  /** The message for a subscriber: the record's rows its filter keeps, or undefined when none. */
  message(pos: number, f: StreamFilter): string | undefined {
    let rows = '';
    for (let i = 0; i < this.json.length; i++) {
      if (!f.channels.has(this.channel[i])) continue;
      const m = this.market[i];
      if (m !== undefined && f.markets !== undefined && !f.markets.has(m)) continue;
      const s = this.symbol[i];
      if (s !== undefined && f.symbols !== undefined && !f.symbols.has(s)) continue;
      rows += rows.length === 0 ? this.json[i] : `,${this.json[i]}`;
    }
    return rows.length === 0 ? undefined : `{"type":"rows","pos":${pos},"rows":[${rows}]}`;
  }

  private push(text: string, channel: StreamChannel, market: Market | undefined, symbol: string | undefined): void {
    this.json.push(text);
    this.channel.push(channel);
    this.market.push(market);
    this.symbol.push(symbol);
  }
}

/** JSON with bigints as decimal strings. */
function json(v: object): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}
