// Live fan-out (TICKTAPE_PUBLISH_PORT) at full rate: the local exchange at --max-rate in a child
// process → the capture thread → journal, followed by the fan-out thread, which hands every trade
// to local subscribers (WebSocket clients in this process). In the same run: the capture with no
// fan-out at all (the baseline for the capture rate beside each fan-out), then with 1 and 10
// subscribers to the JSON /stream (every trade), and with 10 Koscom wire clients (/ws_ksp and
// /ws_kdq, frames relayed byte for byte). Delivered = trades one subscriber received per second,
// from the first journaled trade to its last one (the fan-out's catch-up after the burst included).
// Run alone: `npm run build && node dist/bench/phase.js fan-out`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { CaptureThread } from '../capture/capture-thread.js';
import { encodeInit } from '../protocol/jsonrpc.js';
import { MAX_TRADES_PER_FRAME, TRADE_STREAM_PATH } from '../protocol/koscom.js';
import { MARKETS } from '../protocol/market.js';
import { FanOutThread } from '../publish/fan-out-thread.js';
import { measure, roundSetup, startSim, stopSim } from './capture.js';
import type { Figure } from './figures.js';
import { DAY } from './storage.js';

const TRADES = 1_000_000;
// Best of two: a noisy neighbour on a 2-core machine can halve one run.
const ROUNDS = 2;
/** Large: this measures throughput, not the slow-subscriber bound (a drop would end a subscriber's count early). */
const QUEUE_BYTES = 512 * 1024 * 1024;
const log = pino({ level: 'warn' });

type Subscribers = { kind: 'stream' | 'wire'; n: number } | undefined;

interface Round {
  /** Trades journaled per second. */
  capture: number;
  /** Trades per second one subscriber received (mean over subscribers). */
  delivered: number;
  /** Seconds from the journal's close until the last subscriber had everything. */
  tailS: number;
  /** Subscribers that received fewer trades than were journaled. */
  short: number;
}

/** A subscriber counting the trades it receives (max-rate frames are full: 50 trades each). */
class Counter {
  trades = 0;
  lastMs = 0;
  readonly closed: Promise<void>;

  constructor(readonly sockets: WebSocket[], isTrades: (data: Buffer) => boolean) {
    for (const ws of sockets) {
      ws.on('message', (data: Buffer) => {
        if (!isTrades(data)) return;
        this.trades += MAX_TRADES_PER_FRAME;
        this.lastMs = performance.now();
      });
    }
    this.closed = Promise.all(sockets.map((ws) => new Promise((r) => ws.once('close', r)))).then(() => undefined);
  }
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** `{"type":"rows"…`: byte 9 is the `r` (the seam marker is `{"type":"live"…`). */
const isRows = (d: Buffer) => d[9] === 0x72;
const isTradeFrame = (d: Buffer) => d[0] === 0x5b;

async function subscribe(port: number, s: NonNullable<Subscribers>): Promise<Counter[]> {
  const base = `ws://127.0.0.1:${port}`;
  const counters: Counter[] = [];
  for (let i = 0; i < s.n; i++) {
    if (s.kind === 'stream') counters.push(new Counter([await open(`${base}/stream?channels=trades`)], isRows));
    else {
      const sockets = await Promise.all(MARKETS.map((m) => open(base + TRADE_STREAM_PATH[m])));
      for (const ws of sockets) ws.send(encodeInit(1, 'bench', 'bench'));
      counters.push(new Counter(sockets, isTradeFrame));
    }
  }
  return counters;
}

async function round(dir: string, name: string, subscribers: Subscribers): Promise<Round> {
  const sim = await startSim();
  const { config, journalFile, lock } = roundSetup(sim, dir, name);
  try {
    const capture = await CaptureThread.start({ config, journalFile, log, marketOpenAt: Date.now() - 86_400_000 });
    let fanOut: FanOutThread | undefined;
    let counters: Counter[] = [];
    if (subscribers !== undefined) {
      fanOut = FanOutThread.start({ journalFile, day: DAY, progress: capture.progress, host: '127.0.0.1', port: 0, queueBytes: QUEUE_BYTES, queueFrames: 10_000_000, log });
      const listening = await fanOut.listening;
      if ('error' in listening) throw new Error(`fan-out: ${listening.error}`);
      counters = await subscribe(listening.port, subscribers);
      // The wire clients' init is answered before the first frame goes to them.
      await new Promise((r) => setTimeout(r, 200));
    }
    const journaled = () => capture.progress.seq * MAX_TRADES_PER_FRAME;
    capture.startStreams();
    const { startedMs, fromRows } = await measure(journaled, TRADES, () => {});
    const rate = (journaled() - fromRows) / ((performance.now() - startedMs) / 1000);
    const stats = await capture.stop();
    const closedAt = performance.now();
    const trades = stats.channels.filter((c) => c.kind === 'trades').reduce((n, c) => n + c.frames * MAX_TRADES_PER_FRAME, 0);
    if (fanOut === undefined) return { capture: rate, delivered: 0, tailS: 0, short: 0 };
    // The fan-out hands out the rest of the journal, then closes every subscriber.
    await fanOut.finish(600_000);
    await Promise.all(counters.map((c) => c.closed));
    const lastMs = Math.max(...counters.map((c) => c.lastMs));
    // Trades before the measurement's first poll count too: the rate runs from the first journaled trade on.
    const delivered = counters.reduce((n, c) => n + c.trades / ((c.lastMs - startedMs) / 1000 + fromRows / rate), 0) / counters.length;
    return { capture: rate, delivered, tailS: Math.max(0, lastMs - closedAt) / 1000, short: counters.filter((c) => c.trades < trades).length };
  } finally {
    lock.release();
    await stopSim(sim);
  }
}

/** The better of ROUNDS rounds, by trades delivered (by capture rate with no fan-out). */
async function best(dir: string, name: string, subscribers: Subscribers): Promise<Round> {
  let b: Round | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const again = await round(dir, `${name}-${r}`, subscribers);
    if (b === undefined || (subscribers === undefined ? again.capture > b.capture : again.delivered > b.delivered)) b = again;
  }
  return b!;
}

export async function run(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-fan-out-'));
  try {
    const none = await best(dir, 'none', undefined);
    const one = await best(dir, 'stream-1', { kind: 'stream', n: 1 });
    const ten = await best(dir, 'stream-10', { kind: 'stream', n: 10 });
    const wire = await best(dir, 'wire-10', { kind: 'wire', n: 10 });
    const alone = { name: 'capture with no fan-out, same run', value: none.capture };
    const note = (r: Round) => `${(TRADES / 1e6).toFixed(1)} M trades at --max-rate, best of ${ROUNDS}; sim, capture, fan-out and subscribers share ${os.cpus().length} cores; last trade out ${r.tailS.toFixed(2)} s after the journal closed${r.short > 0 ? `; ${r.short} subscriber(s) short` : ''}`;
    const figures: Figure[] = [];
    for (const [r, what] of [
      [one, '1 /stream subscriber (JSON, every trade)'],
      [ten, '10 /stream subscribers (JSON, every trade)'],
      [wire, '10 Koscom wire clients (/ws_ksp + /ws_kdq, frames as received)'],
    ] as const) {
      figures.push({ name: `fan-out to ${what}: trades/s delivered to each`, value: r.delivered, unit: 'trades/s', baseline: { name: 'capture rate in the same round', value: r.capture }, note: note(r) });
      figures.push({ name: `capture path while fanning out to ${what}`, value: r.capture, unit: 'trades/s', baseline: alone });
    }
    return figures;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
