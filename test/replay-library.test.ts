import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay, replayBatches, type ReplayEvent, type ReplayOptions, type ReplaySource } from '../replay/index.js';
import { compareExchange, compareReceive } from '../storage/reader-query.js';
import { DAY, kstNs, knownDay, writeArrowDay, writeJournalDay, writeSqliteDay, type KnownDay, type RecordedFrame } from './replay-day.js';

let dir: string;
let d: KnownDay;
let recorded: RecordedFrame[];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-replay-'));
  d = knownDay();
  writeArrowDay(dir, d);
  await writeSqliteDay(dir, d);
  recorded = writeJournalDay(dir, d);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(o: Partial<ReplayOptions>): Promise<ReplayEvent[]> {
  const out: ReplayEvent[] = [];
  for await (const e of replay({ dataDir: dir, day: DAY, ...o })) out.push(e);
  return out;
}

const SOURCES: ReplaySource[] = ['arrow', 'sqlite'];

describe.each(SOURCES)('replay from %s', (source) => {
  it('merges every channel into receive order (recv_ns, src_seq, src_idx), all rows intact', async () => {
    const got = await collect({ source });
    expect(got.length).toBe(d.all.length);
    expect(got).toEqual(d.all);
  });

  it('replays only the channels asked for', async () => {
    const trades = await collect({ source, channels: ['trades'] });
    expect(trades).toEqual(d.trades);
    const flows = await collect({ source, channels: ['sector_flows'] });
    expect(flows).toEqual(d.flows);
    const both = await collect({ source, channels: ['sector_flows', 'snapshots'] });
    expect(both.map((e) => e.type)).toEqual(d.all.filter((e) => e.type !== 'trade').map((e) => e.type));
  });

  it('filters by symbol and by market', async () => {
    const one = await collect({ source, channels: ['trades'], symbols: ['005930'] });
    expect(one.length).toBeGreaterThan(100);
    expect(one).toEqual(d.trades.filter((t) => t.symbol === '005930'));
    const kosdaq = await collect({ source, channels: ['trades', 'snapshots'], markets: ['kosdaq'] });
    expect(kosdaq.length).toBeGreaterThan(100);
    expect(kosdaq.every((e) => (e.type === 'trade' || e.type === 'snapshot') && e.market === 'kosdaq')).toBe(true);
    expect(kosdaq.filter((e) => e.type === 'trade')).toEqual(d.trades.filter((t) => t.market === 'kosdaq'));
  });

  it('keeps a receive-time window [from, to)', async () => {
    const got = await collect({ source, from: '09:03:00', to: '09:04:00' });
    const from = kstNs(9, 3, 0);
    const to = kstNs(9, 4, 0);
    expect(got).toEqual(d.all.filter((e) => e.recvNs >= from && e.recvNs < to));
    expect(got.length).toBeGreaterThan(500);
  });

  it('orders and windows by exchange time on the exchange clock', async () => {
    const got = await collect({ source, channels: ['trades', 'sector_flows'], clock: 'exchange', from: '09:02:00', to: '09:02:30' });
    const from = kstNs(9, 2, 0);
    const to = kstNs(9, 2, 30);
    const expected = [...d.trades, ...d.flows].filter((e) => (e.exchNs ?? e.recvNs) >= from && (e.exchNs ?? e.recvNs) < to).sort(compareExchange);
    expect(got.length).toBe(expected.length);
    expect(got).toEqual(expected);
    // The fixture's lags make exchange order differ from receive order.
    expect(got).not.toEqual([...got].sort(compareReceive));
  });

  it('seeks forward and back: the next event is the first at or after the target', async () => {
    const rp = replay({ dataDir: dir, day: DAY, source, channels: ['trades'] });
    const it = rp[Symbol.asyncIterator]();
    for (let i = 0; i < 50; i++) await it.next();
    rp.seek('09:07:00');
    const after = (await it.next()).value as ReplayEvent;
    expect(after).toEqual(d.trades.find((t) => t.recvNs >= kstNs(9, 7, 0)));
    rp.seek(kstNs(9, 1, 0));
    const back = (await it.next()).value as ReplayEvent;
    expect(back).toEqual(d.trades.find((t) => t.recvNs >= kstNs(9, 1, 0)));
    let rest = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) rest++;
    expect(rest).toBe(d.trades.filter((t) => t.recvNs >= kstNs(9, 1, 0)).length);
    expect(rp.progress().events).toBe(50 + 1 + rest);
  });

  it('batch form: record batches of the window, channels interleaved by their first rows', async () => {
    const from = kstNs(9, 3, 0);
    const to = kstNs(9, 6, 0);
    const seen = { trades: 0, sector_flows: 0, snapshots: 0 };
    let prevFirst = 0n;
    let qty = 0;
    for await (const b of replayBatches({ dataDir: dir, day: DAY, source, from: '09:03:00', to: '09:06:00', batchRows: 500 })) {
      expect(b.batch.numRows).toBeLessThanOrEqual(500);
      expect(b.firstNs).toBeGreaterThanOrEqual(prevFirst);
      expect(b.firstNs).toBeGreaterThanOrEqual(from);
      expect(b.lastNs).toBeLessThan(to);
      prevFirst = b.firstNs;
      seen[b.channel] += b.batch.numRows;
      if (b.channel === 'trades') for (const v of b.batch.getChild('qty')!) qty += Number(v);
    }
    const inWindow = (e: ReplayEvent) => e.recvNs >= from && e.recvNs < to;
    expect(seen).toEqual({ trades: d.trades.filter(inWindow).length, sector_flows: d.flows.filter(inWindow).length, snapshots: d.snapshots.filter(inWindow).length });
    expect(qty).toBe(d.trades.filter(inWindow).reduce((a, t) => a + t.qty, 0));
  });

  it('stops reading when the consumer breaks out early', async () => {
    let n = 0;
    const rp = replay({ dataDir: dir, day: DAY, source });
    for await (const _ of rp) if (++n === 10) break;
    expect(n).toBe(10);
    expect((await rp.next()).done).toBe(true);
  });
});

describe('replay from the journal', () => {
  it('yields every record as a raw frame, bytes as received, in journal order', async () => {
    const frames = await collect({ source: 'journal' });
    const incoming = frames.filter((e) => e.type === 'frame' && !e.outgoing);
    expect(incoming.map((e) => e.type === 'frame' && Buffer.from(e.bytes).toString('utf8'))).toEqual(recorded.map((f) => f.text));
    expect(frames.filter((e) => e.type === 'frame' && e.outgoing).length).toBe(2);
    expect(frames.map((e) => e.srcSeq)).toEqual(frames.map((_, i) => i));
  });

  it('applies the window and the market filter to frames', async () => {
    const got = await collect({ source: 'journal', from: '09:03:00', to: '09:03:10', markets: ['kosdaq'] });
    expect(got.length).toBeGreaterThan(10);
    for (const e of got) {
      expect(e.recvNs >= kstNs(9, 3, 0) && e.recvNs < kstNs(9, 3, 10)).toBe(true);
      expect(e.type === 'frame' && (e.market === undefined || e.market === 'kosdaq')).toBe(true);
    }
    expect(got.some((e) => e.type === 'frame' && e.kind === 'ls.ws')).toBe(true);
  });

  it('refuses stored channels from the journal and frames from the stores', () => {
    expect(() => replay({ dataDir: dir, day: DAY, source: 'journal', channels: ['trades'] })).toThrow(/journal/);
    expect(() => replay({ dataDir: dir, day: DAY, source: 'arrow', channels: ['frames'] })).toThrow(/journal/);
  });
});

// Bounds are generous (a sum-of-sleeps clock or a wrong speed would miss them by far) because
// other suites share the two cores; bench/replay.ts measures the real figures.
describe('replay timing (real runs)', () => {
  async function timed(speed: number, from: string, to: string) {
    const rp = replay({ dataDir: dir, day: DAY, source: 'arrow', channels: ['trades', 'sector_flows'], speed, from, to });
    const start = performance.now();
    let first: bigint | undefined;
    let last: bigint | undefined;
    let early = 0;
    for await (const e of rp) {
      first ??= e.recvNs;
      last = e.recvNs;
      // Never emitted before its due time.
      if (performance.now() - start < Number(e.recvNs - first) / 1e6 / speed - 0.5) early++;
    }
    const wall = performance.now() - start;
    const span = Number((last as bigint) - (first as bigint)) / 1e6 / speed;
    return { wall, span, early, lateness: rp.progress().lateness };
  }

  it('speed 1: 3 s of the day takes 3 s, p99 lateness and end drift within bounds', async () => {
    const r = await timed(1, '09:02:00', '09:02:03');
    expect(r.lateness.count).toBeGreaterThan(50);
    expect(r.early).toBe(0);
    expect(r.lateness.p50).toBeLessThan(20);
    expect(r.lateness.p99).toBeLessThan(250);
    expect(Math.abs(r.wall - r.span)).toBeLessThan(300);
    expect(r.lateness.last).toBeLessThan(250);
  });

  it('pause holds events back; resume continues the recorded timeline without a jump', async () => {
    const rp = replay({ dataDir: dir, day: DAY, source: 'arrow', channels: ['trades'], speed: 10, from: '09:05:00', to: '09:05:10' });
    const it = rp[Symbol.asyncIterator]();
    await it.next();
    rp.pause();
    const pausedAt = rp.progress().events;
    await new Promise((r) => setTimeout(r, 300));
    expect(rp.progress().events).toBe(pausedAt);
    const resumedAt = performance.now();
    rp.resume();
    let n = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) n++;
    // 10 s of the day at speed 10: about 1 s after the resume, not 0.7 s (the pause is not skipped).
    expect(performance.now() - resumedAt).toBeGreaterThan(850);
    expect(n).toBe(d.trades.filter((t) => t.recvNs >= kstNs(9, 5, 0) && t.recvNs < kstNs(9, 5, 10)).length);
  });

  it('speed 10: 30 s of the day takes 3 s, p99 lateness and end drift within bounds', async () => {
    const r = await timed(10, '09:04:00', '09:04:30');
    expect(r.lateness.count).toBeGreaterThan(500);
    expect(r.early).toBe(0);
    expect(r.lateness.p50).toBeLessThan(20);
    expect(r.lateness.p99).toBeLessThan(250);
    expect(Math.abs(r.wall - r.span)).toBeLessThan(300);
    expect(r.lateness.last).toBeLessThan(250);
  });
});
