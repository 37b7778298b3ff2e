// `ticktape store --from nats://…`: stores what collectors on other machines publish to NATS
// JetStream (publish/nats-store.ts) into a data directory equal to theirs, until SIGINT/SIGTERM.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { redactUrl } from '../publish/nats-settings.js';
import { configFromFlags, stopSignal } from './collect.js';
import { ENV_HINT, examples } from './help.js';
import { createLogger } from './log.js';
import { parseDuration, parseIntegerIn } from './options.js';

/** Why `--from` is not a NATS URL, or undefined. Checked in the action: commander would echo a password. */
function badNatsUrl(text: string): string | undefined {
  const bad = text.split(',').find((u) => !/^(nats|tls):\/\/\S+$/.test(u.trim()));
  return bad === undefined ? undefined : `--from: "${redactUrl(bad)}" is not a NATS URL (expected nats://host:port, several comma-separated for a cluster)`;
}

/** `--ab A,B`: two collector ids capturing the same feed. */
function parseAb(text: string): { a: string; b: string } {
  const ids = text.split(',').map((x) => x.trim());
  if (ids.length !== 2 || ids.some((id) => !/^[A-Za-z0-9_-]{1,32}$/.test(id)) || ids[0] === ids[1]) throw new InvalidArgumentError(`"${text}" is not two different collector ids A,B (each 1–32 letters, digits, _ or -)`);
  return { a: ids[0], b: ids[1] };
}

function parseDurable(text: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(text)) throw new InvalidArgumentError(`"${text}" is not a consumer name (1–64 letters, digits, _ or -)`);
  return text;
}

export function registerStore(program: Command): void {
  program
    .command('store')
    .description(
      'Store what collectors publish to NATS JetStream (TICKTAPE_NATS_URL on the collectors): a durable consumer writes each collector\u2019s day into a local journal of the same name and runs the same stores as a local capture (SQLite, Arrow; the seal when the collector\u2019s session ends, then compaction and retention), so the data directory equals the collectors\u2019. Runs until SIGINT/SIGTERM; a restart resumes where the consumer left off.',
    )
    .requiredOption('--from <url>', 'NATS server or cluster: nats://host:port[,nats://host:port…]')
    .option('--data-dir <dir>', 'data directory (default: ./data; env TICKTAPE_DATA_DIR)')
    .option('--config <file>', 'JSON configuration file (environment variables override it)')
    .addOption(new Option('--durable <name>', 'the durable consumer\u2019s name: one per store (the stream is TICKTAPE_NATS_STREAM)').argParser(parseDurable).default('ticktape-store'))
    .addOption(new Option('--ab <a,b>', 'A/B capture: these two collectors (TICKTAPE_COLLECTOR_ID) capture the same feed; each one\u2019s copy is kept in <data-dir>/ab/<id>, and the day stored is their merge — every frame once, each one\u2019s gaps filled from the other, who filled what logged and in the day report (as `ticktape merge`)').argParser(parseAb))
    .option('--metrics-port <n>', 'serve Prometheus /metrics (each copied day\u2019s stores\u2019 lag, the disk) and /healthz on 127.0.0.1:<n> (default: off; env TICKTAPE_METRICS_PORT)', parseIntegerIn(0, 65535))
    .addOption(new Option('--ab-wait <duration>', 'with --ab: once one collector\u2019s session ended, how long to wait for the other\u2019s before merging what there is').argParser(parseDuration).default(600_000, '10m'))
    .addHelpText('after', ENV_HINT.split('\n').slice(0, 2).join('\n'))
    .addHelpText('after', examples('ticktape store --from nats://10.0.0.5:4222 --data-dir /srv/ticktape', 'TICKTAPE_NATS_STREAM=KRX ticktape store --from nats://a:4222,nats://b:4222 --durable store-b', 'ticktape store --from nats://10.0.0.5:4222 --ab seoul,busan'))
    .action(async (flags: { from: string; dataDir?: string; config?: string; durable: string; ab?: { a: string; b: string }; abWait: number; metricsPort?: number }) => {
      const bad = badNatsUrl(flags.from);
      if (bad !== undefined) {
        process.stderr.write(`ticktape store: ${bad}\n`);
        process.exitCode = 2;
        return;
      }
      const config = configFromFlags({ config: flags.config, dataDir: flags.dataDir, metricsPort: flags.metricsPort });
      const log = createLogger();
      const signal = stopSignal(log);
      const { runBusStore } = await import('../publish/nats-store.js');
      const metrics = config.metricsPort === undefined ? undefined : new (await import('../collector/metrics.js')).CollectorMetrics();
      const server = metrics && (await metrics.serve(config.metricsPort!, log));
      try {
        await runBusStore({ config, url: flags.from, durable: flags.durable, log, signal, ab: flags.ab && { ...flags.ab, waitMs: flags.abWait }, onLive: (live) => metrics?.attach(live) });
      } catch (e) {
        process.stderr.write(`ticktape store: ${(e as Error).message}\n`);
        process.exitCode = 1;
      } finally {
        metrics?.attach(undefined);
        await server?.close();
      }
      log.info('store stopped');
    });
}
