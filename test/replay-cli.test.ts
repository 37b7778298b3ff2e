// `ticktape replay print | stats | serve` as a user runs them: the compiled CLI in a child process.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, kstNs, knownDay, writeArrowDay, type KnownDay } from './replay-day.js';

const CLI = path.resolve('bin/ticktape.js');
const built = fs.existsSync(path.resolve('dist/cli/main.js'));
let dir: string;
let d: KnownDay;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-replay-cli-'));
  d = knownDay();
  writeArrowDay(dir, d);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function ticktape(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'replay', ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, TICKTAPE_LOG_FORMAT: 'json' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!built)('ticktape replay (CLI)', () => {
  it('print --format ndjson: one JSON object per event, bigints as strings, window applied', () => {
    const r = ticktape('print', '--day', DAY, '--data-dir', dir, '--channels', 'trades,sector_flows', '--from', '09:01:00', '--to', '09:01:30', '--clock', 'receive');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; recvNs: string; symbol?: string });
    const expected = d.all.filter((e) => e.type !== 'snapshot' && e.recvNs >= kstNs(9, 1, 0) && e.recvNs < kstNs(9, 1, 30));
    expect(lines.length).toBe(expected.length);
    expect(lines.map((l) => `${l.type} ${l.recvNs}`)).toEqual(expected.map((e) => `${e.type} ${e.recvNs}`));
  });

  it('print --format table with symbol filter: a header, then one aligned line per trade', () => {
    const r = ticktape('print', '--day', DAY, '--data-dir', dir, '--format', 'table', '--symbols', '005930', '--channels', 'trades', '--to', '09:00:30', '--clock', 'receive');
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header).toMatch(/^recv_kst\s+type\s+market/);
    expect(rows.length).toBe(d.trades.filter((t) => t.symbol === '005930' && t.recvNs < kstNs(9, 0, 30)).length);
    for (const row of rows) expect(row).toMatch(/^09:00:\d\d\.\d{3} {2}trade {6}kospi {3}005930/);
  });

  it('stats --json: counts per type, events per minute, lateness', () => {
    const r = ticktape('stats', '--day', DAY, '--data-dir', dir, '--format', 'json', '--clock', 'receive');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { events: number; counts: Record<string, number>; perMinute: Record<string, number>; lateness: { p99Ms: number } };
    expect(s.counts).toEqual({ trade: d.trades.length, sectorFlow: d.flows.length, snapshot: d.snapshots.length });
    expect(s.events).toBe(d.all.length);
    expect(Object.values(s.perMinute).reduce((a, b) => a + b, 0)).toBe(d.all.length);
    expect(s.perMinute['09:03']).toBe(d.all.filter((e) => e.recvNs >= kstNs(9, 3, 0) && e.recvNs < kstNs(9, 4, 0)).length);
    expect(s.lateness.p99Ms).toBe(0);
  });

  it('rejects bad values with a message naming the option and what was expected', () => {
    const cases: [string[], RegExp][] = [
      [['print', '--day', DAY, '--speed', 'fast'], /--speed.*positive number/s],
      [['print', '--day', DAY, '--speed', '0'], /--speed.*positive number/s],
      [['print', '--day', '2025-3-14'], /--day.*YYYY-MM-DD/s],
      [['print', '--day', DAY, '--from', '9h'], /--from.*HH:MM:SS/s],
      [['print', '--day', DAY, '--channels', 'trades,quotes'], /--channels.*trades, snapshots, sector_flows, frames/s],
      [['print', '--day', DAY, '--format', 'csv'], /--format.*ndjson.*json.*table/s],
      [['serve', '--day', DAY, '--port', '70000'], /--port.*0 to 65535/s],
      [['serve', '--day', DAY, '--port', '0', '--wait-for', 'nyse'], /--wait-for.*kospi, kosdaq, ls/s],
    ];
    for (const [args, message] of cases) {
      const r = ticktape(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
  });

  it('documents every option in --help', () => {
    const help = ticktape('print', '--help').stdout;
    for (const opt of ['--day', '--data-dir', '--source', '--speed', '--channels', '--symbols', '--markets', '--from', '--to', '--clock', '--format']) expect(help).toContain(opt);
    const serveHelp = ticktape('serve', '--help').stdout;
    for (const opt of ['--port', '--host', '--wait-for', '--start-timeout', '--exit-when-done']) expect(serveHelp).toContain(opt);
  });
});
