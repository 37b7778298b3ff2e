// The detail feed's frames (tick10, quote10 pushes and snapshot results) through the real tape:
// decoded into `quotes` / `order_books`, bad ones quarantined, and rebuilt from the journal alone
// after the database is lost. Also the per-batch timing the tape reports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePushNotification, encodeResult, RESULT_OK } from '../protocol/jsonrpc.js';
import { BOOK_FIELDS, decodeDetailFrame } from '../protocol/koscom-detail.js';
import { pricePresetWire } from '../protocol/koscom-rest.js';
import { kstMidnight } from '../protocol/time.js';
import { type BatchTiming, Tape } from '../followers/tape.js';

const log = pino({ level: 'silent' });
const root = mkdtempSync(join(tmpdir(), 'ticktape-detail-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DAY = '2026-03-04';

const tick10 = (symbol: string, price: number) =>
  encodePushNotification({
    preset: 'tick10',
    ...pricePresetWire({ isuSrtCd: symbol, cmpprevddTpCd: '2', cmpprevddPrc: 100, opnprc: 70_000, hgprc: 71_000, lwprc: 69_500, trdPrc: price, trdvol: 7, accTrdvol: 1_000, accTrdval: 70_000_000, lstAskbidTpCd: '1', trdTm: 9_315_200, askordPrc_1: price + 100 }),
  });

/** A quote10 push without askStep4BstordRqty, as the v2 examples send it. */
function quote10(symbol: string): string {
  const book: Record<string, number | string> = { preset: 'quote10', isuSrtCd: symbol };
  BOOK_FIELDS.forEach((f, i) => (book[f] = 1_000 + i));
  delete book.askStep4BstordRqty;
  return encodePushNotification(book);
}

describe('detail frames', () => {
  it('classifies pushes, snapshot results and replies', () => {
    const t = decodeDetailFrame(tick10('005930', 71_200));
    expect(t.ok && t.value.kind === 'tick10' && t.value.quote).toMatchObject({ symbol: '005930', price: 71_200, trdTm: 9_315_200, ask1: 71_300, bid1: null });
    const b = decodeDetailFrame(quote10('005930'));
    expect(b.ok && b.value.kind === 'quote10' && b.value.book.values[BOOK_FIELDS.indexOf('askStep4BstordRqty')]).toBeNull();
    // The vendor's one example of a snapshot sent as the subscribe result.
    const r = decodeDetailFrame('{"jsonrpc":"2.0","id":2,"result":{"isuSrtCd":"005930","trdPrc":71200,"trdvol":10,"trdTm":10021530,"mkStatTpCd":1}}');
    expect(r.ok && r.value.kind === 'tick10' && r.value.quote).toMatchObject({ symbol: '005930', price: 71_200, trdvol: 10, open: null });
    expect(decodeDetailFrame(encodeResult(2, RESULT_OK))).toEqual({ ok: true, value: { kind: 'other' } });
    const bad = decodeDetailFrame(quote10('005930').replace('"bidStep2BstordPrc":1011', '"bidStep2BstordPrc":"x"'));
    expect(bad.ok ? undefined : bad.error.field).toBe('params.bidStep2BstordPrc');
  });

  it('stores quotes and order books, quarantines bad frames, and recovers them from the journal', async () => {
    const dataDir = join(root, 'recover');
    const batches: BatchTiming[] = [];
    const tape = await Tape.open({ dataDir, day: DAY, log, arrow: false, batchRows: 3, onBatch: (t) => batches.push(t) });
    const ch = tape.channel({ name: 'koscom.detail.kospi.0', vendor: 'koscom', endpoint: '/ws', kind: 'detail', market: 'kospi' });
    tape.append(ch, tick10('005930', 71_200));
    tape.append(ch, quote10('005930'));
    tape.append(ch, encodeResult(3, RESULT_OK));
    tape.append(ch, tick10('000660', 180_000));
    tape.append(ch, '{"jsonrpc":"2.0","method":"push","params":{"preset":"tick10","isuSrtCd":"005930"');
    await tape.close();
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.reduce((n, b) => n + b.rows, 0)).toBe(4);
    expect(batches.every((b) => b.seconds >= 0 && !b.recovering)).toBe(true);

    const read = () => {
      const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
      try {
        return {
          quotes: db.prepare('SELECT symbol, market, price, ask1, bid1, exch_ts FROM quotes WHERE day = ? ORDER BY src_seq').all(DAY),
          book: db.prepare('SELECT ask1_price, ask10_price, bid1_qty, ask4_qty, acc_volume FROM order_books WHERE day = ?').get(DAY),
          quarantined: db.prepare("SELECT count(*) FROM quarantine WHERE source = 'koscom.detail.kospi.0'").pluck().get(),
        };
      } finally {
        db.close();
      }
    };
    const stored = read();
    const exchTs = (kstMidnight(DAY) + (9 * 3600 + 31 * 60 + 52) * 1000) * 1_000_000;
    expect(stored.quotes).toEqual([
      { symbol: '005930', market: 'kospi', price: 71_200, ask1: 71_300, bid1: null, exch_ts: exchTs },
      { symbol: '000660', market: 'kospi', price: 180_000, ask1: 180_100, bid1: null, exch_ts: exchTs },
    ]);
    expect(stored.book).toEqual({ ask1_price: 1_000, ask10_price: 1_009, bid1_qty: 1_030, ask4_qty: null, acc_volume: 1_047 });
    expect(stored.quarantined).toBe(1);

    // The journal alone rebuilds the same rows into a fresh database.
    for (const f of ['ticktape.db', 'ticktape.db-wal', 'ticktape.db-shm']) rmSync(join(dataDir, f), { force: true });
    const replayed: BatchTiming[] = [];
    await (await Tape.open({ dataDir, day: DAY, log, arrow: false, onBatch: (t) => replayed.push(t) })).close();
    expect(replayed.some((b) => b.recovering && b.rows > 0)).toBe(true);
    expect(read()).toEqual(stored);
  });
});
