// One capture session. Capture comes first and alone: the capture thread (capture/worker.ts) opens
// the day's journal and the streams as soon as the session starts (or at the stream start, when
// that is later); the stores follow the journal from their own threads (followers/worker.ts); the
// REST seed, periodic and closing snapshots run here, beside the streams, and never hold them up —
// a REST failure of any kind is reported and retried. Earlier days whose stores are behind catch up
// beside. Only rejected stream credentials end a session early. At the end the streams stop, the
// stores catch up with the journal (and SQLite seals the day), reconciliation compares what the
// journal holds with the closing snapshot, and the session is recorded. An abort (SIGINT/SIGTERM)
// ends it the same way, recorded as interrupted.
import type { Logger } from 'pino';
import { CaptureThread } from '../capture/capture-thread.js';
import type { CaptureStats } from '../capture/messages.js';
import type { ClockStep } from '../capture/recv-clock.js';
import { followJournal, type StoreLag } from '../followers/follower-thread.js';
import { JournalVolume } from '../followers/journal-volume.js';
import type { BatchTiming } from '../followers/store-follower.js';
import { kstDay, type TradingDay } from '../protocol/time.js';
import type { FanOutStatus } from '../publish/fan-out.js';
import { type PublishLag, PublisherThread } from '../publish/nats-thread.js';
import { type DiskStatus, diskStatus } from '../storage/disk.js';
import { journalPath, lockJournal } from '../storage/journal.js';
import { type SessionRecord, SqliteSink } from '../storage/sqlite-sink.js';
import { marketOpenAt } from './calendar.js';
import { type Clock, systemClock } from './clock.js';
import type { CollectorConfig } from './config.js';
import { crashedSessions, lastJournalWriteMs } from './crashed.js';
import { type MarketReconciliation, describeReconciliation, reconcileMarket } from './reconcile.js';
import { RestClient, snapshotWait } from './rest.js';
import { SnapshotSource } from './snapshots.js';
import type { StreamStats } from './stream.js';
import { LsToken } from './token.js';

export type SessionStatus = 'complete' | 'interrupted' | 'failed';

export interface SessionTimes {
  /** Streams open (default: now). */
  streamStart?: number;
  /** Closing snapshot; reconciliation follows once the streams end. Default: streamEnd. */
  closeAt?: number;
  /** Streams close. */
  streamEnd: number;
}

export interface SessionOptions {
  config: CollectorConfig;
  log: Logger;
  times: SessionTimes;
  day?: TradingDay;
  signal?: AbortSignal;
  clock?: Clock;
  /** Resolves once the market has closed and its last trades went out (the simulator knows this
   * exactly); the closing snapshot waits for it as well as for `times.closeAt`. */
  marketClosed?: Promise<void>;
  /** Called once the session is live (capture started), e.g. to expose metrics. */
  onLive?(live: LiveSession): void;
}

/** Read-only view of a running session, for metrics and health checks. */
export interface LiveSession {
  streams(): StreamStats[];
  rest(): { vendor: string; client: RestClient }[];
  channels(): ChannelReport[];
  /** How far each store is behind the journal. */
  stores(): StoreLag[];
  /** How far the NATS publisher is behind the journal (empty when TICKTAPE_NATS_URL is unset). */
  publishers?(): PublishLag[];
  /** A store further behind than this (seconds) makes the collector unhealthy. */
  maxStoreLagSeconds: number;
  /** Free space where the data lives, against the low-disk floor (TICKTAPE_MIN_FREE_BYTES). */
  disk(): DiskStatus;
  /** The live fan-out's subscribers per endpoint (undefined when TICKTAPE_PUBLISH_PORT is unset). */
  publish?(): FanOutStatus | undefined;
  /** Sets the one listener told of every storage batch written (its store, rows and duration). */
  onBatch(listener: ((t: BatchTiming) => void) | undefined): void;
}

export interface ChannelReport {
  name: string;
  frames: number;
  bytes: number;
  rows: number;
  quarantined: number;
}

/** A store at the end of the session: its lag, whether it caught up, whether the day was sealed. */
export interface StoreReport extends StoreLag {
  caughtUp: boolean;
  sealed: boolean;
}

export interface SessionResult {
  day: TradingDay;
  status: SessionStatus;
  /** Why the session failed or what went wrong, one line each. */
  problems: string[];
  /** The vendor rejected the stream credentials: the configuration is wrong (or the key revoked). */
  credentialsRejected: boolean;
  startedMs: number;
  endedMs: number;
  channels: ChannelReport[];
  streams: StreamStats[];
  stores: StoreReport[];
  rest: { vendor: string; calls: number; retries: number; failures: number; quotaRemaining?: number; quotaLimit?: number }[];
  snapshots: number;
  reconciliation: MarketReconciliation[];
  /** The receive clock: wall − monotonic clock (ms) when it was anchored at the start, and wall-clock steps seen. */
  clock: { offsetMs: number; steps: ClockStep[] };
  /** The longest stall of the capture thread's event loop, ms. */
  maxCapturePauseMs: number;
  /** The live fan-out's subscribers and messages per endpoint (TICKTAPE_PUBLISH_PORT set). */
  publish?: FanOutStatus;
  files: string[];
}

/** A trade stream refused this many times, having received nothing else, means its credentials are rejected. */
const REFUSALS_TO_FAIL = 3;
const WATCH_MS = 250;
const DISK_CHECK_MS = 60_000;
const REST_RETRY_INITIAL_MS = 2_000;
const REST_RETRY_MAX_MS = 60_000;
/** At the end, how long the live fan-out may take to hand out the journal's last records. */
const PUBLISH_FINISH_MS = 5_000;

export async function runSession(o: SessionOptions): Promise<SessionResult> {
  const { config, log } = o;
  const clock = o.clock ?? systemClock;
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, ...(o.signal ? [o.signal] : [])]);
  const startedMs = clock.now();
  const day = o.day ?? kstDay(startedMs);
  const problems: string[] = [];
  const journalFile = journalPath(config.dataDir, day, config.collectorId);
  const lastWriteMs = lastJournalWriteMs(journalFile);
  const koscomRest = new RestClient({ vendor: 'koscom', baseUrl: config.koscom.restUrl, limits: config.rest.koscom, maxRetries: config.rest.maxRetries, timeoutMs: config.rest.timeoutMs, log });
  const lsRest = config.ls && new RestClient({ vendor: 'ls', baseUrl: config.ls.restUrl, limits: config.rest.ls, maxRetries: config.rest.maxRetries, timeoutMs: config.rest.timeoutMs, log });
  const lsToken = config.ls && lsRest && new LsToken(lsRest, config.ls, log);
  let credentialsRejected = false;

  // 1. Capture, before anything else — by the one writer of this journal (a second is refused).
  const journalLock = lockJournal(journalFile, log);
  const capture = await CaptureThread.start({
    config,
    journalFile,
    marketOpenAt: marketOpenAt(day, config),
    log,
    onConnection: (stream, e) => {
      if (e.type === 'connect-failed' && e.attempt === 1) log.warn({ stream, reason: e.reason }, `${stream}: cannot connect: ${e.reason}`);
    },
    token: () => lsToken!.get(signal),
    tokenRefused: (t) => lsToken?.invalidate(t),
    onExit: (error) => {
      problems.push(`${error}: capture stopped early`);
      log.error(problems.at(-1));
      stop.abort(new Error(error));
    },
  }).catch((e: unknown) => {
    journalLock.release();
    throw e;
  });
  const streamsAt = o.times.streamStart ?? startedMs;
  const streamTimer = setTimeout(() => capture.startStreams(), Math.max(0, streamsAt - clock.now()));

  // 2. The stores follow the journal.
  let batchListener: ((t: BatchTiming) => void) | undefined;
  const stores = followJournal(config, { day, journalFile, collectorId: config.collectorId, progress: capture.progress, log, onBatch: (t) => batchListener?.(t) });
  const sqlite = stores[0];
  // The live fan-out is a journal follower too, on its own thread (loaded only when configured).
  const { port: publishPort, ...publishLimits } = config.publish;
  const publisher = publishPort === undefined ? undefined : (await import('../publish/fan-out-thread.js')).FanOutThread.start({ journalFile, day, progress: capture.progress, port: publishPort, ...publishLimits, log });
  void publisher?.listening.then((r) => {
    if ('port' in r) log.info({ port: r.port }, `publishing the live day on http://${config.publish.host}:${r.port}: Koscom /ws_ksp /ws_kdq + REST, LS /oauth2/token + /websocket, JSON /stream`);
    else {
      problems.push(`publish: the live fan-out could not start on ${config.publish.host}:${publishPort} (${r.error}); capture went on without it`);
      log.error(problems.at(-1));
    }
  });
  // The bus: one more follower of the journal, on its own thread (publish/nats-worker.ts).
  const natsUrl = config.nats.url;
  const bus = natsUrl === undefined ? undefined : PublisherThread.start({ settings: { ...config.nats, url: natsUrl }, journalFile, day, collectorId: config.collectorId, progress: capture.progress.buffer }, log);

  // 3. Earlier days whose stores are behind catch up beside the session.
  const catchUpStop = new AbortController();
  // Imported here, after the capture thread started: its Arrow reading is slow to load.
  const { catchUpDays } = await import('../followers/catch-up.js');
  const catchUp = catchUpDays({ dataDir: config.dataDir, except: [day], log, batchRows: config.batch.rows, batchMs: config.batch.ms, nice: config.stores.nice, signal: AbortSignal.any([signal, catchUpStop.signal]) }).catch((e: Error) => [
    `catching up earlier days failed: ${e.message}`,
  ]);

  // 4. The session's row, and the rows of sessions of this day that never ended (crashed).
  const collector = config.collectorId ?? '';
  const sessionRow = sqlite.writeSession({ collector, day, startedNs: BigInt(startedMs) * 1_000_000n, status: 'running' });
  void sessionRow.then((sessionId) => {
    let crashed: ReturnType<typeof crashedSessions> = [];
    try {
      crashed = crashedSessions(config.dataDir, day, collector, sessionId, lastWriteMs, startedMs);
    } catch (e) {
      log.warn({ err: e }, `earlier sessions of ${day} could not be checked: ${(e as Error).message}`);
    }
    for (const c of crashed) {
      void sqlite.writeSession({ collector, id: c.id, day, startedNs: c.startedNs, endedNs: c.endedNs, status: 'crashed' });
      const downS = (startedMs - Number(c.endedNs / 1_000_000n)) / 1000;
      problems.push(`session ${c.id} of ${day} ended without a clean stop (killed or crashed) at ${new Date(Number(c.endedNs / 1_000_000n)).toISOString()}: nothing was captured for ${downS.toFixed(1)} s until this session started`);
      log.warn({ session: c.id, downS }, problems.at(-1));
    }
  });

  // 5. REST beside the streams.
  const snapshots = new SnapshotSource(config, koscomRest, capture, log);
  const volume = new JournalVolume(journalFile, day);
  const streams = () => capture.stats().streams;
  let diskCheckedAt = 0;
  let diskLow = false;
  const watch = setInterval(() => {
    // The low-disk guard warns early (its retention runs after the seal): once a minute is plenty.
    if (clock.now() - diskCheckedAt >= DISK_CHECK_MS) {
      diskCheckedAt = clock.now();
      const disk = diskStatus(config.dataDir, config.retention.minFreeBytes);
      if (disk.low && !diskLow) {
        problems.push(`low disk: ${disk.freeBytes} bytes free in ${config.dataDir}, under TICKTAPE_MIN_FREE_BYTES (${config.retention.minFreeBytes}); retention is tightened after the seal`);
        log.warn({ freeBytes: disk.freeBytes, floor: config.retention.minFreeBytes }, problems.at(-1));
      }
      diskLow = disk.low;
    }
    // Refused again and again, and nothing but refusals ever came back: the key is wrong. A stream
    // that delivered data before is only retried (a vendor's passing refusal, a key restored).
    const refused = streams().find((s) => s.name.startsWith('koscom.trades.') && s.refusals >= REFUSALS_TO_FAIL && s.frames <= s.refusals);
    if (refused !== undefined && !credentialsRejected) {
      credentialsRejected = true;
      // The cause first: the CLI's one-line failure message is the first problem.
      problems.unshift(`${refused.name}: Koscom refused the stream ${refused.refusals} times (${refused.lastError ?? 'no reason given'}): the API key is rejected`);
      log.error(problems[0]);
      stop.abort(new Error('stream credentials rejected'));
    }
  }, WATCH_MS);
  o.onLive?.({
    streams,
    rest: () => restClients(),
    channels: () => channelReports(capture.stats()),
    stores: () => stores.map((s) => s.lag(capture.progress)),
    publishers: () => (bus === undefined ? [] : [bus.lag(capture.progress)]),
    maxStoreLagSeconds: config.stores.maxLagMs / 1000,
    disk: () => diskStatus(config.dataDir, config.retention.minFreeBytes),
    publish: () => publisher?.status(),
    onBatch: (l) => (batchListener = l),
  });
  log.info({ day, markets: config.markets, journal: journalFile, clockOffsetMs: capture.clockOffsetMs }, `session ${day}: capturing; streams ${streamsAt <= clock.now() ? 'open now' : `open at ${new Date(streamsAt).toISOString()}`}, REST seed from ${config.koscom.restUrl} beside them`);

  let status: SessionStatus = 'complete';
  try {
    await restWork();
  } catch (e) {
    status = 'failed';
    problems.unshift(`the session stopped on an unexpected error: ${(e as Error).message}`);
    log.error({ err: e }, problems[0]);
  }
  return await finish();

  async function restWork(): Promise<void> {
    const closeAt = Math.min(o.times.closeAt ?? o.times.streamEnd, o.times.streamEnd);
    await seed(closeAt);
    await periodicSnapshots(closeAt);
    if (o.marketClosed !== undefined) await Promise.race([o.marketClosed, aborted(signal)]);
    await sleepUntil(clock, closeAt, signal);
    await closingSnapshot();
    await sleepUntil(clock, o.times.streamEnd, signal);
  }

  /** Symbol lists and the seed snapshot, retried with backoff until they succeed or the close. */
  async function seed(closeAt: number): Promise<void> {
    let lists = false;
    let seeded = false;
    let waitMs = REST_RETRY_INITIAL_MS;
    for (let attempt = 1; !signal.aborted; attempt++) {
      if (!lists) lists = (await snapshots.symbolLists(signal)) === config.markets.length;
      if (!seeded) seeded = (await snapshots.snapshot('seed', signal)) === config.markets.length;
      if ((lists && seeded) || signal.aborted) return;
      if (clock.now() + waitMs >= closeAt) {
        log.warn(`REST seed incomplete after ${attempt} attempt(s); the periodic snapshots take over`);
        return;
      }
      log.warn({ attempt, retryInMs: waitMs }, `REST seed incomplete (${lastFailure()}); the streams are running; retrying in ${waitMs / 1000} s`);
      await sleepUntil(clock, clock.now() + waitMs, signal);
      waitMs = Math.min(REST_RETRY_MAX_MS, waitMs * 2);
    }
  }

  async function periodicSnapshots(closeAt: number): Promise<void> {
    let next = clock.now() + config.schedule.snapshotIntervalMs;
    while (!signal.aborted && next < closeAt) {
      await sleepUntil(clock, next, signal);
      if (signal.aborted) return;
      await snapshots.snapshot('periodic', signal);
      if (config.schedule.reconcilePeriodic) for (const r of reconcileAll()) log.info({ market: r.market, coveragePct: r.coveragePct, missing: r.missing }, describeReconciliation(r));
      next = clock.now() + snapshotInterval(closeAt);
    }
  }

  /** The closing snapshot, retried until the streams end. */
  async function closingSnapshot(): Promise<void> {
    let waitMs = REST_RETRY_INITIAL_MS;
    while (!signal.aborted) {
      const n = await snapshots.snapshot('close', signal);
      if (n === config.markets.length || signal.aborted) return;
      if (clock.now() + waitMs >= o.times.streamEnd) {
        problems.push(`closing snapshot: ${config.markets.length - n} market(s) failed (${lastFailure()})`);
        return;
      }
      await sleepUntil(clock, clock.now() + waitMs, signal);
      waitMs = Math.min(REST_RETRY_MAX_MS, waitMs * 2);
    }
  }

  function lastFailure(): string {
    const f = snapshots.failures.at(-1);
    return f === undefined ? 'no answer' : `${f.what}: ${f.error}`;
  }

  /** The configured interval, stretched when the daily quota would not last (see snapshotWait). */
  function snapshotInterval(closeAt: number): number {
    const nowMs = clock.now();
    return snapshotWait({ nowMs, closeAt, intervalMs: config.schedule.snapshotIntervalMs, remaining: koscomRest.quotaLeft(nowMs), limit: koscomRest.stats.quotaLimit, callsPerSnapshot: snapshots.callsPerSnapshot });
  }

  /** Reconciliation against what the journal holds (not what a lagging store holds). */
  function reconcileAll(): MarketReconciliation[] {
    volume.update(capture.progress.size);
    const out: MarketReconciliation[] = [];
    for (const market of config.markets) {
      const snap = snapshots.latest.get(market);
      if (snap !== undefined) out.push(reconcileMarket(market, snap, volume.streamedVolume(market)));
    }
    return out;
  }

  function restClients() {
    return [{ vendor: 'koscom', client: koscomRest }, ...(lsRest ? [{ vendor: 'ls', client: lsRest }] : [])];
  }

  /** Stops capture, lets the stores catch up and seal, reconciles and records the session — whatever failed before. */
  async function finish(): Promise<SessionResult> {
    clearTimeout(streamTimer);
    clearInterval(watch);
    const captured = await capture.stop();
    journalLock.release();
    // Subscribers get the journal's last records, then the session's end (a close code).
    const published = publisher?.finish(PUBLISH_FINISH_MS);
    if (credentialsRejected) status = 'failed';
    else if (o.signal?.aborted && status === 'complete') status = 'interrupted';
    const everConnected = captured.streams.some((s) => s.connects > 0);
    if (!everConnected && status !== 'failed') {
      status = 'failed';
      problems.unshift(`no stream ever connected (${captured.streams[0]?.lastError ?? 'no answer'})`);
    }
    for (const s of captured.streams) if (s.connects === 0 && everConnected) problems.push(`${s.name}: never connected (${s.lastError ?? 'no answer'})`);
    problems.push(...captured.diskFull, ...restProblems());
    for (const step of captured.clockSteps) problems.push(`the wall clock stepped ${step.stepMs} ms against the monotonic clock at ${new Date(step.atMs).toISOString()} (receive times stay monotonic)`);
    // An aborted session leaves the stores less time: the next start finishes what they lack.
    const catchUpMs = o.signal?.aborted ? Math.min(config.stores.catchUpMs, 5_000) : config.stores.catchUpMs;
    // A stop (SIGTERM) while the day is being sealed stops the seal between two chunks.
    const stopSeals = () => stores.forEach((s) => s.stopSeal());
    o.signal?.addEventListener('abort', stopSeals, { once: true });
    const finished = await Promise.all(stores.map((s) => s.finish(status === 'complete' && s.store === 'sqlite', catchUpMs)));
    o.signal?.removeEventListener('abort', stopSeals);
    const storeReports: StoreReport[] = finished.map((f, i) => ({ ...stores[i].lag(capture.progress), caughtUp: f.caughtUp, sealed: f.sealed }));
    for (const f of finished) problems.push(...f.problems);
    // Earlier days still catching up get as long as today's stores did; what they lack then is
    // finished by the next start (a stop, SIGTERM, ends their catch-up at once).
    const catchUpTimer = setTimeout(() => catchUpStop.abort(), catchUpMs);
    problems.push(...(await catchUp));
    clearTimeout(catchUpTimer);
    let reconciliation: MarketReconciliation[] = [];
    if (status !== 'failed') {
      reconciliation = reconcileAll();
      for (const r of reconciliation) log.info({ market: r.market, coveragePct: r.coveragePct, missing: r.missing, mode: r.mode }, describeReconciliation(r));
    }
    volume.close();
    const endedMs = clock.now();
    const channels = channelReports(captured);
    const publish = await published;
    const sessionId = await Promise.race([sessionRow, Promise.resolve(undefined)]);
    const record: SessionRecord = {
      id: sessionId,
      collector,
      day,
      startedNs: BigInt(startedMs) * 1_000_000n,
      endedNs: BigInt(endedMs) * 1_000_000n,
      status,
      counts: Object.fromEntries(channels.map((c) => [c.name, { frames: c.frames, bytes: c.bytes, rows: c.rows, quarantined: c.quarantined }])),
      reconnects: captured.streams.reduce((n, s) => n + s.reconnects, 0),
      downtimeMs: captured.streams.reduce((n, s) => n + s.downtimeMs, 0),
      gaps: reconciliation.flatMap((r) => r.gaps.filter((g) => g.missing > 0).map((g) => ({ market: r.market, ...g }))),
      reconciliation: Object.fromEntries(reconciliation.map((r) => [r.market, r])),
      stores: storeReports,
      clock: { offsetMs: capture.clockOffsetMs, steps: captured.clockSteps },
    };
    recordSession(record);
    // The bus gets the journal's end and this session's row last (a store seals on it).
    if (bus !== undefined) problems.push(...(await bus.finish(status === 'complete', catchUpMs, record)).problems);
    return {
      day,
      status,
      problems,
      credentialsRejected,
      startedMs,
      endedMs,
      channels,
      streams: captured.streams,
      stores: storeReports,
      rest: restClients().map(({ vendor, client }) => ({ vendor, ...client.stats })),
      snapshots: snapshots.snapshotsTaken,
      reconciliation,
      clock: { offsetMs: capture.clockOffsetMs, steps: captured.clockSteps },
      maxCapturePauseMs: captured.maxStallMs,
      publish,
      files: [journalFile, `${journalFile}.channels.json`, `${config.dataDir}/ticktape.db`, `${config.dataDir}/arrow/day=${day}`],
    };
  }

  function channelReports(c: CaptureStats): ChannelReport[] {
    const rows = sqlite.rows();
    return c.channels.map((ch) => ({ name: ch.name, frames: ch.frames, bytes: ch.bytes, rows: rows.get(ch.name)?.rows ?? 0, quarantined: rows.get(ch.name)?.quarantined ?? 0 }));
  }

  /** One line per REST endpoint that failed, with how often and the last error. */
  function restProblems(): string[] {
    const byPath = new Map<string, { n: number; error: string; market: string }>();
    for (const f of snapshots.failures) {
      const p = byPath.get(f.what) ?? { n: 0, error: '', market: f.market };
      p.n++;
      p.error = f.error;
      byPath.set(f.what, p);
    }
    return [...byPath].map(([path, p]) => `REST ${path} (${p.market}) failed ${p.n} time(s), last: ${p.error}; retried, the streams ran regardless`);
  }

  /** The session's row, written on this thread now that the stores' threads are done. */
  function recordSession(r: SessionRecord): void {
    try {
      const db = SqliteSink.open({ dataDir: config.dataDir, log, walCheckpointMs: 0 });
      try {
        db.writeSession(r);
      } finally {
        void db.close();
      }
    } catch (e) {
      problems.push(`the session could not be recorded in ticktape.db (${(e as Error).message}); its journal holds everything captured`);
      log.error(problems.at(-1));
    }
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

/** Resolves at `at`, or early (without throwing) when the session is aborted. */
async function sleepUntil(clock: Clock, at: number, signal?: AbortSignal): Promise<void> {
  try {
    await clock.sleepUntil(at, signal);
  } catch (e) {
    if (!signal?.aborted) throw e;
  }
}
