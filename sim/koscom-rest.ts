// Koscom REST gateway of the simulator (koscom.md §2, §5, §10, §11): the stock list, multiquote
// snapshots, per-symbol price/master/closeprice/history; API key check, the daily quota with its
// X-RateLimit headers, and the gateway's error bodies. Snapshots read the live market state, so
// cumulative volumes always equal the sum of the trades generated so far.

import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  GATEWAY_MESSAGE, MAX_HISTORY_RECORDS, MAX_MULTIQUOTE_SYMBOLS, RATE_LIMIT_LIMIT_HEADER, RATE_LIMIT_REMAINING_HEADER,
  encodeCloseNotYet, encodeClosePriceBody, encodeGatewayError, encodeHistoryBody, encodeMasterBody, encodeMultiquotePrice,
  encodeOhlcLists, encodePriceBody, encodeQuoteLists, encodeStockList,
} from '../protocol/koscom-rest.js';
import { encodeRpcError } from '../protocol/jsonrpc.js';
import type { Market } from '../protocol/market.js';
import { dayFromCompact } from '../protocol/time.js';
import type { SimContext } from './context.js';
import { closePrice, history, master, pricePreset } from './quotes.js';

/** Market-data error codes (koscom.md §10) the simulator answers with; the vendor names no channel for them. */
export const MARKET_ERROR = { unknownSymbol: 10040, inputError: 20055, tooManySymbols: 20056 } as const;

const LIST = /^\/v2\/market\/stocks\/(kospi|kosdaq)\/lists$/;
const MULTIQUOTE = /^\/v2\/market\/multiquote\/stocks\/(kospi|kosdaq)\/(lists|ohlclists|price)$/;
const STOCK = /^\/v2\/market\/stocks\/(kospi|kosdaq)\/([0-9A-Za-z]{1,12})\/(price|master|closeprice|history)$/;
/** The v3 paths of the same endpoints (koscom.md §12) → their v2 path; the paths-moved fault serves only these. */
const V3_TO_V2: readonly [RegExp, string][] = [
  [/^\/v3\/market\/closed\/(kospi|kosdaq)\/lists$/, '/v2/market/stocks/$1/lists'],
  [/^\/v3\/market\/realtime\/(kospi|kosdaq)\/multiquote\/stocks\/(lists|ohlclists|price)$/, '/v2/market/multiquote/stocks/$1/$2'],
  [/^\/v3\/market\/closed\/(kospi|kosdaq)\/([0-9A-Za-z]{1,12})\/(master|closeprice|history)$/, '/v2/market/stocks/$1/$2/$3'],
  [/^\/v3\/market\/realtime\/(kospi|kosdaq)\/stocks\/([0-9A-Za-z]{1,12})\/price$/, '/v2/market/stocks/$1/$2/price'],
];

/** Under the paths-moved fault: the v2 path a v3 path stands for, '' (no route) for anything else. */
function movedRoute(path: string): string {
  for (const [re, v2] of V3_TO_V2) if (re.test(path)) return path.replace(re, v2);
  return '';
}

interface Reply {
  status: number;
  body: string;
}

export class KoscomRest {
  private quotaDay = '';
  private remaining = 0;

  constructor(private readonly ctx: SimContext) {}

  /** Answers one request; `path` has no query string and no trailing slash. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): void {
    const ctx = this.ctx;
    ctx.stats.restRequests++;
    const reply = this.answer(req, path, query);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      [RATE_LIMIT_LIMIT_HEADER]: String(ctx.quotaPerDay),
      [RATE_LIMIT_REMAINING_HEADER]: String(Math.max(0, this.remaining)),
    };
    const send = () => {
      if (!res.destroyed) res.writeHead(reply.status, headers).end(reply.body);
    };
    if (ctx.faults.restDelayMs > 0) setTimeout(send, ctx.faults.restDelayMs);
    else send();
  }

  private answer(req: IncomingMessage, path: string, query: URLSearchParams): Reply {
    const ctx = this.ctx;
    const route = ctx.faults.restPathsMoved ? movedRoute(path) : path;
    const list = LIST.exec(route);
    const multi = list ? null : MULTIQUOTE.exec(route);
    const stock = list || multi ? null : STOCK.exec(route);
    this.rollQuota();
    if (!list && !multi && !stock) return { status: 404, body: encodeGatewayError(GATEWAY_MESSAGE.noRoute) };
    if (req.method !== 'GET') return { status: 405, body: encodeGatewayError('Method Not Allowed') };
    const header = req.headers.apikey;
    const key = query.get('apikey') ?? (Array.isArray(header) ? header[0] : header);
    if (!key) return { status: 401, body: encodeGatewayError(GATEWAY_MESSAGE.noKey) };
    if (key !== ctx.credentials.koscomApiKey || ctx.faults.rejectCredentials) return { status: 401, body: encodeGatewayError(GATEWAY_MESSAGE.invalidKey) };
    if (ctx.faults.restUnauthorizedPath !== '' && path.includes(ctx.faults.restUnauthorizedPath)) return { status: 401, body: encodeGatewayError(GATEWAY_MESSAGE.invalidKey) };
    if (this.remaining <= 0) return { status: 429, body: encodeGatewayError(GATEWAY_MESSAGE.rateLimited) };
    this.remaining--;
    if (ctx.faults.rest429Burst > 0) {
      ctx.faults.rest429Burst--;
      return { status: 429, body: encodeGatewayError(GATEWAY_MESSAGE.rateLimited) };
    }
    if (ctx.faults.rest5xxBurst > 0) {
      ctx.faults.rest5xxBurst--;
      return { status: 503, body: encodeGatewayError('Service Unavailable') };
    }
    if (list) return this.stockList(list[1] as Market);
    if (multi) return this.multiquote(multi[1] as Market, multi[2], query);
    return this.stock(stock![1] as Market, stock![2], stock![3], query);
  }

  /** The quota is per UTC day (koscom.md §11): 00:00 UTC = 09:00 KST. */
  private rollQuota(): void {
    const today = new Date().toISOString().slice(0, 10);
    if (today !== this.quotaDay) {
      this.quotaDay = today;
      this.remaining = this.ctx.quotaPerDay;
    }
  }

  private stockList(mkt: Market): Reply {
    const { market, clock } = this.ctx;
    return { status: 200, body: encodeStockList({ day: clock.day, mktEndTm: '1540', listings: market.byMarket[mkt] }) };
  }

  private multiquote(mkt: Market, kind: string, query: URLSearchParams): Reply {
    const { market, clock } = this.ctx;
    const issues = market.byMarket[mkt];
    const takenMs = clock.instant(clock.msOfDay(Date.now()));
    if (kind === 'lists') {
      const rows = issues.map((i) => ({ symbol: i.symbol, price: market.last[i.index], accVolume: market.accVolume[i.index], accValue: market.accValue[i.index] }));
      return { status: 200, body: this.spoil(encodeQuoteLists({ day: clock.day, takenMs, rows }), 'trdPrc', null) };
    }
    if (kind === 'ohlclists') {
      const rows = issues.map((i) => ({ symbol: i.symbol, open: market.open[i.index], high: market.high[i.index], low: market.low[i.index], price: market.last[i.index] }));
      return { status: 200, body: this.spoil(encodeOhlcLists({ day: clock.day, takenMs, rows }), 'hgprc', { type: 'unknown' }) };
    }
    const codes = (query.get('isuCd') ?? '').split(',').filter((c) => c !== '');
    if (codes.length === 0) return rpcError(MARKET_ERROR.inputError, 'isuCd: 종목코드를 입력하십시오');
    if (codes.length > MAX_MULTIQUOTE_SYMBOLS) return rpcError(MARKET_ERROR.tooManySymbols, `isuCd: ${codes.length}종목, 최대 ${MAX_MULTIQUOTE_SYMBOLS}종목`);
    const presets = [];
    for (const code of codes) {
      const issue = market.issue(code);
      if (!issue || issue.market !== mkt) return rpcError(MARKET_ERROR.unknownSymbol, `종목코드 오류: ${code}`);
      presets.push(pricePreset(market, issue));
    }
    return { status: 200, body: encodeMultiquotePrice(presets) };
  }

  /** Bad-snapshot-elements fault: `field` of the first N elements set to `value`. */
  private spoil(body: string, field: string, value: unknown): string {
    const n = this.ctx.faults.badSnapshotElements;
    if (n <= 0) return body;
    const parsed = JSON.parse(body) as { isuLists: Record<string, unknown>[] };
    for (const el of parsed.isuLists.slice(0, n)) el[field] = value;
    return JSON.stringify(parsed);
  }

  private stock(mkt: Market, code: string, tail: string, query: URLSearchParams): Reply {
    const { market, clock } = this.ctx;
    const issue = market.issue(code);
    if (!issue || issue.market !== mkt) return rpcError(MARKET_ERROR.unknownSymbol, `종목코드 오류: ${code}`);
    switch (tail) {
      case 'price':
        return { status: 200, body: encodePriceBody(pricePreset(market, issue)) };
      case 'master':
        return { status: 200, body: encodeMasterBody(master(issue, clock.day)) };
      case 'closeprice':
        return Date.now() < clock.closeDataAt ? { status: 400, body: encodeCloseNotYet() } : { status: 200, body: encodeClosePriceBody(closePrice(market, issue)) };
      default:
        return this.history(issue, query);
    }
  }

  private history(issue: NonNullable<ReturnType<SimContext['market']['issue']>>, query: URLSearchParams): Reply {
    const cycle = query.get('trnsmCycleTpCd') ?? 'D';
    if (cycle !== 'D' && cycle !== 'W' && cycle !== 'M') return rpcError(MARKET_ERROR.inputError, `trnsmCycleTpCd: D, W, M 중 하나 (${cycle})`);
    const reqCnt = query.get('reqCnt');
    const count = reqCnt === null ? MAX_HISTORY_RECORDS : Number(reqCnt);
    if (!Number.isInteger(count) || count < 1) return rpcError(MARKET_ERROR.inputError, `reqCnt: 1 이상의 정수 (${reqCnt})`);
    const from = compactDate(query.get('inqStrtDd'));
    const to = compactDate(query.get('inqEndDd'));
    if (from === null || to === null) return rpcError(MARKET_ERROR.inputError, 'inqStrtDd/inqEndDd: YYYYMMDD');
    const bars = history(issue, this.ctx.clock.day, cycle, Math.min(count, MAX_HISTORY_RECORDS), from, to);
    return { status: 200, body: encodeHistoryBody({ symbol: issue.symbol, bars }) };
  }
}

/** undefined when absent, null when malformed. */
function compactDate(v: string | null): string | undefined | null {
  if (v === null || v === '') return undefined;
  return /^\d{8}$/.test(v) ? dayFromCompact(v) : null;
}

function rpcError(code: number, message: string): Reply {
  return { status: 400, body: encodeRpcError(code, message) };
}
