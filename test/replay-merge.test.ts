import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byExchange, byReceive, mergeChunks, type Stamped } from '../replay/merge.js';

interface Row extends Stamped {
  source: number;
  n: number;
}

async function* chunksOf<T>(rows: readonly T[], size: number): AsyncGenerator<readonly T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

async function collect<T>(chunks: AsyncIterable<readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of chunks) out.push(...c);
  return out;
}

function row(source: number, n: number, recv: number, seq: number, idx: number, exch: number | null = null): Row {
  return { source, n, recvNs: BigInt(recv), exchNs: exch === null ? null : BigInt(exch), srcSeq: seq, srcIdx: idx };
}

describe('mergeChunks', () => {
  it('orders by receive time, then frame number, then position, keeping source order on exact ties', async () => {
    const a = [row(0, 0, 10, 1, 0), row(0, 1, 10, 1, 1), row(0, 2, 30, 4, 0), row(0, 3, 50, 9, 0)];
    const b = [row(1, 0, 10, 0, 0), row(1, 1, 20, 2, 0), row(1, 2, 30, 4, 0), row(1, 3, 60, 10, 0)];
    const c: Row[] = [];
    const merged = await collect(mergeChunks([chunksOf(a, 3), chunksOf(b, 1), chunksOf(c, 1)], byReceive));
    expect(merged.map((r) => `${r.source}.${r.n}`)).toEqual(['1.0', '0.0', '0.1', '1.1', '0.2', '1.2', '0.3', '1.3']);
  });

  it('equals a stable sort of the concatenated sources, for any chunking', async () => {
    const sourceRows = fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), { maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(fc.array(sourceRows, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 7 }), async (sources, size) => {
        const rows = sources.map((s, si) => s.map(([t, q, i], n) => row(si, n, t, q, i)).sort((x, y) => (byReceive(x, y) ? -1 : byReceive(y, x) ? 1 : 0)));
        const merged = await collect(mergeChunks(rows.map((r) => chunksOf(r, size)), byReceive));
        const expected = rows.flat().sort((x, y) => (byReceive(x, y) ? -1 : byReceive(y, x) ? 1 : x.source - y.source));
        expect(merged).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('merges by exchange time (receive time when a row has none) when asked', async () => {
    const a = [row(0, 0, 100, 1, 0, 50), row(0, 1, 200, 3, 0, 180)];
    const b = [row(1, 0, 150, 2, 1, 60), row(1, 1, 120, 2, 0, null)];
    const merged = await collect(mergeChunks([chunksOf(a, 1), chunksOf(b, 2)], byExchange));
    expect(merged.map((r) => `${r.source}.${r.n}`)).toEqual(['0.0', '1.0', '1.1', '0.1']);
  });

  it('closes every source when the consumer stops early', async () => {
    const closed: number[] = [];
    async function* source(id: number): AsyncGenerator<readonly Row[]> {
      try {
        for (let i = 0; i < 100; i++) yield [row(id, i, i * 2 + id, i, 0)];
      } finally {
        closed.push(id);
      }
    }
    for await (const chunk of mergeChunks([source(0), source(1)], byReceive)) {
      if (chunk.length > 0) break;
    }
    expect(closed.sort()).toEqual([0, 1]);
  });
});
