// The README must stay true: every variable it documents is one ticktape reads, every command it
// lists exists in the CLI, the library names in its examples are exported, and the first-ten-
// minutes walkthrough runs as written, command by command.
import fs, { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../collector/config.js';
import { CLI_VARIABLES } from '../cli/log.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

it('documents only configuration variables the collector reads, and the ones the issue names', () => {
  const documented = new Set(readme.match(/TICKTAPE_[A-Z_]+/g));
  const known = new Set([...CONFIG_VARIABLES, ...CLI_VARIABLES].map((v) => v.env));
  for (const v of documented) expect(known, `README names ${v}`).toContain(v);
  for (const v of ['TICKTAPE_DATA_DIR', 'TICKTAPE_KOSCOM_API_KEY', 'TICKTAPE_LS_APP_SECRET', 'TICKTAPE_MARKETS', 'TICKTAPE_BM_CODES']) expect(documented).toContain(v);
});

it('lists commands that exist (the compiled CLI, as `make test` builds it)', () => {
  const help = execFileSync(process.execPath, [fileURLToPath(new URL('../bin/ticktape.js', import.meta.url)), '--help'], { encoding: 'utf8' });
  const commands = new Set([...help.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]));
  const listed = [...readme.matchAll(/^\| `ticktape ([a-z]+)/gm)].map((m) => m[1]);
  expect(listed.length).toBeGreaterThan(8);
  for (const c of listed) expect(commands, `README lists ticktape ${c}`).toContain(c);
});

it('shows library names that the package exports', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, string> };
  const entry = async (spec: string) => import(`../${pkg.exports[spec].replace('./dist/', '').replace(/\.js$/, '.js')}`) as Promise<Record<string, unknown>>;
  for (const m of readme.matchAll(/import \{ ([^}]+) \} from 'ticktape(\/[a-z]+)?';/g)) {
    const mod = await entry(m[2] ? `.${m[2]}` : '.');
    for (const name of m[1].split(',').map((s) => s.trim())) expect(typeof mod[name], `${name} from ticktape${m[2] ?? ''}`).toBe('function');
  }
});

const CLI = fileURLToPath(new URL('../bin/ticktape.js', import.meta.url));

it.skipIf(!fs.existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))))('runs the first-ten-minutes walkthrough command by command', () => {
  const block = /<!-- walkthrough -->\n```sh\n([\s\S]*?)```/.exec(readme);
  expect(block, 'the README has a walkthrough block').not.toBeNull();
  const lines = block![1].split('\n').map((l) => l.replace(/\s+# .*$/, '').trim()).filter((l) => l.length > 0);
  expect(lines.length).toBeGreaterThanOrEqual(6);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-walkthrough-'));
  // `npx ticktape` is the compiled CLI of this checkout; no TICKTAPE_* setting leaks in (the simulator is used).
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TICKTAPE_'))), TICKTAPE_LOG_LEVEL: 'warn' };
  const assignments: string[] = [];
  try {
    for (const line of lines) {
      const command = line.replaceAll('npx ticktape', 'ticktape');
      if (/^[A-Z_]+=/.test(command)) {
        assignments.push(command);
        continue;
      }
      const script = ['set -euo pipefail', `ticktape() { "${process.execPath}" "${CLI}" "$@"; }`, ...assignments, command].join('\n');
      const r = spawnSync('bash', ['-c', script], { cwd, env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
      expect(r.stdout.trim().length, `${line} printed nothing`).toBeGreaterThan(0);
      if (command.includes('replay print')) expect(r.stdout).toMatch(/^10:0\d:\d\d\.\d{3} {2}trade {6}kospi {3}021370 /m);
    }
    expect(fs.readdirSync(path.join(cwd, 'first-day-export')).some((d) => d.startsWith('day='))).toBe(true);
    expect(fs.readFileSync(path.join(cwd, 'first-day.html'), 'utf8')).toContain('uPlot');
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}, 300_000);
