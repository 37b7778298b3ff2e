import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DataType, TimeUnit, Type, tableFromIPC, type Table } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { ArrowSink } from '../storage/arrow-sink.js';
import { META, channelDir, listParts, readPartInfo } from '../storage/arrow-format.js';
import type { RowBatch } from '../storage/batch.js';
import { FRAME_BYTES, JOURNAL_FILE, plainTrades, syntheticDay, type PlainTrade } from './storage-arrow-fixtures.js';

const log = pino({ level: 'silent' });
const DAY = '2026-11-20';
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-arrow-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function files(channel: 'trades' | 'snapshots' | 'sector_flows'): string[] {
  const d = channelDir(dir, DAY, channel);
  return fs.existsSync(d) ? fs.readdirSync(d).sort() : [];
}

function readTable(file: string): Table {
  return tableFromIPC(fs.readFileSync(file));
}

/** apache-arrow's row accessors give timestamps as float ms; the exact ns are in the raw values. */
function nsColumn(table: Table, name: string): (bigint | null)[] {
  const col = table.getChild(name)!;
  const out: (bigint | null)[] = [];
  for (const d of col.data) for (let i = 0; i < d.length; i++) out.push(d.getValid(i) ? (d.values as BigInt64Array)[i] : null);
  return out;
}

function tradesOf(table: Table): PlainTrade[] {
  const exch = nsColumn(table, 'exch_ts');
  const recv = nsColumn(table, 'recv_ns');
  const out: PlainTrade[] = [];
  let i = 0;
  for (const r of table) {
    out.push({ market: r.market, symbol: r.symbol, exchNs: exch[i], price: Number(r.price), qty: Number(r.qty), recvNs: recv[i]!, srcSeq: Number(r.src_seq), srcIdx: r.src_idx, trdVol: Number(r.trd_vol), kind: r.kind });
    i++;
  }
  return out;
}

function writeDay(sink: ArrowSink, batches: Iterable<RowBatch>): { trades: PlainTrade[]; flows: number; snapshots: number } {
  const trades: PlainTrade[] = [];
  let flows = 0;
  let snapshots = 0;
  for (const b of batches) {
    trades.push(...plainTrades(b));
    flows += b.flows.length;
    snapshots += b.snapshots.length;
    sink.write(b);
  }
  return { trades, flows, snapshots };
}

describe('ArrowSink', () => {
  it('writes trades, snapshots and sector flows that apache-arrow reads back identically, with the declared types', () => {
    const sink = ArrowSink.open({ dataDir: dir, day: DAY, log });
    const batches = [...syntheticDay({ day: DAY, batches: 6, framesPerBatch: 200, tradesPerFrame: 3, noExchEvery: 50 })];
    const written = writeDay(sink, batches);
    sink.close();

    expect(files('trades')).toEqual(['part-0000.arrow']);
    const table = readTable(path.join(channelDir(dir, DAY, 'trades'), 'part-0000.arrow'));
    expect(table.batches.length).toBe(6); // one record batch per write
    expect(tradesOf(table)).toEqual(written.trades);
    expect(written.trades.some((t) => t.exchNs === null)).toBe(true);

    const f = (name: string) => table.schema.fields.find((x) => x.name === name)!;
    for (const name of ['exch_ts', 'recv_ns']) {
      const type = f(name).type;
      expect(DataType.isTimestamp(type)).toBe(true);
      expect(type.unit).toBe(TimeUnit.NANOSECOND);
      expect(type.timezone).toBe('Asia/Seoul');
    }
    expect(f('exch_ts').nullable).toBe(true);
    expect(DataType.isDictionary(f('symbol').type)).toBe(true);
    expect(f('symbol').type.indices.typeId).toBe(Type.Int);
    expect(f('symbol').type.indices.bitWidth).toBe(32);
    expect(DataType.isUtf8(f('symbol').type.dictionary)).toBe(true);
    expect(DataType.isDictionary(f('market').type)).toBe(true);
    for (const name of ['price', 'qty', 'src_seq']) expect(f(name).type.bitWidth).toBe(64);
    expect(f('src_idx').type.bitWidth).toBe(32);

    const meta = table.schema.metadata;
    expect(meta.get(META.timeZone)).toBe('Asia/Seoul');
    expect(meta.get(META.journalFile)).toBe(JOURNAL_FILE);
    expect(meta.get(META.fromOffset)).toBe('0');
    expect(meta.get(META.toOffset)).toBe(String(6 * 200 * FRAME_BYTES));
    expect(meta.get(META.rows)).toBe(String(written.trades.length));
    expect(meta.get(META.minRecvNs)).toBe(String(written.trades[0].recvNs));
    expect(meta.get(META.maxRecvNs)).toBe(String(written.trades.at(-1)!.recvNs));

    const flows = readTable(path.join(channelDir(dir, DAY, 'sector_flows'), 'part-0000.arrow'));
    const flowRows = batches.flatMap((b) => b.flows);
    expect(flows.numRows).toBe(written.flows);
    const fr = flows.get(1)!;
    expect(fr.upcode).toBe(flowRows[1].upcode);
    expect(fr.tjjcode).toBe(flowRows[1].tjjcode);
    expect(nsColumn(flows, 'recv_ns')[1]).toBe(flowRows[1].recvNs);
    expect(Number(fr.msval)).toBe(flowRows[1].msval);
    expect(Number(fr.msvol)).toBe(flowRows[1].msvol); // negative values survive the int64 split
    expect(nsColumn(flows, 'exch_ts').slice(0, 2)).toEqual(flowRows.slice(0, 2).map((r) => (r.exchMs === 0 ? null : BigInt(r.exchMs) * 1_000_000n)));

    const snaps = readTable(path.join(channelDir(dir, DAY, 'snapshots'), 'part-0000.arrow'));
    const snapRows = batches.flatMap((b) => b.snapshots);
    expect(snaps.numRows).toBe(written.snapshots);
    const s = snaps.get(snapRows.length - 1)!;
    const last = snapRows.at(-1)!;
    expect([s.kind, s.market, s.symbol, Number(s.acc_value), Number(s.acc_volume), nsColumn(snaps, 'taken_ns').at(-1)]).toEqual([last.kind, last.market, last.symbol, last.accValue, last.accVolume, last.takenNs]);
    expect(readPartInfo(path.join(channelDir(dir, DAY, 'snapshots'), 'part-0000.arrow'), 'snapshots').partChannels.sort()).toEqual(['sector_flows', 'snapshots', 'trades']);
  });

  it('keeps unfinished parts hidden, removes them after a crash and reports only finished ranges as covered', () => {
    const first = ArrowSink.open({ dataDir: dir, day: DAY, log, partRows: 1000 });
    const gen = syntheticDay({ day: DAY, batches: 5, framesPerBatch: 100, tradesPerFrame: 4 });
    const b0 = gen.next().value as RowBatch;
    first.write(b0); // 100 frames, < 1000 trades: stays open
    expect(files('trades')).toEqual(['.part-0000.arrow.tmp']);
    expect(listParts(dir, DAY, 'trades')).toEqual([]);
    const b1 = gen.next().value as RowBatch;
    first.write(b1); // crosses 1000 trades... not yet (≈ 780): still one open part
    const b2 = gen.next().value as RowBatch;
    first.write(b2); // rolls: part 0 finished
    expect(files('trades')).toEqual(['part-0000.arrow']);
    const coveredTo = b2.journal.toOffset;
    expect(first.resumeOffset(JOURNAL_FILE)).toBe(coveredTo);
    first.write(gen.next().value as RowBatch); // part 1 open, then "crash": never closed
    expect(files('trades')).toEqual(['.part-0001.arrow.tmp', 'part-0000.arrow']);

    const second = ArrowSink.open({ dataDir: dir, day: DAY, log, partRows: 1000 });
    expect(files('trades')).toEqual(['part-0000.arrow']);
    expect(second.resumeOffset(JOURNAL_FILE)).toBe(coveredTo);
    expect(second.resumeOffset('other-journal')).toBe(0);
    second.close();
  });

  it('completes a generation whose crash fell between the renames of its channels', () => {
    const sink = ArrowSink.open({ dataDir: dir, day: DAY, log });
    writeDay(sink, syntheticDay({ day: DAY, batches: 2, framesPerBatch: 300, tradesPerFrame: 2 }));
    sink.close();
    const flowsDir = channelDir(dir, DAY, 'sector_flows');
    fs.renameSync(path.join(flowsDir, 'part-0000.arrow'), path.join(flowsDir, '.part-0000.arrow.tmp'));
    const reopened = ArrowSink.open({ dataDir: dir, day: DAY, log });
    expect(files('sector_flows')).toEqual(['part-0000.arrow']);
    expect(reopened.resumeOffset(JOURNAL_FILE)).toBe(600 * FRAME_BYTES);
    reopened.close();
  });

  it('rolls parts by row count, continues numbering after a reopen and never stores a replayed frame twice', () => {
    const all = [...syntheticDay({ day: DAY, batches: 8, framesPerBatch: 50, tradesPerFrame: 10 })];
    const first = ArrowSink.open({ dataDir: dir, day: DAY, log, partRows: 900, collectorId: 'seoul-1' });
    const expected = writeDay(first, all.slice(0, 5)).trades;
    first.close();
    const namesAfterFirst = files('trades');
    expect(namesAfterFirst.every((n) => /^part-\d{4}\.seoul-1\.arrow$/.test(n))).toBe(true);
    expect(namesAfterFirst.length).toBeGreaterThanOrEqual(2);

    const second = ArrowSink.open({ dataDir: dir, day: DAY, log, partRows: 900, collectorId: 'seoul-1' });
    expect(second.resumeOffset(JOURNAL_FILE)).toBe(all[4].journal.toOffset);
    // The tape replays from before the covered offset (e.g. the SQLite checkpoint): no duplicates.
    expected.push(...writeDay(second, all.slice(3)).trades.filter((t) => t.srcSeq >= all[5].journal.fromSeq));
    second.close();
    const parts = listParts(dir, DAY, 'trades');
    expect(parts.map((p) => p.part)).toEqual([...parts.keys()]);
    expect(parts.length).toBeGreaterThan(namesAfterFirst.length);
    const readBack = parts.flatMap((p) => tradesOf(readTable(p.path)));
    expect(readBack).toEqual(expected);
    for (let i = 1; i < parts.length; i++) expect(parts[i].journal.fromOffset).toBe(parts[i - 1].journal.toOffset);
  });

  it('writes each dictionary once, whole, even when symbols first appear late in a part (no delta batches)', () => {
    const sink = ArrowSink.open({ dataDir: dir, day: DAY, log });
    const late = [...syntheticDay({ day: DAY, batches: 3, framesPerBatch: 40, tradesPerFrame: 2, symbols: 3 })];
    late[2].trades.symbol[5] = 'LATE01'; // a symbol first traded in the last batch of the part
    const written = writeDay(sink, late).trades;
    sink.close();
    const file = path.join(channelDir(dir, DAY, 'trades'), 'part-0000.arrow');
    const bytes = fs.readFileSync(file);
    const footer = Footer.decode(bytes.subarray(bytes.length - 10 - bytes.readInt32LE(bytes.length - 10), bytes.length - 10));
    expect(footer.numRecordBatches).toBe(3);
    expect(footer.numDictionaries).toBe(3); // market, symbol and kind, one batch each
    const table = readTable(file);
    expect(tradesOf(table)).toEqual(written);
    expect(written.filter((t) => t.symbol === 'LATE01')).toHaveLength(1);
  });

  it('rejects a collector id that cannot be part of a file name', () => {
    expect(() => ArrowSink.open({ dataDir: dir, day: DAY, log, collectorId: '../x' })).toThrow(/collectorId/);
  });
});
