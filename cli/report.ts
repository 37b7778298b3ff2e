// `ticktape report`: one self-contained HTML page about a captured day (charts of trading,
// reconciliation, sector flows, capture health, top symbols), viewable offline.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { gatherDayReport } from '../report/day.js';
import { renderDayReport } from '../report/page.js';
import { requireDay } from './found.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { dataDirOption, parseDay } from './options.js';
import { count } from './present.js';

export function registerReport(program: Command): void {
  const cmd = program
    .command('report')
    .description('Write the day report: one self-contained HTML page (no network needed to view it) with trades per minute per market, streamed vs snapshot volume, BM_ sector net flows, capture health and top symbols.')
    .requiredOption('--day <YYYY-MM-DD>', 'trading day to report', parseDay)
    .option('--out <file>', 'output HTML file (default: report-<day>.html)')
    .addOption(dataDirOption('data directory'))
    .action(async (flags: { day: string; out?: string; dataDir: string }) => {
      const log = createLogger();
      const out = flags.out ?? `report-${flags.day}.html`;
      try {
        requireDay(flags.dataDir, flags.day);
        const report = await gatherDayReport({ dataDir: flags.dataDir, day: flags.day, log });
        fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
        fs.writeFileSync(out, renderDayReport(report));
        process.stdout.write(`report for ${flags.day}: ${out} (${count(report.totals.trades)} trades, ${count(report.totals.symbols)} symbols)\n`);
      } catch (e) {
        process.stderr.write(`ticktape report: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
  withExamples(cmd, 'ticktape report --day 2026-11-20', 'ticktape report --day 2026-11-20 --out reports/2026-11-20.html --data-dir /srv/ticktape');
}
