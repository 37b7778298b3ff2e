// One logger for the process, on stderr. On a terminal: human-readable lines, times in KST (the
// market's clock, whatever the machine's zone). Otherwise, or with `--log-format json`: JSON lines
// with epoch-ms times, for journald and log shippers. pino because it is the fastest structured
// logger for Node and its redaction keeps credentials out of the logs.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { kstStamp } from './present.js';

export type { Logger };

export type LogFormat = 'pretty' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];

/** The variables the command line itself reads (the collector's own: `ticktape env`). */
export const CLI_VARIABLES: readonly { env: string; help: string }[] = [
  { env: 'TICKTAPE_LOG_LEVEL', help: 'log level: trace, debug, info, warn, error, silent (default: info)' },
  { env: 'TICKTAPE_LOG_FORMAT', help: 'pretty or json, as --log-format (default: pretty on a terminal, else json)' },
];

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACT = ['key', 'apikey', 'apiKey', 'token', 'access_token', 'appkey', 'appKey', 'appsecretkey', 'appSecret', 'authorization', 'secret'];

let chosenFormat: LogFormat | undefined;

/** `--log-format`, given before any logger is created (main's preAction hook). */
export function setLogFormat(format: LogFormat | undefined): void {
  chosenFormat = format;
}

function logFormat(): LogFormat {
  const f = chosenFormat ?? process.env.TICKTAPE_LOG_FORMAT;
  if (f === 'json' || f === 'pretty') return f;
  return process.stderr.isTTY ? 'pretty' : 'json';
}

export function createLogger(level = process.env.TICKTAPE_LOG_LEVEL ?? 'info'): Logger {
  const redact = { paths: [...REDACT, ...REDACT.map((k) => `*.${k}`)], censor: '[redacted]' };
  if (logFormat() === 'pretty') {
    // In this thread (no transport worker): lines are written before a process.exit.
    const stream = pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname' });
    return pino({ level, redact, timestamp: () => `,"time":"${kstStamp(Date.now())}"` }, stream);
  }
  return pino({ level, redact }, pino.destination({ fd: 2, sync: false }));
}
