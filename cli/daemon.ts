// `ticktape daemon`: runs a capture session every trading day on the schedule (Asia/Seoul), holds
// a lock on the data directory, serves /metrics and /healthz. SIGINT/SIGTERM stop the running
// session cleanly (streams stopped, batches flushed, files closed) and exit 0.
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { type CollectorConfig, formatMinutes } from '../collector/config.js';
import { dayStatus } from '../collector/calendar.js';
import { CredentialsRejectedError, runDaemon } from '../collector/daemon.js';
import { catchUpDays } from '../followers/catch-up.js';
import { kstDay } from '../protocol/time.js';
import { acquireLock, LockHeldError } from '../collector/lock.js';
import { CollectorMetrics } from '../collector/metrics.js';
import { formatReport } from '../collector/report.js';
import { runSession } from '../collector/session.js';
import { announceSim, type ConfigFlags, configFromFlags, prepareCapture, stopSignal } from './collect.js';
import { ENV_HINT, examples } from './help.js';
import { createLogger } from './log.js';
import { parseIntegerIn } from './options.js';

/** Default Prometheus port of the daemon (the exporter range); `collect` has metrics off by default. */
const DEFAULT_METRICS_PORT = 9464;

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('Capture every trading day on the schedule (KST): seed 08:00, streams 08:30–15:45, closing snapshot and reconciliation 15:40; skips weekends, Korean public holidays and 31 December.')
    .option('--config <file>', 'JSON configuration file (environment variables override it)')
    .option('--data-dir <dir>', 'data directory, one daemon per directory (default: ./data; env TICKTAPE_DATA_DIR)')
    .option('--metrics-port <n>', `Prometheus /metrics and /healthz on 127.0.0.1:<n> (default: ${DEFAULT_METRICS_PORT}; env TICKTAPE_METRICS_PORT)`, parseIntegerIn(0, 65535))
    .option('--no-metrics', 'do not serve /metrics and /healthz')
    .addHelpText('after', ENV_HINT)
    .addHelpText('after', examples('ticktape daemon --data-dir /srv/ticktape', 'TICKTAPE_METRICS_PORT=9100 ticktape daemon'))
    .action(async (flags: ConfigFlags & { metrics: boolean }) => {
      const config = configFromFlags(flags);
      if (config.useSim) announceSim();
      const log = createLogger();
      mkdirSync(config.dataDir, { recursive: true });
      let lock;
      try {
        lock = acquireLock(config.dataDir);
      } catch (e) {
        if (!(e instanceof LockHeldError)) throw e;
        process.stderr.write(`ticktape daemon: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      if (lock.tookOverFrom !== undefined) log.warn({ pid: lock.tookOverFrom }, `took over a stale lock of pid ${lock.tookOverFrom} (no longer running)`);
      const signal = stopSignal(log);
      const metrics = flags.metrics ? new CollectorMetrics() : undefined;
      const server = metrics && (await metrics.serve(config.metricsPort ?? DEFAULT_METRICS_PORT, log));
      log.info({ seedAt: formatMinutes(config.schedule.seedAt), streams: `${formatMinutes(config.schedule.streamStart)}–${formatMinutes(config.schedule.streamEnd)}`, dataDir: config.dataDir }, 'daemon started');
      // Earlier days whose stores are behind their journals (a crash after the close, a store that
      // failed until the stop) are completed now, beside the schedule.
      const today = kstDay(Date.now());
      const status = dayStatus(today, config);
      const todayOpen = status.trading && Date.now() < status.plan.streamEnd;
      const catchUp = catchUpDays({ dataDir: config.dataDir, except: todayOpen ? [today] : [], log, batchRows: config.batch.rows, batchMs: config.batch.ms, nice: config.stores.nice, signal })
        .then((problems) => {
          for (const p of problems) log.warn(p);
        })
        .catch((e: Error) => log.error({ err: e }, `catching up earlier days failed: ${e.message}`));
      try {
        await runDaemon({
          config,
          log,
          signal,
          async runDay(plan, daySignal) {
            // The simulator, when used, runs on the real KST clock for the planned day.
            const setup = await prepareCapture(config, log, { date: plan.day, dayLengthMs: 0 }, false);
            try {
              const result = await runSession({ config: setup.config, log, day: plan.day, times: plan, marketClosed: setup.exchange?.sessionEnded, signal: daySignal, onLive: (live) => metrics?.attach(live) });
              process.stdout.write(`${formatReport(result)}\n`);
              // A sealed day becomes history: Parquet, bars, the compressed journal; then retention.
              if (result.stores.some((st) => st.store === 'sqlite' && st.sealed)) await historyAfterSeal(config, plan.day, log);
              return result;
            } finally {
              metrics?.attach(undefined);
              await setup.exchange?.close();
            }
          },
        });
      } catch (e) {
        if (!(e instanceof CredentialsRejectedError)) throw e;
        log.fatal(e.message);
        process.stderr.write(`ticktape daemon: ${e.message}\n`);
        // EX_CONFIG (sysexits.h): systemd's RestartPreventExitStatus can keep it from looping.
        process.exitCode = 78;
      } finally {
        await catchUp;
        await server?.close();
        lock.release();
      }
      log.info('daemon stopped');
    });
}

/** Compaction and retention after a seal; a failure is logged (the next seal tries again), never fatal. */
async function historyAfterSeal(config: CollectorConfig, day: string, log: Logger): Promise<void> {
  try {
    const { afterSeal } = await import('../storage/after-seal.js');
    const r = await afterSeal(config.dataDir, day, config.retention, log);
    if (r.disk.low) log.warn({ freeBytes: r.disk.freeBytes, floor: config.retention.minFreeBytes }, `low disk: ${r.disk.freeBytes} bytes free in ${config.dataDir}; retention was tightened`);
  } catch (e) {
    log.error({ err: e, day }, `compaction or retention after the seal of ${day} failed: ${(e as Error).message}; \`ticktape compact --day ${day}\` and \`ticktape retain\` run it by hand`);
  }
}
