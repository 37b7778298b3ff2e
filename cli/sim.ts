// `ticktape sim`: runs the local exchange (sim/) until the session ends, --duration passes, or
// SIGINT, printing its endpoints and the synthetic credentials it accepts.

import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Faults } from '../sim/faults.js';
import { activeFaults } from '../sim/faults.js';
import { DEFAULT_EXCHANGE, startExchange } from '../sim/exchange.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { kstStamp } from './present.js';
import { parseDuration, parseIntegerIn } from './options.js';

interface SimFlags {
  seed: number;
  kospi: number;
  kosdaq: number;
  tradesPerDay: number;
  dayLength: number;
  preOpen: number;
  date?: string;
  host: string;
  port: number;
  quota: number;
  maxRate?: boolean;
  truth?: string;
  duration?: number;
  sandbox?: boolean;
  lsAck?: boolean;
  quiet?: boolean;
  faultCloseEvery: number;
  faultStaleAfter: number;
  faultMalformed: number;
  faultWrongType: number;
  faultDrop: number;
  faultRestDelay: number;
  fault429: number;
  fault5xx: number;
  faultRejectCredentials?: boolean;
  faultRestUnauthorized?: string;
  faultJunk: number;
  faultOversize: number;
  faultOversizeCount: number;
  cumulativeTrdvol?: boolean;
  faultNoHeartbeatReply?: boolean;
  faultNoInitReply?: boolean;
  faultServerHeartbeat: number;
  faultLsPing: number;
  faultLsAuthErrorEvery: number;
  faultBadSnapshotElements: number;
  faultWsSingleSession?: boolean;
  faultRestPathsMoved?: boolean;
  faultSignalCodes?: boolean;
  faultBatchPerConnection?: boolean;
}

function parseRate(text: string): number {
  const n = Number(text);
  if (!/^\d*\.?\d+$/.test(text.trim()) || n > 1) throw new InvalidArgumentError(`"${text}" is not a rate from 0 to 1 (example: 0.01)`);
  return n;
}

function parseIntegerOrFraction(text: string): number {
  const n = Number(text);
  if (!/^\d*\.?\d+$/.test(text.trim()) || n > 100) throw new InvalidArgumentError(`"${text}" is not a number from 0 to 100 (example: 0.5 or 3)`);
  return n;
}

function parseDayLength(text: string): number {
  if (text === 'real') return 0;
  const ms = parseDuration(text);
  if (ms < 1000) throw new InvalidArgumentError(`"${text}" is too short a day (at least 1s, or "real")`);
  return ms;
}

function parseDate(text: string): string {
  const t = Date.parse(`${text}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(t) || !new Date(t).toISOString().startsWith(text)) throw new InvalidArgumentError(`"${text}" is not a date (YYYY-MM-DD)`);
  return text;
}

export function registerSim(program: Command): void {
  const d = DEFAULT_EXCHANGE;
  const count = parseIntegerIn(0, 20_000);
  const cmd = program
    .command('sim')
    .description('Run the local exchange: Koscom REST and WebSocket (/ws_ksp, /ws_kdq, /ws) and LS (/oauth2/token, /websocket) with a synthetic market, on 127.0.0.1.')
    .option('--seed <n>', 'seed of the synthetic market and of the credentials', parseIntegerIn(0, 2 ** 32 - 1), d.seed)
    .option('--kospi <n>', 'number of KOSPI symbols', count, d.kospiSymbols)
    .option('--kosdaq <n>', 'number of KOSDAQ symbols', count, d.kosdaqSymbols)
    .option('--trades-per-day <n>', 'expected trades over the session, both markets', parseIntegerIn(0, 1_000_000_000), d.tradesPerDay)
    .addOption(new Option('--day-length <duration>', 'wall-clock length of 09:00–15:30 (e.g. 60s, 10m), or "real" for the KST clock').argParser(parseDayLength).default(d.dayLengthMs, `${d.dayLengthMs / 1000}s`))
    .addOption(new Option('--pre-open <duration>', 'wall-clock time before 09:00 (REST answers, streams silent; compressed mode; e.g. 45s for a long silent pre-open)').argParser(parseDuration).default(d.preOpenMs, `${d.preOpenMs / 1000}s`))
    .option('--date <YYYY-MM-DD>', 'trading day (default: today in KST)', parseDate)
    .option('--host <address>', 'address to bind', d.host)
    .option('--port <n>', 'port to listen on (0 = any free port)', parseIntegerIn(0, 65_535), d.port)
    .option('--quota <n>', 'Koscom REST calls per UTC day before HTTP 429', parseIntegerIn(0, 1_000_000_000), d.quotaPerDay)
    .option('--max-rate', 'throughput mode: stream trades as fast as the sockets take them')
    .option('--truth <file>', 'write every generated trade and flow to this NDJSON file')
    .option('--duration <duration>', 'stop after this long even if the session has not ended', parseDuration)
    .option('--sandbox', 'Koscom sandbox limits: 20 /ws subscriptions instead of 200')
    .option('--ls-ack', 'send the simulator-only ack frame after LS register/release')
    .option('--quiet', 'no per-second traffic log lines')
    .addOption(new Option('--fault-close-every <duration>', 'drop every WebSocket connection this often').argParser(parseDuration).default(0, 'never'))
    .addOption(new Option('--fault-stale-after <duration>', 'connections go silent (but stay open) this long after opening').argParser(parseDuration).default(0, 'never'))
    .addOption(new Option('--fault-malformed <rate>', 'per frame, probability of an extra truncated frame').argParser(parseRate).default(0))
    .addOption(new Option('--fault-wrong-type <rate>', 'per frame, probability of an extra frame with wrong-typed fields').argParser(parseRate).default(0))
    .addOption(new Option('--fault-drop <rate>', 'probability a trade is left out of /ws_ksp /ws_kdq (still counted in REST volumes)').argParser(parseRate).default(0))
    .addOption(new Option('--fault-rest-delay <duration>', 'delay every REST response').argParser(parseDuration).default(0))
    .addOption(new Option('--fault-429 <n>', 'answer the first N REST requests with HTTP 429').argParser(count).default(0))
    .addOption(new Option('--fault-5xx <n>', 'answer the first N REST requests (after any 429 burst) with HTTP 503').argParser(count).default(0))
    .option('--fault-reject-credentials', 'reject every API key, app key/secret and token')
    .option('--fault-rest-unauthorized <path-part>', 'answer HTTP 401 on Koscom REST paths containing this text (e.g. multiquote: an endpoint the key is not licensed for)')
    .addOption(new Option('--fault-junk <n>', 'junk frames (binary, invalid UTF-8, random text, broken JSON) per trade frame; a fraction is a probability').argParser(parseIntegerOrFraction).default(0))
    .addOption(new Option('--fault-oversize <bytes>', 'size of the oversize frames sent by --fault-oversize-count').argParser(parseIntegerIn(0, 1024 ** 3)).default(0))
    .addOption(new Option('--fault-oversize-count <n>', 'follow the next N trade frames each with one oversize junk frame').argParser(count).default(0))
    .option('--cumulative-trdvol', "send trdVol as each symbol's cumulative volume instead of the trade quantity (block trades keep their own)")
    .option('--fault-no-heartbeat-reply', 'Koscom sockets leave the client heartbeat unanswered (transport pings still answered)')
    .option('--fault-no-init-reply', 'Koscom sockets accept init without replying (data still flows)')
    .addOption(new Option('--fault-ls-ping <duration>', 'LS sends a PING control frame (header.tr_id) this often and closes a client that leaves three unanswered').argParser(parseDuration).default(0, 'never'))
    .addOption(new Option('--fault-ls-auth-error-every <duration>', 'LS revokes every token this often: registered sockets get an authentication-error frame and no more data').argParser(parseDuration).default(0, 'never'))
    .addOption(new Option('--fault-bad-snapshot-elements <n>', 'in every multiquote snapshot, the first N symbols get bad elements (trdPrc null in lists, hgprc an object in ohlclists)').argParser(count).default(0))
    .option('--fault-signal-codes', 'send every trdTm signal code on the trade streams: block trades (51/61/71000000, with a price and quantity) and the session signals')
    .option('--fault-batch-per-connection', 'each /ws_ksp /ws_kdq connection gets the same trades cut into frames (1–50 trades) at its own boundaries, not the same frames')
    .option('--fault-rest-paths-moved', 'Koscom REST serves its v3 paths only (koscom.md §12); v2 paths answer 404')
    .option('--fault-ws-single-session', '/ws refuses a second session while one is open (error 13004)')
    .addOption(new Option('--fault-server-heartbeat <duration>', 'Koscom sockets send their own heartbeat this often and close a client that leaves three unanswered').argParser(parseDuration).default(0, 'never'))
    .action(async (flags: SimFlags) => {
      const log = createLogger();
      const faults: Partial<Faults> = {
        closeEveryMs: flags.faultCloseEvery, staleAfterMs: flags.faultStaleAfter, malformedRate: flags.faultMalformed,
        wrongTypeRate: flags.faultWrongType, dropRate: flags.faultDrop, restDelayMs: flags.faultRestDelay,
        rest429Burst: flags.fault429, rest5xxBurst: flags.fault5xx, rejectCredentials: flags.faultRejectCredentials ?? false, restUnauthorizedPath: flags.faultRestUnauthorized ?? '',
        junkRate: flags.faultJunk, oversizeBytes: flags.faultOversize, oversizeCount: flags.faultOversizeCount,
        cumulativeTrdVol: flags.cumulativeTrdvol ?? false, noHeartbeatReply: flags.faultNoHeartbeatReply ?? false,
        noInitReply: flags.faultNoInitReply ?? false, serverHeartbeatMs: flags.faultServerHeartbeat,
        lsPingMs: flags.faultLsPing, lsAuthErrorEveryMs: flags.faultLsAuthErrorEvery, badSnapshotElements: flags.faultBadSnapshotElements,
        wsSingleSession: flags.faultWsSingleSession ?? false, restPathsMoved: flags.faultRestPathsMoved ?? false,
        signalCodes: flags.faultSignalCodes ?? false, batchPerConnection: flags.faultBatchPerConnection ?? false,
      };
      const ex = await startExchange({
        seed: flags.seed, kospiSymbols: flags.kospi, kosdaqSymbols: flags.kosdaq, tradesPerDay: flags.tradesPerDay,
        dayLengthMs: flags.dayLength, preOpenMs: flags.preOpen, date: flags.date, host: flags.host, port: flags.port,
        quotaPerDay: flags.quota, maxRate: flags.maxRate ?? false, truthFile: flags.truth, sandbox: flags.sandbox ?? false,
        lsAck: flags.lsAck ?? false, faults, logger: log,
      });
      const c = ex.credentials;
      process.stdout.write(
        [
          `ticktape sim — trading day ${ex.day}: its 09:00 is ${kstStamp(ex.openAt)}, its 15:30 ${kstStamp(ex.closeAt)}`,
          `  Koscom REST       ${ex.koscomRestUrl}/v2/market/...`,
          `  Koscom WebSocket  ${ex.koscomWsUrl}/ws_ksp  ${ex.koscomWsUrl}/ws_kdq  ${ex.koscomWsUrl}/ws`,
          `  LS OAuth          ${ex.lsRestUrl}/oauth2/token`,
          `  LS WebSocket      ${ex.lsWsUrl}/websocket`,
          'Synthetic credentials (valid only against this simulator):',
          `  Koscom apikey     ${c.koscomApiKey}   membername ${c.koscomMember}`,
          `  LS appkey         ${c.lsAppKey}`,
          `  LS appsecretkey   ${c.lsAppSecret}`,
          '',
        ].join('\n'),
      );
      const faultsOn = activeFaults(ex.faults);
      if (Object.keys(faultsOn).length > 0) log.warn({ faults: faultsOn }, 'fault injection on');
      let last = { ...ex.stats };
      const ticker = flags.quiet
        ? undefined
        : setInterval(() => {
            const s = ex.stats;
            log.info({ state: ex.sessionState(), frames: s.framesSent - last.framesSent, trades: s.tradesGenerated - last.tradesGenerated, flows: s.flowsGenerated - last.flowsGenerated, rest: s.restRequests - last.restRequests }, 'traffic/s');
            last = { ...s };
          }, 1000);
      const stopped = new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
        if (flags.duration !== undefined) setTimeout(() => resolve('duration reached'), flags.duration).unref();
        void ex.sessionEnded.then(() => resolve('session ended'));
      });
      const why = await stopped;
      clearInterval(ticker);
      await ex.close();
      log.info({ reason: why, trades: ex.stats.tradesGenerated, frames: ex.stats.framesSent, flows: ex.stats.flowsGenerated }, 'sim stopped');
      log.flush();
    });
  withExamples(cmd, 'ticktape sim --day-length 60s --truth truth.ndjson', 'ticktape sim --port 9000 --day-length real --fault-close-every 30s');
}
