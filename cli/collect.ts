// `ticktape collect`: one capture session now (seed, streams, closing snapshot, reconciliation),
// then the session report. Without credentials and URLs it captures from the in-process simulator.
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import { type CollectorConfig, ConfigError, formatMinutes, loadConfig, redactedConfig, withEndpoints } from '../collector/config.js';
import { formatReport } from '../collector/report.js';
import { runSession, type SessionResult, type SessionTimes } from '../collector/session.js';
import { kstDay, kstMidnight } from '../protocol/time.js';
import type { Exchange, ExchangeOptions } from '../sim/exchange.js';
import { ENV_HINT, examples } from './help.js';
import { createLogger } from './log.js';
import { parseDay, parseDuration, parseIntegerIn } from './options.js';

/** After the simulated close: let the last frames arrive, then take the closing snapshot. */
const SIM_CLOSE_GRACE_MS = 500;
const SIM_STREAM_GRACE_MS = 1500;

export interface CaptureSetup {
  config: CollectorConfig;
  /** The in-process simulator when no credentials or URLs are configured. */
  exchange?: Exchange;
}

/**
 * Points the configuration at the simulator when nothing real is configured, saying so on the
 * first line of output.
 */
export async function prepareCapture(config: CollectorConfig, log: Logger, sim: Partial<ExchangeOptions>, announce = true): Promise<CaptureSetup> {
  if (!config.useSim) return { config };
  if (announce) announceSim();
  // Imported here: a capture from real vendors does not pay for the simulator's modules.
  const { startExchange } = await import('../sim/exchange.js');
  const exchange = await startExchange({ logger: log.child({ component: 'sim' }), ...sim });
  log.info({ url: exchange.koscomRestUrl, day: exchange.day }, `simulator listening on ${exchange.koscomRestUrl}`);
  return { config: withEndpoints(config, exchange), exchange };
}

export function announceSim(): void {
  process.stdout.write('ticktape: no credentials or URLs configured, capturing from the built-in simulator (synthetic data, not market data)\n');
}

export interface ConfigFlags {
  config?: string;
  dataDir?: string;
  metricsPort?: number;
  snapshotInterval?: number;
}

/** Loads the configuration, printing every problem and exiting 2 when it is invalid. */
export function configFromFlags(flags: ConfigFlags): CollectorConfig {
  try {
    return loadConfig({ file: flags.config, overrides: { dataDir: flags.dataDir, metricsPort: flags.metricsPort, 'schedule.snapshotIntervalMs': flags.snapshotInterval } });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`ticktape: ${e.message}\n`);
    process.exit(2);
  }
}

/** Aborts on the first SIGINT/SIGTERM (clean stop); a second one exits at once. */
export function stopSignal(log: Logger): AbortSignal {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    log.info({ signal: sig }, `${sig}: stopping streams, flushing batches, closing files`);
    ac.abort(new Error(sig));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

/** Runs one session and prints its report; serves metrics meanwhile when a port is configured. */
export async function collectOnce(setup: CaptureSetup, times: SessionTimes, log: Logger, signal: AbortSignal, marketClosed?: Promise<void>, day?: string): Promise<SessionResult> {
  // prom-client is slow to load: only when metrics are served.
  const metrics = setup.config.metricsPort === undefined ? undefined : new (await import('../collector/metrics.js')).CollectorMetrics();
  const server = metrics && (await metrics.serve(setup.config.metricsPort!, log));
  try {
    const result = await runSession({ config: setup.config, log, times, day: day ?? setup.exchange?.day, marketClosed, signal, onLive: (live) => metrics?.attach(live) });
    process.stdout.write(`${formatReport(result)}\n`);
    return result;
  } finally {
    metrics?.attach(undefined);
    await server?.close();
  }
}

export function registerCollect(program: Command): void {
  program
    .command('collect')
    .description('Capture one session now: REST seed, trade and BM_ streams, closing snapshot, reconciliation; then print the session report.')
    .addOption(new Option('--duration <D>', 'stop after this long (e.g. 90s, 30m, 6.5h)').argParser(parseDuration).conflicts('until'))
    .addOption(new Option('--until <HH:MM>', 'stop at this KST time today').argParser(parseClock))
    .option('--day <YYYY-MM-DD>', 'trading day to file the capture under (default: today in KST; the simulator plays that day), e.g. when capturing a replay of an earlier day', parseDay)
    .option('--config <file>', 'JSON configuration file (environment variables override it)')
    .option('--data-dir <dir>', 'data directory (default: ./data; env TICKTAPE_DATA_DIR)')
    .option('--metrics-port <n>', 'serve Prometheus /metrics and /healthz on 127.0.0.1:<n> (default: off)', parseIntegerIn(0, 65535))
    .option('--snapshot-interval <D>', 'periodic REST snapshot interval (default: 60s)', parseDuration)
    .addOption(new Option('--sim-day-length <D>', 'simulator only: wall-clock length of 09:00–15:30').argParser(parseDuration).default(60_000, '60s'))
    .addOption(new Option('--sim-pre-open <D>', 'simulator only: time before the simulated open').argParser(parseDuration).default(2_000, '2s'))
    .option('--print-config', 'print the configuration (secrets redacted) and exit')
    .addHelpText('after', ENV_HINT)
    .addHelpText('after', examples('ticktape collect --duration 90s', 'ticktape collect --until 15:45 --data-dir /srv/ticktape', 'ticktape collect --print-config', 'ticktape collect --day 2026-11-20 --duration 7h   # capture a replay of 2026-11-20 under its own day'))
    .action(async (flags: ConfigFlags & { day?: string; duration?: number; until?: number; simDayLength: number; simPreOpen: number; printConfig?: boolean }) => {
      const config = configFromFlags(flags);
      if (flags.printConfig) {
        process.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
        return;
      }
      const log = createLogger();
      const signal = stopSignal(log);
      const setup = await prepareCapture(config, log, { dayLengthMs: flags.simDayLength, preOpenMs: flags.simPreOpen, date: flags.day });
      let result: SessionResult;
      try {
        const times = await sessionTimes(setup, flags);
        if (typeof times === 'string') {
          process.stderr.write(`ticktape collect: ${times}\n`);
          process.exitCode = 2;
          return;
        }
        // Capturing the simulator's whole day: its close is known exactly.
        const wholeDay = flags.duration === undefined && flags.until === undefined;
        result = await collectOnce(setup, times, log, signal, wholeDay ? setup.exchange?.sessionEnded : undefined, flags.day);
      } finally {
        await setup.exchange?.close();
      }
      if (result.status === 'failed') {
        // The cause; the report above lists every problem.
        process.stderr.write(`ticktape collect: could not capture: ${result.problems[0] ?? 'see the report above'}\n`);
        process.exitCode = 1;
      }
    });
}

/** When the session's streams end and its closing snapshot is taken; a string explains a refusal. */
async function sessionTimes(setup: CaptureSetup, flags: { duration?: number; until?: number }): Promise<SessionTimes | string> {
  const now = Date.now();
  if (flags.duration !== undefined) return { streamEnd: now + flags.duration };
  if (flags.until !== undefined) {
    const at = kstMidnight(kstDay(now)) + flags.until * 60_000;
    return at > now ? { streamEnd: at } : `--until ${formatMinutes(flags.until)}: that time has already passed today (KST)`;
  }
  if (setup.exchange !== undefined) return { closeAt: setup.exchange.closeAt + SIM_CLOSE_GRACE_MS, streamEnd: setup.exchange.closeAt + SIM_STREAM_GRACE_MS };
  // The holiday calendar is slow to import; only a capture of today's real session needs it.
  const { dayStatus } = await import('../collector/calendar.js');
  const today = dayStatus(kstDay(now), setup.config);
  if (!today.trading) return `today is not a trading day (${today.reason}); use --duration or --until to capture anyway`;
  if (today.plan.streamEnd <= now) return `today's streams ended at ${formatMinutes(setup.config.schedule.streamEnd)} KST; use --duration to capture anyway`;
  return { closeAt: today.plan.closeAt, streamEnd: today.plan.streamEnd };
}

function parseClock(text: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`"${text}" is not a time HH:MM (24 h, KST)`);
  return Number(m[1]) * 60 + Number(m[2]);
}
