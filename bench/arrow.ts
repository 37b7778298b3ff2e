// Arrow sink and reader API throughput, each against the plain way in the same run:
// - the sink (ArrowSink.write: columns from the tape's batch, symbol dictionary, Arrow IPC file
//   parts, fsync and rename) vs a raw apache-arrow IPC file write of the same columns;
// - bytes per trade in the Arrow files;
// - the reader (TickReader, typed rows in receive order) from Arrow and from SQLite vs a plain
//   scan of the same data (tableFromIPC + column loop; better-sqlite3 raw iterate).
import fs from 'node:fs';
import os from 'node:os';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Dictionary, Field, Int8, Int32, Int64, makeData, RecordBatch, RecordBatchFileWriter, Schema, Struct, tableFromIPC, TimeUnit, Timestamp, Utf8, Vector } from 'apache-arrow';
import { ArrowSink } from '../storage/arrow-sink.js';
import { listParts } from '../storage/arrow-format.js';
import { TickReader, databasePath } from '../storage/reader.js';
import { TradeColumns, type RowBatch } from '../storage/batch.js';
import { migrate } from '../storage/migrate.js';
import { kstMidnight } from '../protocol/time.js';
import type { Figure } from './figures.js';

const DAY = '2026-11-20';
const ROWS = 2_000_000;
const BATCH = 2_000;
const SYMBOLS = 2_600;
const symbolOf = (i: number) => String(i * 3 + 100).padStart(6, '0');

/** A few distinct batches, cycled with advancing times and journal ranges (memory stays small). */
function makeBatches(): TradeColumns[] {
  const out: TradeColumns[] = [];
  let x = 1;
  for (let b = 0; b < 16; b++) {
    const c = new TradeColumns(BATCH);
    for (let i = 0; i < BATCH; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      c.push(x & 1, symbolOf(x % SYMBOLS), 0, 1000 + (x % 90_000), 1 + (x % 3000), 0n, 0, i % 20);
    }
    out.push(c);
  }
  return out;
}

function* day(templates: TradeColumns[]): Generator<RowBatch> {
  const open = kstMidnight(DAY) + 9 * 3_600_000;
  for (let b = 0; b < ROWS / BATCH; b++) {
    const c = templates[b % templates.length];
    for (let i = 0; i < BATCH; i++) {
      const ms = open + b * 10 + Math.floor(i / 200);
      c.exchMs[i] = i % 50 === 0 ? 0 : ms - 5;
      c.recvNs[i] = BigInt(ms) * 1_000_000n + BigInt(i);
      c.srcSeq[i] = b * 10 + Math.floor(i / 200);
    }
    yield { day: DAY, trades: c, flows: [], snapshots: [], listings: [], signals: [], quarantine: [], journal: { file: 'bench.ttj', fromOffset: b * 1000, toOffset: (b + 1) * 1000, fromSeq: b * 10, toSeq: (b + 1) * 10 } };
  }
}

/** The plain apache-arrow way: same schema and columns, a RecordBatchFileWriter piped to a file stream. */
async function rawWrite(file: string, templates: TradeColumns[]): Promise<void> {
  const ts = new Timestamp(TimeUnit.NANOSECOND, 'Asia/Seoul');
  const schema = new Schema([
    new Field('market', new Dictionary(new Utf8(), new Int8(), 1), false),
    new Field('symbol', new Dictionary(new Utf8(), new Int32(), 0), false),
    new Field('exch_ts', ts, true),
    new Field('price', new Int64(), false),
    new Field('qty', new Int64(), false),
    new Field('recv_ns', ts, false),
    new Field('src_seq', new Int64(), false),
    new Field('src_idx', new Int32(), false),
  ]);
  const utf8 = (v: string[]) => {
    const enc = new TextEncoder();
    const bytes = v.map((s) => enc.encode(s));
    const offsets = new Int32Array(v.length + 1);
    bytes.forEach((b, i) => (offsets[i + 1] = offsets[i] + b.length));
    const data = new Uint8Array(offsets[v.length]);
    bytes.forEach((b, i) => data.set(b, offsets[i]));
    return new Vector([makeData({ type: new Utf8(), length: v.length, valueOffsets: offsets, data })]);
  };
  const symbols = Array.from({ length: SYMBOLS }, (_, i) => symbolOf(i));
  const code = new Map(symbols.map((s, i) => [s, i]));
  const symbolDict = utf8(symbols);
  const marketDict = utf8(['kospi', 'kosdaq']);
  const writer = new RecordBatchFileWriter();
  const written = pipeline(writer.toNodeStream(), fs.createWriteStream(file));
  let count = 0;
  for (const b of day(templates)) {
    const c = b.trades;
    const n = c.length;
    const sym = new Int32Array(n);
    const exch = new BigInt64Array(n);
    const valid = new Uint8Array((n + 7) >> 3);
    const price = new BigInt64Array(n);
    const qty = new BigInt64Array(n);
    const seq = new BigInt64Array(n);
    let nulls = 0;
    for (let i = 0; i < n; i++) {
      sym[i] = code.get(c.symbol[i])!;
      if (c.exchMs[i] === 0) nulls++;
      else {
        exch[i] = BigInt(c.exchMs[i]) * 1_000_000n;
        valid[i >> 3] |= 1 << (i & 7);
      }
      price[i] = BigInt(c.price[i]);
      qty[i] = BigInt(c.qty[i]);
      seq[i] = BigInt(c.srcSeq[i]);
    }
    const f = schema.fields;
    const children = [
      makeData({ type: f[0].type, length: n, data: new Int8Array(c.market.subarray(0, n)), dictionary: marketDict }),
      makeData({ type: f[1].type, length: n, data: sym, dictionary: symbolDict }),
      makeData({ type: f[2].type, length: n, nullCount: nulls, nullBitmap: valid, data: exch }),
      makeData({ type: f[3].type, length: n, data: price }),
      makeData({ type: f[4].type, length: n, data: qty }),
      makeData({ type: f[5].type, length: n, data: c.recvNs.slice(0, n) }),
      makeData({ type: f[6].type, length: n, data: seq }),
      makeData({ type: f[7].type, length: n, data: new Int32Array(c.srcIdx.subarray(0, n)) }),
    ];
    writer.write(new RecordBatch(schema, makeData({ type: new Struct(f), length: n, nullCount: 0, children })));
    // Let the stream drain now and then, or the whole file would queue in memory.
    if (++count % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  writer.close();
  await written;
}

function seconds(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

async function secondsAsync(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

export async function run(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-arrow-'));
  try {
    const templates = makeBatches();
    const log = pino({ level: 'silent' });
    await rawWrite(path.join(dir, 'warm.arrow'), templates); // warm-up of both code paths
    const warm = ArrowSink.open({ dataDir: path.join(dir, 'warm'), day: DAY, log });
    for (const b of day(templates)) warm.write(b);
    warm.close();

    const rawS = await secondsAsync(() => rawWrite(path.join(dir, 'raw.arrow'), templates));
    const sinkS = seconds(() => {
      const sink = ArrowSink.open({ dataDir: dir, day: DAY, log });
      for (const b of day(templates)) sink.write(b);
      sink.close();
    });
    const parts = listParts(dir, DAY, 'trades');
    const arrowBytes = parts.reduce((n, p) => n + p.bytes, 0);

    // SQLite with the same rows, for the reader (inserted the plain way; not measured here).
    const db = new Database(databasePath(dir));
    db.pragma('journal_mode = WAL');
    migrate(db);
    const ins = db.prepare('INSERT INTO trades_live (day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const insert = db.transaction((c: TradeColumns) => {
      for (let i = 0; i < c.length; i++) ins.run(DAY, c.market[i] ? 'kosdaq' : 'kospi', c.symbol[i], c.exchMs[i] ? BigInt(c.exchMs[i]) * 1_000_000n : null, c.price[i], c.qty[i], c.recvNs[i], c.srcSeq[i], c.srcIdx[i]);
    });
    for (const b of day(templates)) insert(b.trades);
    db.close();

    const readerS: Record<'arrow' | 'sqlite', number> = { arrow: 0, sqlite: 0 };
    for (const source of ['arrow', 'sqlite'] as const) {
      const reader = TickReader.open({ dataDir: dir, source });
      let n = 0;
      readerS[source] = await secondsAsync(async () => {
        for await (const chunk of reader.tradeChunks({ day: DAY })) n += chunk.length;
      });
      reader.close();
      if (n !== ROWS) throw new Error(`reader from ${source} returned ${n} rows, expected ${ROWS}`);
    }
    let sum = 0;
    const plainArrowS = seconds(() => {
      for (const p of parts) {
        const t = tableFromIPC(fs.readFileSync(p.path));
        for (const d of t.getChild('price')!.data) {
          const v = d.values as BigInt64Array;
          for (let i = 0; i < d.length; i++) sum += Number(v[i]);
        }
      }
    });
    const plainSqliteS = seconds(() => {
      const rdb = new Database(databasePath(dir), { readonly: true });
      for (const r of rdb.prepare('SELECT market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx FROM trades WHERE day = ?').raw(true).safeIntegers(true).iterate(DAY) as IterableIterator<unknown[]>) sum += Number(r[3]);
      rdb.close();
    });
    if (sum === 0) throw new Error('plain scans read nothing');

    return [
      { name: 'Arrow sink: trades written (ArrowSink.write → part files)', value: ROWS / sinkS, unit: 'rows/s', baseline: { name: 'raw apache-arrow IPC file write, same columns', value: ROWS / rawS } },
      { name: 'Arrow: bytes per trade (IPC file, uncompressed)', value: arrowBytes / ROWS, unit: 'B', higherIsBetter: false, note: `${parts.length} part(s), ${(arrowBytes / 2 ** 20).toFixed(1)} MB for ${ROWS} trades` },
      { name: 'reader: trades from Arrow, receive order (typed rows)', value: ROWS / readerS.arrow, unit: 'rows/s', baseline: { name: 'plain Arrow scan (tableFromIPC + column loop)', value: ROWS / plainArrowS } },
      { name: 'reader: trades from SQLite, receive order (typed rows)', value: ROWS / readerS.sqlite, unit: 'rows/s', baseline: { name: 'plain SQLite scan (raw iterate, table order)', value: ROWS / plainSqliteS }, note: 'unsealed day: ORDER BY recv_ns sorts without an index' },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
