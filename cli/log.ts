// One logger for the process: JSON lines on stderr by default (for journald and log shippers),
// pretty when stderr is a terminal. pino because it is the fastest structured logger for Node
// and its redaction keeps credentials out of the logs.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACT = ['key', 'apikey', 'apiKey', 'token', 'access_token', 'appkey', 'appKey', 'appsecretkey', 'appSecret', 'authorization', 'secret'];

export function createLogger(level = process.env.TICKTAPE_LOG_LEVEL ?? 'info'): Logger {
  const redact = { paths: [...REDACT, ...REDACT.map((k) => `*.${k}`)], censor: '[redacted]' };
  if (process.stderr.isTTY && process.env.TICKTAPE_LOG_FORMAT !== 'json') {
    return pino({ level, redact, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino({ level, redact }, pino.destination({ fd: 2, sync: false }));
}
