// Bad input never stops capture and is never dropped: every malformed frame lands in quarantine
// with its reason, the good elements of a partly bad trade frame are kept, and capture goes on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeTradeFrame } from '../protocol/koscom.js';
import { encodeSectorFlowPush } from '../protocol/ls.js';
import { databaseFile } from '../storage/sqlite-sink.js';
import { Tape } from '../followers/tape.js';

const DAY = '2026-11-20';
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-quarantine-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const good = (sym: string) => ({ isuSrtCd: sym, trdPrc: '70000', trdVol: '10', trdTm: '9000000' });
const flow = { upcode: '001', tjjcode: '0008', tjjtime: '09153012', msvolume: 1, mdvolume: 2, msvol: 3, p_msvol: 4, msvalue: 5, mdvalue: 6, msval: 7, p_msval: 8 };

describe('bad frames', () => {
  it('quarantines each malformed frame with its reason and keeps capturing', async () => {
    const tape = await Tape.open({ dataDir: dir, day: DAY, log: pino({ level: 'silent' }), batchRows: 3 });
    const trades = tape.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
    const ls = tape.channel({ name: 'ls.ws', vendor: 'ls', endpoint: '/websocket', kind: 'ls.ws' });
    const list = tape.channel({ name: 'koscom.stock-list.kosdaq', vendor: 'koscom', endpoint: '/v2/market/stocks/kosdaq/lists', kind: 'stock-list', market: 'kosdaq' });
    const mq = tape.channel({ name: 'koscom.lists.kospi', vendor: 'koscom', endpoint: 'l', kind: 'multiquote-lists', market: 'kospi', snapshotKind: 'periodic' });
    const bad: [number, string | Buffer, RegExp][] = [
      [trades, 'not json', /^\$: not JSON/],
      [trades, '{"isuSrtCd":"005930"}', /expected a JSON array/],
      [trades, JSON.stringify([good('000001'), { ...good('000002'), trdPrc: '-5' }, good('000003'), { ...good('000004'), trdTm: '9996000' }]), /\[1\]\.trdPrc: .*\[3\]\.trdTm/],
      [trades, JSON.stringify(Array.from({ length: 51 }, (_, i) => good(String(200000 + i)))), /51 elements, more than 50/],
      [trades, Buffer.from([0xff, 0xfe, 0x00, 0x41]), /not JSON/],
      [trades, '', /not JSON/],
      [ls, '<html>502</html>', /not JSON/],
      [ls, JSON.stringify({ header: { tr_cd: 'BM_', tr_key: '001' }, body: { ...JSON.parse(encodeSectorFlowPush(flow)).body, msvolume: 'abc' } }), /body\.msvolume/],
      [ls, JSON.stringify({ header: 'x' }), /^header: /],
      [list, '{"trdDd":"2026","isuLists":[]}', /trdDd/],
      [mq, '{"trdDd":"20261120","trdTm":"250000","isuLists":[]}', /trdTm/],
    ];
    for (const [ch, frame] of bad) tape.append(ch, frame, 5n);
    tape.append(trades, encodeTradeFrame([{ symbol: '005930', price: 71000, qty: 3, msOfDay: 33_000_000 }]), 6n);
    tape.append(ls, encodeSectorFlowPush(flow), 7n);
    await tape.close();

    const db = new Database(databaseFile(dir), { readonly: true });
    const q = db.prepare('SELECT source, raw, reason, src_seq FROM quarantine ORDER BY rowid').all() as { source: string; raw: string; reason: string; src_seq: number }[];
    expect(q.length).toBe(bad.length);
    const framesOn = new Map<number, number>();
    q.forEach((row, i) => {
      // src_seq: the frame's number on its own channel.
      const nth = framesOn.get(bad[i][0]) ?? 0;
      framesOn.set(bad[i][0], nth + 1);
      expect(row.src_seq).toBe(nth);
      expect(row.reason).toMatch(bad[i][2]);
      expect(row.raw).toBe(bad[i][1].toString());
    });
    expect(q[0].source).toBe('koscom.trades.kospi');
    expect(q[6].source).toBe('ls.ws');
    // Good elements of the partly bad frames are stored; capture went on after the bad frames.
    const symbols = db.prepare('SELECT symbol FROM trades ORDER BY src_seq, src_idx').pluck().all() as string[];
    expect(symbols).toEqual(['000001', '000003', ...Array.from({ length: 51 }, (_, i) => String(200000 + i)), '005930']);
    expect(db.prepare('SELECT count(*) FROM sector_flows').pluck().get()).toBe(1);
    db.close();
  });
});

describe('lists decoded per element', () => {
  it('a stock list with a bad element stores the other listings and quarantines that element alone', async () => {
    const tape = await Tape.open({ dataDir: dir, day: DAY, log: pino({ level: 'silent' }) });
    const list = tape.channel({ name: 'koscom.stock-list.kospi', vendor: 'koscom', endpoint: '/v2/market/stocks/kospi/lists', kind: 'stock-list', market: 'kospi' });
    const el = (s: string) => ({ isuSrtCd: s, isuCd: `KR7${s}000`, isuKorNm: `n${s}`, isuKorAbbr: `a${s}` });
    tape.append(list, JSON.stringify({ trdDd: '20261120', mktEndTm: '1540', isuLists: [el('000001'), { ...el('000002'), isuCd: null }, el('000003')] }), 5n);
    await tape.close();
    const db = new Database(databaseFile(dir), { readonly: true });
    expect(db.prepare('SELECT symbol FROM symbols ORDER BY symbol').pluck().all()).toEqual(['000001', '000003']);
    const q = db.prepare('SELECT source, raw, reason FROM quarantine').all() as { source: string; raw: string; reason: string }[];
    expect(q).toHaveLength(1);
    expect(q[0].source).toBe('koscom.stock-list.kospi');
    expect(JSON.parse(q[0].raw)).toEqual({ ...el('000002'), isuCd: null });
    expect(q[0].reason).toMatch(/^isuLists\[1\]\.isuCd: .*\(list element 1; the other elements were stored\)$/);
    db.close();
  });
});
