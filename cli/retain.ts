// `ticktape retain [--dry-run]`: applies the retention policy of the configuration
// (TICKTAPE_KEEP_*_DAYS) to the data directory; see storage/retain.ts.
import type { Command } from 'commander';
import { loadConfig } from '../collector/config.js';
import { applyRetention } from '../storage/retain.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { dataDirOption } from './options.js';

export function registerRetain(program: Command): void {
  withExamples(
    program
      .command('retain')
      .description('Apply the retention policy (TICKTAPE_KEEP_SQLITE_DAYS, _ARROW_DAYS, _PARQUET_DAYS, _JOURNAL_DAYS, or the config file): a day leaves a tier only once the next tier holds it, checked row by row (counts and a checksum per column).')
      .addOption(dataDirOption('data directory'))
      .option('--config <file>', 'JSON configuration file')
      .option('--dry-run', 'list what would go and how many bytes, remove nothing')
      .action(async (flags: { dataDir: string; config?: string; dryRun?: boolean }) => {
        const log = createLogger();
        try {
          const cfg = loadConfig({ file: flags.config, overrides: { dataDir: flags.dataDir } });
          const r = await applyRetention(cfg.dataDir, cfg.retention, log, { dryRun: flags.dryRun });
          const verb = flags.dryRun ? 'would remove' : 'removed';
          for (const a of r.actions) process.stdout.write(`${a.day}  ${a.tier.padEnd(8)} ${String(a.bytes).padStart(14)} bytes  ${a.allowed ? verb : `stays: ${a.note}`}\n`);
          const bytes = r.actions.filter((a) => a.allowed).reduce((n, a) => n + a.bytes, 0);
          process.stdout.write(`${flags.dryRun ? 'would free' : 'freed'} ${flags.dryRun ? bytes : r.bytesFreed} bytes (${r.actions.filter((a) => a.allowed).length} day-tier(s)); policy: SQLite ${cfg.retention.sqliteDays || '∞'}, Arrow ${cfg.retention.arrowDays || '∞'}, Parquet ${cfg.retention.parquetDays || '∞'}, journal ${cfg.retention.journalDays || '∞'} days\n`);
        } catch (e) {
          process.stderr.write(`ticktape retain: ${(e as Error).message}\n`);
          process.exitCode = 1;
        }
      }),
    'ticktape retain --dry-run',
    'TICKTAPE_KEEP_SQLITE_DAYS=5 ticktape retain --data-dir /srv/ticktape',
  );
}
