// What a user sees (issue 12): a command that finds nothing says what it looked for and what
// exists, and exits 1; unknown symbols are warned about with the nearest codes; windows are on the
// exchange clock by default; help has examples, one default style and `ticktape env`; logs are
// KST lines or JSON as asked; a result is printed once. The compiled CLI in child processes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../cli/program.js';
import { exchangeKey } from '../replay/merge.js';
import { DAY, kstNs, knownDay, writeArrowDay, writeSqliteDay, type KnownDay } from './replay-day.js';

const CLI = path.resolve('bin/ticktape.js');
const built = fs.existsSync(path.resolve('dist/cli/main.js'));
let dir: string;
let d: KnownDay;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-cli-messages-'));
  d = knownDay();
  writeArrowDay(dir, d);
  await writeSqliteDay(dir, d);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function ticktape(...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TICKTAPE_')));
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!built)('a command that finds nothing says what it looked for and what exists, and exits 1', () => {
  it('replay print/stats, export, report, rebuild, inspect: a day without data names the days with data', () => {
    for (const args of [['replay', 'print'], ['replay', 'stats'], ['export', '--out', path.join(dir, 'never')], ['report', '--out', path.join(dir, 'never.html')], ['rebuild'], ['inspect']]) {
      const r = ticktape(...args, '--day', '2025-03-17', '--data-dir', dir);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toContain(`no data for 2025-03-17 in ${dir}; days with data: ${DAY}`);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });

  it('a missing data directory is named; an empty one says it holds nothing', () => {
    const missing = path.join(dir, 'no-such-dir');
    for (const args of [['replay', 'print', '--day', DAY], ['replay', 'stats', '--day', DAY], ['inspect']]) {
      const r = ticktape(...args, '--data-dir', missing);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`no data directory ${missing}`);
    }
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
    const r = ticktape('inspect', '--data-dir', empty);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no data in ${empty}: no journal, database, Arrow or history files`);
  });

  it('an empty window names the window, its clock and filters, and what the day holds on each clock', () => {
    const r = ticktape('replay', 'stats', '--day', DAY, '--data-dir', dir, '--from', '12:00:00', '--to', '12:05:00', '--markets', 'kosdaq');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`no events on ${DAY} from 12:00:00 to 12:05:00 KST on the exchange clock (markets kosdaq, channels trades, snapshots, sector_flows; source arrow`);
    expect(r.stderr).toMatch(new RegExp(`trades: ${d.trades.length.toLocaleString('en-US')} rows, 5 symbols, exchange 0[89]:\\d\\d:\\d\\d\\.\\d{3}–09:\\d\\d:\\d\\d\\.\\d{3} KST, receive 09:00:\\d\\d\\.\\d{3}–09:09:\\d\\d\\.\\d{3} KST`));
    expect(r.stderr).toMatch(/sector_flows: [\d,]+ rows, 2 sectors, exchange .* KST, receive .* KST/);
  });
});

describe.skipIf(!built)('symbols', () => {
  it('an unknown short code is a warning naming the nearest known codes', () => {
    const r = ticktape('replay', 'print', '--day', DAY, '--data-dir', dir, '--symbols', '005390', '--channels', 'trades', '--format', 'table');
    expect(r.stderr).toContain(`warning: 005390 is not a symbol of ${DAY} (5 known); nearest codes: 005930,`);
    // Nothing matched it: exit 1, saying so, and not even a table header on stdout.
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no events on 2025-03-14 (symbols 005390, channels trades');
  });

  it('--symbols says which replayed channels it does not filter', () => {
    const r = ticktape('replay', 'print', '--day', DAY, '--data-dir', dir, '--symbols', '005930');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('note: --symbols filters trades and snapshots only; sector_flows (keyed by sector) are replayed whole — --channels trades,snapshots leaves them out');
    expect(r.stderr).not.toContain('warning');
    const types = new Set(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string; symbol?: string }).symbol ?? 'flow'));
    expect(types).toEqual(new Set(['005930', 'flow']));
    // Only trades: no note.
    expect(ticktape('replay', 'print', '--day', DAY, '--data-dir', dir, '--symbols', '005930', '--channels', 'trades').stderr).toBe('');
    // replay serve warns the same way before it listens.
    const serve = ticktape('replay', 'serve', '--day', DAY, '--data-dir', dir, '--source', 'arrow', '--port', '0', '--speed', 'max', '--start-timeout', '0s', '--exit-when-done', '--symbols', '005390');
    expect(serve.code, serve.stderr).toBe(0);
    expect(serve.stderr).toContain(`warning: 005390 is not a symbol of ${DAY} (5 known); nearest codes: 005930,`);
    expect(serve.stderr).toContain('note: --symbols filters trades and snapshots only; sector_flows (keyed by sector) are replayed whole\n');
  });
});

describe.skipIf(!built)('time windows', () => {
  it('default to the exchange clock; --clock receive gives the other', () => {
    const inWindow = (t: bigint) => t >= kstNs(9, 1, 0) && t < kstNs(9, 1, 30);
    const byExchange = d.trades.filter((t) => inWindow(exchangeKey(t)));
    const byReceive = d.trades.filter((t) => inWindow(t.recvNs));
    const key = (t: { srcSeq: number; srcIdx: number; market: string }) => `${t.market} ${t.srcSeq} ${t.srcIdx}`;
    // The two clocks select different trades here, so the test tells them apart.
    expect(byExchange.map(key).sort()).not.toEqual(byReceive.map(key).sort());
    for (const [clock, expected] of [[[], byExchange], [['--clock', 'receive'], byReceive]] as const) {
      const r = ticktape('replay', 'print', '--day', DAY, '--data-dir', dir, '--channels', 'trades', '--from', '09:01:00', '--to', '09:01:30', '--format', 'json', ...clock);
      expect(r.code, r.stderr).toBe(0);
      const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { market: string; srcSeq: number; srcIdx: number });
      expect(got.map(key).sort()).toEqual(expected.map(key).sort());
    }
  });

  it('stats prints 24-hour KST times with the zone named and counts with thousands separators', () => {
    const r = ticktape('replay', 'stats', '--day', DAY, '--data-dir', dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^session {6}0[89]:\d\d:\d\d\.\d{3} – 09:\d\d:\d\d\.\d{3} KST$/m);
    expect(r.stdout).toContain(`events       ${d.all.length.toLocaleString('en-US')}  (`);
    expect(r.stdout).toContain('events per minute (KST, exchange clock):');
    expect(r.stdout).not.toMatch(/\b(am|pm)\b/i);
  });
});

let everything: Command;
beforeAll(async () => {
  everything = await buildProgram();
});

/** A command's whole --help text (options and the text after them), read in this process. */
function help(...path: string[]): string {
  let cmd: Command = everything;
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!;
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

describe('help', () => {
  const commands = [['sim'], ['collect'], ['daemon'], ['demo'], ['inspect'], ['replay', 'print'], ['replay', 'stats'], ['replay', 'serve'], ['export'], ['report'], ['rebuild'], ['migrate'], ['compact'], ['query'], ['retain'], ['store'], ['merge'], ['env']];

  it('every command shows examples and one default style: no duplicates, no JSON arrays, no bare "(default N"', () => {
    expect(commands.map((c) => c.join(' ')).sort()).toEqual(everything.commands.flatMap((c) => (c.commands.length > 0 ? c.commands.map((s) => `${c.name()} ${s.name()}`) : [c.name()])).sort());
    for (const c of commands) {
      const text = help(...c).replace(/\s+/g, ' ');
      expect(text, c.join(' ')).toContain('Examples: $ ticktape');
      expect(text, c.join(' ')).not.toMatch(/\(default [^:]/);
      expect(text, c.join(' ')).not.toMatch(/default: \[/);
      expect(text, c.join(' ')).not.toMatch(/\(default: ([^)]*)\) \(default: \1\)/);
    }
  });

  it.skipIf(!built)('environment variables are listed by `ticktape env`, not inline in collect and daemon help', () => {
    const env = ticktape('env');
    expect(env.code).toBe(0);
    for (const v of ['TICKTAPE_KOSCOM_API_KEY', 'TICKTAPE_LS_APP_SECRET', 'TICKTAPE_WS_STALE', 'TICKTAPE_LOG_FORMAT', 'TICKTAPE_LOG_LEVEL']) expect(env.stdout).toContain(v);
    expect(env.stdout).toMatch(/TICKTAPE_METRICS_PORT .*off for collect, 9464 for daemon/);
    for (const c of ['collect', 'daemon']) {
      const text = help(c);
      expect(text).not.toContain('TICKTAPE_KOSCOM_API_KEY');
      expect(text).toContain('`ticktape env` lists them');
    }
    expect(help('daemon').replace(/\s+/g, ' ')).toContain('(default: 9464; env TICKTAPE_METRICS_PORT)');
  });

  it.skipIf(!built)('--format json is accepted by print, stats and inspect (--json still works)', () => {
    const stats = JSON.parse(ticktape('replay', 'stats', '--day', DAY, '--data-dir', dir, '--format', 'json').stdout) as { events: number; timeZone: string };
    expect(stats.events).toBe(d.all.length);
    expect(stats.timeZone).toBe('Asia/Seoul');
    expect((JSON.parse(ticktape('replay', 'stats', '--day', DAY, '--data-dir', dir, '--json').stdout) as { events: number }).events).toBe(d.all.length);
    const inv = JSON.parse(ticktape('inspect', '--day', DAY, '--data-dir', dir, '--no-journal', '--format', 'json').stdout) as { days: { day: string }[] };
    expect(inv.days.map((x) => x.day)).toEqual([DAY]);
    const print = ticktape('replay', 'print', '--day', DAY, '--data-dir', dir, '--channels', 'snapshots', '--format', 'json');
    expect(print.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(d.snapshots.map(() => 'snapshot'));
  });
});

describe.skipIf(!built)('logs and results', () => {
  const serve = (...extra: string[]) => ticktape(...extra, 'replay', 'serve', '--day', DAY, '--data-dir', dir, '--source', 'arrow', '--port', '0', '--speed', 'max', '--start-timeout', '0s', '--exit-when-done');

  it('--log-format pretty: human lines stamped in KST; --log-format json (and the default off a terminal): JSON lines', () => {
    const pretty = serve('--log-format', 'pretty');
    expect(pretty.code, pretty.stderr).toBe(0);
    const lines = pretty.stderr.trim().split('\n').filter((l) => l.startsWith('['));
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} KST\] (INFO|WARN): replay serve: /);
    expect(pretty.stdout).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+: Koscom ws:/);
    for (const json of [serve('--log-format', 'json'), serve()]) {
      expect(json.code, json.stderr).toBe(0);
      const records = json.stderr.trim().split('\n').map((l) => JSON.parse(l) as { time: number; msg: string });
      expect(records.some((x) => x.msg.startsWith('replay serve: day played out'))).toBe(true);
      for (const x of records) expect(typeof x.time).toBe('number');
    }
  });

  it('export prints its result once: a line per file and the total, no log line repeating it', () => {
    const out = path.join(dir, 'export');
    const r = ticktape('export', '--day', DAY, '--data-dir', dir, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^trades +${d.trades.length.toLocaleString('en-US')} rows +[\\d.]+ [KM]iB  ${out}/day=${DAY}/channel=trades/part.parquet$`));
    expect(lines[3]).toMatch(new RegExp(`^total +${d.all.length.toLocaleString('en-US')} rows .* ${DAY} from arrow as parquet$`));
  });
});
