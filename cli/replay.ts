// `ticktape replay print | stats | serve`: re-emit a recorded day to stdout, summarise it, or
// serve it over the vendors' own protocols.
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MARKETS, type Market } from '../protocol/market.js';
import { kstMsOfDay } from '../protocol/time.js';
import { parseSpeed, type Speed } from '../replay/clock.js';
import { eventToJson, REPLAY_CHANNELS, type ReplayChannel, type ReplayEvent } from '../replay/event.js';
import { kstTimeNs, replay, type Replay, type ReplayOptions } from '../replay/index.js';
import { SERVED_STREAMS, SETTLE_SECONDS, startReplayServer, type ServedStream } from '../replay/serve.js';
import { defaultSource, REPLAY_SOURCES, type ReplaySource } from '../replay/source.js';
import { storedDays } from '../storage/reader-inventory.js';
import { dayHolds, knownSymbols, nearestCodes, NothingFound, requireDataDir, requireDay } from './found.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { dataDirOption, jsonFlag, parseDuration, parseIntegerIn, parseDay, summaryFormatOption, type SummaryFormat } from './options.js';
import { count, kstClock, kstMinute } from './present.js';

interface CommonFlags {
  dataDir: string;
  day?: string;
  fromDay?: string;
  toDay?: string;
  sessionEvents?: boolean;
  from?: string;
  to?: string;
  channels?: ReplayChannel[];
  symbols?: string[];
  markets?: Market[];
  source?: ReplaySource;
  speed: Speed;
  clock: ClockKind;
}

type ClockKind = 'receive' | 'exchange';
const CLOCKS: readonly ClockKind[] = ['exchange', 'receive'];

function parseTime(text: string): string {
  try {
    kstTimeNs('2000-01-01', text);
  } catch {
    throw new InvalidArgumentError(`"${text}" is not a KST time of day (expected HH:MM:SS)`);
  }
  return text;
}

function parseSpeedOption(text: string): Speed {
  const s = parseSpeed(text);
  if (s === undefined) throw new InvalidArgumentError(`"${text}" is not a speed (expected a positive number such as 1, 0.5, 10, or max)`);
  return s;
}

function listOf<T extends string>(allowed: readonly T[], what: string): (text: string) => T[] {
  return (text) => {
    const items = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
    if (items.length === 0 || bad.length > 0) throw new InvalidArgumentError(`"${text}" is not a list of ${what} (expected some of: ${allowed.join(', ')})`);
    return items as T[];
  };
}

function parseSymbols(text: string): string[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0 || items.some((s) => !/^[0-9A-Za-z]{1,12}$/.test(s))) throw new InvalidArgumentError(`"${text}" is not a list of short codes (expected e.g. 005930,000660)`);
  return items;
}

/** The window and filter options of every replay subcommand; `clock` is the default --clock. */
function withFilters(cmd: Command, clock: ClockKind): Command {
  return cmd
    .option('--symbols <list>', 'only these short codes, comma-separated (trades and snapshots: sector flows and raw frames are not keyed by symbol)', parseSymbols)
    .option('--markets <list>', `only these markets: ${MARKETS.join(', ')}`, listOf(MARKETS, 'markets'))
    .option('--from <HH:MM:SS>', 'window start, KST on the --clock (inclusive)', parseTime)
    .option('--to <HH:MM:SS>', 'window end, KST on the --clock (exclusive)', parseTime)
    .addOption(new Option('--clock <clock>', 'the time --from/--to, order and pace refer to: exchange (the feed\u2019s time stamps, the KRX session) or receive (when ticktape got each frame)').choices(CLOCKS).default(clock));
}

/** The options every replay subcommand shares. */
function withCommon(cmd: Command, defaultSpeed: Speed): Command {
  cmd
    .option('--day <YYYY-MM-DD>', 'trading day to replay (KST); or a range with --from-day/--to-day', parseDay)
    .option('--from-day <YYYY-MM-DD>', 'first day of a range (inclusive): each day from the tier that holds it, nights and holidays skipped', parseDay)
    .option('--to-day <YYYY-MM-DD>', 'last day of a range (inclusive)', parseDay)
    .option('--session-events', 'in a range, emit a session event at the start and end of each day')
    .hook('preAction', (c) => {
      const o = c.opts<CommonFlags>();
      const range = o.fromDay !== undefined || o.toDay !== undefined;
      if (o.day === undefined && !range) c.error("error: required option '--day <YYYY-MM-DD>' not specified (or give a range with --from-day/--to-day)");
      if (o.day !== undefined && range) c.error('error: give --day or --from-day/--to-day, not both');
    })
    .addOption(dataDirOption())
    .addOption(new Option('--source <source>', 'read rows from sqlite, arrow, the parquet history, or the raw journal (default, per day: arrow if the day has Arrow parts, else sqlite, else parquet, else journal)').choices(REPLAY_SOURCES))
    .option('--speed <N|max>', 'speed factor (1 = recorded timing, 10 = ten times faster) or max', parseSpeedOption, defaultSpeed)
    .option('--channels <list>', `channels, comma-separated: ${REPLAY_CHANNELS.join(', ')} (default: all stored channels; frames for the journal)`, listOf(REPLAY_CHANNELS, 'channels'));
  return withFilters(cmd, 'exchange');
}

function replayOptions(f: CommonFlags): ReplayOptions {
  return { dataDir: f.dataDir, day: f.day, fromDay: f.fromDay, toDay: f.toDay, sessionEvents: f.sessionEvents, from: f.from, to: f.to, channels: f.channels, symbols: f.symbols, markets: f.markets, source: f.source, speed: f.speed, clock: f.clock };
}

/** The table's header: the replay clock's time first, the other clock's last. */
function tableHeader(clock: ClockKind): string {
  const [first, last] = clock === 'exchange' ? ['exch_kst', 'recv_kst'] : ['recv_kst', 'exch_kst'];
  return `${first}      type       market  key        price         qty  ${last}`;
}

/** One fixed-width line per event: time on the replay's clock, type, market (or upcode), symbol (or tjjcode), figures, the other clock's time. */
function eventToTableLine(e: ReplayEvent, clock: ClockKind): string {
  // On the exchange clock an event without an exchange stamp stands at its receive time.
  const [first, last] = clock === 'exchange' ? [kstClock(e.exchNs ?? e.recvNs), kstClock(e.recvNs)] : [kstClock(e.recvNs), kstClock(e.exchNs)];
  switch (e.type) {
    case 'trade':
      return `${first}  trade      ${e.market.padEnd(6)}  ${e.symbol.padEnd(9)} ${String(e.price).padStart(7)} ${String(e.qty).padStart(11)}  ${last}`;
    case 'snapshot':
      return `${first}  snapshot   ${e.market.padEnd(6)}  ${e.symbol.padEnd(9)} ${String(e.price).padStart(7)} ${String(e.accVolume).padStart(11)}  ${e.kind}`;
    case 'sectorFlow':
      return `${first}  sectorFlow ${e.upcode.padEnd(6)}  ${e.tjjcode.padEnd(9)} ${String(e.msvol).padStart(7)} ${String(e.msval).padStart(11)}  ${last}`;
    case 'frame':
      return `${first}  frame      #${String(e.srcSeq).padEnd(7)} ${e.channel}${e.outgoing ? ' (sent)' : ''}, ${e.bytes.length} bytes`;
    case 'session':
      return `${first}  session    ${e.boundary.padEnd(6)}  ${e.day}`;
  }
}

/** A progress line on stderr (only when it is a terminal): events, session time, speed, lateness. */
function startProgress(rp: Replay, speed: Speed): () => void {
  if (!process.stderr.isTTY) return () => {};
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{events} events | session {session} KST | speed {speed} | lateness p50 {p50} ms p99 {p99} ms', hideCursor: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { events: 0, session: '--:--:--', speed: String(speed), p50: '0', p99: '0' });
  const update = (): void => {
    const p = rp.progress();
    bar.update(0, { events: p.events, session: kstClock(p.position).slice(0, 8), speed: String(speed), p50: p.lateness.p50.toFixed(2), p99: p.lateness.p99.toFixed(2) });
  };
  const timer = setInterval(update, 200);
  return () => {
    clearInterval(timer);
    update();
    bar.stop();
  };
}

/** True once stdout's reader has gone away (`| head`): output stops quietly instead of crashing. */
let stdoutClosed = false;
function watchStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stdoutClosed = true;
  });
}

function drainedOrClosed(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.stdout.off('drain', done);
      process.stdout.off('error', done);
      resolve();
    };
    process.stdout.on('drain', done);
    process.stdout.on('error', done);
  });
}

/** Writes lines to stdout in blocks, honouring backpressure. */
class LineWriter {
  private buf = '';

  get closed(): boolean {
    return stdoutClosed;
  }

  async line(s: string): Promise<void> {
    this.buf += s + '\n';
    if (this.buf.length >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buf.length === 0 || this.closed) return;
    const ok = process.stdout.write(this.buf);
    this.buf = '';
    if (!ok) await drainedOrClosed();
  }
}

/** The channels a replay of these flags reads. */
function channelsOf(f: CommonFlags): readonly ReplayChannel[] {
  const source = f.source ?? (f.day === undefined ? undefined : defaultSource(f.dataDir, f.day));
  return f.channels ?? (source === 'journal' ? ['frames'] : ['trades', 'snapshots', 'sector_flows']);
}

/** Channels whose rows are not keyed by symbol: --symbols passes them through whole. */
const NOT_BY_SYMBOL: Partial<Record<ReplayChannel, string>> = { sector_flows: 'keyed by sector', frames: 'raw frames, not decoded' };

const warn = (text: string): boolean => process.stderr.write(`ticktape replay: ${text}\n`);

/**
 * Before a replay: the day must exist; a short code the day does not know is a warning naming the
 * nearest known codes; --symbols says which of the replayed channels it does not filter, and `hint`
 * how to leave them out.
 */
async function preflight(f: CommonFlags, hint = '--channels trades,snapshots leaves them out'): Promise<void> {
  // A range is checked by what it finds (see nothingFound): its days may sit in any tier.
  if (f.day === undefined) requireDataDir(f.dataDir);
  else requireDay(f.dataDir, f.day);
  if (f.symbols === undefined) return;
  const known = f.day === undefined ? new Set<string>() : await knownSymbols(f.dataDir, f.day);
  if (known.size > 0) {
    for (const s of f.symbols) if (!known.has(s)) warn(`warning: ${s} is not a symbol of ${f.day} (${count(known.size)} known); nearest codes: ${nearestCodes(s, known).join(', ')}`);
  }
  const unfiltered = channelsOf(f).filter((c) => NOT_BY_SYMBOL[c] !== undefined);
  if (unfiltered.length > 0) {
    warn(`note: --symbols filters trades and snapshots only; ${unfiltered.map((c) => `${c} (${NOT_BY_SYMBOL[c]})`).join(' and ')} are replayed whole${hint ? ` — ${hint}` : ''}`);
  }
}

/** What a replay looked for, and what the day holds instead. */
async function nothingFound(f: CommonFlags): Promise<NothingFound> {
  const window = f.from !== undefined || f.to !== undefined ? ` from ${f.from ?? 'the start'} to ${f.to ?? 'the end'} KST on the ${f.clock} clock` : '';
  const filters = [f.symbols && `symbols ${f.symbols.join(', ')}`, f.markets && `markets ${f.markets.join(', ')}`, `channels ${channelsOf(f).join(', ')}`].filter(Boolean).join(', ');
  if (f.day === undefined) {
    const days = storedDays(f.dataDir);
    return new NothingFound(`no events from ${f.fromDay ?? 'the first day'} to ${f.toDay ?? 'the last day'}${window} (${filters}; ${f.dataDir}). Days with data: ${days.join(', ') || 'none'}`);
  }
  const source = f.source ?? defaultSource(f.dataDir, f.day);
  const holds = await dayHolds(f.dataDir, f.day);
  return new NothingFound(`no events on ${f.day}${window} (${filters}; source ${source}, ${f.dataDir}). The day holds:\n${holds.join('\n') || '  nothing stored'}`);
}

async function runPrint(f: CommonFlags & { format: 'ndjson' | 'json' | 'table' }): Promise<void> {
  await preflight(f);
  const rp = replay(replayOptions(f));
  const out = new LineWriter();
  const stopProgress = startProgress(rp, f.speed);
  // At recorded speed each line should appear when its event is due, not when a block fills.
  const paced = f.speed !== 'max';
  try {
    // The header with the first row: a replay that finds nothing prints nothing on stdout.
    let header = f.format === 'table';
    for await (const e of rp) {
      if (header) await out.line(tableHeader(f.clock));
      header = false;
      await out.line(f.format === 'table' ? eventToTableLine(e, f.clock) : eventToJson(e));
      if (paced) await out.flush();
      if (out.closed) break;
    }
    await out.flush();
  } finally {
    stopProgress();
  }
  if (rp.progress().events === 0) throw await nothingFound(f);
}

/** Counts per type, events per minute of session time, lateness percentiles. */
async function runStats(f: CommonFlags & { format: SummaryFormat; json?: boolean }): Promise<void> {
  await preflight(f);
  const rp = replay(replayOptions(f));
  const stopProgress = startProgress(rp, f.speed);
  const counts: Record<string, number> = {};
  const perMinute = new Map<number, number>();
  let first: bigint | undefined;
  let last: bigint | undefined;
  const started = performance.now();
  try {
    for await (const e of rp) {
      counts[e.type] = (counts[e.type] ?? 0) + 1;
      const t = rp.timeOf(e);
      first ??= t;
      last = t;
      const minute = Math.floor(kstMsOfDay(Number(t / 1_000_000n)) / 60_000);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    }
  } finally {
    stopProgress();
  }
  const wallMs = performance.now() - started;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total === 0) throw await nothingFound(f);
  const minutes = [...perMinute.entries()].sort((a, b) => a[0] - b[0]);
  const peak = minutes.reduce((best, m) => (m[1] > best[1] ? m : best), [0, 0]);
  const lateness = rp.clock.lateness.summary();
  if (f.format === 'json' || f.json) {
    process.stdout.write(
      JSON.stringify({
        day: f.day ?? rp.days.join(','), clock: f.clock, timeZone: 'Asia/Seoul', events: total, counts, first: kstClock(first), last: kstClock(last),
        perMinute: Object.fromEntries(minutes.map(([m, n]) => [kstMinute(m), n])),
        meanPerMinute: minutes.length ? total / minutes.length : 0, peakMinute: minutes.length ? { at: kstMinute(peak[0]), events: peak[1] } : null,
        lateness: { p50Ms: lateness.p50, p99Ms: lateness.p99, maxMs: lateness.max, endDriftMs: lateness.last }, wallMs: Math.round(wallMs),
      }) + '\n',
    );
    return;
  }
  const lines = [
    f.day !== undefined
      ? `day ${f.day}  (${f.source ?? defaultSource(f.dataDir, f.day)}, ${f.clock} clock, speed ${f.speed})`
      : `days ${rp.days.join(', ') || 'none'}  (${f.source ?? 'each from its best tier'}, ${f.clock} clock, speed ${f.speed}, ${count(rp.progress().gapsSkipped)} gaps between sessions skipped)`,
    `events       ${count(total)}  (${Object.entries(counts).map(([k, n]) => `${k} ${count(n)}`).join(', ')})`,
    `session      ${kstClock(first)} – ${kstClock(last)} KST`,
    `per minute   mean ${count(Math.round(total / minutes.length))}, peak ${count(peak[1])} at ${kstMinute(peak[0])} KST  (${count(minutes.length)} active minutes)`,
    `lateness     p50 ${lateness.p50.toFixed(3)} ms, p99 ${lateness.p99.toFixed(3)} ms, max ${lateness.max.toFixed(3)} ms, end drift ${lateness.last.toFixed(3)} ms${f.speed === 'max' ? '  (speed max: no schedule)' : ''}`,
    `wall time    ${(wallMs / 1000).toFixed(2)} s (${count(Math.round(total / Math.max(wallMs / 1000, 1e-9)))} events/s)`,
    `events per minute (KST, ${f.clock} clock):`,
    ...minutes.map(([m, n]) => `  ${kstMinute(m)}  ${count(n).padStart(9)}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

type ServeFlags = Omit<CommonFlags, 'channels'> & { port: number; host: string; waitFor?: ServedStream[]; startTimeout: number; exitWhenDone: boolean };

async function runServe(f: ServeFlags): Promise<void> {
  // Serve has no --channels to leave the others out; from the journal, only another source filters by symbol.
  await preflight({ ...f, channels: undefined }, f.source === 'journal' ? '--source arrow (or sqlite) serves the trades of those symbols only' : '');
  const log = createLogger();
  const server = await startReplayServer({ ...replayOptions({ ...f, channels: undefined }), port: f.port, host: f.host, logger: log, waitFor: f.waitFor, startTimeoutMs: f.startTimeout });
  // The one result line (a parent process waits for it): where the vendors' endpoints are.
  const ws = server.url.replace('http:', 'ws:');
  process.stdout.write(`listening on ${server.url}: Koscom ${ws}/ws_ksp ${ws}/ws_kdq + REST, LS ${server.url}/oauth2/token + ${ws}/websocket\n`);
  const stop = async (): Promise<void> => {
    await server.close();
    log.flush?.();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await server.done;
  if (f.exitWhenDone) await stop();
}

export function registerReplay(program: Command): void {
  const cmd = program
    .command('replay')
    .description('Re-emit a recorded day at its recorded timing: print it, summarise it, or serve it in the vendors\u2019 wire formats.')
    .hook('preAction', watchStdout);
  withExamples(
    withCommon(cmd.command('print').description('Print the events of a day (or a window) to stdout; progress on stderr when it is a terminal.'), 'max')
      .addOption(new Option('--format <format>', 'ndjson or json (one JSON object per event), or table').choices(['ndjson', 'json', 'table']).default('ndjson'))
      .action((opts: CommonFlags & { format: 'ndjson' | 'json' | 'table' }) => runPrint(opts)),
    'ticktape replay print --day 2026-11-20 --symbols 005930 --channels trades --from 10:00:00 --to 10:05:00 --format table',
    'ticktape replay print --day 2026-11-20 --speed 10 --clock receive | jq -c .',
  );

  withExamples(
    withCommon(cmd.command('stats').description('Count the events of a day, their rate per minute, and the replay lateness percentiles.'), 'max')
      .addOption(summaryFormatOption())
      .addOption(jsonFlag())
      .action((opts: CommonFlags & { format: SummaryFormat; json?: boolean }) => runStats(opts)),
    'ticktape replay stats --day 2026-11-20',
    'ticktape replay stats --day 2026-11-20 --symbols 005930 --channels trades --format json',
  );

  withExamples(
    withFilters(
      cmd
        .command('serve')
        .description('Serve a recorded day on 127.0.0.1 as Koscom (/ws_ksp, /ws_kdq, REST snapshots) and LS (/oauth2/token, /websocket BM_) so a collector can capture it as if live.')
        .requiredOption('--day <YYYY-MM-DD>', 'trading day to replay (KST)', parseDay)
        .addOption(dataDirOption())
        .addOption(new Option('--source <source>', 'sqlite or arrow (frames re-encoded), or journal (frames byte-identical)').choices(REPLAY_SOURCES).default('journal'))
        .option('--speed <N|max>', 'speed factor or max (max: as fast as the slowest client reads)', parseSpeedOption, 1)
        .requiredOption('--port <port>', 'TCP port (0 = any free port; printed on stdout)', parseIntegerIn(0, 65535))
        .option('--host <host>', 'address to bind', '127.0.0.1')
        .option('--wait-for <list>', `start once each of these has a client: ${SERVED_STREAMS.join(', ')} (default: once every client that connected within ${SETTLE_SECONDS} s is ready)`, listOf(SERVED_STREAMS, 'streams'))
        .addOption(new Option('--start-timeout <duration>', 'start anyway after this long (0s = at once)').argParser(parseDuration).default(30_000, '30s'))
        .option('--exit-when-done', 'exit once the day has been played out (default: keep serving until SIGINT)'),
      // Frames go out in the order they arrived: the receive clock.
      'receive',
    ).action((opts: ServeFlags) => runServe(opts)),
    'ticktape replay serve --day 2026-11-20 --port 8080',
    'ticktape replay serve --day 2026-11-20 --port 8080 --speed max --wait-for kospi,kosdaq,ls --exit-when-done',
  );
}
