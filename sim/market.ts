// The synthetic market: a KRX-like universe drawn from a seed, and a trade generator that keeps
// every symbol's cumulative state (open/high/low/last, volume, value) and the sector investor
// flows exactly consistent with the trades it emits. Pure computation, no I/O.
//
// Hot path (`trade`): one symbol draw (binary search over cumulative weights), one price step,
// one quantity from a precomputed heavy-tailed table, state updates in typed arrays — no objects
// are allocated per trade, so throughput mode can emit millions of trades per second.

import type { Listing, Market } from '../protocol/market.js';
import { Random } from './random.js';
import { CLOSE_MS, OPEN_MS, SESSION_MS } from './session.js';
import { SectorFlowBook } from './flows.js';

export interface MarketOptions {
  seed: number;
  kospiSymbols: number;
  kosdaqSymbols: number;
  /** Expected trades over the whole 09:00–15:30 session, both markets together. */
  tradesPerDay: number;
}

export const DEFAULT_MARKET: MarketOptions = { seed: 1, kospiSymbols: 950, kosdaqSymbols: 1650, tradesPerDay: 500_000 };

/** One listed issue with its static reference data. */
export interface Issue extends Listing {
  index: number;
  etf: boolean;
  kp200: boolean;
  /** 기준가 (= previous close) and the day's ±30 % limits. */
  basePrice: number;
  upper: number;
  lower: number;
  listShrs: number;
  listDd: string;
  prevVolume: number;
}

/** KRX tick size (호가가격단위, 2023 unified table) for a price. */
export function tickSize(price: number): number {
  if (price < 2_000) return 1;
  if (price < 5_000) return 5;
  if (price < 20_000) return 10;
  if (price < 50_000) return 50;
  if (price < 200_000) return 100;
  if (price < 500_000) return 500;
  return 1_000;
}

/** The largest valid price at or below `p`. */
export function floorToTick(p: number): number {
  const t = tickSize(p);
  return Math.floor(p / t) * t;
}

/** The smallest valid price at or above `p`. */
export function ceilToTick(p: number): number {
  const t = tickSize(p);
  const c = Math.ceil(p / t) * t;
  return tickSize(c) === t ? c : floorToTick(c);
}

/** ±30 % daily limits around the base price, on valid ticks. */
export function priceLimits(base: number): { upper: number; lower: number } {
  return { upper: floorToTick(base * 1.3), lower: ceilToTick(base * 0.7) };
}

/** ISIN check digit (ISO 6166: letters → 10..35, then Luhn over the digit string). */
export function isinCheckDigit(body11: string): number {
  let digits = '';
  for (const ch of body11) digits += /\d/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
  let sum = 0;
  for (let i = digits.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

const NAME_HEADS = ['삼성', '현대', '대한', '한국', '동양', '신한', '우리', '한화', '금호', '대우', '동부', '서울', '부산', '세원', '영진', '한솔', '일진', '대성', '코리아', '미래', '그린', '하나', '에스케이', '엘지', '씨제이', '지에스', '태광', '유니', '나노', '메디', '한미', '동원', '풍산', '효성', '경동', '남해', '삼화', '광동', '대원', '청호'];
const NAME_TAILS = ['전자', '화학', '제약', '건설', '중공업', '물산', '반도체', '바이오', '에너지', '정밀', '소재', '통신', '식품', '증권', '보험', '철강', '시스템', '테크', '로직스', '홀딩스', '산업', '생명', '엔터', '솔루션', '모빌리티', '디스플레이', '전기', '케미칼', '제지', '해운'];
const ETF_BRANDS = ['KODEX', 'TIGER', 'KBSTAR', 'ARIRANG', 'HANARO', 'SOL', 'ACE', 'PLUS'];
const ETF_THEMES = ['200', '코스닥150', '반도체', '2차전지', '은행', '고배당', '레버리지', '인버스', '미국S&P500', '나스닥100', '단기채권', '골드선물', '헬스케어', '리츠', 'TOP10', '배당성장'];

/** Heavy-tailed share quantities, drawn once, indexed by random bits per trade. */
const QTY_TABLE_SIZE = 4096;

/** Trades of one generation step, in columns; reused across steps (`length` resets). */
export class TradeTape {
  length = 0;
  issue: Int32Array;
  price: Float64Array;
  qty: Float64Array;
  /** Cumulative volume and value of the symbol after this trade (cumulative `trdVol` mode, per-trade pushes). */
  accVolume: Float64Array;
  accValue: Float64Array;
  msOfDay: Int32Array;

  constructor(capacity = 1024) {
    this.issue = new Int32Array(capacity);
    this.price = new Float64Array(capacity);
    this.qty = new Float64Array(capacity);
    this.accVolume = new Float64Array(capacity);
    this.accValue = new Float64Array(capacity);
    this.msOfDay = new Int32Array(capacity);
  }

  push(issue: number, price: number, qty: number, accVolume: number, accValue: number, msOfDay: number): void {
    if (this.length === this.issue.length) this.grow();
    const i = this.length++;
    this.issue[i] = issue;
    this.price[i] = price;
    this.qty[i] = qty;
    this.accVolume[i] = accVolume;
    this.accValue[i] = accValue;
    this.msOfDay[i] = msOfDay;
  }

  private grow(): void {
    const n = this.issue.length * 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.issue = grow(this.issue, (k) => new Int32Array(k));
    this.price = grow(this.price, (k) => new Float64Array(k));
    this.qty = grow(this.qty, (k) => new Float64Array(k));
    this.accVolume = grow(this.accVolume, (k) => new Float64Array(k));
    this.accValue = grow(this.accValue, (k) => new Float64Array(k));
    this.msOfDay = grow(this.msOfDay, (k) => new Int32Array(k));
  }
}

/** Slot of market time in which arrivals are drawn; fixed so that a seed gives one sequence. */
const SLOT_MS = 100;

export class SyntheticMarket {
  readonly issues: Issue[];
  readonly byMarket: Record<Market, Issue[]>;
  readonly bySymbol = new Map<string, Issue>();
  readonly flows: SectorFlowBook;

  // Per-issue state, indexed by Issue.index.
  readonly last: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly accVolume: Float64Array;
  readonly accValue: Float64Array;
  readonly lastQty: Float64Array;
  /** Market time of the last trade (ms of day), -1 before the first. */
  readonly lastMs: Int32Array;
  readonly tradeCount: Float64Array;
  /** Market times (ms of day) at which the open, high and low were set. */
  readonly openMs: Int32Array;
  readonly highMs: Int32Array;
  readonly lowMs: Int32Array;
  /** Buyer-initiated volume and trade count (the rest was seller-initiated); side of the last trade (1 sell, 2 buy). */
  readonly buyVolume: Float64Array;
  readonly buyCount: Float64Array;
  readonly lastSide: Uint8Array;

  /** Trades generated so far, both markets. */
  trades = 0;

  private readonly rng: Random;
  private readonly upper: Float64Array;
  private readonly lower: Float64Array;
  private readonly lot: Float64Array;
  private readonly qtyTable = new Float64Array(QTY_TABLE_SIZE);
  /** Cumulative activity weights per market and the global index of each market's first issue. */
  private readonly cumWeight: Record<Market, Float64Array>;
  private readonly firstIndex: Record<Market, number>;
  private readonly shareOfDay: Record<Market, number>;
  private readonly tradesPerDay: number;
  /** Start of the next slot to generate (market ms of day). */
  private nextSlotMs = OPEN_MS;

  constructor(opts: Partial<MarketOptions> = {}) {
    const o = { ...DEFAULT_MARKET, ...opts };
    this.rng = new Random(o.seed);
    this.tradesPerDay = o.tradesPerDay;
    this.issues = [];
    this.byMarket = { kospi: [], kosdaq: [] };
    const codes = new Set<string>();
    const names = new Set<string>();
    const weights: number[] = [];
    for (const market of ['kospi', 'kosdaq'] as const) {
      const count = market === 'kospi' ? o.kospiSymbols : o.kosdaqSymbols;
      const marketCodes: string[] = [];
      while (marketCodes.length < count) {
        const code = String((1 + this.rng.int(49_999)) * 10).padStart(6, '0');
        if (!codes.has(code)) {
          codes.add(code);
          marketCodes.push(code);
        }
      }
      marketCodes.sort();
      for (const symbol of marketCodes) {
        const etf = market === 'kospi' && this.rng.next() < 0.12;
        const name = this.uniqueName(names, etf);
        const base = floorToTick(Math.exp(Math.log(1_000) + this.rng.next() * Math.log(500)));
        const { upper, lower } = priceLimits(base);
        const body = `KR7${symbol}00`;
        const issue: Issue = {
          index: this.issues.length, market, symbol, isin: body + isinCheckDigit(body), name, abbr: name,
          etf, kp200: false, basePrice: base, upper, lower,
          listShrs: Math.round(1e6 * this.rng.pareto(0.9)),
          listDd: `${1975 + this.rng.int(49)}${String(1 + this.rng.int(12)).padStart(2, '0')}${String(1 + this.rng.int(28)).padStart(2, '0')}`,
          prevVolume: 0,
        };
        this.issues.push(issue);
        this.byMarket[market].push(issue);
        this.bySymbol.set(symbol, issue);
        weights.push(this.rng.pareto(1.1));
      }
    }
    // KOSPI 200: the 200 most active KOSPI stocks (ETFs excluded).
    this.byMarket.kospi.filter((i) => !i.etf).sort((a, b) => weights[b.index] - weights[a.index]).slice(0, 200).forEach((i) => (i.kp200 = true));

    const n = this.issues.length;
    this.last = new Float64Array(n);
    this.open = new Float64Array(n);
    this.high = new Float64Array(n);
    this.low = new Float64Array(n);
    this.accVolume = new Float64Array(n);
    this.accValue = new Float64Array(n);
    this.lastQty = new Float64Array(n);
    this.lastMs = new Int32Array(n).fill(-1);
    this.tradeCount = new Float64Array(n);
    this.openMs = new Int32Array(n);
    this.highMs = new Int32Array(n);
    this.lowMs = new Int32Array(n);
    this.buyVolume = new Float64Array(n);
    this.buyCount = new Float64Array(n);
    this.lastSide = new Uint8Array(n);
    this.upper = new Float64Array(n);
    this.lower = new Float64Array(n);
    this.lot = new Float64Array(n);
    for (const i of this.issues) {
      this.last[i.index] = i.basePrice;
      this.upper[i.index] = i.upper;
      this.lower[i.index] = i.lower;
      this.lot[i.index] = Math.max(1, Math.round(20_000 / i.basePrice));
      i.prevVolume = Math.round(weights[i.index] * 50_000 * this.lot[i.index]);
    }
    for (let k = 0; k < QTY_TABLE_SIZE; k++) this.qtyTable[k] = Math.min(20_000, Math.floor(this.rng.pareto(1.4)));

    this.firstIndex = { kospi: 0, kosdaq: this.byMarket.kospi.length };
    const total = weights.reduce((a, b) => a + b, 0) || 1;
    const cum = (m: Market) => {
      const list = this.byMarket[m];
      const c = new Float64Array(list.length);
      let s = 0;
      for (let k = 0; k < list.length; k++) c[k] = s += weights[list[k].index];
      return c;
    };
    this.cumWeight = { kospi: cum('kospi'), kosdaq: cum('kosdaq') };
    this.shareOfDay = {
      kospi: (this.cumWeight.kospi.at(-1) ?? 0) / total,
      kosdaq: (this.cumWeight.kosdaq.at(-1) ?? 0) / total,
    };
    this.flows = new SectorFlowBook(this.issues, this.rng.fork());
  }

  private uniqueName(taken: Set<string>, etf: boolean): string {
    const base = etf
      ? `${ETF_BRANDS[this.rng.int(ETF_BRANDS.length)]} ${ETF_THEMES[this.rng.int(ETF_THEMES.length)]}`
      : NAME_HEADS[this.rng.int(NAME_HEADS.length)] + NAME_TAILS[this.rng.int(NAME_TAILS.length)];
    let name = base;
    for (let k = 2; taken.has(name); k++) name = etf ? `${base} ${k}` : `${base}${k}우`;
    taken.add(name);
    return name;
  }

  /** Issue for a short code, or undefined. */
  issue(symbol: string): Issue | undefined {
    return this.bySymbol.get(symbol);
  }

  /**
   * Generates the trades of market time [current position, toMsOfDay) within the session, slot by
   * slot, appending each market's trades to its tape. Arrivals follow the intraday U-shape.
   */
  advance(toMsOfDay: number, tapes: Record<Market, TradeTape>): void {
    const end = Math.min(toMsOfDay, CLOSE_MS);
    while (this.nextSlotMs + SLOT_MS <= end) {
      const slot = this.nextSlotMs;
      const x = (slot + SLOT_MS / 2 - OPEN_MS) / SESSION_MS;
      // U-shape: busy at the open and the close, quiet at lunch; mean of the shape over the day = 7/6.
      const u = (0.5 + 2 * (2 * x - 1) ** 2) / (7 / 6);
      const perSlot = (this.tradesPerDay * SLOT_MS * u) / SESSION_MS;
      for (const m of ['kospi', 'kosdaq'] as const) {
        const count = this.rng.poisson(perSlot * this.shareOfDay[m]);
        for (let k = 0; k < count; k++) this.trade(m, slot + Math.floor((k * SLOT_MS) / count / 10) * 10, tapes[m]);
      }
      this.nextSlotMs = slot + SLOT_MS;
    }
  }

  /** Skips generation up to `msOfDay` (an exchange started mid-session in real-time mode). */
  skipTo(msOfDay: number): void {
    this.nextSlotMs = Math.max(this.nextSlotMs, msOfDay - (msOfDay % SLOT_MS));
  }

  /** One trade in market `m` at `msOfDay`; returns the issue index. */
  trade(m: Market, msOfDay: number, tape: TradeTape): number {
    const rng = this.rng;
    const cum = this.cumWeight[m];
    const target = rng.next() * cum[cum.length - 1];
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid] <= target) lo = mid + 1;
      else hi = mid;
    }
    const i = this.firstIndex[m] + lo;
    let p = this.last[i];
    const r = rng.next();
    if (r < 0.3) {
      const up = p + tickSize(p);
      if (up <= this.upper[i]) p = up;
    } else if (r < 0.6) {
      const down = p - tickSize(p - 1);
      if (down >= this.lower[i]) p = down;
    }
    const q = this.lot[i] * (1 + this.qtyTable[(r * 4294967296) & (QTY_TABLE_SIZE - 1)]);
    if (this.lastMs[i] < 0) {
      this.open[i] = this.high[i] = this.low[i] = p;
      this.openMs[i] = this.highMs[i] = this.lowMs[i] = msOfDay;
    } else if (p > this.high[i]) {
      this.high[i] = p;
      this.highMs[i] = msOfDay;
    } else if (p < this.low[i]) {
      this.low[i] = p;
      this.lowMs[i] = msOfDay;
    }
    // An up-tick lifted the offer (buyer-initiated), a down-tick hit the bid; unchanged prices split.
    if (r < 0.3 || (r >= 0.6 && r < 0.8)) {
      this.buyVolume[i] += q;
      this.buyCount[i]++;
      this.lastSide[i] = 2;
    } else this.lastSide[i] = 1;
    this.last[i] = p;
    this.lastQty[i] = q;
    this.lastMs[i] = msOfDay;
    this.tradeCount[i]++;
    const acc = (this.accVolume[i] += q);
    const accValue = (this.accValue[i] += p * q);
    this.trades++;
    this.flows.onTrade(i, p, q, rng.next());
    tape.push(i, p, q, acc, accValue, msOfDay);
    return i;
  }
}
