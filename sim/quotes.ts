// Views of the synthetic market's state in the vendors' record shapes (price preset, close,
// master, history, order book), shared by the REST endpoints and the per-symbol feeds so that
// every channel reports the same numbers.

import type { ClosePrice, HistoryBar, Master, PricePreset } from '../protocol/koscom-rest.js';
import { formatHhmmsscc, kstMidnight, type TradingDay } from '../protocol/time.js';
import { floorToTick, type Issue, priceLimits, type SyntheticMarket, tickSize } from './market.js';
import { Random } from './random.js';

/** 전일대비구분, shared by Koscom `cmpprevddTpCd` and LS `sign`: 1 상한, 2 상승, 3 보합, 4 하한, 5 하락. */
export function changeSign(price: number, base: number, upper: number, lower: number): '1' | '2' | '3' | '4' | '5' {
  if (price === base) return '3';
  if (price > base) return price >= upper ? '1' : '2';
  return price <= lower ? '4' : '5';
}

/** `trdTm` as the vendor's number (leading zero lost); 0 before the issue's first trade. */
export function trdTmNumber(msOfDay: number): number {
  return msOfDay < 0 ? 0 : Number(formatHhmmsscc(msOfDay));
}

export function pricePreset(m: SyntheticMarket, i: Issue): PricePreset {
  const k = i.index;
  const last = m.last[k];
  const traded = m.lastMs[k] >= 0;
  const [ask, bid] = bestQuotes(last);
  return {
    isuSrtCd: i.symbol,
    cmpprevddTpCd: changeSign(last, i.basePrice, i.upper, i.lower),
    cmpprevddPrc: last - i.basePrice,
    opnprc: m.open[k], hgprc: m.high[k], lwprc: m.low[k], trdPrc: last,
    trdvol: m.lastQty[k], accTrdvol: m.accVolume[k], accTrdval: m.accValue[k],
    lstAskbidTpCd: m.lastSide[k] === 2 ? '2' : '1',
    trdTm: trdTmNumber(m.lastMs[k]),
    ...(traded ? { askordPrc_1: ask, bidordPrc_1: bid } : {}),
  };
}

/** Best ask and bid around the last price: the last trade sits at the bid, one tick under the ask. */
export function bestQuotes(last: number): [ask: number, bid: number] {
  return [last + tickSize(last), last];
}

export function closePrice(m: SyntheticMarket, i: Issue): ClosePrice {
  const k = i.index;
  const last = m.last[k];
  return {
    isuSrtCd: i.symbol, trdPrc: last, cmpprevddTpCd: changeSign(last, i.basePrice, i.upper, i.lower),
    opnprc: m.open[k], hgprc: m.high[k], lwprc: m.low[k], accTrdvol: m.accVolume[k], accTrdval: m.accValue[k],
    cmpprevddPrc: last - i.basePrice,
  };
}

export function master(i: Issue, day: TradingDay): Master {
  return {
    isuSrtCd: i.symbol, isuCd: i.isin, isuKorAbbrv: i.abbr, secugrpId: i.etf ? 'EF' : 'ST', mktWarnTpCd: '00',
    admisuYn: 'N', haltYn: 'N', mktcapScaleCd: i.kp200 ? '1' : '3', kospiYn: i.market === 'kospi' && !i.etf ? 'Y' : 'N',
    kospi100Yn: 'N', kospi50Yn: 'N', basPrc: i.basePrice, prevddClsprc: i.basePrice, prevddAccTrdvol: i.prevVolume,
    prevddAccTrdval: i.prevVolume * i.basePrice, uplmtprc: i.upper, lwlmtprc: i.lower, sbPrc: floorToTick(i.basePrice * 0.7),
    parval: i.etf ? 0 : 500, isuPrc: 0, listShrs: i.listShrs, arrantrdYn: 'N', creditOrdPosblYn: 'Y', regulssQtyUnit: 1,
    srttrmOverheatIsuTpCd: '0', day, listDay: `${i.listDd.slice(0, 4)}-${i.listDd.slice(4, 6)}-${i.listDd.slice(6, 8)}`,
  };
}

/** Ten-level book (quote10); quantities vary with the issue's trade count so that pushes change. */
export function orderBook(m: SyntheticMarket, i: Issue): Record<string, number | string> {
  const k = i.index;
  const last = m.last[k];
  const book: Record<string, number | string> = { isuSrtCd: i.symbol, accTrdvol: m.accVolume[k] };
  let ask = last;
  let bid = last;
  let askTot = 0;
  let bidTot = 0;
  for (let n = 1; n <= 10; n++) {
    ask += tickSize(ask);
    if (n > 1) bid -= tickSize(bid - 1);
    const aq = levelQty(k, n, m.tradeCount[k]);
    const bq = levelQty(k, n + 10, m.tradeCount[k]);
    book[`askStep${n}BstordPrc`] = ask;
    book[`bidStep${n}BstordPrc`] = bid;
    book[`askStep${n}BstordRqty`] = aq;
    book[`bidStep${n}BstordRqty`] = bq;
    askTot += aq;
    bidTot += bq;
  }
  book.askordTotRqty = askTot;
  book.bidordTotRqty = bidTot;
  book.pstoffhrAskTotOrdRqty = 0;
  book.pstoffhrBidTotOrdRqty = 0;
  book.deemTrdPrc = 0;
  book.deemTrdvol = 0;
  book.deemAccTrdvol = 0;
  return book;
}

function levelQty(issue: number, level: number, seq: number): number {
  return 1 + ((Math.imul(issue + 1, 2654435761) ^ Math.imul(level, 40503) ^ Math.imul(seq + 1, 97)) >>> 0) % 5000;
}

const DAY_MS = 86_400_000;

/**
 * Daily bars before `day` (newest first), a random walk that ends at the issue's base price
 * (= yesterday's close); weekly/monthly bars take the last business day of each week/month.
 * Deterministic per issue. At most `count` bars within [from, to].
 */
export function history(i: Issue, day: TradingDay, cycle: 'D' | 'W' | 'M', count: number, from?: TradingDay, to?: TradingDay): HistoryBar[] {
  const rng = new Random(0x5eed ^ Math.imul(i.index + 1, 2654435761));
  const bars: HistoryBar[] = [];
  let close = i.basePrice;
  let t = kstMidnight(day) + 12 * 3_600_000;
  for (let guard = 0; bars.length < count && guard < 20_000; guard++) {
    t -= DAY_MS;
    const d = new Date(t);
    const wd = d.getUTCDay();
    if (wd === 0 || wd === 6) continue;
    const iso = d.toISOString().slice(0, 10);
    if (from !== undefined && iso < from) break;
    const prevClose = floorToTick(close / (1 + (rng.next() - 0.5) * 0.06));
    const { upper, lower } = priceLimits(prevClose);
    const c = Math.min(upper, Math.max(lower, close));
    const open = Math.min(upper, Math.max(lower, floorToTick(prevClose * (1 + (rng.next() - 0.5) * 0.02))));
    const high = Math.max(open, c, Math.min(upper, floorToTick(Math.max(open, c) * (1 + rng.next() * 0.02))));
    const low = Math.min(open, c, Math.max(lower, floorToTick(Math.min(open, c) * (1 - rng.next() * 0.02))));
    const vol = Math.round(i.prevVolume * (0.5 + rng.next()));
    const last = cycle === 'D' || (cycle === 'W' ? isLastWeekday(t) : isLastBusinessDayOfMonth(t));
    if (last && (to === undefined || iso <= to)) {
      bars.push({ day: iso, trdPrc: c, cmpprevddTpCd: changeSign(c, prevClose, upper, lower), opnprc: open, hgprc: high, lwprc: low, accTrdvol: vol, accTrdval: vol * c, cmpprevddPrc: c - prevClose });
    }
    close = prevClose;
  }
  return bars;
}

function isLastWeekday(t: number): boolean {
  return new Date(t).getUTCDay() === 5;
}

function isLastBusinessDayOfMonth(t: number): boolean {
  const month = new Date(t).getUTCMonth();
  for (let n = t + DAY_MS; ; n += DAY_MS) {
    const d = new Date(n);
    if (d.getUTCMonth() !== month) return true;
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) return false;
  }
}
