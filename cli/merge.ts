// `ticktape merge --day D --a DIR --b DIR`: A/B capture after the fact — two collectors' journals
// of one day merged into one (each frame once, each gap of one filled from the other), then the
// stores built from it; prints who filled which gap. See followers/ab-journals.ts.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { mergeAbJournals } from '../followers/ab-journals.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { dataDirOption, parseDay } from './options.js';
import { count, kstClock, size } from './present.js';

interface MergeFlags {
  day: string;
  a: string;
  b: string;
  dataDir: string;
  hold: string;
}

/** `DIR` or `NAME=DIR`: a collector's data directory and the name reports give it. */
function source(text: string, fallback: string): { name: string; dataDir: string } {
  const m = /^([A-Za-z0-9_-]{1,32})=(.+)$/.exec(text);
  const s = m ? { name: m[1], dataDir: m[2] } : { name: fallback, dataDir: text };
  if (!fs.existsSync(s.dataDir)) throw new Error(`collector ${s.name}: no data directory ${s.dataDir}`);
  return s;
}

export function registerMerge(program: Command): void {
  const cmd = program
    .command('merge')
    .description("A/B capture: merge two collectors' journals of a day (the same feed captured twice, e.g. on two networks) into one — every frame (every trade, however each connection batched them) once, each collector's gaps filled from the other's — build the stores from it, and say who filled each gap. REST answers and events come from A.")
    .requiredOption('--day <YYYY-MM-DD>', 'trading day to merge', parseDay)
    .requiredOption('--a <[name=]dir>', "collector A's data directory (the primary)")
    .requiredOption('--b <[name=]dir>', "collector B's data directory")
    .addOption(dataDirOption('data directory to write the merged day into (holds no journal of that day yet)'))
    .option('--hold <ms>', "how long a frame one collector holds waits for the other's copy, in receive time", '2000')
    .action(async (flags: MergeFlags) => {
      const log = createLogger();
      try {
        const holdMs = Number(flags.hold);
        if (!Number.isInteger(holdMs) || holdMs < 1 || holdMs > 600_000) throw new Error(`--hold: expected a whole number of ms from 1 to 600000 (got ${JSON.stringify(flags.hold)})`);
        const a = source(flags.a, 'a');
        const b = source(flags.b, 'b');
        if (path.resolve(a.dataDir) === path.resolve(flags.dataDir) || path.resolve(b.dataDir) === path.resolve(flags.dataDir)) throw new Error('--data-dir: expected a directory of its own, not one of the collectors\'');
        const r = await mergeAbJournals({ day: flags.day, a, b, dataDir: flags.dataDir, log, holdMs });
        const out = process.stdout;
        out.write(`merged ${flags.day} into ${r.journal}: ${count(r.counts.both)} frames from both, ${count(r.counts.a)} from ${a.name} alone, ${count(r.counts.b)} from ${b.name} alone\n`);
        for (const g of r.gaps) out.write(`  ${g.channel}: ${g.filledBy} filled ${g.missedBy}'s gap, ${count(g.frames)} frame(s), ${count(g.trades)} trade(s) (${size(g.bytes)}), ${kstClock(g.fromNs)}–${kstClock(g.toNs)} KST\n`);
        if (r.gaps.length === 0) out.write('  no gaps: each collector held every frame\n');
        const rows = Object.entries(r.rows).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${count(n)}`).join(', ');
        out.write(`stores: ${rows || 'no rows'}\n`);
      } catch (e) {
        process.stderr.write(`ticktape merge: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
  withExamples(cmd, 'ticktape merge --day 2026-11-20 --a seoul=/srv/a --b busan=/srv/b --data-dir /srv/merged');
}
