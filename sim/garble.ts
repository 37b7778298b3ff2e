// Bad frames for the malformed-frame faults. They are sent as extra frames beside the real ones
// and never carry a decodable trade or flow, so the ground truth stays exactly what a correct
// client can capture, while the client's quarantine must catch every one of them.

import type { Random } from './random.js';

/** A proper prefix of a JSON array or object text, which is never valid JSON. */
export function truncated(frame: string, rng: Random): string {
  return frame.slice(0, 1 + rng.int(Math.max(1, frame.length - 2)));
}

const WRONG_PRICE: readonly unknown[] = ['12a', true, {}, '', '1e3', null];
const WRONG_QTY: readonly unknown[] = [null, '7.5', [], '-', false, 'x'];

/** A /ws_ksp /ws_kdq frame whose elements all have a wrong-typed `trdPrc` and `trdVol`. */
export function wrongTypedTradeFrame(symbol: string, trdTm: string, rng: Random): string {
  return JSON.stringify([{ isuSrtCd: symbol, trdPrc: WRONG_PRICE[rng.int(WRONG_PRICE.length)], trdVol: WRONG_QTY[rng.int(WRONG_QTY.length)], trdTm }]);
}

/** An LS push whose body values are numbers and objects where LS always sends strings. */
export function wrongTypedLsPush(trCd: string, trKey: string, rng: Random): string {
  return JSON.stringify({ header: { tr_cd: trCd, tr_key: trKey }, body: { upcode: trKey, tjjcode: 8, tjjtime: rng.int(24_000_000), msvolume: {}, mdvolume: null, price: [], cvolume: true } });
}
