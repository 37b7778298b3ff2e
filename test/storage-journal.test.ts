// The journal on real files: records round-trip, and a torn or corrupt tail is found, cut and logged.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLAG, Journal, JOURNAL_START, readJournal, RECORD_HEADER } from '../storage/journal.js';

let dir: string;
let file: string;
let lines: string[];
const log = () => pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(c.toString()), cb()) }));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-journal-'));
  file = path.join(dir, 'journal', '2026-11-20.journal');
  lines = [];
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function frame(i: number): string {
  return `{"n":${i},"pad":"${'가'.repeat(i % 37)}"}`;
}

function writeRecords(n: number): number[] {
  const j = Journal.open(file, { log: log(), fsync: 'off' });
  const ch = j.channel({ name: 'c', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
  const ends: number[] = [];
  for (let i = 0; i < n; i++) {
    j.append(ch, i % 5 === 0 ? FLAG.event : FLAG.incoming, i % 2 ? Buffer.from(frame(i)) : frame(i), BigInt(i) * 1_000_000_007n);
    ends.push(j.size);
  }
  j.close();
  return ends;
}

describe('journal', () => {
  it('reads back every record with its channel, flags, time and bytes', () => {
    const ends = writeRecords(300);
    const recs = [...readJournal(file)];
    expect(recs.length).toBe(300);
    recs.forEach((r, i) => {
      expect(r.seq).toBe(i);
      expect(r.bytes.toString()).toBe(frame(i));
      expect(r.recvNs).toBe(BigInt(i) * 1_000_000_007n);
      expect(r.flags).toBe(i % 5 === 0 ? FLAG.event : FLAG.incoming);
      expect(r.end).toBe(ends[i]);
      expect(r.end - r.offset).toBe(RECORD_HEADER + Buffer.byteLength(frame(i)));
    });
    // Frame numbers count the channel's incoming records only (every fifth record is an event).
    let next = 0;
    for (const r of recs) expect(r.frame).toBe(r.flags === FLAG.incoming ? next++ : -1);
    expect(next).toBe(240);
    expect(JSON.parse(fs.readFileSync(`${file}.channels.json`, 'utf8'))).toEqual([{ id: 0, name: 'c', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' }]);
  });

  it.each([
    ['a record cut short', (size: number) => fs.truncateSync(file, size - 7)],
    ['a corrupt byte in the last record', (size: number) => {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.from([0xff]), 0, 1, size - 3);
      fs.closeSync(fd);
    }],
    ['garbage after the last record', () => fs.appendFileSync(file, Buffer.from('\x07\x00\x00\x00garbage-garbage-garbage'))],
    ['a header cut short', () => fs.appendFileSync(file, Buffer.alloc(RECORD_HEADER - 1, 1))],
  ])('cuts %s on open, logs it, and appends after the last good record', (what, damage: (size: number) => void) => {
    const ends = writeRecords(50);
    const size = fs.statSync(file).size;
    damage(size);
    const damaged = fs.statSync(file).size;
    const keep = damaged < size || what.includes('corrupt') ? ends[48] : ends[49];
    const j = Journal.open(file, { log: log(), fsync: 'batch' });
    expect(j.size).toBe(keep);
    expect(j.seq).toBe(keep === ends[49] ? 50 : 49);
    expect(fs.statSync(file).size).toBe(keep);
    expect(lines.join('')).toMatch(new RegExp(`cut a torn or corrupt tail of ${damaged - keep} bytes`));
    j.append(0, FLAG.incoming, 'after', 1n);
    j.syncForBatch();
    j.close();
    const recs = [...readJournal(file)];
    expect(recs.length).toBe(j.seq);
    expect(recs.at(-1)!.bytes.toString()).toBe('after');
  });

  it('numbers incoming frames per channel, and goes on numbering after a reopen', () => {
    const a = Journal.open(file, { log: log(), fsync: 'off' });
    const x = a.channel({ name: 'x', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
    const y = a.channel({ name: 'y', vendor: 'ls', endpoint: '/websocket', kind: 'ls.ws' });
    for (const [ch, flags] of [[x, FLAG.incoming], [y, FLAG.incoming], [y, FLAG.outgoing], [x, FLAG.incoming], [y, FLAG.incoming]] as const) a.append(ch, flags, 'f', 1n);
    expect([a.framesOn(x), a.framesOn(y)]).toEqual([2, 2]);
    a.close();
    const b = Journal.open(file, { log: log(), fsync: 'off' });
    expect([b.framesOn(x), b.framesOn(y)]).toEqual([2, 2]);
    b.append(y, FLAG.incoming, 'f', 2n);
    b.append(x, FLAG.event, '{}', 2n);
    b.close();
    expect([...readJournal(file)].map((r) => [r.channel, r.frame])).toEqual([[x, 0], [y, 0], [y, -1], [x, 1], [y, 1], [y, 2], [x, -1]]);
  });

  it('starts over a file whose magic header was torn, and refuses a foreign file', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'TTJ');
    const j = Journal.open(file, { log: log() });
    expect(j.size).toBe(JOURNAL_START);
    j.close();
    fs.writeFileSync(file, 'not a journal at all');
    expect(() => Journal.open(file, { log: log() })).toThrow(/not a ticktape journal/);
  });
});
