// The capture thread: the vendor sockets, the journal, liveness — and nothing else. Decoding, the
// stores, REST, reports and the session's schedule run on other threads, so none of them can
// delay a socket read (the feed has no retransmission). It starts journaling at once and opens
// the streams when told, then reports its counters a few times a second.
import { createHistogram, performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { detailStreams } from '../collector/detail.js';
import { DiskFullGuard } from '../collector/disk-full.js';
import { FlowStream } from '../collector/flows.js';
import type { VendorStream } from '../collector/stream.js';
import { TradeStream } from '../collector/trades.js';
import { CAPTURE_END, journalLockPath } from '../storage/journal.js';
import { JournalProgress } from '../storage/journal-progress.js';
import { JournalTape } from './journal-tape.js';
import type { CaptureStats, CaptureWorkerData, FromCapture, ToCapture } from './messages.js';
import { anchorRecvClock, ClockWatch, type ClockStep } from './recv-clock.js';
import { threadLogger } from './thread-log.js';
import { setThreadNice } from './thread-priority.js';

const STATS_MS = 250;
const STALL_CHECK_MS = 10;
/** Stalls at least this long are journaled (as `stall` events on the `capture` channel). */
const STALL_JOURNAL_MS = 20;

const data = workerData as CaptureWorkerData;
const port = parentPort!;
const post = (m: FromCapture) => port.postMessage(m);
const log = threadLogger(port, data.logLevel, 'capture');
// The streams learn today's open from the session (the calendar is not loaded on this thread).
const config = { ...data.config, marketOpenAt: data.marketOpenAt };

const clockOffsetMs = anchorRecvClock();
// The session's thread holds the journal's writer lock (so that a second writer is refused
// before any thread starts); this thread writes under it and leaves it to that thread.
const heldLock = { file: journalLockPath(data.journalFile), release() {} };
const latency = createHistogram();
const journal = new JournalTape({ file: data.journalFile, fsync: config.batch.fsync, batchMs: config.batch.ms, log, progress: new JournalProgress(data.progress), lock: heldLock, latency });
const guard = new DiskFullGuard(journal, log);
const onEvent = (stream: string, event: Parameters<NonNullable<ConstructorParameters<typeof TradeStream>[4]>>[1]) => post({ type: 'connection', stream, event });

// LS tokens come from the session thread (REST never runs here); a request waits for its answer.
const tokenWaits = new Map<number, { resolve(t: string): void; reject(e: Error): void }>();
let nextTokenId = 1;
const token = {
  get(): Promise<string> {
    const id = nextTokenId++;
    post({ type: 'token-request', id });
    return new Promise<string>((resolve, reject) => tokenWaits.set(id, { resolve, reject }));
  },
  invalidate(refused: string): void {
    post({ type: 'token-refused', token: refused });
  },
};

const trades = config.markets.map((m) => new TradeStream(m, config, guard, log, onEvent));
const streams: VendorStream[] = [...trades];
if (config.ls !== undefined && config.bmCodes.length > 0) {
  streams.push(new FlowStream({ ...config, ls: config.ls }, token, guard, log, () => Date.now() - Math.max(...trades.map((t) => t.lastDataMs)), onEvent));
}
streams.push(...detailStreams(config, guard, log, onEvent));

// The thread's own events: the clock's anchor and steps, and its stalls.
const captureChannel = journal.channel({ name: 'capture', vendor: 'koscom', endpoint: '', kind: 'events' });
journal.event(captureChannel, { type: 'clock-anchored', offsetMs: clockOffsetMs });
const priority = setThreadNice(config.captureNice);
journal.event(captureChannel, { type: 'thread-priority', ...priority });
if (priority.refused !== undefined) {
  log.warn(priority, `capture thread priority: nice ${priority.asked} refused (${priority.refused}), it stays at ${priority.nice} — allow it with systemd LimitNICE=${priority.asked} or CAP_SYS_NICE, or set TICKTAPE_CAPTURE_NICE`);
}
const clock = new ClockWatch();
const clockSteps: ClockStep[] = [];

// Stalls: how late a short timer fires is how long nothing on this thread could read a socket.
// Of that, `busyMs` is time the thread spent working (its own code, a garbage collection); the
// rest it was ready but waiting for a core (the OS running other threads). Long ones are journaled.
let maxStallMs = 0;
let due = performance.now() + STALL_CHECK_MS;
let elu = performance.eventLoopUtilization();
const stallTimer = setInterval(() => {
  const now = performance.now();
  const lateMs = now - due;
  due = now + STALL_CHECK_MS;
  const since = performance.eventLoopUtilization(elu);
  elu = performance.eventLoopUtilization();
  if (lateMs > maxStallMs) maxStallMs = lateMs;
  if (lateMs >= STALL_JOURNAL_MS) guard.event(captureChannel, { type: 'stall', atMs: Date.now(), ms: Math.round(lateMs), busyMs: Math.round(since.active) });
}, STALL_CHECK_MS).unref();

function stats(): CaptureStats {
  const us = (ns: number) => (Number.isFinite(ns) ? ns / 1000 : 0);
  return {
    streams: streams.map((s) => s.stats()),
    channels: journal.stats(),
    diskFull: guard.describe(),
    clockSteps,
    maxStallMs,
    journalLatencyUs: { p50: us(latency.percentile(50)), p99: us(latency.percentile(99)), max: us(latency.max) },
  };
}

const timer = setInterval(() => {
  const step = clock.check();
  if (step !== undefined) {
    clockSteps.push(step);
    guard.event(captureChannel, { type: 'clock-step', ...step });
    log.warn(step, `the wall clock stepped ${step.stepMs} ms against the monotonic clock`);
  }
  post({ type: 'stats', stats: stats() });
}, STATS_MS);

port.on('message', (m: ToCapture) => {
  switch (m.type) {
    case 'start-streams':
      for (const s of streams) s.start();
      return;
    case 'append':
      guard.append(guard.channel(m.channel), m.frame, m.recvNs);
      return;
    case 'event':
      guard.event(guard.channel(m.channel), m.event);
      return;
    case 'token': {
      const w = tokenWaits.get(m.id);
      tokenWaits.delete(m.id);
      if (m.token !== undefined) w?.resolve(m.token);
      else w?.reject(new Error(m.error ?? 'no token'));
      return;
    }
    case 'stop':
      void stop();
      return;
  }
});

async function stop(): Promise<void> {
  // Neither timer may journal once the journal closes below.
  clearInterval(timer);
  clearInterval(stallTimer);
  try {
    await Promise.all(streams.map((s) => s.stop()));
    // Where this capture ended, for the stores: a market whose trdVol reading is still open is read
    // per-trade here, the same in every store and in a rebuild (storage/trade-quantity.ts).
    guard.event(captureChannel, { type: CAPTURE_END });
    const last = stats();
    await journal.close();
    post({ type: 'stopped', stats: last });
  } catch (e) {
    post({ type: 'failed', error: (e as Error).message });
  }
  port.close();
}

post({ type: 'ready', clockOffsetMs });
