import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Command } from 'commander';
import { ArrowSink } from '../storage/arrow-sink.js';
import { databasePath } from '../storage/reader.js';
import { inventory } from '../storage/reader-inventory.js';
import { findings, registerInspect } from '../cli/inspect.js';
import Database from 'better-sqlite3';
import { encodeTradeFrame } from '../protocol/koscom.js';
import { encodeSectorFlowPush } from '../protocol/ls.js';
import { kstMidnight } from '../protocol/time.js';
import { Tape } from '../followers/tape.js';
import { JOURNAL_FILE, sqliteWithSchema, syntheticDay } from './storage-arrow-fixtures.js';

const DAY = '2026-11-20';
const SECRET = 'appsecret-DO-NOT-PRINT-42';
let dir: string;
let trades = 0;
const symbols = new Set<string>();
let firstRecv = 0n;
let lastRecv = 0n;
let toSeq = 0;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-inspect-'));
  const { db, insert } = sqliteWithSchema(databasePath(dir));
  const sink = ArrowSink.open({ dataDir: dir, day: DAY, log: pino({ level: 'silent' }), partRows: 2000 });
  for (const b of syntheticDay({ day: DAY, batches: 6, framesPerBatch: 100, tradesPerFrame: 8 })) {
    sink.write(b);
    insert(b);
    trades += b.trades.length;
    for (let i = 0; i < b.trades.length; i++) symbols.add(b.trades.symbol[i]);
    if (firstRecv === 0n) firstRecv = b.trades.recvNs[0];
    lastRecv = b.trades.recvNs[b.trades.length - 1];
    toSeq = b.journal.toSeq;
    db.prepare('INSERT INTO checkpoints (sink, journal, offset, seq) VALUES (?, ?, ?, ?) ON CONFLICT (sink, journal) DO UPDATE SET offset = excluded.offset, seq = excluded.seq').run('sqlite', JOURNAL_FILE, b.journal.toOffset, b.journal.toSeq);
  }
  sink.close();
  const q = db.prepare('INSERT INTO quarantine (day, recv_ns, source, raw, reason, src_seq) VALUES (?, ?, ?, ?, ?, ?)');
  for (let i = 0; i < 5; i++) q.run(DAY, 1n, 'koscom.trades.kospi', `{"token":"${SECRET}"}`, 'isuLists[0].trdPrc: missing', i);
  q.run(DAY, 2n, 'ls.bm', 'garbage', '$: not JSON (Unexpected token)', 9);
  db.close();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('inventory and ticktape inspect', () => {
  it('counts rows, symbols and times per channel in both stores, quarantine by reason, and coverage', async () => {
    const [inv] = await inventory(dir, DAY);
    const t = inv.channels.find((c) => c.channel === 'trades')!;
    for (const s of [t.sqlite!, t.arrow!]) {
      expect(s.rows).toBe(trades);
      expect(s.symbols).toBe(symbols.size);
      expect(s.firstRecvNs).toBe(firstRecv);
      expect(s.lastRecvNs).toBe(lastRecv);
    }
    expect(t.arrow!.parts).toBeGreaterThan(1);
    expect(inv.channels.map((c) => c.channel).sort()).toEqual(['sector_flows', 'snapshots', 'trades']);
    expect(inv.quarantine).toEqual({ total: 6, reasons: [{ reason: 'isuLists[0].trdPrc: missing', count: 5 }, { reason: '$: not JSON (Unexpected token)', count: 1 }] });
    expect(inv.coverage.sort((a, b) => a.sink.localeCompare(b.sink))).toEqual([
      { sink: 'arrow', journal: JOURNAL_FILE, offset: expect.any(Number), seq: toSeq },
      { sink: 'sqlite', journal: JOURNAL_FILE, offset: expect.any(Number), seq: toSeq },
    ]);
    expect(findings(inv)).toEqual([]);
    expect(inv.files.filter((f) => f.path.endsWith('.arrow')).length).toBe(t.arrow!.parts + inv.channels.filter((c) => c.channel !== 'trades').reduce((n, c) => n + c.arrow!.parts, 0));
  });

  it('reports stores that disagree', async () => {
    const [inv] = await inventory(dir, DAY);
    const t = inv.channels.find((c) => c.channel === 'trades')!;
    t.sqlite!.rows += 1;
    expect(findings(inv)).toEqual([`trades: ${(trades + 1).toLocaleString('en-US')} rows in SQLite but ${trades.toLocaleString('en-US')} in Arrow for the same journal range`]);
    inv.coverage.find((c) => c.sink === 'arrow')!.seq -= 10;
    expect(findings(inv)[0]).toMatch(/SQLite covers [\d,]+ frames, Arrow [\d,]+/);
  });

  it('prints text and JSON without raw frames, and rejects a bad --day', async () => {
    const run = async (...args: string[]) => {
      const program = new Command('ticktape').exitOverride();
      registerInspect(program);
      let out = '';
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
      try {
        await program.parseAsync(['node', 'ticktape', 'inspect', '--data-dir', dir, ...args]);
      } finally {
        process.stdout.write = write;
      }
      return out;
    };
    const text = await run();
    expect(text).toContain(`day ${DAY}`);
    expect(text).toContain('5 × isuLists[0].trdPrc: missing');
    expect(text).toContain('ok: the stores agree');
    const json = JSON.parse(await run('--json', '--day', DAY));
    expect(json.days[0].channels[0].sqlite.rows).toBe(trades);
    expect(json.days[0].findings).toEqual([]);
    expect(text + JSON.stringify(json)).not.toContain(SECRET);
    await expect(run('--day', '2026-13-45x')).rejects.toThrow(/not a date/);
  });

  it('checks each store against what the journal frames it covers decode to', async () => {
    const live = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-inspect-tape-'));
    try {
      const tape = await Tape.open({ dataDir: live, day: DAY, log: pino({ level: 'silent' }), batchRows: 500 });
      const kospi = tape.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
      const bm = tape.channel({ name: 'ls.ws', vendor: 'ls', endpoint: '/websocket', kind: 'ls.ws' });
      const t0 = BigInt(kstMidnight(DAY) + 9 * 3_600_000) * 1_000_000n;
      let sent = 0;
      for (let f = 0; f < 300; f++) {
        const trades = Array.from({ length: 1 + (f % 7) }, (_, i) => ({ symbol: String(5930 + ((f + i) % 40)).padStart(6, '0'), price: 70_000 + i, qty: 1 + f, msOfDay: 9 * 3_600_000 + f * 10 }));
        sent += trades.length;
        tape.append(kospi, encodeTradeFrame(trades), t0 + BigInt(f) * 1_000_000n);
        if (f % 50 === 0) tape.append(bm, encodeSectorFlowPush({ upcode: '001', tjjcode: '0008', tjjtime: '09000000', msvolume: f, mdvolume: 1, msvol: 2, p_msvol: 3, msvalue: 4, mdvalue: 5, msval: 6, p_msval: 7 }), t0 + BigInt(f) * 1_000_000n + 1n);
        if (f % 100 === 1) tape.append(kospi, '[{"isuSrtCd":"005930","trdPrc":"12a"', t0 + BigInt(f) * 1_000_000n + 2n);
      }
      await tape.close();

      const [inv] = await inventory(live, DAY);
      expect(inv.journals).toHaveLength(1);
      const j = inv.journals![0];
      expect(j.frames).toBe(300 + 6 + 3);
      expect(j.rows).toEqual({ trades: sent, snapshots: 0, sector_flows: 6, quarantine: 3 });
      expect(j.covered.map((c) => c.rows)).toEqual([j.rows, j.rows]);
      expect(inv.channels.find((c) => c.channel === 'trades')!.arrow!.rows).toBe(sent);
      expect(findings(inv)).toEqual([]);
      expect(inv.files.some((f) => f.path.endsWith(`${DAY}.journal`))).toBe(true);

      const db = new Database(databasePath(live));
      db.prepare('DELETE FROM trades_live WHERE rowid = (SELECT max(rowid) FROM trades_live)').run();
      db.close();
      const [after] = await inventory(live, DAY);
      expect(findings(after)).toEqual([`trades: SQLite holds ${(sent - 1).toLocaleString('en-US')} rows, but the journal frames it covers decode to ${sent.toLocaleString('en-US')}`]);
    } finally {
      fs.rmSync(live, { recursive: true, force: true });
    }
  });
});
