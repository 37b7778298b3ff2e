// The A/B merge on its own: two copies of one feed, each with its own gaps, lags and repeated
// frames, merged into the feed once, in order, with each gap named by who filled it.
import { expect, it } from 'vitest';
import { AbMerge, type GapFill, type MergeFrame, type Side, type Supplier } from '../followers/ab-merge.js';

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
