// `ticktape report`: one self-contained HTML page about a captured day (charts of trading,
// reconciliation, sector flows, capture health, top symbols), viewable offline.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { gatherDayReport } from '../report/day.js';
import { renderDayReport } from '../report/page.js';
import { parseDay } from './options.js';
import { createLogger } from './log.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('Write the day report: one self-contained HTML page (no network needed to view it) with trades per minute per market, streamed vs snapshot volume, BM_ sector net flows, capture health and top symbols.')
    .requiredOption('--day <YYYY-MM-DD>', 'trading day to report', parseDay)
    .option('--out <file>', 'output HTML file (default: report-<day>.html)')
    .option('--data-dir <dir>', 'data directory (env TICKTAPE_DATA_DIR)', process.env.TICKTAPE_DATA_DIR ?? './data')
    .action(async (flags: { day: string; out?: string; dataDir: string }) => {
      const log = createLogger();
      const out = flags.out ?? `report-${flags.day}.html`;
      try {
        const report = await gatherDayReport({ dataDir: flags.dataDir, day: flags.day, log });
        fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
        fs.writeFileSync(out, renderDayReport(report));
        process.stdout.write(`report for ${flags.day}: ${out} (${report.totals.trades} trades, ${report.totals.symbols} symbols)\n`);
      } catch (e) {
        process.stderr.write(`ticktape report: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
