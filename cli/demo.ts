// `ticktape demo` (`make demo`): a whole trading day compressed into a minute, captured from the
// in-process simulator into a fresh directory, then the session report and what to try next.
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { loadConfig, withEndpoints } from '../collector/config.js';
import { formatReport } from '../collector/report.js';
import { runSession } from '../collector/session.js';
import { startExchange } from '../sim/exchange.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { count } from './present.js';
import { parseDuration, parseIntegerIn } from './options.js';
import { stopSignal } from './collect.js';

export function registerDemo(program: Command): void {
  const cmd = program
    .command('demo')
    .description('Simulate a compressed trading day, capture it end to end (journal, SQLite, Arrow), print the session report.')
    .addOption(new Option('--day-length <D>', 'wall-clock length of 09:00–15:30').argParser(parseDuration).default(60_000, '60s'))
    .addOption(new Option('--pre-open <D>', 'time before the simulated open (the REST seed happens in it)').argParser(parseDuration).default(3_000, '3s'))
    .option('--trades <n>', 'trades the simulated day generates, both markets', parseIntegerIn(1_000, 50_000_000), 300_000)
    .option('--data-dir <dir>', 'parent directory; the demo writes into a new sub-directory', './data/demo')
    .action(async (flags: { dayLength: number; preOpen: number; trades: number; dataDir: string }) => {
      const log = createLogger(process.env.TICKTAPE_LOG_LEVEL ?? 'warn');
      const dataDir = join(flags.dataDir, new Date().toISOString().replace(/[:.]/g, '-'));
      process.stdout.write(`ticktape demo: simulated day of ${flags.dayLength / 1000} s (synthetic data), capturing into ${dataDir}\n`);
      const exchange = await startExchange({ dayLengthMs: flags.dayLength, preOpenMs: flags.preOpen, tradesPerDay: flags.trades, logger: log.child({ component: 'sim' }) });
      const config = withEndpoints(loadConfig({ env: {}, overrides: { dataDir, 'schedule.snapshotIntervalMs': Math.max(1000, Math.round(flags.dayLength / 6)) } }), exchange);
      const signal = stopSignal(log);
      const progress = setInterval(() => process.stdout.write(`  ${exchange.sessionState()}: ${count(exchange.stats.tradesStreamed)} trades streamed\n`), 10_000);
      try {
        const result = await runSession({ config, log, day: exchange.day, signal, marketClosed: exchange.sessionEnded, times: { closeAt: exchange.closeAt + 500, streamEnd: exchange.closeAt + 1500 } });
        process.stdout.write(`\n${formatReport(result)}\n\n`);
        process.stdout.write(`The simulator generated ${count(exchange.stats.tradesGenerated)} trades. Next:\n`);
        process.stdout.write(`  ticktape replay stats --data-dir ${dataDir} --day ${exchange.day}\n`);
        process.stdout.write(`  ticktape replay print --data-dir ${dataDir} --day ${exchange.day} --symbols ${exchange.market.issues[0].symbol} --speed max\n`);
        process.stdout.write(`  ticktape inspect --data-dir ${dataDir}\n`);
        if (result.status === 'failed') process.exitCode = 1;
      } finally {
        clearInterval(progress);
        await exchange.close();
      }
    });
  withExamples(cmd, 'ticktape demo', 'ticktape demo --day-length 20s --trades 50000');
}
