// `ticktape compact --day D`: a sealed day into the history tier (Parquet per channel, 1-minute
// bars, the journal compressed); see storage/compact.ts.
import type { Command } from 'commander';
import { compactDay } from '../storage/compact.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { dataDirOption, parseDay } from './options.js';

export function registerCompact(program: Command): void {
  withExamples(
    program
      .command('compact')
      .description('Compact a sealed day into the history tier: Parquet (zstd) per channel under <data-dir>/history/day=D/, 1-minute bars, and the journal compressed (Brotli, still the source of truth). Each file is read back and checked before it counts.')
      .requiredOption('--day <YYYY-MM-DD>', 'sealed trading day to compact', parseDay)
      .addOption(dataDirOption('data directory'))
      .option('--force', 'compact again even if the day is in the history tier already')
      .action(async (flags: { day: string; dataDir: string; force?: boolean }) => {
        const log = createLogger();
        try {
          const r = await compactDay(flags.dataDir, flags.day, log, { force: flags.force });
          if (!r.compacted) {
            process.stdout.write(`${flags.day} is compacted already (use --force to redo it)\n`);
            return;
          }
          for (const c of r.manifest.channels) process.stdout.write(`${c.channel.padEnd(13)} ${String(c.rows).padStart(12)} rows ${String(c.bytes).padStart(14)} bytes\n`);
          for (const j of r.manifest.journals) process.stdout.write(`journal       ${j.archive}: ${j.rawBytes} → ${j.bytes} bytes\n`);
          process.stdout.write(`compacted ${flags.day} in ${r.seconds.toFixed(1)} s\n`);
        } catch (e) {
          process.stderr.write(`ticktape compact: ${(e as Error).message}\n`);
          process.exitCode = 1;
        }
      }),
    'ticktape compact --day 2026-11-20',
    'ticktape compact --day 2026-11-20 --force --data-dir /srv/ticktape',
  );
}
