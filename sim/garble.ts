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

/** Kinds of junk frame, in the order `junkFrame` draws them. */
const JUNK_KINDS = 6;

/**
 * One junk frame for the junk fault: random binary bytes, text that is not valid UTF-8, random
 * printable text, a truncated real frame, JSON of the wrong shape, or an array of non-objects.
 * `binary` tells the sender to use a binary WebSocket frame.
 */
export function junkFrame(real: string, rng: Random): { data: string | Buffer; binary: boolean } {
  switch (rng.int(JUNK_KINDS)) {
    case 0:
      return { data: randomBytes(1 + rng.int(256), rng), binary: true };
    case 1:
      // '[' then a lone continuation byte and an overlong encoding: never valid UTF-8.
      return { data: Buffer.concat([Buffer.from('[{"isuSrtCd":"'), Buffer.from([0x80, 0xc0, 0xaf]), randomBytes(rng.int(32), rng)]), binary: false };
    case 2:
      return { data: Array.from({ length: 1 + rng.int(80) }, () => String.fromCharCode(0x21 + rng.int(94))).join(''), binary: false };
    case 3:
      return { data: truncated(real, rng), binary: false };
    case 4:
      return { data: JSON.stringify({ isuSrtCd: 'X', trdPrc: rng.int(1000) }), binary: false };
    default:
      return { data: JSON.stringify([rng.int(1000), 'x', null]), binary: false };
  }
}

/** A frame of `bytes` bytes that is no valid JSON (an unterminated array of strings). */
export function oversizeFrame(bytes: number): string {
  return `["${'x'.repeat(Math.max(0, bytes - 2))}`;
}

function randomBytes(n: number, rng: Random): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}
