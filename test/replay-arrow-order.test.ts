import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { arrowTradeStream } from '../replay/arrow-trades.js';
import { replay, type ReplayEvent } from '../replay/index.js';
import { ArrowSink } from '../storage/arrow-sink.js';
import { TradeColumns, type RowBatch } from '../storage/batch.js';
import { compareReceive } from '../storage/reader-query.js';
import { TickReader } from '../storage/reader.js';

const DAY = '2025-03-14';
const T0 = 1_741_910_400_000_000_000n; // 09:00 KST
let dir: string | undefined;

afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Batches of trades whose receive times are given per batch, in the order written. */
function write(batches: number[][], partRows = 1_000_000, collectorId?: string, into?: string): string {
  const d = into ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-replay-order-'));
  const sink = ArrowSink.open({ dataDir: d, day: DAY, collectorId, log: pino({ level: 'silent' }), partRows });
  let seq = 0;
  for (const recvMs of batches) {
    const cols = new TradeColumns(recvMs.length);
    const from = seq;
    for (const ms of recvMs) cols.push(0, '005930', 0, 70_000 + ms, 1, T0 + BigInt(ms) * 1_000_000n, seq++, 0);
    const b: RowBatch = { day: DAY, trades: cols, flows: [], snapshots: [], listings: [], signals: [], quarantine: [], journal: { file: `${DAY}.journal`, fromOffset: from, toOffset: seq, fromSeq: from, toSeq: seq } };
    sink.write(b);
  }
  sink.close();
  return d;
}

async function replayed(d: string): Promise<ReplayEvent[]> {
  const out: ReplayEvent[] = [];
  for await (const e of replay({ dataDir: d, day: DAY, source: 'arrow', channels: ['trades'] })) out.push(e);
  return out;
}

async function fromReader(d: string) {
  const r = TickReader.open({ dataDir: d, source: 'arrow' });
  const out = [];
  for await (const t of r.trades({ day: DAY })) out.push(t);
  r.close();
  return out;
}

describe('streaming Arrow trades', () => {
  it('streams parts in receive order and matches the storage reader', async () => {
    dir = write([[1, 2, 3], [4, 5, 6], [7, 8]], 3);
    expect(arrowTradeStream({ dataDir: dir, day: DAY, time: 'receive' })).toBeDefined();
    const got = await replayed(dir);
    expect(got.map((e) => e.recvNs)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((ms) => T0 + BigInt(ms) * 1_000_000n));
    expect(got).toMatchObject(await fromReader(dir));
  });

  it('sorts rows out of order within a slice and merges a slice that overlaps the previous one', async () => {
    dir = write([[5, 3, 4, 1], [2, 9, 6], [7, 8, 10]]);
    const got = await replayed(dir);
    expect(got.map((e) => Number((e.recvNs - T0) / 1_000_000n))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(got).toEqual([...got].sort(compareReceive));
  });

  it('ends a window at the first slice wholly past it, keeping rows displaced across its end', async () => {
    dir = write([[1, 2, 3], [4, 6, 5, 8], [7, 9, 10], [11, 12], [3]]);
    const to = T0 + 7_500_000n;
    const ms: number[] = [];
    for await (const chunk of arrowTradeStream({ dataDir: dir, day: DAY, time: 'receive', to })!) for (const e of chunk) ms.push(Number((e.recvNs - T0) / 1_000_000n));
    // The last batch's 3 lies beyond a slice wholly past the window: the capture never writes that.
    expect(ms).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('hands back to the reader when parts overlap in time', async () => {
    dir = write([[1, 5], [3, 7]], 2);
    expect(arrowTradeStream({ dataDir: dir, day: DAY, time: 'receive' })).toBeUndefined();
    expect((await replayed(dir)).map((e) => Number((e.recvNs - T0) / 1_000_000n))).toEqual([1, 3, 5, 7]);
  });

  it('merges the parts of two collectors by receive time', async () => {
    dir = write([[1, 4], [6]], 2, 'a');
    write([[2, 3], [5, 7]], 2, 'b', dir);
    expect(arrowTradeStream({ dataDir: dir, day: DAY, time: 'receive' })).toBeDefined();
    expect((await replayed(dir)).map((e) => Number((e.recvNs - T0) / 1_000_000n))).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
