// The fast path of the trade-frame decoder: a frame exactly in the documented wire form (koscom.md
// §7: `[{"isuSrtCd":"…","trdPrc":"…","trdVol":"…","trdTm":"…"},…]`, no whitespace, plain digits,
// no signal codes or block trades) is read in one pass over the text, without building a JSON object per trade.
// Anything else — whitespace, numbers for strings, other keys or key order, escapes, signals, a bad
// value — is left to the general decoder (decodeTradeFrame), which gives the same answer for the
// frames this one reads; a fuzz test holds the two equal.
import type { TradeSink } from './koscom.js';
import { hhmmsscc } from './time.js';

const SYMBOL = '{"isuSrtCd":"';
const PRICE = '","trdPrc":"';
const QTY = '","trdVol":"';
const TIME = '","trdTm":"';
const QUOTE = 34;
const BACKSLASH = 92;
/** More digits than this could pass 2^53: the general decoder judges such a value. */
const MAX_DIGITS = 15;

/** What one frame held, before any of it reaches the sink (a frame is read whole or not at all). */
interface Scratch {
  symbol: string[];
  price: Float64Array;
  qty: Float64Array;
  exchMs: Float64Array;
}

let scratch: Scratch = { symbol: [], price: new Float64Array(0), qty: new Float64Array(0), exchMs: new Float64Array(0) };

let pos = 0;
/** The digits at `pos` up to the closing quote, as a number (NaN when they are not 1–15 plain digits). */
function digits(text: string): number {
  let v = 0;
  const start = pos;
  for (;;) {
    const c = text.charCodeAt(pos) - 48;
    if (!(c >= 0 && c <= 9)) break;
    v = v * 10 + c;
    pos++;
  }
  const n = pos - start;
  return n === 0 || n > MAX_DIGITS ? NaN : v;
}

/**
 * Reads a frame in the exact wire form into `trade` calls; returns false, having called nothing,
 * when the frame is in any other form or holds anything but regular trades (the caller then
 * decodes it the general way). `maxTrades` = the most elements a frame may hold.
 */
export function scanTradeFrame(text: string, dayStartMs: number, maxTrades: number, sink: TradeSink): boolean {
  const n = text.length;
  if (n < 3 || text.charCodeAt(0) !== 91 || text.charCodeAt(n - 1) !== 93) return false;
  if (scratch.price.length < maxTrades) scratch = { symbol: new Array<string>(maxTrades), price: new Float64Array(maxTrades), qty: new Float64Array(maxTrades), exchMs: new Float64Array(maxTrades) };
  const s = scratch;
  let count = 0;
  pos = 1;
  for (;;) {
    if (count === maxTrades || !text.startsWith(SYMBOL, pos)) return false;
    pos += SYMBOL.length;
    const from = pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === QUOTE || c === BACKSLASH || c < 32 || Number.isNaN(c)) break;
      pos++;
    }
    const len = pos - from;
    if (len === 0 || len > 12 || !text.startsWith(PRICE, pos)) return false;
    const symbol = text.slice(from, pos);
    pos += PRICE.length;
    const price = digits(text);
    if (!(price > 0) || !text.startsWith(QTY, pos)) return false;
    pos += QTY.length;
    const qty = digits(text);
    if (Number.isNaN(qty) || !text.startsWith(TIME, pos)) return false;
    pos += TIME.length;
    const tm = digits(text);
    const msOfDay = hhmmsscc(tm);
    // A bad time or a signal code (HH ≥ 24): the general decoder reports or routes it.
    if (!(msOfDay >= -1) || text.charCodeAt(pos) !== QUOTE || text.charCodeAt(pos + 1) !== 125) return false;
    pos += 2;
    s.symbol[count] = symbol;
    s.price[count] = price;
    s.qty[count] = qty;
    s.exchMs[count] = msOfDay === -1 ? 0 : dayStartMs + msOfDay;
    count++;
    const c = text.charCodeAt(pos);
    if (c === 44) pos++;
    else if (c === 93 && pos === n - 1) break;
    else return false;
  }
  for (let i = 0; i < count; i++) sink.trade(s.symbol[i], s.price[i], s.qty[i], s.exchMs[i], i, 0);
  return true;
}
