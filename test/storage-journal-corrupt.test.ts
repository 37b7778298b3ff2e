// No silent truncation: a bad record in the middle of a journal (valid records after it) moves
// every byte from it on aside to `.corrupt`, and the valid records found there are appended again;
// only a torn tail (nothing valid after the first bad byte) is cut. Real files, reopened.
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { FLAG, Journal, readJournal, RECORD_HEADER } from '../storage/journal.js';

const root = fs.mkdtempSync(path.join(tmpdir(), 'ticktape-jcorrupt-'));
let file: string;
let n = 0;

beforeEach(() => {
  file = path.join(root, `case${n++}`, '2026-11-20.journal');
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function capturingLog(): { log: pino.Logger; text: () => string } {
  const lines: string[] = [];
  return { log: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }), text: () => lines.join('') };
}

const BASE_NS = BigInt(Date.parse('2026-11-20T00:30:00Z')) * 1_000_000n;

/** A journal of `count` records on two channels, payloads of varied lengths; returns them as read back. */
function writeJournal(count: number): ReturnType<typeof records> {
  const j = Journal.open(file, { log: pino({ level: 'silent' }), fsync: 'off' });
  const a = j.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
  const b = j.channel({ name: 'ls.ws', vendor: 'ls', endpoint: '/websocket', kind: 'ls.ws' });
  for (let i = 0; i < count; i++) {
    const payload = `{"n":${i},"pad":"${'x'.repeat((i * 37) % 300)}"}`;
    j.append(i % 3 === 0 ? b : a, i % 7 === 6 ? FLAG.outgoing : FLAG.incoming, payload, BASE_NS + BigInt(i) * 1_000_000n);
  }
  j.close();
  return records();
}

function records(): { offset: number; channel: number; flags: number; recvNs: bigint; text: string }[] {
  return [...readJournal(file)].map((r) => ({ offset: r.offset, channel: r.channel, flags: r.flags, recvNs: r.recvNs, text: r.bytes.toString() }));
}

const content = (r: { channel: number; flags: number; recvNs: bigint; text: string }) => ({ channel: r.channel, flags: r.flags, recvNs: r.recvNs, text: r.text });

/** Overwrites bytes of the journal file in place. */
function damage(at: number, bytes: number[]): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from(bytes), 0, bytes.length, at);
  fs.closeSync(fd);
}

describe('journal corruption', () => {
  it('keeps every valid record after a bad one in the middle, with the bad bytes in .corrupt', () => {
    const original = writeJournal(40);
    const before = fs.readFileSync(file);
    // A flipped payload byte (CRC mismatch) in record 12.
    const bad = original[12];
    damage(bad.offset + RECORD_HEADER + 3, [before[bad.offset + RECORD_HEADER + 3] ^ 0x55]);
    const damaged = fs.readFileSync(file);
    const { log, text } = capturingLog();
    const j = Journal.open(file, { log, fsync: 'off' });
    expect(j.recovered).toEqual({ at: bad.offset, corruptFiles: [`${file}.corrupt`], records: 27 });
    expect(j.seq).toBe(39);
    j.close();
    expect(records().map(content)).toEqual(original.filter((_, i) => i !== 12).map(content));
    expect(fs.readFileSync(`${file}.corrupt`).equals(damaged.subarray(bad.offset))).toBe(true);
    expect(text()).toContain(`bad record at offset ${bad.offset} (after record 12) with valid records after it: moved its ${before.length - bad.offset} bytes`);
    expect(text()).toContain('re-appended the 27 valid records found after the bad one');
    expect(fs.existsSync(`${file}.recovering`)).toBe(false);

    // Later damage elsewhere — a header's length and another record's CRC — goes to .corrupt.1.
    const now = records();
    const lenAt = now[3].offset;
    damage(lenAt, [0xff, 0xff, 0x00, 0x00]);
    damage(now[30].offset + 4, [0, 0, 0, 0]);
    const again = Journal.open(file, { log: capturingLog().log, fsync: 'off' });
    expect(again.recovered).toMatchObject({ at: lenAt, corruptFiles: [`${file}.corrupt.1`], records: now.length - 3 - 2 });
    // Still appendable, numbering on.
    again.append(0, FLAG.incoming, 'after', BASE_NS + 999n);
    again.close();
    const expected = now.filter((_, i) => i !== 3 && i !== 30).map(content);
    expect(records().map(content)).toEqual([...expected, { channel: 0, flags: FLAG.incoming, recvNs: BASE_NS + 999n, text: 'after' }]);
  });

  it('still just cuts a torn tail', () => {
    const original = writeJournal(20);
    const last = original.at(-1)!;
    fs.truncateSync(file, last.offset + RECORD_HEADER + 2);
    const { log, text } = capturingLog();
    const j = Journal.open(file, { log, fsync: 'off' });
    expect(j.recovered).toBeUndefined();
    expect(j.size).toBe(last.offset);
    j.close();
    expect(records().map(content)).toEqual(original.slice(0, -1).map(content));
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.includes('corrupt'))).toEqual([]);
    expect(text()).toContain(`cut a torn or corrupt tail of ${RECORD_HEADER + 2} bytes after record 19`);
  });

  it('redoes a re-append that a crash interrupted', () => {
    const original = writeJournal(30);
    const bad = original[8];
    damage(bad.offset + 4, [1, 2, 3, 4]);
    Journal.open(file, { log: capturingLog().log, fsync: 'off' }).close();
    const recovered = records();
    // As if killed half-way through the re-append: some records back, then a torn one.
    fs.truncateSync(file, recovered[15].offset + 5);
    fs.writeFileSync(`${file}.recovering`, JSON.stringify({ at: bad.offset, corrupt: [path.basename(`${file}.corrupt`)] }));
    const j = Journal.open(file, { log: capturingLog().log, fsync: 'off' });
    expect(j.recovered).toMatchObject({ at: bad.offset, records: 21 });
    j.close();
    expect(records().map(content)).toEqual(original.filter((_, i) => i !== 8).map(content));
    expect(fs.existsSync(`${file}.recovering`)).toBe(false);
  });
});
