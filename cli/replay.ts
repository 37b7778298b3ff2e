// `ticktape replay print | stats | serve`: re-emit a recorded day to stdout, summarise it, or
// serve it over the vendors' own protocols.
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MARKETS, type Market } from '../protocol/market.js';
import { kstMsOfDay } from '../protocol/time.js';
import { parseSpeed, type Speed } from '../replay/clock.js';
import { eventToJson, REPLAY_CHANNELS, type ReplayChannel, type ReplayEvent } from '../replay/event.js';
import { kstTimeNs, replay, type Replay, type ReplayOptions } from '../replay/index.js';
import { SERVED_STREAMS, startReplayServer, type ServedStream } from '../replay/serve.js';
import { defaultSource, REPLAY_SOURCES, type ReplaySource } from '../replay/source.js';
import { createLogger } from './log.js';
import { parseDuration, parseIntegerIn, parseDay } from './options.js';

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
  clock: 'receive' | 'exchange';
}


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

/** The options every replay subcommand shares. */
function withCommon(cmd: Command, defaultSpeed: Speed): Command {
  return cmd
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
    .option('--data-dir <dir>', 'data directory the collector wrote (env TICKTAPE_DATA_DIR)', process.env.TICKTAPE_DATA_DIR ?? './data')
    .addOption(new Option('--source <source>', 'read rows from sqlite, arrow, the parquet history, or the raw journal (default, per day: arrow if the day has Arrow parts, else sqlite, else parquet, else journal)').choices(REPLAY_SOURCES))
    .option('--speed <N|max>', 'speed factor (1 = recorded timing, 10 = ten times faster) or max', parseSpeedOption, defaultSpeed)
    .option('--channels <list>', `channels, comma-separated: ${REPLAY_CHANNELS.join(', ')} (default: all stored channels; frames for the journal)`, listOf(REPLAY_CHANNELS, 'channels'))
    .option('--symbols <list>', 'only these short codes, comma-separated', parseSymbols)
    .option('--markets <list>', `only these markets: ${MARKETS.join(', ')}`, listOf(MARKETS, 'markets'))
    .option('--from <HH:MM:SS>', 'window start, KST (inclusive)', parseTime)
    .option('--to <HH:MM:SS>', 'window end, KST (exclusive)', parseTime)
    .addOption(new Option('--clock <clock>', 'order and pace by receive time or by the exchange time stamps').choices(['receive', 'exchange']).default('receive'));
}

function replayOptions(f: CommonFlags): ReplayOptions {
  return { dataDir: f.dataDir, day: f.day, fromDay: f.fromDay, toDay: f.toDay, sessionEvents: f.sessionEvents, from: f.from, to: f.to, channels: f.channels, symbols: f.symbols, markets: f.markets, source: f.source, speed: f.speed, clock: f.clock };
}

/** `HH:MM:SS.mmm` KST of an instant in ns. */
function kstClock(ns: bigint | null | undefined): string {
  if (ns === null || ns === undefined) return '--:--:--.---';
  const ms = kstMsOfDay(Number(ns / 1_000_000n));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(ms % 1000, 3)}`;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

const TABLE_HEADER = 'recv_kst      type       market  key        price         qty  exch_kst';

/** One fixed-width line per event: receive time, type, market (or upcode), symbol (or tjjcode), figures. */
function eventToTableLine(e: ReplayEvent): string {
  const recv = kstClock(e.recvNs);
  const exch = kstClock(e.exchNs);
  switch (e.type) {
    case 'trade':
      return `${recv}  trade      ${e.market.padEnd(6)}  ${e.symbol.padEnd(9)} ${String(e.price).padStart(7)} ${String(e.qty).padStart(11)}  ${exch}`;
    case 'snapshot':
      return `${recv}  snapshot   ${e.market.padEnd(6)}  ${e.symbol.padEnd(9)} ${String(e.price).padStart(7)} ${String(e.accVolume).padStart(11)}  ${e.kind}`;
    case 'sectorFlow':
      return `${recv}  sectorFlow ${e.upcode.padEnd(6)}  ${e.tjjcode.padEnd(9)} ${String(e.msvol).padStart(7)} ${String(e.msval).padStart(11)}  ${exch}`;
    case 'frame':
      return `${recv}  frame      #${String(e.srcSeq).padEnd(7)} ${e.channel}${e.outgoing ? ' (sent)' : ''}, ${e.bytes.length} bytes`;
    case 'session':
      return `${recv}  session    ${e.boundary.padEnd(6)}  ${e.day}`;
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

async function runPrint(f: CommonFlags & { format: 'ndjson' | 'table' }): Promise<void> {
  const rp = replay(replayOptions(f));
  const out = new LineWriter();
  const stopProgress = startProgress(rp, f.speed);
  // At recorded speed each line should appear when its event is due, not when a block fills.
  const paced = f.speed !== 'max';
  try {
    if (f.format === 'table') await out.line(TABLE_HEADER);
    for await (const e of rp) {
      await out.line(f.format === 'table' ? eventToTableLine(e) : eventToJson(e));
      if (paced) await out.flush();
      if (out.closed) break;
    }
    await out.flush();
  } finally {
    stopProgress();
  }
}

/** Counts per type, events per minute of session time, lateness percentiles. */
async function runStats(f: CommonFlags & { json: boolean }): Promise<void> {
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
  const minutes = [...perMinute.entries()].sort((a, b) => a[0] - b[0]);
  const peak = minutes.reduce((best, m) => (m[1] > best[1] ? m : best), [0, 0]);
  const lateness = rp.clock.lateness.summary();
  const hhmm = (minute: number) => `${pad(Math.floor(minute / 60), 2)}:${pad(minute % 60, 2)}`;
  if (f.json) {
    process.stdout.write(
      JSON.stringify({
        day: f.day ?? rp.days.join(','), events: total, counts, first: kstClock(first), last: kstClock(last),
        perMinute: Object.fromEntries(minutes.map(([m, n]) => [hhmm(m), n])),
        meanPerMinute: minutes.length ? total / minutes.length : 0, peakMinute: minutes.length ? { at: hhmm(peak[0]), events: peak[1] } : null,
        lateness: { p50Ms: lateness.p50, p99Ms: lateness.p99, maxMs: lateness.max, endDriftMs: lateness.last }, wallMs: Math.round(wallMs),
      }) + '\n',
    );
    return;
  }
  const lines = [
    f.day !== undefined
      ? `day ${f.day}  (${f.source ?? defaultSource(f.dataDir, f.day)}, clock ${f.clock}, speed ${f.speed})`
      : `days ${rp.days.join(', ') || 'none'}  (${f.source ?? 'each from its best tier'}, clock ${f.clock}, speed ${f.speed}, ${rp.progress().gapsSkipped} gaps between sessions skipped)`,
    `events       ${total}  (${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`,
    `session      ${kstClock(first)} – ${kstClock(last)} KST`,
    `per minute   mean ${minutes.length ? Math.round(total / minutes.length) : 0}, peak ${peak[1]} at ${hhmm(peak[0])}  (${minutes.length} active minutes)`,
    `lateness     p50 ${lateness.p50.toFixed(3)} ms, p99 ${lateness.p99.toFixed(3)} ms, max ${lateness.max.toFixed(3)} ms, end drift ${lateness.last.toFixed(3)} ms${f.speed === 'max' ? '  (speed max: no schedule)' : ''}`,
    `wall time    ${(wallMs / 1000).toFixed(2)} s (${Math.round(total / Math.max(wallMs / 1000, 1e-9))} events/s)`,
    'events per minute:',
    ...minutes.map(([m, n]) => `  ${hhmm(m)}  ${n}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function runServe(f: Omit<CommonFlags, 'channels'> & { port: number; host: string; waitFor: ServedStream[]; startTimeout: number; exitWhenDone: boolean }): Promise<void> {
  const log = createLogger();
  const server = await startReplayServer({ ...replayOptions({ ...f, channels: undefined }), port: f.port, host: f.host, logger: log, waitFor: f.waitFor, startTimeoutMs: f.startTimeout });
  log.info({ url: server.url, day: f.day, waitFor: f.waitFor }, 'replay serve: listening (Koscom /ws_ksp /ws_kdq + REST, LS /oauth2/token + /websocket)');
  // The machine-readable line a parent process waits for.
  process.stdout.write(JSON.stringify({ listening: server.url, port: server.port }) + '\n');
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
  withCommon(cmd.command('print').description('Print the events of a day (or a window) to stdout; progress on stderr when it is a terminal.'), 'max')
    .addOption(new Option('--format <format>', 'ndjson (one JSON object per event) or table').choices(['ndjson', 'table']).default('ndjson'))
    .action((opts: CommonFlags & { format: 'ndjson' | 'table' }) => runPrint(opts));

  withCommon(cmd.command('stats').description('Count the events of a day, their rate per minute, and the replay lateness percentiles.'), 'max')
    .option('--json', 'print one JSON object instead of text', false)
    .action((opts: CommonFlags & { json: boolean }) => runStats(opts));

  cmd
    .command('serve')
    .description('Serve a recorded day on 127.0.0.1 as Koscom (/ws_ksp, /ws_kdq, REST snapshots) and LS (/oauth2/token, /websocket BM_) so a collector can capture it as if live.')
    .requiredOption('--day <YYYY-MM-DD>', 'trading day to replay (KST)', parseDay)
    .option('--data-dir <dir>', 'data directory the collector wrote (env TICKTAPE_DATA_DIR)', process.env.TICKTAPE_DATA_DIR ?? './data')
    .addOption(new Option('--source <source>', 'sqlite or arrow (frames re-encoded), or journal (frames byte-identical)').choices(REPLAY_SOURCES).default('journal'))
    .option('--speed <N|max>', 'speed factor or max (max: as fast as the slowest client reads)', parseSpeedOption, 1)
    .requiredOption('--port <port>', 'TCP port (0 = any free port; printed on stdout)', parseIntegerIn(0, 65535))
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--symbols <list>', 'only these short codes, comma-separated', parseSymbols)
    .option('--markets <list>', `only these markets: ${MARKETS.join(', ')}`, listOf(MARKETS, 'markets'))
    .option('--from <HH:MM:SS>', 'window start, KST (inclusive)', parseTime)
    .option('--to <HH:MM:SS>', 'window end, KST (exclusive)', parseTime)
    .addOption(new Option('--clock <clock>', 'order and pace by receive time or by the exchange time stamps').choices(['receive', 'exchange']).default('receive'))
    .option('--wait-for <list>', `start once each of these has a client: ${SERVED_STREAMS.join(', ')}`, listOf(SERVED_STREAMS, 'streams'), [...SERVED_STREAMS])
    .addOption(new Option('--start-timeout <duration>', 'start anyway after this long (0s = at once)').argParser(parseDuration).default(30_000, '30s'))
    .option('--exit-when-done', 'exit once the day has been played out (default: keep serving until SIGINT)', false)
    .action((opts: Omit<CommonFlags, 'channels'> & { port: number; host: string; waitFor: ServedStream[]; startTimeout: number; exitWhenDone: boolean }) => runServe(opts));
}
