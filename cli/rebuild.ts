// `ticktape rebuild --day D`: regenerates a day's SQLite rows (and Arrow files) from its journals.
import type { Command } from 'commander';
import { rebuildDay } from '../followers/rebuild.js';
import { requireDay } from './found.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { dataDirOption, parseDay } from './options.js';
import { count } from './present.js';


export function registerRebuild(program: Command): void {
  const cmd = program
    .command('rebuild')
    .description("Regenerate a day's rows in SQLite (and its Arrow files) from its journals; refused while a collector writes that day (the journal's lock).")
    .requiredOption('--day <YYYY-MM-DD>', 'trading day to rebuild', parseDay)
    .addOption(dataDirOption('data directory'))
    .option('--no-arrow', 'leave the Arrow files alone (rebuild SQLite only)')
    .action(async (flags: { day: string; dataDir: string; arrow: boolean }) => {
      const log = createLogger();
      requireDay(flags.dataDir, flags.day);
      let r;
      try {
        r = await rebuildDay({ dataDir: flags.dataDir, day: flags.day, log, arrow: flags.arrow });
      } catch (e) {
        process.stderr.write(`ticktape rebuild: ${(e as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const rows = Object.entries(r.rows).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${count(n)}`).join(', ');
      process.stdout.write(`rebuilt ${flags.day} from ${r.journals.length} journal(s)${r.sealed ? ', sealed again' : ''}: ${rows || 'no rows'}\n`);
    });
  withExamples(cmd, 'ticktape rebuild --day 2026-11-20', 'ticktape rebuild --day 2026-11-20 --no-arrow');
}
