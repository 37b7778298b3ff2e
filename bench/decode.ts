// Decode rate of /ws_ksp frames (the ceiling of capture) against plain JSON.parse of the same frames.
import { decodeTradeFrame, encodeTradeFrame, MAX_TRADES_PER_FRAME, type TradeSink, type WireTrade } from '../protocol/koscom.js';
import { kstMidnight } from '../protocol/time.js';
import { type Figure, ratePerSecond } from './figures.js';

export function syntheticFrames(count: number): string[] {
  const frames: string[] = [];
  let ms = 9 * 3_600_000;
  for (let f = 0; f < count; f++) {
    const trades: WireTrade[] = [];
    for (let i = 0; i < MAX_TRADES_PER_FRAME; i++) {
      const sym = String(5930 + ((f * 37 + i * 101) % 2600)).padStart(6, '0');
      trades.push({ symbol: sym, price: 50_000 + ((f + i) % 300) * 100, qty: 1 + ((f * i) % 500), msOfDay: ms });
      ms += 10;
    }
    frames.push(encodeTradeFrame(trades));
  }
  return frames;
}

export async function run(): Promise<Figure[]> {
  const frames = syntheticFrames(2000);
  const day = kstMidnight('2026-11-20');
  let sum = 0;
  const sink: TradeSink = {
    trade(_s, price, qty) {
      sum += price + qty;
    },
    signal() {},
  };
  const perCall = frames.length * MAX_TRADES_PER_FRAME;
  const parseAll = () => {
    for (const f of frames) sum += (JSON.parse(f) as unknown[]).length;
    return perCall;
  };
  const decodeAll = () => {
    for (const f of frames) decodeTradeFrame(f, day, sink);
    return perCall;
  };
  // Rounds alternate baseline and decoder so that a noisy neighbour hits both alike; best of each counts.
  let parse = 0;
  let decode = 0;
  for (let round = 0; round < 3; round++) {
    parse = Math.max(parse, ratePerSecond(parseAll, 700));
    decode = Math.max(decode, ratePerSecond(decodeAll, 700));
  }
  if (sum === 0) throw new Error('decode produced nothing');
  return [{ name: 'decode /ws_ksp frames (protocol)', value: decode, unit: 'trades/s', baseline: { name: 'JSON.parse', value: parse } }];
}
