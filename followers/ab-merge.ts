// A/B capture: two collectors on the same feed each miss what their own connection missed, and the
// market-wide feed has no sequence numbers to say what that was. The frames themselves are the
// sequence: both connections receive the same frames in the same order, so the merge walks both
// streams of a channel, takes a frame both hold once, and a frame only one holds (the other's gap)
// in its place between the frames around it. Pure and synchronous: the caller feeds frames as
// they arrive and writes what comes out to the merged journal.
import { createHash } from 'node:crypto';

export type Side = 'a' | 'b';
/** Who supplied an emitted frame: both collectors, or one alone. */
export type Supplier = Side | 'both';

export interface MergeFrame {
  channel: string;
  recvNs: bigint;
  bytes: Buffer;
}

/** A run of frames one collector alone supplied: the other's gap, filled. */
export interface GapFill {
  channel: string;
  /** The collector that supplied the frames. */
  by: Side;
  frames: number;
  bytes: number;
  /** Receive times (the supplier's clock) of the first and last frame of the run. */
  fromNs: bigint;
  toNs: bigint;
}

export interface AbMergeOptions {
  /** How long a frame one side holds waits for the other side's copy before it is taken alone, ms. */
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

interface Waiting {
  frame: MergeFrame;
  key: string;
  arrivedMs: number;
}

/** A frame emitted from one side alone, until the other side's copy arrives or it is past it. */
interface Alone {
  key: string;
  frame: MergeFrame;
  /** Frames both sides held emitted on the channel before this one: a run breaks across them. */
  bothBefore: number;
  /** The other side's copy came after all. */
  matched: boolean;
}

/** One side's frames emitted alone and not decided yet, in order, findable by content. */
class AloneList {
  private items: Alone[] = [];
  private head = 0;
  private readonly byKey = new Map<string, Alone[]>();

  add(x: Alone): void {
    this.items.push(x);
    const list = this.byKey.get(x.key);
    if (list === undefined) this.byKey.set(x.key, [x]);
    else list.push(x);
  }

  /** Marks the oldest unmatched frame with this content matched; false when there is none. */
  match(key: string): boolean {
    const list = this.byKey.get(key);
    if (list === undefined) return false;
    list.shift()!.matched = true;
    if (list.length === 0) this.byKey.delete(key);
    this.skipMatched();
    return true;
  }

  /** The oldest frame not matched yet. */
  first(): Alone | undefined {
    return this.items[this.head];
  }

  /** Removes the oldest (unmatched) frame: it was the other side's gap. */
  shift(): Alone {
    const x = this.items[this.head++];
    const list = this.byKey.get(x.key)!;
    list.shift();
    if (list.length === 0) this.byKey.delete(x.key);
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

/** One side's frames of one channel not emitted yet, in order, with the positions of each content. */
class Queue {
  private items: Waiting[] = [];
  private head = 0;
  /** Absolute index of items[head]. */
  private base = 0;
  private readonly at = new Map<string, number[]>();

  get size(): number {
    return this.items.length - this.head;
  }

  peek(i = 0): Waiting | undefined {
    return this.items[this.head + i];
  }

  push(w: Waiting): void {
    const abs = this.base + this.size;
    this.items.push(w);
    const list = this.at.get(w.key);
    if (list === undefined) this.at.set(w.key, [abs]);
    else list.push(abs);
  }

  shift(): Waiting {
    const w = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as Waiting;
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

  /** Position (from the head) of the first waiting frame with this content, or -1. */
  indexOf(key: string): number {
    const list = this.at.get(key);
    return list === undefined ? -1 : list[0] - this.base;
  }
}

class ChannelMerge {
  readonly q: Record<Side, Queue> = { a: new Queue(), b: new Queue() };
  readonly alone: Record<Side, AloneList> = { a: new AloneList(), b: new AloneList() };
  /** Newest receive time each side delivered on this channel. */
  readonly latestNs: Record<Side, bigint> = { a: -1n, b: -1n };
  both = 0;
  /** The open gap run per side. */
  readonly run: Partial<Record<Side, GapFill & { bothBefore: number }>> = {};
}

const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');
const contentKey = (bytes: Buffer) => createHash('sha1').update(bytes).digest('base64');

export interface MergeCounts {
  both: number;
  a: number;
  b: number;
  /** Copies that arrived after their frame had been taken from the other side alone. */
  late: number;
}

export class AbMerge {
  private readonly channels = new Map<string, ChannelMerge>();
  readonly counts: MergeCounts = { both: 0, a: 0, b: 0, late: 0 };

  constructor(private readonly o: AbMergeOptions) {}

  /** A frame from one side; emits what it settles. */
  push(side: Side, frame: MergeFrame, nowMs: number): void {
    const c = this.channel(frame.channel);
    const key = contentKey(frame.bytes);
    if (frame.recvNs > c.latestNs[side]) c.latestNs[side] = frame.recvNs;
    // The other side already gave this frame alone: this is its copy, come late.
    if (c.alone[other(side)].match(key)) this.counts.late++;
    else c.q[side].push({ frame, key, arrivedMs: nowMs });
    this.settle(c, nowMs);
    this.expire(c, other(side), false);
  }

  /** Emits the frames that have waited `holdMs` for the other side (call a few times a second). */
  tick(nowMs: number): void {
    for (const c of this.channels.values()) this.settle(c, nowMs);
  }

  /** End of the day: everything still waiting is emitted, and every open gap reported. */
  flush(): void {
    for (const c of this.channels.values()) {
      this.settle(c, Number.POSITIVE_INFINITY);
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
          this.emitBoth(c, ha.frame);
          continue;
        }
        // The first frame of A that B holds too: what comes before it on either side is the other's gap.
        const common = this.firstCommon(c);
        if (common !== undefined) {
          this.emitAloneUntil(c, common.a, common.b);
          continue;
        }
        // Nothing in common yet: a gap on both sides, or a side behind. Past the hold, the earlier frame goes.
        const oldest = Math.min(ha.arrivedMs, hb.arrivedMs);
        if (nowMs - oldest < this.o.holdMs) return;
        this.emitAlone(c, ha.frame.recvNs <= hb.frame.recvNs ? 'a' : 'b');
        continue;
      }
      const side: Side | undefined = ha !== undefined ? 'a' : hb !== undefined ? 'b' : undefined;
      if (side === undefined || nowMs - c.q[side].peek()!.arrivedMs < this.o.holdMs) return;
      this.emitAlone(c, side);
    }
  }

  private firstCommon(c: ChannelMerge): { a: number; b: number } | undefined {
    const { a, b } = c.q;
    for (let i = 0; i < a.size; i++) {
      const j = b.indexOf(a.peek(i)!.key);
      if (j >= 0) return { a: i, b: j };
    }
    return undefined;
  }

  /** Emits A's first `na` and B's first `nb` frames, each the other's gap, in receive order. */
  private emitAloneUntil(c: ChannelMerge, na: number, nb: number): void {
    while (na > 0 || nb > 0) {
      const takeA = nb === 0 || (na > 0 && c.q.a.peek()!.frame.recvNs <= c.q.b.peek()!.frame.recvNs);
      this.emitAlone(c, takeA ? 'a' : 'b');
      if (takeA) na--;
      else nb--;
    }
  }

  private emitBoth(c: ChannelMerge, frame: MergeFrame): void {
    c.both++;
    this.counts.both++;
    this.o.emit(frame, 'both');
  }

  private emitAlone(c: ChannelMerge, side: Side): void {
    const w = c.q[side].shift();
    c.alone[side].add({ key: w.key, frame: w.frame, bothBefore: c.both, matched: false });
    this.counts[side]++;
    this.o.emit(w.frame, side);
  }

  /**
   * Frames `side` gave alone that the other side is now well past (or, at flush, all of them) were
   * the other's gaps: reported as runs.
   */
  private expire(c: ChannelMerge, side: Side, all: boolean): void {
    const alone = c.alone[side];
    const past = c.latestNs[other(side)] - this.o.lateNs;
    for (let x = alone.first(); x !== undefined && (all || x.frame.recvNs < past); x = alone.first()) this.addToRun(c, side, alone.shift());
    // A run is over once frames both sides held came after it and none of it is still undecided.
    const run = c.run[side];
    if (run !== undefined && (all || (c.both > run.bothBefore && alone.first()?.bothBefore !== run.bothBefore))) this.report(c, side);
  }

  private report(c: ChannelMerge, side: Side): void {
    const { bothBefore: _, ...g } = c.run[side]!;
    delete c.run[side];
    this.o.gap(g);
  }

  private addToRun(c: ChannelMerge, side: Side, x: Alone): void {
    const run = c.run[side];
    if (run !== undefined && run.bothBefore === x.bothBefore) {
      run.frames++;
      run.bytes += x.frame.bytes.length;
      run.toNs = x.frame.recvNs;
      return;
    }
    if (run !== undefined) this.report(c, side);
    c.run[side] = { channel: x.frame.channel, by: side, frames: 1, bytes: x.frame.bytes.length, fromNs: x.frame.recvNs, toNs: x.frame.recvNs, bothBefore: x.bothBefore };
  }
}
