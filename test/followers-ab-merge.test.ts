// The A/B merge on its own: two copies of one feed, each with its own gaps, lags and repeated
// frames, merged into the feed once, in order, with each gap named by who filled it.
import { expect, it } from 'vitest';
import { AbMerge, type GapFill, type MergeFrame, type Side, type Supplier } from '../followers/ab-merge.js';
import { tradeElements } from '../protocol/koscom.js';
import { Random } from '../sim/random.js';

const MS = 1_000_000n;
/** Frame i of the feed: received at i ms (the same instant on both collectors, give or take a skew). */
const frame = (i: number, channel = 'koscom.trades.kospi', skewMs = 0): MergeFrame => ({ channel, recvNs: BigInt(i + skewMs) * MS, bytes: Buffer.from(`[{"isuCd":"A${i % 7}","trdPrc":${1000 + i},"trdVol":${i}}]`) });

interface Delivery {
  side: Side;
  frame: MergeFrame;
  /** When the merger gets it (the bus may deliver one side late). */
  atMs: number;
}

/** Feeds the deliveries in arrival order, ticking between, and returns what came out. */
function merge(deliveries: Delivery[], holdMs = 50): { out: { frame: MergeFrame; by: Supplier }[]; gaps: GapFill[]; m: AbMerge } {
  const out: { frame: MergeFrame; by: Supplier }[] = [];
  const gaps: GapFill[] = [];
  const m = new AbMerge({ holdMs, lateNs: 1_000n * MS, emit: (frame, by) => out.push({ frame, by }), gap: (g) => gaps.push(g) });
  const sorted = [...deliveries].sort((x, y) => x.atMs - y.atMs);
  for (const d of sorted) {
    m.tick(d.atMs);
    m.push(d.side, d.frame, d.atMs);
  }
  m.flush();
  return { out, gaps, m };
}

/** Both sides' deliveries of frames [0, n) but the ones each misses; B's arrive `lagMs` later. */
function feed(n: number, missA: (i: number) => boolean, missB: (i: number) => boolean, lagMs = 0, skewMs = 0): Delivery[] {
  const d: Delivery[] = [];
  for (let i = 0; i < n; i++) {
    if (!missA(i)) d.push({ side: 'a', frame: frame(i), atMs: i });
    if (!missB(i)) d.push({ side: 'b', frame: frame(i, undefined, skewMs), atMs: i + lagMs });
  }
  return d;
}

const texts = (out: { frame: MergeFrame }[]) => out.map((o) => o.frame.bytes.toString());
const expected = (n: number) => Array.from({ length: n }, (_, i) => frame(i).bytes.toString());
const none = () => false;

it('takes every frame both collectors hold once, and reports no gap', () => {
  const { out, gaps, m } = merge(feed(500, none, none));
  expect(texts(out)).toEqual(expected(500));
  expect(out.every((o) => o.by === 'both')).toBe(true);
  expect(gaps).toEqual([]);
  expect(m.counts).toEqual({ both: 500, a: 0, b: 0, late: 0 });
});

it('fills a gap of A from B and one of B from A, in place, and names who filled each', () => {
  const { out, gaps } = merge(feed(2_000, (i) => i >= 300 && i < 800, (i) => i >= 1200 && i < 1500));
  expect(texts(out)).toEqual(expected(2_000));
  expect(gaps.map((g) => ({ by: g.by, frames: g.frames, from: g.fromNs / MS, to: g.toNs / MS }))).toEqual([
    { by: 'b', frames: 500, from: 300n, to: 799n },
    { by: 'a', frames: 300, from: 1200n, to: 1499n },
  ]);
});

it('keeps the order when both collectors miss neighbouring frames', () => {
  const { out, gaps } = merge(feed(100, (i) => i === 40 || i === 42, (i) => i === 41 || i === 43));
  expect(texts(out)).toEqual(expected(100));
  // Between 40 and 43 neither collector held every frame: one run each, two frames each.
  expect(gaps.map((g) => `${g.by}:${g.fromNs / MS}-${g.toNs / MS}:${g.frames}`).sort()).toEqual(['a:41-43:2', 'b:40-42:2']);
});

it('takes a lagging collector\'s late copies as copies, not as new frames, even across clocks a few ms apart', () => {
  // B's copies reach the merger 2 s after A's (a slow bus consumer), stamped 3 ms later by its own clock.
  const { out, gaps, m } = merge(feed(3_000, none, none, 2_000, 3));
  expect(texts(out)).toEqual(expected(3_000));
  expect(gaps).toEqual([]);
  expect(m.counts.late).toBeGreaterThan(2_000);
  expect(m.counts.both + m.counts.a).toBe(3_000);
});

it('keeps a frame the feed repeats as often as it came, on each channel on its own', () => {
  const heartbeat = (side: Side, at: number, channel: string): Delivery => ({ side, atMs: at, frame: { channel, recvNs: BigInt(at) * MS, bytes: Buffer.from('{"jsonrpc":"2.0","id":1,"result":"OK"}') } });
  const d: Delivery[] = [];
  for (const ch of ['koscom.trades.kospi', 'koscom.trades.kosdaq']) {
    for (let i = 0; i < 3; i++) d.push(heartbeat('a', i * 10, ch), heartbeat('b', i * 10 + 1, ch));
    // B missed the fourth repeat.
    d.push(heartbeat('a', 30, ch));
  }
  const { out, gaps } = merge(d);
  for (const ch of ['koscom.trades.kospi', 'koscom.trades.kosdaq']) expect(out.filter((o) => o.frame.channel === ch).map((o) => o.by)).toEqual(['both', 'both', 'both', 'a']);
  expect(gaps.map((g) => [g.channel, g.by, g.frames])).toEqual([
    ['koscom.trades.kospi', 'a', 1],
    ['koscom.trades.kosdaq', 'a', 1],
  ]);
});

it('gives a collector that went silent\'s share to the other after the hold, without waiting for it', () => {
  const out: Supplier[] = [];
  const m = new AbMerge({ holdMs: 100, lateNs: 1_000n * MS, emit: (_f, by) => out.push(by), gap: () => {} });
  m.push('a', frame(0), 0);
  m.push('b', frame(0), 1);
  m.push('a', frame(1), 10);
  m.tick(50);
  expect(out).toEqual(['both']);
  m.tick(111);
  expect(out).toEqual(['both', 'a']);
});

// The vendor may cut each connection's trades into frames of its own: the same trades, in the same
// order, in frames that differ in bytes and count. The merge then goes trade by trade.

/** The feed's trades as their wire text: every 7th repeats the one before (the same trade content twice is legitimate). */
function tape(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 7 === 6) out.push(out[i - 1]);
    else out.push(`{"isuSrtCd":"00${5930 + (i % 13)}","trdPrc":"${70_000 + ((i * 37) % 500) * 10}","trdVol":"${1 + (i % 9)}","trdTm":"0901${String(Math.floor(i / 100) % 60).padStart(2, '0')}00"}`);
  }
  return out;
}

interface Cut {
  deliveries: Delivery[];
  /** The frames as sent, in order. */
  frames: string[];
}

/**
 * One side's copy of the tape: the trades it did not miss, cut into frames of 1–50 at boundaries of
 * its own (`seed`), none across a gap; a frame is received when its last trade is sent (trade i at i ms), `lagMs` later.
 */
function cut(trades: readonly string[], side: Side, miss: (i: number) => boolean, seed: number, lagMs = 0, sizes = new Random(seed)): Cut {
  const kept = trades.flatMap((text, i) => (miss(i) ? [] : [{ text, i }]));
  const c: Cut = { deliveries: [], frames: [] };
  for (let k = 0; k < kept.length; ) {
    // The side's own frames end where its gaps start: it lost whole frames.
    let end = Math.min(kept.length, k + 1 + sizes.int(50));
    for (let j = k + 1; j < end; j++) if (kept[j].i !== kept[j - 1].i + 1) end = j;
    const part = kept.slice(k, (k = end));
    const bytes = `[${part.map((t) => t.text).join(',')}]`;
    const at = part[part.length - 1].i;
    c.frames.push(bytes);
    c.deliveries.push({ side, atMs: at + lagMs, frame: { channel: 'koscom.trades.kospi', recvNs: BigInt(at) * MS, bytes: Buffer.from(bytes) } });
  }
  return c;
}

/** The trades of the merged frames, each as its text in the frame it came out in. */
function mergedTrades(out: { frame: MergeFrame }[]): string[] {
  return out.flatMap((o) => {
    const text = o.frame.bytes.toString();
    const elements = tradeElements(text);
    expect(elements, text).toBeDefined();
    expect(elements!.length).toBeGreaterThanOrEqual(1);
    expect(elements!.length).toBeLessThanOrEqual(50);
    return elements!.map((e) => text.slice(e.start, e.end));
  });
}

const trades = tape(2_000);
const gapOf = (g: GapFill) => ({ by: g.by, trades: g.trades, from: g.fromNs / MS, to: g.toNs / MS });
const during = (from: number, to: number) => (i: number) => i >= from && i < to;

it('differently batched sides with no gap: every trade once, in order, in A\'s frames as received', () => {
  const a = cut(trades, 'a', none, 1);
  const b = cut(trades, 'b', none, 2);
  expect(a.frames).not.toEqual(b.frames);
  const { out, gaps, m } = merge([...a.deliveries, ...b.deliveries]);
  expect(mergedTrades(out)).toEqual(trades);
  expect(texts(out)).toEqual(a.frames);
  expect(out.every((o) => o.by === 'both')).toBe(true);
  expect(gaps).toEqual([]);
  expect(m.counts).toEqual({ both: a.frames.length, a: 0, b: 0, late: 0 });
});

it('differently batched sides: fills a gap of A from B\'s trades, cutting B\'s frames where the gap starts and ends mid-frame', () => {
  const a = cut(trades, 'a', during(300, 800), 1);
  const b = cut(trades, 'b', none, 2);
  const { out, gaps } = merge([...a.deliveries, ...b.deliveries]);
  expect(mergedTrades(out)).toEqual(trades);
  expect(gaps.map(gapOf)).toEqual([{ by: 'b', trades: 500, from: expect.any(BigInt), to: expect.any(BigInt) }]);
  // B's frames around the gap hold trades A has too: only their part in the gap came out, as B's own text.
  const bFrames = new Set(b.frames);
  const built = out.filter((o) => o.by === 'b' && !bFrames.has(o.frame.bytes.toString()));
  expect(built.length).toBeGreaterThanOrEqual(1);
  for (const o of built) expect(b.frames.some((f) => f.includes(o.frame.bytes.toString().slice(1, -1)))).toBe(true);
  // Every frame of A went out as received.
  const aOut = out.filter((o) => o.by !== 'b').map((o) => o.frame.bytes.toString());
  expect(aOut).toEqual(a.frames);
});

it('differently batched sides: fills a gap of B from A\'s trades, A\'s frames kept as received', () => {
  const a = cut(trades, 'a', none, 3);
  const b = cut(trades, 'b', during(1_200, 1_500), 4);
  const { out, gaps, m } = merge([...a.deliveries, ...b.deliveries]);
  expect(mergedTrades(out)).toEqual(trades);
  expect(texts(out)).toEqual(a.frames);
  expect(gaps.map((g) => [g.by, g.trades])).toEqual([['a', 300]]);
  // A's frames holding any trade of B's gap (the first and last only in part).
  const touching = a.frames.filter((_, k) => out[k].by === 'a').length;
  expect(gaps[0].frames).toBe(touching);
  expect(m.counts.a).toBe(touching);
});

it('differently batched sides: gaps on both sides, each filled by the other, named in order', () => {
  const a = cut(trades, 'a', during(300, 800), 5);
  const b = cut(trades, 'b', during(1_200, 1_500), 6);
  const { out, gaps } = merge([...a.deliveries, ...b.deliveries]);
  expect(mergedTrades(out)).toEqual(trades);
  expect(gaps.map((g) => [g.by, g.trades])).toEqual([
    ['b', 500],
    ['a', 300],
  ]);
});

it('differently batched sides: neighbouring trades missed on each side, mid-frame, keep their order', () => {
  // (Not both copies of a repeated trade: each side missing one of two alike is beyond telling.)
  const a = cut(trades, 'a', (i) => i === 43 || i === 45 || i === 1_001, 7);
  const b = cut(trades, 'b', (i) => i === 44 || i === 46 || i === 1_000, 8);
  const { out, gaps } = merge([...a.deliveries, ...b.deliveries]);
  expect(mergedTrades(out)).toEqual(trades);
  expect(gaps.reduce((n, g) => n + g.trades, 0)).toBe(6);
});

it('differently batched sides: a trade repeated in a row or across a frame boundary is kept as often as it came, a gap beside a repeat too', () => {
  const same = trades.flatMap((_, i) => (i % 7 === 6 ? [i] : []));
  // Each side misses one of a repeated pair, a different one each.
  const a = cut(trades, 'a', (i) => i === same[3] || during(same[10] - 1, same[10] + 40)(i), 9);
  const b = cut(trades, 'b', (i) => i === same[20] - 1 || i === same[30], 10);
  // The repeats fall in a row inside a frame and across a frame boundary.
  const starts = new Set(a.frames.map((f) => f.slice(1, f.indexOf('}') + 1)));
  expect(same.some((i) => starts.has(trades[i]))).toBe(true);
  const { out, gaps } = merge([...a.deliveries, ...b.deliveries]);
  expect(mergedTrades(out)).toEqual(trades);
  expect(gaps.filter((g) => g.by === 'b').reduce((n, g) => n + g.trades, 0)).toBe(42);
  expect(gaps.filter((g) => g.by === 'a').reduce((n, g) => n + g.trades, 0)).toBe(2);
});

it('differently batched sides: a lagging side\'s trades are late copies, not new trades', () => {
  const a = cut(trades, 'a', none, 11);
  const b = cut(trades, 'b', none, 12, 2_000);
  const { out, gaps, m } = merge([...a.deliveries, ...b.deliveries]);
  expect(mergedTrades(out)).toEqual(trades);
  expect(gaps).toEqual([]);
  expect(m.counts.late).toBeGreaterThan(b.frames.length / 2);
});

it('identically batched trade frames: the frames themselves are merged, whole, as before', () => {
  const b = cut(trades, 'b', none, 13);
  // A lost the frames B received from 300 to 800 ms.
  const lost = (d: Delivery) => d.atMs >= 300 && d.atMs < 800;
  const a = b.deliveries.filter((d) => !lost(d)).map((d): Delivery => ({ ...d, side: 'a' }));
  const gapFrames = b.deliveries.filter(lost).map((d) => d.frame.bytes.toString());
  const { out, gaps, m } = merge([...a, ...b.deliveries]);
  expect(texts(out)).toEqual(b.frames);
  expect(out.map((o) => o.by)).toEqual(b.deliveries.map((d) => (lost(d) ? 'b' : 'both')));
  expect(gaps.map((g) => [g.by, g.frames, g.trades, g.bytes])).toEqual([['b', gapFrames.length, gapFrames.reduce((n, f) => n + (JSON.parse(f) as unknown[]).length, 0), gapFrames.reduce((n, f) => n + f.length, 0)]]);
  expect(m.counts).toEqual({ both: a.length, a: 0, b: gapFrames.length, late: 0 });
});

it('identically batched trade frames: a gap frame holding a trade alike to the next frame\'s first still goes out whole', () => {
  const [x, y, g] = [trades[40], trades[50], trades[60]];
  const at = (side: Side, atMs: number, ...elements: string[]): Delivery => ({ side, atMs, frame: { channel: 'koscom.trades.kospi', recvNs: BigInt(atMs) * MS, bytes: Buffer.from(`[${elements.join(',')}]`) } });
  // A missed B's second frame, which holds a trade alike to the first of the frame after it.
  const b = [at('b', 1, y, g), at('b', 10, g, x, y), at('b', 11, x, y, g)];
  const a = [at('a', 1, y, g), at('a', 12, x, y, g)];
  const { out, gaps } = merge([...b, ...a]);
  expect(texts(out)).toEqual(b.map((d) => d.frame.bytes.toString()));
  expect(out.map((o) => o.by)).toEqual(['both', 'b', 'both']);
  expect(gaps.map((g) => [g.by, g.frames, g.trades])).toEqual([['b', 1, 3]]);
});
