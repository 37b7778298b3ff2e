// `ticktape export` throughput and size: Parquet (parquet-wasm, zstd) against writing the same
// rows as an Arrow IPC file through the same read path in the same run, and Parquet bytes per
// trade against the Arrow part files the sink wrote.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { ArrowSink } from '../storage/arrow-sink.js';
import { TradeColumns } from '../storage/batch.js';
import { exportDay } from '../storage/export-dataset.js';
import { kstMidnight } from '../protocol/time.js';
import type { Figure } from './figures.js';

const DAY = '2026-11-20';
const ROWS = 1_000_000;
const BATCH = 4_000;
const SYMBOLS = 2_600;

/** A day of trades through the real sink: per-symbol random walks, so columns compress as real ones do. */
function writeTrades(dataDir: string): void {
  const log = pino({ level: 'silent' });
  const sink = ArrowSink.open({ dataDir, day: DAY, log });
  const open = kstMidnight(DAY) + 9 * 3_600_000;
  const price = new Float64Array(SYMBOLS).map((_, i) => 1_000 + ((i * 7919) % 90_000));
  const symbols = Array.from({ length: SYMBOLS }, (_, i) => String(i * 3 + 100).padStart(6, '0'));
  const cols = new TradeColumns(BATCH);
  let x = 1;
  for (let b = 0; b < ROWS / BATCH; b++) {
    cols.length = 0;
    for (let i = 0; i < BATCH; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const s = x % SYMBOLS;
      price[s] = Math.max(100, price[s] + ((x >>> 8) % 5) - 2);
      const ms = open + b * 23 + Math.floor(i / 200);
      cols.push(s & 1, symbols[s], ms - ((x >>> 4) % 300), price[s], 1 + ((x >>> 12) % 500), BigInt(ms) * 1_000_000n + BigInt(i), b * 20 + Math.floor(i / 200), i % 200);
    }
    sink.write({ day: DAY, trades: cols, flows: [], snapshots: [], listings: [], signals: [], quarantine: [], journal: { file: 'bench.journal', fromOffset: b * 1000, toOffset: (b + 1) * 1000, fromSeq: b * 20, toSeq: (b + 1) * 20 } });
  }
  sink.close();
}

export async function run(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-export-'));
  try {
    const dataDir = path.join(dir, 'data');
    writeTrades(dataDir);
    const log = pino({ level: 'silent' });
    const timed = async (format: 'parquet' | 'arrow') => {
      const t0 = performance.now();
      const r = await exportDay({ dataDir, day: DAY, outDir: path.join(dir, format), format, log });
      return { rate: (r.rows * 1000) / (performance.now() - t0), bytes: r.bytes, sourceBytes: r.sourceBytes, rows: r.rows };
    };
    // Warm both paths (wasm compile, JIT), then measure.
    await timed('arrow');
    await timed('parquet');
    const arrow = await timed('arrow');
    const parquet = await timed('parquet');
    if (parquet.rows !== ROWS || arrow.rows !== ROWS) throw new Error(`export wrote ${parquet.rows}/${arrow.rows} rows, expected ${ROWS}`);
    return [
      { name: 'export trades to Parquet (parquet-wasm, zstd)', value: parquet.rate, unit: 'rows/s', baseline: { name: 'same rows to an Arrow IPC file', value: arrow.rate } },
      { name: 'Parquet size', value: parquet.bytes / ROWS, unit: 'B/trade', higherIsBetter: false, baseline: { name: 'Arrow part files (sink)', value: parquet.sourceBytes / ROWS } },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
