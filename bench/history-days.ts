// Compacted days for the query benchmark, written straight into the history tier: a 20 M-trade day
// through the journal, SQLite and compaction takes the best part of an hour here, and the query
// figure needs 20 of them. The trades come from the same SyntheticMarket the sim streams (full
// 09:00–15:30 session, both markets, frames of up to 50 trades every 100 ms as write-day.ts
// journals them), laid out and written exactly as compaction writes them (clusteredTradeBatches,
// tradeParquetOptions); bars_1m is aggregated from that file by DuckDB. `distinct` days are
// generated; the other day names are hard links to them (same bytes, no more disk).
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { MAX_TRADES_PER_FRAME } from '../protocol/koscom.js';
import { kstMidnight, type TradingDay } from '../protocol/time.js';
import { SyntheticMarket, TradeTape } from '../sim/market.js';
import { CLOSE_MS, OPEN_MS } from '../sim/session.js';
import { DEFAULT_TRADE_LAYOUT, tradeParquetOptions } from '../storage/compact.js';
import { writeParquetFile } from '../storage/export-parquet.js';
import type { CellValue } from '../storage/history-columns.js';
import { channelSpec, historyDayDir, historyFile, historySchema, writeManifest, type ChannelManifest } from '../storage/history-format.js';
import { clusteredTradeBatches } from '../storage/history-trades.js';

const STEP_MS = 100;
const LATENCY_MS = 30;

/** The day's trades in receive order, as compaction reads them from SQLite. */
function* syntheticTrades(day: TradingDay, seed: number, tradesPerDay: number): Generator<CellValue[]> {
  const market = new SyntheticMarket({ seed, kospiSymbols: 950, kosdaqSymbols: 1650, tradesPerDay });
  const midnight = kstMidnight(day);
  const tapes = { kospi: new TradeTape(), kosdaq: new TradeTape() };
  let seq = 0;
  for (let at = OPEN_MS + STEP_MS; at <= CLOSE_MS; at += STEP_MS) {
    market.advance(at, tapes);
    const stepNs = BigInt(midnight + at + LATENCY_MS) * 1_000_000n;
    // The step's frames received one after another within it, each stamped to the nanosecond (as
    // the capture's clock does).
    const frames = Math.ceil(tapes.kospi.length / MAX_TRADES_PER_FRAME) + Math.ceil(tapes.kosdaq.length / MAX_TRADES_PER_FRAME);
    const spacing = Math.floor((STEP_MS * 1_000_000) / (frames + 1));
    let frame = 0;
    let recvNs = stepNs;
    for (const m of ['kospi', 'kosdaq'] as const) {
      const tape = tapes[m];
      for (let k = 0; k < tape.length; k++) {
        if (k % MAX_TRADES_PER_FRAME === 0) {
          seq++;
          recvNs = stepNs + BigInt(frame++ * spacing + ((seq * 7_919) % spacing));
        }
        // The feed's trdTm has centiseconds.
        const exchNs = BigInt(midnight + Math.floor(tape.msOfDay[k] / 10) * 10) * 1_000_000n;
        const qty = BigInt(tape.qty[k]);
        yield [m, market.issues[tape.issue[k]].symbol, exchNs, BigInt(tape.price[k]), qty, recvNs, BigInt(seq), k % MAX_TRADES_PER_FRAME, qty, 'regular'];
      }
      tape.length = 0;
    }
  }
}

const BARS_SQL = (trades: string, bars: string) => `COPY (
  SELECT date_trunc('minute', coalesce(exch_ts, recv_ns)) AS minute, market, symbol,
         first(price ORDER BY exch_ts, recv_ns, src_seq, src_idx) AS open, max(price) AS high, min(price) AS low,
         last(price ORDER BY exch_ts, recv_ns, src_seq, src_idx) AS close, sum(qty)::BIGINT AS volume, sum(price * qty)::BIGINT AS value,
         sum(price * qty)::DOUBLE / sum(qty) AS vwap, count(*)::BIGINT AS trades
  FROM read_parquet('${trades}') GROUP BY ALL ORDER BY symbol, minute
) TO '${bars}' (FORMAT parquet, COMPRESSION zstd)`;

/** Writes one day's trades and bars into the history tier with its manifest; returns its trades. */
export async function writeHistoryDay(dataDir: string, day: TradingDay, seed: number, tradesPerDay: number): Promise<number> {
  const spec = channelSpec('trades');
  const tradesFile = historyFile(dataDir, day, 'trades');
  const barsFile = historyFile(dataDir, day, 'bars_1m');
  fs.mkdirSync(path.dirname(tradesFile), { recursive: true });
  fs.mkdirSync(path.dirname(barsFile), { recursive: true });
  const written = await writeParquetFile(tradesFile, clusteredTradeBatches(syntheticTrades(day, seed, tradesPerDay), historySchema(spec), spec.columns), tradeParquetOptions(DEFAULT_TRADE_LAYOUT));
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  let bars: number;
  try {
    await con.run("SET TimeZone = 'Asia/Seoul'");
    await con.run(BARS_SQL(tradesFile, barsFile));
    bars = Number((await con.runAndReadAll(`SELECT count(*) FROM read_parquet('${barsFile}')`)).getRows()[0][0]);
  } finally {
    con.closeSync();
    instance.closeSync();
  }
  const channels: ChannelManifest[] = [
    { channel: 'trades', rows: written.rows, bytes: written.bytes, checksums: {}, blockMinKeyNs: [], windowRows: DEFAULT_TRADE_LAYOUT.windowRows },
    { channel: 'bars_1m', rows: bars, bytes: fs.statSync(barsFile).size, checksums: {} },
  ];
  writeManifest(dataDir, { day, compactedNs: String(BigInt(Date.now()) * 1_000_000n), channels, journals: [] });
  return written.rows;
}

/** `names.length` days: the first `distinct` generated, the rest hard links to them in turn. Returns each day's trades. */
export async function writeHistoryDays(dataDir: string, names: readonly TradingDay[], distinct: number, tradesPerDay: number): Promise<number[]> {
  const trades: number[] = [];
  for (const [i, day] of names.entries()) {
    if (i < distinct) {
      // One seed (one symbol universe), a different activity per day.
      trades.push(await writeHistoryDay(dataDir, day, 11, Math.round(tradesPerDay * (1 + i * 0.01))));
      continue;
    }
    const src = names[i % distinct];
    for (const ch of ['trades', 'bars_1m'] as const) {
      fs.mkdirSync(path.dirname(historyFile(dataDir, day, ch)), { recursive: true });
      fs.linkSync(historyFile(dataDir, src, ch), historyFile(dataDir, day, ch));
    }
    const m = JSON.parse(fs.readFileSync(path.join(historyDayDir(dataDir, src), 'manifest.json'), 'utf8')) as { channels: ChannelManifest[] };
    writeManifest(dataDir, { day, compactedNs: String(BigInt(Date.now()) * 1_000_000n), channels: m.channels, journals: [] });
    trades.push(trades[i % distinct]);
  }
  return trades;
}
