// Merging recorded channels into one time-ordered stream. Sources and output are streams of
// chunks (arrays of rows in order): the merge awaits only when a chunk runs out, and compares
// rows in a plain loop in between, so a whole day streams with flat memory and few promises.
import { compareExchange, compareReceive, exchangeKey } from '../storage/reader-query.js';

export { exchangeKey };

/** What the merge orders by: the receive instant, the frame number, the position inside the frame. */
export interface Stamped {
  recvNs: bigint;
  /** The feed's own time stamp (ns since the epoch), or null when it gave none. */
  exchNs: bigint | null;
  srcSeq: number;
  srcIdx: number;
}

/** Strict "comes first" relation; equal rows keep source order (the merge is stable). */
export type Before<T> = (a: T, b: T) => boolean;

/** Receive-time order, ties broken by (srcSeq, srcIdx). */
export function byReceive(a: Stamped, b: Stamped): boolean {
  return compareReceive(a, b) < 0;
}

/** Exchange-time order (exchange time, else receive time), ties broken by receive order. */
export function byExchange(a: Stamped, b: Stamped): boolean {
  return compareExchange(a, b) < 0;
}

interface Cursor<T> {
  iterator: AsyncIterator<readonly T[]>;
  chunk: readonly T[];
  at: number;
  /** Position in the sources list: breaks exact ties so the merge is stable. */
  rank: number;
}

/** Next non-empty chunk of a source, or undefined at its end. */
async function fill<T>(c: Cursor<T>): Promise<boolean> {
  for (;;) {
    const r = await c.iterator.next();
    if (r.done) return false;
    if (r.value.length > 0) {
      c.chunk = r.value;
      c.at = 0;
      return true;
    }
  }
}

/**
 * k-way merge of chunk streams, each already sorted by `before`, into one sorted chunk stream.
 * Stable: of rows equal under `before`, the one from the earlier source comes first.
 */
export async function* mergeChunks<T>(sources: readonly AsyncIterable<readonly T[]>[], before: Before<T>): AsyncGenerator<readonly T[]> {
  if (sources.length === 1) {
    yield* sources[0];
    return;
  }
  const all: Cursor<T>[] = sources.map((s, rank) => ({ iterator: s[Symbol.asyncIterator](), chunk: [], at: 0, rank }));
  let live: Cursor<T>[] = [];
  try {
    const filled = await Promise.all(all.map(fill));
    live = all.filter((_, i) => filled[i]);
    while (live.length > 1) {
      const out: T[] = [];
      let drained: Cursor<T> | undefined;
      while (drained === undefined) {
        let best = live[0];
        for (let i = 1; i < live.length; i++) {
          const c = live[i];
          // live stays in rank order, so a strict comparison keeps ties with the earlier source.
          if (before(c.chunk[c.at], best.chunk[best.at])) best = c;
        }
        out.push(best.chunk[best.at++]);
        if (best.at === best.chunk.length) drained = best;
      }
      yield out;
      if (!(await fill(drained))) live = live.filter((c) => c !== drained);
    }
    if (live.length === 1) {
      const last = live[0];
      live = [];
      if (last.at < last.chunk.length) yield last.chunk.slice(last.at);
      for (;;) {
        const r = await last.iterator.next();
        if (r.done) break;
        if (r.value.length > 0) yield r.value;
      }
    }
  } finally {
    // Close sources left open by an early exit of the consumer (their readers hold files).
    await Promise.all(all.map((c) => c.iterator.return?.()));
  }
}
