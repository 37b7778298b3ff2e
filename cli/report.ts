// `ticktape report`: one self-contained HTML page about a captured day (charts of trading,
// reconciliation, sector flows, capture health, top symbols), viewable offline.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { gatherDayReport } from '../report/day.js';
import { renderDayReport } from '../report/page.js';
import { gatherOverview, renderOverview } from '../report/overview.js';
import { calendarDayFilter } from './days.js';
import { NothingFound, requireDataDir, requireDay } from './found.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { dataDirOption, parseDay } from './options.js';
import { count } from './present.js';

export function registerReport(program: Command): void {
  const cmd = program
    .command('report')
    .description('Write the day report: one self-contained HTML page (no network needed to view it) with trades per minute per market, streamed vs snapshot volume, BM_ sector net flows, capture health and top symbols. With --overview: every day of the store with its condition, trades, volume and tiers.')
    .option('--day <YYYY-MM-DD>', 'trading day to report', parseDay)
    .option('--overview', 'the multi-day overview instead of one day (every day, or --from-day to --to-day)')
    .option('--from-day <YYYY-MM-DD>', 'with --overview: first day (inclusive)', parseDay)
    .option('--to-day <YYYY-MM-DD>', 'with --overview: last day (inclusive)', parseDay)
    .option('--out <file>', 'output HTML file (default: report-<day>.html, or overview.html)')
    .addOption(dataDirOption('data directory'))
    .hook('preAction', (c) => {
      const o = c.opts<{ day?: string; overview?: boolean }>();
      if (o.overview === undefined && o.day === undefined) c.error("error: required option '--day <YYYY-MM-DD>' not specified (or --overview for every day)");
      if (o.overview && o.day !== undefined) c.error('error: give --day or --overview, not both');
    })
    .action(async (flags: { day?: string; overview?: boolean; fromDay?: string; toDay?: string; out?: string; dataDir: string }) => {
      const log = createLogger();
      try {
        if (flags.overview) {
          requireDataDir(flags.dataDir);
          const out = flags.out ?? 'overview.html';
          const overview = await gatherOverview(flags.dataDir, { fromDay: flags.fromDay, toDay: flags.toDay, isTradingDay: calendarDayFilter() });
          if (overview.days.length === 0) throw new NothingFound(`no days in ${flags.dataDir}${flags.fromDay || flags.toDay ? ` from ${flags.fromDay ?? 'the first'} to ${flags.toDay ?? 'the last'}` : ''}`);
          write(out, renderOverview(overview));
          process.stdout.write(`overview of ${count(overview.days.length)} days: ${out} (${overview.days.filter((d) => d.condition !== 'complete').length} not complete)\n`);
          return;
        }
        const day = flags.day!;
        const out = flags.out ?? `report-${day}.html`;
        requireDay(flags.dataDir, day);
        const report = await gatherDayReport({ dataDir: flags.dataDir, day, log });
        write(out, renderDayReport(report));
        process.stdout.write(`report for ${day}: ${out} (${count(report.totals.trades)} trades, ${count(report.totals.symbols)} symbols)\n`);
      } catch (e) {
        process.stderr.write(`ticktape report: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
  withExamples(cmd, 'ticktape report --day 2026-11-20', 'ticktape report --day 2026-11-20 --out reports/2026-11-20.html --data-dir /srv/ticktape', 'ticktape report --overview --from-day 2026-11-01 --out overview.html');
}

function write(out: string, html: string): void {
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, html);
}
