// Streaming a large day keeps memory flat: the heap never holds more than about one part.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { ArrowSink } from '../storage/arrow-sink.js';
import { TickReader, databasePath } from '../storage/reader.js';
import { sqliteWithSchema, syntheticDay } from './storage-arrow-fixtures.js';
import { kstMidnight } from '../protocol/time.js';

const DAY = '2026-11-20';
const MB = 1024 * 1024;
const OPEN_NS = BigInt(kstMidnight(DAY) + 9 * 3_600_000) * 1_000_000n;
let dir: string;
let written = 0;
const SQLITE_ROWS = 1_000_000;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-reader-mem-'));
  const sink = ArrowSink.open({ dataDir: dir, day: DAY, log: pino({ level: 'silent' }), partRows: 200_000 });
  for (const b of syntheticDay({ day: DAY, batches: 400, framesPerBatch: 500, tradesPerFrame: 10, symbols: 2500 })) {
    sink.write(b);
    written += b.trades.length;
  }
  sink.close();
  // Half as many trades in SQLite (its ORDER BY sorts an unsealed day: the slow part of this
  // test), generated inside SQLite, with receive times out of insertion order in small runs.
  const { db } = sqliteWithSchema(databasePath(dir));
  db.prepare(
    `WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < ? - 1)
     INSERT INTO trades_live (day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx) SELECT ?, CASE i % 3 WHEN 0 THEN 'kosdaq' ELSE 'kospi' END, printf('%06d', i % 2500),
       ? + i * 1000 - 5000000, 1000 + i % 997, 1 + i % 50, ? + (i / 8) * 8000 + (7 - i % 8) * 1000, i / 8, i % 8 FROM g`,
  ).run(SQLITE_ROWS, DAY, OPEN_NS, OPEN_NS);
  db.close();
}, 120_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

for (const source of ['arrow', 'sqlite'] as const) {
  it(`streams a large day of trades from ${source} in receive order with bounded heap`, async () => {
    expect(written).toBeGreaterThan(1_900_000);
    const reader = TickReader.open({ dataDir: dir, source });
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    let n = 0;
    let last = -1n;
    let ordered = true;
    for await (const chunk of reader.tradeChunks({ day: DAY })) {
      for (const t of chunk) {
        if (t.recvNs < last) ordered = false;
        last = t.recvNs;
      }
      n += chunk.length;
      if ((n & 0xffff) < chunk.length) peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    }
    reader.close();
    expect(n).toBe(source === 'arrow' ? written : SQLITE_ROWS);
    expect(ordered).toBe(true);
    // 1–2 M rows held as objects would take 150–300 MB and more; measured here: ~15 MB (Arrow), ~60 MB (SQLite, mostly garbage).
    expect(peak).toBeLessThan(100 * MB);
  }, 60_000);
}
