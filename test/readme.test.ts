// The README must stay true: every variable it documents is one the collector reads, every
// command it lists exists in the CLI, and the library names in its examples are exported.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../collector/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

it('documents only configuration variables the collector reads, and the ones the issue names', () => {
  const documented = new Set(readme.match(/TICKTAPE_[A-Z_]+/g));
  const known = new Set(CONFIG_VARIABLES.map((v) => v.env));
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
