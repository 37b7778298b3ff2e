// `make bench`: every phase in its own process, one table of figures with their same-run
// baselines, written to bench/RESULTS.md with the machine and the command.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Figure, table } from './figures.js';

const PHASES = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['decode', 'sim', 'storage', 'arrow', 'capture', 'fan-out', 'replay', 'export', 'history', 'bus'];
const here = fileURLToPath(new URL('.', import.meta.url));

const all: Figure[] = [];
for (const phase of PHASES) {
  process.stderr.write(`bench: ${phase} …\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', `${here}phase.js`, phase], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('[')) {
    process.stderr.write(`bench: phase ${phase} failed (exit ${r.status})\n${r.stdout.slice(-2000)}\n`);
    process.exitCode = 1;
    continue;
  }
  all.push(...(JSON.parse(last) as Figure[]));
  process.stderr.write(`bench: ${phase} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
const body = table(all);
process.stdout.write(`${body}\n`);
const md = `# Benchmark results\n\nCommand: \`make bench\` (phases: ${PHASES.join(', ')})\\\nMachine: ${machine}\\\nDate: ${new Date().toISOString().slice(0, 10)}\n\nEach figure beside a baseline measured in the same run; ratio = figure ÷ baseline.\n\n${body}\n`;
if (process.argv.slice(2).length === 0) writeFileSync(new URL('../../bench/RESULTS.md', import.meta.url), md);
