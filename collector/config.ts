// The collector's configuration: defaults < optional JSON file < environment < command-line
// overrides, validated in one place with a message per bad value that names the variable (or
// the file key) and what was expected. Secrets are only ever shown through redactedConfig().
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KOSCOM_PATHS, type KoscomPaths, LS_PATHS, type LsPaths } from './endpoints.js';
import { BM_CODES } from '../protocol/ls.js';
import { MARKETS, type Market } from '../protocol/market.js';
import { KRX_CALENDAR, type KrxCalendar } from './calendar.js';
import { NATS_DEFAULTS, type NatsSettings, redactUrl } from '../publish/nats-settings.js';
import type { StoreName } from '../followers/stores.js';

/** A clock time `HH:MM` (KST), as minutes since midnight. */
export type Minutes = number;

export interface DayTimes {
  /** REST seed (symbol lists + snapshot). */
  seedAt: Minutes;
  streamStart: Minutes;
  streamEnd: Minutes;
  /** Closing snapshot and reconciliation. */
  closeAt: Minutes;
  /** The regular session's open (09:00; 10:00 on the 수능 day): reconnect backoff is capped around it. */
  marketOpen: Minutes;
}

export interface CollectorConfig {
  dataDir: string;
  collectorId?: string;
  /** True when no credentials and no URLs are set: capture from the in-process simulator. */
  useSim: boolean;
  /** `paths`: where each endpoint lives (KOSCOM_PATHS; loadConfig always fills them). */
  koscom: { apiKey: string; member: string; restUrl: string; wsUrl: string; paths?: Partial<KoscomPaths> };
  /** Undefined when no LS credentials are configured: the BM_ stream is then off. */
  ls?: { appKey: string; appSecret: string; restUrl: string; wsUrl: string; paths?: Partial<LsPaths> };
  markets: Market[];
  bmCodes: string[];
  schedule: DayTimes & {
    snapshotIntervalMs: number;
    /** Reconcile at every periodic snapshot too, not only after the close. */
    reconcilePeriodic: boolean;
  };
  calendar: {
    /** Extra closed days (YYYY-MM-DD). */
    closed: string[];
    /** Days to trade although the holiday calendar says closed. */
    open: string[];
    /** Days with their own times (over the KRX calendar's hours). */
    special: Record<string, Partial<DayTimes>>;
    /** The KRX calendar data: the shipped file, merged with TICKTAPE_CALENDAR_FILE if set. */
    krx?: KrxCalendar;
  };
  batch: { rows: number; ms: number; fsync: 'batch' | 'off' };
  /** Nice value the capture thread asks for (lower = favoured by the OS scheduler). */
  captureNice: number;
  rest: { koscom: RestLimits; ls: RestLimits; maxRetries: number; timeoutMs: number };
  ws: { heartbeatMs: number; staleMs: number; backoffInitialMs: number; backoffMaxMs: number; backoffAtOpenMs: number; softCapBytes: number; hardCapBytes: number };
  /** The stores, following the journal from their own threads. */
  stores: {
    /** /healthz is unhealthy while a store is further behind the journal than this. */
    maxLagMs: number;
    /** At the end of a session, how long to wait for a lagging store before leaving it to the next start. */
    catchUpMs: number;
    /** Longest wait before a failed store retries from its checkpoint. */
    retryMaxMs: number;
    /** Nice value of each store's thread: when a burst leaves both behind, the lower one catches up first. */
    nice: Record<StoreName, number>;
  };
  /** The daemon exits (code 78) after this many sessions in a row whose stream credentials were rejected. */
  authRetries: number;
  /** Prometheus /metrics + /healthz port on 127.0.0.1; undefined = off. */
  metricsPort?: number;
  /** Live fan-out of the day being captured (publish/fan-out.ts); `port` undefined = off. */
  publish: { port?: number; host: string; queueBytes: number; queueFrames: number };
  /** Symbols of the per-symbol detail feed (/ws); empty = off. */
  watchlist: WatchedSymbol[];
  /** Presets subscribed for each watched symbol. */
  watchlistPresets: DetailPreset[];
  /** Days kept per tier among the newest stored days (0 = for ever), and the low-disk floor. */
  retention: { sqliteDays: number; arrowDays: number; parquetDays: number; journalDays: number; minFreeBytes: number };
  /** The NATS JetStream bus (publish/): with a URL, every journal record is published. */
  nats: NatsSettings;
}

export interface WatchedSymbol {
  market: Market;
  symbol: string;
}

/** The /ws presets the detail feed stores (quotes, order_books). */
export const DETAIL_PRESETS = ['tick10', 'quote10'] as const;
export type DetailPreset = (typeof DETAIL_PRESETS)[number];

export interface RestLimits {
  concurrency: number;
  /** At most this many calls in any rolling second. */
  perSecond: number;
}

/** Documented production hosts (koscom.md §1, ls.md §1); Koscom publishes no production WS host. */
const KOSCOM_REST_PRODUCTION = 'https://apigw.koscom.co.kr';
const LS_REST_PRODUCTION = 'https://openapi.ls-sec.co.kr:8080';
const LS_WS_PRODUCTION = 'wss://openapi.ls-sec.co.kr:9443';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const ENV_NAME: Record<keyof KoscomPaths | keyof LsPaths, string> = { stockList: 'STOCK_LIST', lists: 'LISTS', ohlcLists: 'OHLC_LISTS', trades: 'TRADES', detail: 'DETAIL', token: 'TOKEN', websocket: 'WS' };
const PATH_HELP: Record<keyof KoscomPaths | keyof LsPaths, string> = {
  stockList: 'stock list endpoint', lists: 'multiquote lists endpoint', ohlcLists: 'multiquote ohlclists endpoint', trades: 'market-wide trade stream (WebSocket)',
  detail: 'per-symbol /ws feed (WebSocket)', token: 'OAuth token endpoint', websocket: 'WebSocket endpoint',
};
/** An endpoint path override; per-market endpoints must name the market's placeholder. */
const endpointPath = (placeholder: string | undefined, socket: boolean) =>
  z
    .string()
    .regex(socket ? /^(\/|:\d{1,5}\/|wss?:\/\/)\S*$/ : /^(\/|https?:\/\/)\S*$/, socket ? 'expected a path (/…), :PORT/… or a ws:// or wss:// URL' : 'expected a path (/…) or an http:// or https:// URL')
    .refine((v) => placeholder === undefined || v.includes(placeholder), `expected the ${placeholder ?? ''} placeholder`);
const SOCKET_PATHS = new Set(['trades', 'detail', 'websocket']);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time HH:MM (24 h, KST)').transform((s) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3)));
const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'expected a real calendar date');
const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'expected a duration such as 500ms, 60s, 5m').transform(durationMs);
const durationOrMs = z.union([z.number().int().min(0), duration]);
const count = (min: number, max: number) => z.coerce.number({ error: `expected a whole number from ${min} to ${max}` }).int(`expected a whole number from ${min} to ${max}`).min(min, `expected a whole number from ${min} to ${max}`).max(max, `expected a whole number from ${min} to ${max}`);
const list = <T extends z.ZodType<string, string>>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter((x) => x.length > 0) : v), z.array(item, { error: 'expected a comma-separated list' }));
const market = z.enum(MARKETS as [Market, ...Market[]], { error: `expected markets from: ${MARKETS.join(', ')}` });
const bmCode = z.enum(BM_CODES, { error: `expected BM_ market codes from: ${BM_CODES.join(', ')}` });
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((s) => s === 'true' || s === '1' || s === 'yes')], { error: 'expected true or false' });
const baseUrl = (schemes: string[]) =>
  z.string().transform((s, ctx) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected a base URL ${schemes[0]}://host:port` });
      return z.NEVER;
    }
    if (!schemes.includes(u.protocol.slice(0, -1)) || (u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.username !== '') {
      ctx.addIssue({ code: 'custom', message: `expected a base URL (${schemes.join(' or ')}://host:port, no path; the collector appends the documented paths)` });
      return z.NEVER;
    }
    return `${u.protocol}//${u.host}`;
  });
const secret = z.string().min(1, 'expected a non-empty value');
// The market is spelled out rather than looked up in the day's stock list, so that the watchlist
// is checked at start, before any REST call, and means the same on a day the seed fails.
const watched = z.string().regex(new RegExp(`^(${MARKETS.join('|')}):[0-9A-Z]{6}$`), `expected market:symbol pairs such as kospi:005930 (market ${MARKETS.join(' or ')}, a 6-character short code)`);
const detailPreset = z.enum(DETAIL_PRESETS, { error: `expected presets from: ${DETAIL_PRESETS.join(', ')}` });

/** One setting: where it lives in the file, its environment variable, and its validator. */
interface Setting {
  path: string;
  env?: string;
  schema: z.ZodType;
  help: string;
}

const SETTINGS: Setting[] = [
  { path: 'dataDir', env: 'TICKTAPE_DATA_DIR', schema: z.string().min(1), help: 'data directory (default: ./data)' },
  { path: 'collectorId', env: 'TICKTAPE_COLLECTOR_ID', schema: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected 1–32 letters, digits, _ or -'), help: 'collector id, for several collectors writing their own partitions' },
  { path: 'koscom.apiKey', env: 'TICKTAPE_KOSCOM_API_KEY', schema: secret, help: 'Koscom API key (secret)' },
  { path: 'koscom.member', env: 'TICKTAPE_KOSCOM_MEMBER', schema: z.string().min(1), help: 'company name sent in the Koscom WebSocket init' },
  { path: 'koscom.restUrl', env: 'TICKTAPE_KOSCOM_REST_URL', schema: baseUrl(['https', 'http']), help: `Koscom REST base URL (default: ${KOSCOM_REST_PRODUCTION})` },
  { path: 'koscom.wsUrl', env: 'TICKTAPE_KOSCOM_WS_URL', schema: baseUrl(['ws', 'wss']), help: 'Koscom WebSocket base URL (/ws_ksp, /ws_kdq are appended)' },
  ...(Object.keys(KOSCOM_PATHS) as (keyof KoscomPaths)[]).map((k) => ({ path: `koscom.paths.${k}`, env: `TICKTAPE_KOSCOM_${ENV_NAME[k]}_PATH`, schema: endpointPath(k === 'trades' ? '{ws_marketcode}' : k === 'detail' ? undefined : '{marketcode}', SOCKET_PATHS.has(k)), help: `Koscom ${PATH_HELP[k]}: path, :PORT/path or full URL (default: ${KOSCOM_PATHS[k]})` })),
  ...(Object.keys(LS_PATHS) as (keyof LsPaths)[]).map((k) => ({ path: `ls.paths.${k}`, env: `TICKTAPE_LS_${ENV_NAME[k]}_PATH`, schema: endpointPath(undefined, SOCKET_PATHS.has(k)), help: `LS ${PATH_HELP[k]}: path, :PORT/path or full URL (default: ${LS_PATHS[k]})` })),
  { path: 'ls.appKey', env: 'TICKTAPE_LS_APP_KEY', schema: secret, help: 'LS app key (secret)' },
  { path: 'ls.appSecret', env: 'TICKTAPE_LS_APP_SECRET', schema: secret, help: 'LS app secret (secret)' },
  { path: 'ls.restUrl', env: 'TICKTAPE_LS_REST_URL', schema: baseUrl(['https', 'http']), help: `LS REST base URL (default: ${LS_REST_PRODUCTION})` },
  { path: 'ls.wsUrl', env: 'TICKTAPE_LS_WS_URL', schema: baseUrl(['wss', 'ws']), help: `LS WebSocket base URL (default: ${LS_WS_PRODUCTION})` },
  { path: 'markets', env: 'TICKTAPE_MARKETS', schema: list(market).pipe(z.array(market).min(1, 'expected at least one market')), help: 'markets to capture (default: kospi,kosdaq)' },
  { path: 'bmCodes', env: 'TICKTAPE_BM_CODES', schema: z.preprocess((v) => (v === 'none' ? [] : v), list(bmCode)), help: 'BM_ market codes (default: all documented; "none" = off)' },
  { path: 'schedule.seedAt', env: 'TICKTAPE_SEED_AT', schema: hhmm, help: 'REST seed time (default: 08:00)' },
  { path: 'schedule.streamStart', env: 'TICKTAPE_STREAM_START', schema: hhmm, help: 'streams open (default: 08:30)' },
  { path: 'schedule.streamEnd', env: 'TICKTAPE_STREAM_END', schema: hhmm, help: 'streams close (default: 15:45)' },
  { path: 'schedule.closeAt', env: 'TICKTAPE_CLOSE_AT', schema: hhmm, help: 'closing snapshot + reconciliation (default: 15:40)' },
  { path: 'schedule.marketOpen', env: 'TICKTAPE_MARKET_OPEN', schema: hhmm, help: 'regular session open; reconnect backoff is capped in the 10 minutes either side (default: 09:00)' },
  { path: 'schedule.snapshotIntervalMs', env: 'TICKTAPE_SNAPSHOT_INTERVAL', schema: durationOrMs.pipe(z.number().min(1000, 'expected at least 1s')), help: 'periodic snapshot interval (default: 60s)' },
  { path: 'schedule.reconcilePeriodic', env: 'TICKTAPE_RECONCILE_PERIODIC', schema: bool, help: 'also reconcile at each periodic snapshot (default: false)' },
  { path: 'calendar.closed', env: 'TICKTAPE_CLOSED_DAYS', schema: list(isoDay), help: 'extra closed days, comma-separated YYYY-MM-DD' },
  { path: 'calendar.open', env: 'TICKTAPE_OPEN_DAYS', schema: list(isoDay), help: 'days to trade despite the holiday calendar' },
  { path: 'calendar.file', env: 'TICKTAPE_CALENDAR_FILE', schema: z.string().min(1), help: 'a KRX calendar JSON in the shape of collector/krx-calendar.json, merged over the shipped one (covers, closed, unsureClosed, hours)' },
  { path: 'calendar.special', schema: z.record(isoDay, z.object({ seedAt: hhmm, streamStart: hhmm, streamEnd: hhmm, closeAt: hhmm, marketOpen: hhmm }).partial().strict()), help: 'per-day times (config file only)' },
  { path: 'batch.rows', env: 'TICKTAPE_BATCH_ROWS', schema: count(1, 1_000_000), help: 'rows per storage batch (default: 10000)' },
  { path: 'batch.ms', env: 'TICKTAPE_BATCH_MS', schema: durationOrMs.pipe(z.number().min(1, 'expected at least 1ms').max(60_000, 'expected at most 60s')), help: 'max time a row waits in a batch (default: 200ms)' },
  { path: 'batch.fsync', env: 'TICKTAPE_FSYNC', schema: z.enum(['batch', 'off'], { error: 'expected batch or off' }), help: 'journal fsync policy (default: batch)' },
  { path: 'captureNice', env: 'TICKTAPE_CAPTURE_NICE', schema: count(-20, 19), help: 'nice value of the capture thread alone (default: -10); below the process\'s own it needs root, CAP_SYS_NICE or systemd LimitNICE=, else it keeps the process\'s and says so' },
  { path: 'rest.koscom.concurrency', env: 'TICKTAPE_KOSCOM_REST_CONCURRENCY', schema: count(1, 64), help: 'Koscom REST calls in flight (default: 2)' },
  { path: 'rest.koscom.perSecond', env: 'TICKTAPE_KOSCOM_REST_PER_SECOND', schema: count(1, 1000), help: 'Koscom REST calls per rolling second (default: 5)' },
  { path: 'rest.ls.concurrency', env: 'TICKTAPE_LS_REST_CONCURRENCY', schema: count(1, 64), help: 'LS REST calls in flight (default: 1)' },
  { path: 'rest.ls.perSecond', env: 'TICKTAPE_LS_REST_PER_SECOND', schema: count(1, 1000), help: 'LS REST calls per rolling second (default: 2)' },
  { path: 'rest.maxRetries', env: 'TICKTAPE_REST_RETRIES', schema: count(0, 20), help: 'retries of a REST call on 429/5xx/network errors (default: 6)' },
  { path: 'rest.timeoutMs', env: 'TICKTAPE_REST_TIMEOUT', schema: durationOrMs.pipe(z.number().min(100, 'expected at least 100ms')), help: 'REST call timeout (default: 15s)' },
  { path: 'ws.heartbeatMs', env: 'TICKTAPE_WS_HEARTBEAT', schema: durationOrMs.pipe(z.number().min(100, 'expected at least 100ms')), help: 'heartbeat interval (default: 10s)' },
  { path: 'ws.staleMs', env: 'TICKTAPE_WS_STALE', schema: durationOrMs.pipe(z.number().min(200, 'expected at least 200ms')), help: 'reconnect when neither data nor a heartbeat reply arrived for this long (default: 30s)' },
  { path: 'ws.backoffInitialMs', env: 'TICKTAPE_WS_BACKOFF_INITIAL', schema: durationOrMs.pipe(z.number().min(10, 'expected at least 10ms')), help: 'first reconnect delay (default: 500ms)' },
  { path: 'ws.backoffMaxMs', env: 'TICKTAPE_WS_BACKOFF_MAX', schema: durationOrMs.pipe(z.number().min(10, 'expected at least 10ms')), help: 'longest reconnect delay (default: 30s)' },
  { path: 'ws.backoffAtOpenMs', env: 'TICKTAPE_WS_BACKOFF_AT_OPEN', schema: durationOrMs.pipe(z.number().min(10, 'expected at least 10ms')), help: 'longest reconnect delay within 10 minutes of the market open (default: 2s)' },
  { path: 'ws.softCapBytes', env: 'TICKTAPE_WS_SOFT_CAP', schema: count(1024, 64 * 1024 * 1024), help: 'frames larger than this are quarantined, not decoded (default: 1 MiB)' },
  { path: 'ws.hardCapBytes', env: 'TICKTAPE_WS_HARD_CAP', schema: count(1024, 1024 * 1024 * 1024), help: 'larger frames close the socket (ws maxPayload, default 64 MiB)' },
  { path: 'stores.maxLagMs', env: 'TICKTAPE_STORE_MAX_LAG', schema: durationOrMs.pipe(z.number().min(1000, 'expected at least 1s')), help: '/healthz is unhealthy while a store is further behind the journal (default: 60s)' },
  { path: 'stores.catchUpMs', env: 'TICKTAPE_STORE_CATCH_UP', schema: durationOrMs, help: 'at a session end, how long to wait for a lagging store (default: 5m; the next start finishes it)' },
  { path: 'stores.nice.sqlite', env: 'TICKTAPE_SQLITE_NICE', schema: count(-20, 19), help: 'nice value of the SQLite store\'s thread (default: 0)' },
  { path: 'stores.nice.arrow', env: 'TICKTAPE_ARROW_NICE', schema: count(-20, 19), help: 'nice value of the Arrow store\'s thread (default: 10): after a burst, SQLite (the live day\'s reads) catches up first' },
  { path: 'stores.retryMaxMs', env: 'TICKTAPE_STORE_RETRY_MAX', schema: durationOrMs.pipe(z.number().min(10, 'expected at least 10ms')), help: 'longest wait before a failed store retries from its checkpoint (default: 10s)' },
  { path: 'authRetries', env: 'TICKTAPE_AUTH_RETRIES', schema: count(1, 1000), help: 'daemon: sessions in a row with rejected stream credentials before it exits with code 78 (default: 3)' },
  { path: 'watchlist', env: 'TICKTAPE_WATCHLIST', schema: list(watched), help: 'per-symbol detail feed (/ws): comma-separated market:symbol, e.g. kospi:005930,kosdaq:035720 (default: off)' },
  { path: 'watchlistPresets', env: 'TICKTAPE_WATCHLIST_PRESETS', schema: list(detailPreset).pipe(z.array(detailPreset).min(1, 'expected at least one preset')), help: 'detail presets per watched symbol: tick10, quote10 or both (default: tick10)' },
  { path: 'retention.sqliteDays', env: 'TICKTAPE_KEEP_SQLITE_DAYS', schema: count(0, 100_000), help: 'days kept in SQLite, newest first, once compacted (default: 20; 0 = for ever)' },
  { path: 'retention.arrowDays', env: 'TICKTAPE_KEEP_ARROW_DAYS', schema: count(0, 100_000), help: 'days whose Arrow parts are kept, once compacted (default: 5; 0 = for ever)' },
  { path: 'retention.parquetDays', env: 'TICKTAPE_KEEP_PARQUET_DAYS', schema: count(0, 100_000), help: 'days kept in the Parquet history (default: 0 = for ever)' },
  { path: 'retention.journalDays', env: 'TICKTAPE_KEEP_JOURNAL_DAYS', schema: count(0, 100_000), help: 'days whose compressed journal is kept (default: 0 = for ever)' },
  { path: 'retention.minFreeBytes', env: 'TICKTAPE_MIN_FREE_BYTES', schema: count(0, Number.MAX_SAFE_INTEGER), help: 'low-disk floor: below this many free bytes retention runs at once, tightened (default: 10 GiB)' },
  { path: 'publish.port', env: 'TICKTAPE_PUBLISH_PORT', schema: count(0, 65535), help: 'live fan-out: serve the day being captured on this port, in the vendors\' wire formats and as a JSON /stream (default: off)' },
  { path: 'publish.host', env: 'TICKTAPE_PUBLISH_HOST', schema: z.string().min(1, 'expected a host name or address'), help: 'live fan-out: address to listen on (default: 127.0.0.1)' },
  { path: 'publish.queueBytes', env: 'TICKTAPE_PUBLISH_QUEUE_BYTES', schema: count(64 * 1024, 2 ** 32), help: 'live fan-out: a subscriber with more bytes queued is disconnected (default: 16777216)' },
  { path: 'publish.queueFrames', env: 'TICKTAPE_PUBLISH_QUEUE_FRAMES', schema: count(16, 10_000_000), help: 'live fan-out: … or with more messages queued (default: 100000)' },
  { path: 'nats.url', env: 'TICKTAPE_NATS_URL', schema: z.string().regex(/^(nats|tls):\/\/\S+$/, 'expected nats://host:port (several comma-separated for a cluster)'), help: 'publish every journal record to this NATS JetStream server or cluster, nats://host:port[,nats://…] (default: off; a password in the URL is never logged)' },
  { path: 'nats.stream', env: 'TICKTAPE_NATS_STREAM', schema: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1–64 letters, digits, _ or -'), help: 'JetStream stream name (default: TICKTAPE)' },
  { path: 'nats.subjectPrefix', env: 'TICKTAPE_NATS_SUBJECT_PREFIX', schema: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'expected subject tokens such as ticktape or acme.ticks'), help: 'subjects are <prefix>.<collector>.<day>.<channel> (default: ticktape)' },
  { path: 'nats.maxAgeMs', env: 'TICKTAPE_NATS_MAX_AGE', schema: durationOrMs, help: 'messages older than this leave the stream (default: 168h; 0 = no limit)' },
  { path: 'nats.replicas', env: 'TICKTAPE_NATS_REPLICAS', schema: count(1, 5), help: 'copies of the stream in a JetStream cluster (default: 1)' },
  { path: 'nats.retention', env: 'TICKTAPE_NATS_RETENTION', schema: z.enum(['limits', 'interest'], { error: 'expected limits or interest' }), help: 'limits: kept until the max age; interest: removed once every consumer acknowledged it (default: limits)' },
  { path: 'nats.duplicateWindowMs', env: 'TICKTAPE_NATS_DUPLICATE_WINDOW', schema: durationOrMs.pipe(z.number().min(1000, 'expected at least 1s')), help: 'how long JetStream drops a republished record by its message id (default: 2m)' },
  { path: 'nats.backlog', env: 'TICKTAPE_NATS_BACKLOG', schema: count(1, 100_000), help: 'publishes awaiting acknowledgement at most; the journal holds the rest (default: 1000)' },
  { path: 'metricsPort', env: 'TICKTAPE_METRICS_PORT', schema: count(0, 65535), help: 'Prometheus /metrics and /healthz port on 127.0.0.1 (default: off for collect, 9464 for daemon)' },
];

/** The environment variables the collector reads, with their meaning (for --help and the README). */
export const CONFIG_VARIABLES: readonly { env: string; help: string }[] = SETTINGS.filter((s) => s.env).map((s) => ({ env: s.env!, help: s.help }));

const DEFAULTS = {
  dataDir: './data',
  koscom: { member: 'ticktape', paths: KOSCOM_PATHS },
  ls: { paths: LS_PATHS },
  markets: [...MARKETS],
  bmCodes: [...BM_CODES],
  schedule: { seedAt: 8 * 60, streamStart: 8 * 60 + 30, streamEnd: 15 * 60 + 45, closeAt: 15 * 60 + 40, marketOpen: 9 * 60, snapshotIntervalMs: 60_000, reconcilePeriodic: false },
  calendar: { closed: [], open: [], special: {} },
  batch: { rows: 10_000, ms: 200, fsync: 'batch' },
  captureNice: -10,
  rest: { koscom: { concurrency: 2, perSecond: 5 }, ls: { concurrency: 1, perSecond: 2 }, maxRetries: 6, timeoutMs: 15_000 },
  ws: { heartbeatMs: 10_000, staleMs: 30_000, backoffInitialMs: 500, backoffMaxMs: 30_000, backoffAtOpenMs: 2_000, softCapBytes: 1024 * 1024, hardCapBytes: 64 * 1024 * 1024 },
  stores: { maxLagMs: 60_000, catchUpMs: 300_000, retryMaxMs: 10_000, nice: { sqlite: 0, arrow: 10 } },
  authRetries: 3,
  publish: { host: '127.0.0.1', queueBytes: 16 * 1024 * 1024, queueFrames: 100_000 },
  watchlist: [],
  watchlistPresets: ['tick10'],
  retention: { sqliteDays: 20, arrowDays: 5, parquetDays: 0, journalDays: 0, minFreeBytes: 10 * 2 ** 30 },
  nats: NATS_DEFAULTS,
};

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (`--config`). */
  file?: string;
  /** Values set on the command line, by setting path (e.g. `dataDir`). */
  overrides?: Record<string, unknown>;
}

/** Reads, merges and validates the configuration. Throws ConfigError listing every bad value. */
export function loadConfig(opts: LoadConfigOptions = {}): CollectorConfig {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const merged: Record<string, unknown> = structuredClone(DEFAULTS);
  const setFrom = (setting: Setting, raw: unknown, where: string) => {
    const r = setting.schema.safeParse(raw);
    if (r.success) setPath(merged, setting.path, r.data);
    else problems.push(`${where}: ${r.error.issues.map((i) => i.message).join('; ')}${isSecret(setting) ? '' : ` (got ${JSON.stringify(raw)})`}`);
  };
  if (opts.file !== undefined) {
    const fileValues = readConfigFile(opts.file, problems);
    for (const [path] of flatten(fileValues)) {
      if (!SETTINGS.some((s) => s.path === path)) problems.push(`config file ${opts.file}: unknown key "${path}"`);
    }
    for (const setting of SETTINGS) {
      const raw = getPath(fileValues, setting.path);
      if (raw !== undefined) setFrom(setting, raw, `config file ${opts.file}: ${setting.path}`);
    }
  }
  for (const setting of SETTINGS) {
    if (setting.env === undefined) continue;
    const raw = env[setting.env];
    if (raw !== undefined && raw !== '') setFrom(setting, raw, setting.env);
  }
  for (const [path, raw] of Object.entries(opts.overrides ?? {})) {
    const setting = SETTINGS.find((s) => s.path === path);
    if (setting === undefined) throw new Error(`unknown setting ${path}`);
    if (raw !== undefined) setFrom(setting, raw, setting.env ?? path);
  }
  const config = finish(merged as Validated, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The settings once each passed its own schema, before the checks that span several of them. */
type Validated = Omit<CollectorConfig, 'useSim' | 'koscom' | 'ls' | 'watchlist'> & {
  koscom: Partial<CollectorConfig['koscom']> & { member: string };
  ls?: Partial<NonNullable<CollectorConfig['ls']>>;
  watchlist: string[];
};

function finish(m: Validated, problems: string[]): CollectorConfig {
  const k = m.koscom ?? {};
  const l = m.ls ?? {};
  const anyKoscom = k.apiKey !== undefined || k.restUrl !== undefined || k.wsUrl !== undefined;
  const anyLs = l.appKey !== undefined || l.appSecret !== undefined || l.restUrl !== undefined || l.wsUrl !== undefined;
  const useSim = !anyKoscom && !anyLs;
  if (!useSim) {
    if (k.apiKey === undefined) problems.push('TICKTAPE_KOSCOM_API_KEY: required when any credential or URL is set (leave all unset to use the simulator)');
    if (k.wsUrl === undefined) problems.push('TICKTAPE_KOSCOM_WS_URL: required when any credential or URL is set (Koscom documents no production WebSocket host)');
    if (anyLs && (l.appKey === undefined) !== (l.appSecret === undefined)) problems.push(`${l.appKey === undefined ? 'TICKTAPE_LS_APP_KEY' : 'TICKTAPE_LS_APP_SECRET'}: required together with the other LS credential`);
    if (anyLs && l.appKey === undefined && l.appSecret === undefined) problems.push('TICKTAPE_LS_APP_KEY, TICKTAPE_LS_APP_SECRET: required when an LS URL is set');
  }
  const calendarFile = (m.calendar as { file?: string }).file;
  const krx = calendarFile === undefined ? undefined : readCalendar(calendarFile, problems);
  const s = m.schedule;
  if (!(s.seedAt <= s.streamStart && s.streamStart < s.streamEnd && s.closeAt <= s.streamEnd && s.closeAt > s.streamStart)) {
    problems.push('schedule: expected TICKTAPE_SEED_AT ≤ TICKTAPE_STREAM_START < TICKTAPE_CLOSE_AT ≤ TICKTAPE_STREAM_END');
  }
  if (m.ws.backoffMaxMs < m.ws.backoffInitialMs) problems.push('TICKTAPE_WS_BACKOFF_MAX: expected at least TICKTAPE_WS_BACKOFF_INITIAL');
  if (m.ws.staleMs <= m.ws.heartbeatMs) problems.push('TICKTAPE_WS_STALE: expected longer than TICKTAPE_WS_HEARTBEAT (a heartbeat reply must be able to prove the socket alive)');
  if (m.ws.hardCapBytes < m.ws.softCapBytes) problems.push('TICKTAPE_WS_HARD_CAP: expected at least TICKTAPE_WS_SOFT_CAP');
  return {
    dataDir: m.dataDir,
    collectorId: m.collectorId,
    useSim,
    koscom: { apiKey: k.apiKey ?? '', member: k.member, restUrl: k.restUrl ?? KOSCOM_REST_PRODUCTION, wsUrl: k.wsUrl ?? '', paths: { ...KOSCOM_PATHS, ...k.paths } },
    ls: l.appKey !== undefined && l.appSecret !== undefined ? { appKey: l.appKey, appSecret: l.appSecret, restUrl: l.restUrl ?? LS_REST_PRODUCTION, wsUrl: l.wsUrl ?? LS_WS_PRODUCTION, paths: { ...LS_PATHS, ...l.paths } } : undefined,
    markets: [...new Set<Market>(m.markets)],
    bmCodes: [...new Set<string>(m.bmCodes)],
    schedule: s,
    calendar: { closed: m.calendar.closed, open: m.calendar.open, special: m.calendar.special, ...(krx && { krx }) },
    batch: m.batch,
    captureNice: m.captureNice,
    rest: m.rest,
    ws: m.ws,
    stores: m.stores,
    authRetries: m.authRetries,
    metricsPort: m.metricsPort,
    publish: m.publish,
    watchlist: [...new Set<string>(m.watchlist)].map((w) => ({ market: w.slice(0, w.indexOf(':')) as Market, symbol: w.slice(w.indexOf(':') + 1) })),
    watchlistPresets: [...new Set<DetailPreset>(m.watchlistPresets)],
    retention: m.retention,
    nats: m.nats,
  };
}

/** The configuration with every secret replaced, safe to print or log. */
export function redactedConfig(c: CollectorConfig): Record<string, unknown> {
  return {
    ...c,
    koscom: { ...c.koscom, apiKey: c.koscom.apiKey === '' ? '(unset)' : '[redacted]' },
    ls: c.ls === undefined ? '(off: no LS credentials)' : { ...c.ls, appKey: '[redacted]', appSecret: '[redacted]' },
    nats: { ...c.nats, url: c.nats.url === undefined ? '(off)' : redactUrl(c.nats.url) },
  };
}

/** Points the configuration at a running simulator and its synthetic credentials. */
export function withEndpoints(
  c: CollectorConfig,
  e: { koscomRestUrl: string; koscomWsUrl: string; lsRestUrl: string; lsWsUrl: string; credentials: { koscomApiKey: string; koscomMember: string; lsAppKey: string; lsAppSecret: string } },
): CollectorConfig {
  return {
    ...c,
    koscom: { apiKey: e.credentials.koscomApiKey, member: e.credentials.koscomMember, restUrl: e.koscomRestUrl, wsUrl: e.koscomWsUrl, paths: c.koscom.paths },
    ls: { appKey: e.credentials.lsAppKey, appSecret: e.credentials.lsAppSecret, restUrl: e.lsRestUrl, wsUrl: e.lsWsUrl, paths: c.ls?.paths },
  };
}

/** `HH:MM` of minutes since midnight. */
export function formatMinutes(m: Minutes): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

function isSecret(s: Setting): boolean {
  return s.path === 'koscom.apiKey' || s.path === 'ls.appKey' || s.path === 'ls.appSecret' || s.path === 'nats.url';
}

function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)!;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms']);
}

function readConfigFile(file: string, problems: string[], what = 'config file'): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    problems.push(`${what} ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return {};
  }
  try {
    const v = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
    problems.push(`${what} ${file}: expected a JSON object`);
  } catch (e) {
    problems.push(`${what} ${file}: not JSON (${(e as Error).message})`);
  }
  return {};
}

const KRX_CALENDAR_FILE = z
  .object({
    covers: z.object({ from: isoDay, to: isoDay }).strict(),
    closed: z.record(isoDay, z.string()),
    unsureClosed: z.record(isoDay, z.string()),
    hours: z.record(isoDay, z.object({ open: z.string().regex(/^\d{2}:\d{2}$/, 'expected HH:MM'), close: z.string().regex(/^\d{2}:\d{2}$/, 'expected HH:MM'), reason: z.string(), unsure: z.boolean().optional() }).strict()),
  })
  .partial();

/** A calendar file of our own over the shipped one: its days added, its coverage if it gives one. */
function readCalendar(file: string, problems: string[]): KrxCalendar {
  const values = readConfigFile(file, problems, 'TICKTAPE_CALENDAR_FILE');
  const r = KRX_CALENDAR_FILE.safeParse(values);
  if (!r.success) {
    problems.push(...r.error.issues.map((i) => `TICKTAPE_CALENDAR_FILE ${file}: ${i.path.join('.')}: ${i.message}`));
    return KRX_CALENDAR;
  }
  const c = r.data;
  return {
    covers: c.covers ?? KRX_CALENDAR.covers,
    closed: { ...KRX_CALENDAR.closed, ...c.closed },
    unsureClosed: { ...KRX_CALENDAR.unsureClosed, ...c.unsureClosed },
    hours: { ...KRX_CALENDAR.hours, ...c.hours },
  };
}

function flatten(o: Record<string, unknown>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(o)) {
    const path = prefix + k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && path !== 'calendar.special') out.push(...flatten(v as Record<string, unknown>, `${path}.`));
    else out.push([path, v]);
  }
  return out;
}

function getPath(o: Record<string, unknown>, path: string): unknown {
  let v: unknown = o;
  for (const k of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function setPath(o: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let t = o;
  for (const k of keys.slice(0, -1)) t = (t[k] ??= {}) as Record<string, unknown>;
  t[keys[keys.length - 1]] = value;
}
