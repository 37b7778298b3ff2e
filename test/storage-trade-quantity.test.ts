// The trdVol reading (storage/trade-quantity.ts) through the real decoder and the real stores:
// which evidence decides a market, how held rows are fixed up, a symbol that does not fit its
// cumulative market, and a store that stops before any evidence came.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Tape } from '../followers/tape.js';
import { encodeTradeFrame, type WireTrade } from '../protocol/koscom.js';
import { replay } from '../replay/index.js';
import { listParts, readPartInfo } from '../storage/arrow-format.js';
import { TRADE_KINDS, type RowBatch } from '../storage/batch.js';
import { emptyBatch, FrameDecoder } from '../storage/decode.js';
import { FLAG, type JournalChannel } from '../storage/journal.js';
import { TickReader } from '../storage/reader.js';
import { CUMULATIVE_RUN } from '../storage/trade-quantity.js';
import { log, tempRoot } from './collector-capture.js';

const tmp = tempRoot('trade-quantity-store');
afterAll(() => tmp.remove());

const DAY = '2026-03-03';
const KOSPI: JournalChannel = { id: 0, name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' };
const AT_TEN = 10 * 3_600_000;
const t = (symbol: string, qty: number, msOfDay = AT_TEN): WireTrade => ({ symbol, price: 1000, qty, msOfDay });

function decodeAll(frames: WireTrade[][]): { decoder: FrameDecoder; batch: RowBatch; holdingAfter: boolean[] } {
  const decoder = new FrameDecoder(DAY);
  const batch = emptyBatch(DAY, 'x.journal', 0, 0, 16);
  const holdingAfter = frames.map((f, seq) => {
    decoder.decode(KOSPI, FLAG.incoming, 1n, seq, encodeTradeFrame(f), batch);
    return decoder.holding;
  });
  return { decoder, batch, holdingAfter };
}

const rows = (b: RowBatch) => Array.from({ length: b.trades.length }, (_, i) => ({ symbol: b.trades.symbol[i], qty: b.trades.qty[i], trdVol: b.trades.trdVol[i], kind: TRADE_KINDS[b.trades.kind[i]] }));

describe('trdVol reading', () => {
  it('holds a market’s trades until a value that does not rise proves per-trade, then keeps trdVol as the quantity', () => {
    const { decoder, batch, holdingAfter } = decodeAll([[t('A', 5), t('B', 7)], [t('A', 9)], [t('B', 7)], [t('A', 3)]]);
    expect(holdingAfter).toEqual([true, true, false, false]);
    expect(rows(batch).map((r) => r.qty)).toEqual([5, 7, 9, 7, 3]);
    expect(batch.modes).toEqual([{ market: 'kospi', symbol: '', mode: 'per-trade', basis: 'B: trdVol 7 after 7 did not rise', srcSeq: 2 }]);
    expect(decoder.trdVolModes().get('kospi')).toBe('per-trade');
  });

  it(`reads ${CUMULATIVE_RUN} rising values in a row as cumulative, fixes the held rows up, and reads a symbol that then falls per-trade`, () => {
    const frames: WireTrade[][] = [];
    const acc = new Map<string, number>();
    const own: number[] = [];
    for (let k = 0; k < CUMULATIVE_RUN + 4; k++) {
      const symbol = `S${k % 4}`;
      const q = 1 + ((k * 7) % 5);
      own.push(q);
      acc.set(symbol, (acc.get(symbol) ?? 0) + q);
      frames.push([t(symbol, acc.get(symbol)!)]);
      // A block trade (61000000) with its own quantity: no part in the reading.
      if (k === 5) frames.push([{ symbol: 'S1', price: 900, qty: 50_000, msOfDay: 61 * 3_600_000 }]);
    }
    frames.push([t('S0', 2)]);
    const { batch, holdingAfter } = decodeAll(frames);
    const regular = rows(batch).filter((r) => r.kind === 'regular');
    // 4 first values, then CUMULATIVE_RUN rising pairs: decided on the last of them.
    expect(holdingAfter.slice(0, -2).every(Boolean)).toBe(true);
    expect(holdingAfter.at(-2)).toBe(false);
    expect(regular.map((r) => r.qty)).toEqual([...own, 2]);
    expect(regular.slice(0, -1).map((r) => r.trdVol)).toEqual(frames.filter((f) => f[0].msOfDay === AT_TEN).slice(0, -1).map((f) => f[0].qty));
    expect(rows(batch).filter((r) => r.kind !== 'regular')).toEqual([{ symbol: 'S1', qty: 50_000, trdVol: 50_000, kind: 'block_intraday' }]);
    expect(batch.modes?.map((m) => [m.symbol, m.mode])).toEqual([
      ['', 'cumulative'],
      ['S0', 'per-trade'],
    ]);
  });

  it('reads Arrow parts written before trd_vol and kind existed as trdVol = qty, every trade regular', async () => {
    const dataDir = join(tmp.root, 'old-parts');
    const tape = await Tape.open({ dataDir, day: DAY, log });
    const ch = tape.channel(KOSPI);
    for (let f = 0; f < 20; f++) tape.append(ch, encodeTradeFrame([t('A', 10 + f), t('B', 5), t('C', 7 + (f % 3))]), BigInt(f + 1));
    await tape.close();
    const parts = listParts(dataDir, DAY, 'trades');
    expect(parts.length).toBeGreaterThan(0);
    for (const p of parts) {
      const table = tableFromIPC(readFileSync(p.path));
      writeFileSync(p.path, tableToIPC(table.select(['market', 'symbol', 'exch_ts', 'price', 'qty', 'recv_ns', 'src_seq', 'src_idx']), 'file'));
      expect(readPartInfo(p.path, 'trades').rows).toBe(p.rows);
      expect(tableFromIPC(readFileSync(p.path)).schema.fields.map((f) => f.name)).not.toContain('trd_vol');
    }
    const reader = TickReader.open({ dataDir, source: 'arrow' });
    const rowsRead = [];
    for await (const r of reader.trades({ day: DAY })) rowsRead.push(r);
    reader.close();
    expect(rowsRead).toHaveLength(60);
    for (const r of rowsRead) expect(r).toMatchObject({ trdVol: r.qty, kind: 'regular' });
    const events = [];
    for await (const e of replay({ dataDir, day: DAY, source: 'arrow', channels: ['trades'], speed: 'max' })) events.push(e);
    expect(events).toHaveLength(60);
    for (const e of events) expect(e).toMatchObject({ kind: 'regular' });
  });

  it('reads per-trade a market a stopping store had no evidence for, records it, and a reopen stores nothing twice', async () => {
    const dataDir = join(tmp.root, 'stop');
    const first = await Tape.open({ dataDir, day: DAY, log, arrow: false });
    const ch = first.channel(KOSPI);
    first.append(ch, encodeTradeFrame([t('A', 10), t('B', 20)]), 1n);
    first.append(ch, encodeTradeFrame([t('A', 30)]), 2n);
    await first.flush();
    const db = () => new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    let d = db();
    // Undecided: nothing written yet.
    expect(d.prepare('SELECT count(*) FROM trades').pluck().get()).toBe(0);
    d.close();
    await first.close();
    // Reopened: the held rows were written per-trade at the close; the reading stays per-trade.
    const second = await Tape.open({ dataDir, day: DAY, log, arrow: false });
    second.append(second.channel(KOSPI), encodeTradeFrame([t('A', 40), t('B', 50)]), 3n);
    await second.close();
    d = db();
    expect(d.prepare('SELECT symbol, qty, trd_vol FROM trades ORDER BY src_seq, src_idx').all()).toEqual([
      { symbol: 'A', qty: 10, trd_vol: 10 },
      { symbol: 'B', qty: 20, trd_vol: 20 },
      { symbol: 'A', qty: 30, trd_vol: 30 },
      { symbol: 'A', qty: 40, trd_vol: 40 },
      { symbol: 'B', qty: 50, trd_vol: 50 },
    ]);
    expect(d.prepare("SELECT market, symbol, mode, basis FROM trade_modes").all()).toEqual([{ market: 'kospi', symbol: '', mode: 'per-trade', basis: 'no evidence before the capture or the store stopped (default)' }]);
    d.close();
  });
});
