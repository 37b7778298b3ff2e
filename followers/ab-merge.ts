// A/B capture: two collectors on the same feed each miss what their own connection missed, and the
// market-wide feed has no sequence numbers to say what that was. The content itself is the
// sequence: both connections receive the same trades in the same order, so the merge walks both
// streams of a channel, takes what both hold once, and what only one holds (the other's gap) in its
// place between what is around it. The vendor may cut each connection's trades into frames of its
// own, so a trade frame is walked trade by trade (the same trade can come twice: alignment goes by
// order, as often as it came); any other frame (a control reply, junk) is one item. Output keeps the
// wire form: a frame's trades that go out together are that frame as received, and a part of a
// frame is the frame's own element text cut out. Pure and synchronous: the caller feeds frames as
// they arrive and writes what comes out to the merged journal.
import { createHash } from 'node:crypto';
import { tradeElements } from '../protocol/koscom.js';

export type Side = 'a' | 'b';
/** Who supplied an emitted frame: both collectors (each trade of it), or one alone (it holds something only that one had). */
export type Supplier = Side | 'both';

export interface MergeFrame {
  channel: string;
  recvNs: bigint;
  bytes: Buffer;
}

/** A run of frames or trades one collector alone supplied: the other's gap, filled. */
export interface GapFill {
  channel: string;
  /** The collector that supplied the run. */
  by: Side;
  /** The supplier's frames the run came in (whole, or in part when the other held the rest of a frame). */
  frames: number;
  /** The trades of the run: those only the supplier held (0 on a run of frames that are not trade arrays). */
  trades: number;
  /** The run's share of those frames' bytes (whole frames: their size). */
  bytes: number;
  /** Receive times (the supplier's clock) of the first and last frame of the run. */
  fromNs: bigint;
  toNs: bigint;
}

export interface AbMergeOptions {
  /** How long a frame (or trade) one side holds waits for the other side's copy before it is taken alone, ms. */
  holdMs: number;
  /**
   * How far (receive time) the other side must have got past a frame taken alone before that frame
   * counts as its gap rather than a late copy still to come, ns.
   */
  lateNs: bigint;
  emit(frame: MergeFrame, by: Supplier): void;
  /** A finished gap run (reported once the other side is past it, or at flush). */
  gap(g: GapFill): void;
}

/** A frame as one side received it; a trade frame also with its elements. */
interface Received {
  frame: MergeFrame;
  /** Its text and elements, for a trade frame. */
  text?: string;
  elements?: readonly { start: number; end: number }[];
  /** Its items still waiting in the queue. */
  queued: number;
}

/** A frame's items, all waiting: it can still be matched whole. */
const whole = (r: Received) => r.queued === (r.elements?.length ?? 1);

/** What the merge aligns: one trade of a trade frame, or a whole frame of any other kind. */
interface Item {
  of: Received;
  /** The trade's content, or the frame's content hash. */
  key: string;
  /** The trade's place in its frame; -1 for a whole frame. */
  index: number;
  arrivedMs: number;
}

/** An item emitted from one side alone, until the other side's copy arrives or it is past it. */
interface Alone {
  item: Item;
  /** Items both sides held emitted on the channel before this one: a run breaks across them. */
  bothBefore: number;
  /** The other side's copy came after all. */
  matched: boolean;
}

/** One side's items emitted alone and not decided yet, in order, findable by content. */
class AloneList {
  private items: Alone[] = [];
  private head = 0;
  private readonly byKey = new Map<string, Alone[]>();

  add(x: Alone): void {
    this.items.push(x);
    const list = this.byKey.get(x.item.key);
    if (list === undefined) this.byKey.set(x.item.key, [x]);
    else list.push(x);
  }

  /** Marks the oldest unmatched item with this content matched; false when there is none. */
  match(key: string): boolean {
    const list = this.byKey.get(key);
    if (list === undefined) return false;
    list.shift()!.matched = true;
    if (list.length === 0) this.byKey.delete(key);
    this.skipMatched();
    return true;
  }

  /** The oldest item not matched yet. */
  first(): Alone | undefined {
    return this.items[this.head];
  }

  /** Removes the oldest (unmatched) item: it was the other side's gap. */
  shift(): Alone {
    const x = this.items[this.head++];
    const list = this.byKey.get(x.item.key)!;
    list.shift();
    if (list.length === 0) this.byKey.delete(x.item.key);
    this.skipMatched();
    return x;
  }

  private skipMatched(): void {
    while (this.head < this.items.length && this.items[this.head].matched) this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** One side's items of one channel not emitted yet, in order, with the positions of each content. */
class Queue {
  private items: Item[] = [];
  private head = 0;
  /** Absolute index of items[head]. */
  private base = 0;
  private readonly at = new Map<string, number[]>();

  get size(): number {
    return this.items.length - this.head;
  }

  peek(i = 0): Item | undefined {
    return this.items[this.head + i];
  }

  push(w: Item): void {
    const abs = this.base + this.size;
    this.items.push(w);
    w.of.queued++;
    const list = this.at.get(w.key);
    if (list === undefined) this.at.set(w.key, [abs]);
    else list.push(abs);
  }

  shift(): Item {
    const w = this.items[this.head]!;
    w.of.queued--;
    this.items[this.head] = undefined as unknown as Item;
    this.head++;
    this.base++;
    const list = this.at.get(w.key)!;
    list.shift();
    if (list.length === 0) this.at.delete(w.key);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return w;
  }

  /** Position (from the head) of the first waiting item with this content, or -1. */
  indexOf(key: string): number {
    const list = this.at.get(key);
    return list === undefined ? -1 : list[0] - this.base;
  }

  /** Position of the first waiting frame with these bytes, whole, among the copies of its first item; or -1. */
  indexOfWhole(first: Item): number {
    for (const abs of this.at.get(first.key) ?? []) {
      const w = this.peek(abs - this.base)!;
      if (w.index <= 0 && whole(w.of) && w.of.frame.bytes.equals(first.of.frame.bytes)) return abs - this.base;
    }
    return -1;
  }
}

/** Consecutive trades of one frame decided to go out together, gathered until the run breaks or the frame ends. */
interface Piece {
  of: Received;
  side: Side;
  /** Its first element and the one after its last. */
  from: number;
  to: number;
  /** Every trade of it held by both sides. */
  both: boolean;
}

class ChannelMerge {
  readonly q: Record<Side, Queue> = { a: new Queue(), b: new Queue() };
  readonly alone: Record<Side, AloneList> = { a: new AloneList(), b: new AloneList() };
  /** Newest receive time each side delivered on this channel. */
  readonly latestNs: Record<Side, bigint> = { a: -1n, b: -1n };
  /** Items both sides held, emitted so far. */
  both = 0;
  /** The open gap run per side. */
  readonly run: Partial<Record<Side, GapFill & { bothBefore: number; last: Received }>> = {};
  piece: Piece | undefined;
}

const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');
const contentKey = (bytes: Buffer) => createHash('sha1').update(bytes).digest('base64');

/** A frame's items: its trades, or the frame whole when it is no trade array. */
function items(frame: MergeFrame, arrivedMs: number): Item[] {
  const text = frame.bytes[0] === 0x5b ? frame.bytes.toString() : undefined;
  const elements = text === undefined ? undefined : tradeElements(text);
  if (elements === undefined || elements.length === 0) return [{ of: { frame, queued: 0 }, key: contentKey(frame.bytes), index: -1, arrivedMs }];
  const of: Received = { frame, text, elements, queued: 0 };
  return elements.map((e, i) => ({ of, key: e.key, index: i, arrivedMs }));
}

/**
 * An item's share of its frame's bytes (a whole frame: all of them); a trade's runs to the next
 * one's start, so a whole frame's shares add up to its size. Only gap runs need it.
 */
function itemBytes({ of, index }: Item): number {
  const { frame, text, elements } = of;
  if (index < 0) return frame.bytes.length;
  return Buffer.byteLength(text!.slice(index === 0 ? 0 : elements![index].start, index + 1 < elements!.length ? elements![index + 1].start : text!.length));
}

export interface MergeCounts {
  /** Frames emitted that both sides held (every trade of them, for a trade frame). */
  both: number;
  /** Frames emitted from one side, with something only that side held. */
  a: number;
  b: number;
  /** Frames that arrived (wholly or in part) as copies of what had been taken from the other side alone. */
  late: number;
}

export class AbMerge {
  private readonly channels = new Map<string, ChannelMerge>();
  readonly counts: MergeCounts = { both: 0, a: 0, b: 0, late: 0 };

  constructor(private readonly o: AbMergeOptions) {}

  /** A frame from one side; emits what it settles. */
  push(side: Side, frame: MergeFrame, nowMs: number): void {
    const c = this.channel(frame.channel);
    if (frame.recvNs > c.latestNs[side]) c.latestNs[side] = frame.recvNs;
    let late = false;
    for (const item of items(frame, nowMs)) {
      // The other side already gave this alone: this is its copy, come late.
      if (c.alone[other(side)].match(item.key)) late = true;
      else c.q[side].push(item);
    }
    if (late) this.counts.late++;
    this.settle(c, nowMs);
    this.expire(c, other(side), false);
  }

  /** Emits what has waited `holdMs` for the other side (call a few times a second). */
  tick(nowMs: number): void {
    for (const c of this.channels.values()) this.settle(c, nowMs);
  }

  /** End of the day: everything still waiting is emitted, and every open gap reported. */
  flush(): void {
    for (const c of this.channels.values()) {
      this.settle(c, Number.POSITIVE_INFINITY);
      this.emitPiece(c);
      for (const s of ['a', 'b'] as const) this.expire(c, s, true);
    }
  }

  private channel(name: string): ChannelMerge {
    let c = this.channels.get(name);
    if (c === undefined) this.channels.set(name, (c = new ChannelMerge()));
    return c;
  }

  private settle(c: ChannelMerge, nowMs: number): void {
    const { a, b } = c.q;
    for (;;) {
      const ha = a.peek();
      const hb = b.peek();
      if (ha !== undefined && hb !== undefined) {
        if (ha.key === hb.key) {
          a.shift();
          b.shift();
          c.both++;
          this.decide(c, ha, 'a', true);
          continue;
        }
        // The first item of A that B holds too: what comes before it on either side is the other's gap.
        const common = this.firstCommon(c);
        if (common !== undefined) {
          this.emitAloneUntil(c, common.a, common.b);
          continue;
        }
        // Nothing in common yet: a gap on both sides, or a side behind. Past the hold, the earlier item goes.
        const oldest = Math.min(ha.arrivedMs, hb.arrivedMs);
        if (nowMs - oldest < this.o.holdMs) return;
        this.emitAlone(c, ha.of.frame.recvNs <= hb.of.frame.recvNs ? 'a' : 'b');
        continue;
      }
      const side: Side | undefined = ha !== undefined ? 'a' : hb !== undefined ? 'b' : undefined;
      if (side === undefined || nowMs - c.q[side].peek()!.arrivedMs < this.o.holdMs) return;
      this.emitAlone(c, side);
    }
  }

  /**
   * The first item of A that B holds too, and B's copy of it: B's first, unless a later one begins
   * a frame the same as A's (a trade can come twice; the whole frame is the better match, and the
   * one frames batched alike always make).
   */
  private firstCommon(c: ChannelMerge): { a: number; b: number } | undefined {
    const { a, b } = c.q;
    for (let i = 0; i < a.size; i++) {
      const item = a.peek(i)!;
      const j = b.indexOf(item.key);
      if (j < 0) continue;
      const k = item.index <= 0 && whole(item.of) ? b.indexOfWhole(item) : -1;
      return { a: i, b: k >= 0 ? k : j };
    }
    return undefined;
  }

  /** Emits A's first `na` and B's first `nb` items, each the other's gap, in receive order. */
  private emitAloneUntil(c: ChannelMerge, na: number, nb: number): void {
    while (na > 0 || nb > 0) {
      const takeA = nb === 0 || (na > 0 && c.q.a.peek()!.of.frame.recvNs <= c.q.b.peek()!.of.frame.recvNs);
      this.emitAlone(c, takeA ? 'a' : 'b');
      if (takeA) na--;
      else nb--;
    }
  }

  private emitAlone(c: ChannelMerge, side: Side): void {
    const item = c.q[side].shift();
    c.alone[side].add({ item, bothBefore: c.both, matched: false });
    this.decide(c, item, side, false);
  }

  /**
   * The next item of the channel's output, from `side`: a whole frame goes out at once; a trade joins
   * the piece of its frame being gathered, which goes out when the frame ends or the next trade
   * comes from elsewhere.
   */
  private decide(c: ChannelMerge, item: Item, side: Side, both: boolean): void {
    if (item.index < 0) {
      this.emitPiece(c);
      this.emit(item.of.frame, both ? 'both' : side);
      return;
    }
    let p = c.piece;
    if (p !== undefined && (p.of !== item.of || p.to !== item.index)) {
      this.emitPiece(c);
      p = undefined;
    }
    p ??= c.piece = { of: item.of, side, from: item.index, to: item.index, both: true };
    p.to++;
    p.both &&= both;
    if (p.to === item.of.elements!.length) this.emitPiece(c);
  }

  /** The gathered piece: its frame as received when it is all of it, else its trades' own text as a frame. */
  private emitPiece(c: ChannelMerge): void {
    const p = c.piece;
    if (p === undefined) return;
    c.piece = undefined;
    const { frame, text, elements } = p.of;
    const by = p.both ? 'both' : p.side;
    if (p.from === 0 && p.to === elements!.length) return this.emit(frame, by);
    const parts = elements!.slice(p.from, p.to).map((e) => text!.slice(e.start, e.end));
    this.emit({ channel: frame.channel, recvNs: frame.recvNs, bytes: Buffer.from(`[${parts.join(',')}]`) }, by);
  }

  private emit(frame: MergeFrame, by: Supplier): void {
    this.counts[by]++;
    this.o.emit(frame, by);
  }

  /**
   * Items `side` gave alone that the other side is now well past (or, at flush, all of them) were
   * the other's gaps: reported as runs.
   */
  private expire(c: ChannelMerge, side: Side, all: boolean): void {
    const alone = c.alone[side];
    const past = c.latestNs[other(side)] - this.o.lateNs;
    for (let x = alone.first(); x !== undefined && (all || x.item.of.frame.recvNs < past); x = alone.first()) this.addToRun(c, side, alone.shift());
    // A run is over once items both sides held came after it and none of it is still undecided.
    const run = c.run[side];
    if (run !== undefined && (all || (c.both > run.bothBefore && alone.first()?.bothBefore !== run.bothBefore))) this.report(c, side);
  }

  private report(c: ChannelMerge, side: Side): void {
    const { bothBefore: _, last: __, ...g } = c.run[side]!;
    delete c.run[side];
    this.o.gap(g);
  }

  private addToRun(c: ChannelMerge, side: Side, x: Alone): void {
    const { of, index } = x.item;
    const bytes = itemBytes(x.item);
    const trades = index < 0 ? 0 : 1;
    const run = c.run[side];
    if (run !== undefined && run.bothBefore === x.bothBefore) {
      if (run.last !== of) run.frames++;
      run.last = of;
      run.trades += trades;
      run.bytes += bytes;
      run.toNs = of.frame.recvNs;
      return;
    }
    if (run !== undefined) this.report(c, side);
    c.run[side] = { channel: of.frame.channel, by: side, frames: 1, trades, bytes, fromNs: of.frame.recvNs, toNs: of.frame.recvNs, bothBefore: x.bothBefore, last: of };
  }
}
