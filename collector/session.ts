// One capture session: seed → streams → periodic snapshots → closing snapshot → reconciliation →
// seal, then a report. An abort (SIGINT/SIGTERM) stops the streams, flushes every batch and closes
// the files: nothing received is lost, the session is recorded as interrupted.
import type { Logger } from 'pino';
import { kstDay, type TradingDay } from '../protocol/time.js';
import { journalPath } from '../storage/journal.js';
import { type BatchTiming, Tape } from '../storage/tape.js';
import { type Clock, systemClock } from './clock.js';
import type { CollectorConfig } from './config.js';
import { crashedSessions, lastJournalWriteMs } from './crashed.js';
import { detailStreams } from './detail.js';
import { DiskFullGuard } from './disk-full.js';
import { FlowStream } from './flows.js';
import { type MarketReconciliation, describeReconciliation, reconcileMarket } from './reconcile.js';
import { RestClient, snapshotWait } from './rest.js';
import { SnapshotSource } from './snapshots.js';
import type { ConnectionEvent } from './socket.js';
import { LsToken } from './token.js';
import type { StreamStats } from './stream.js';
import { TradeStream } from './trades.js';

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
  /** Called once the session is live (streams started), e.g. to expose metrics. */
  onLive?(live: LiveSession): void;
}

/** Read-only view of a running session, for metrics and health checks. */
export interface LiveSession {
  streams(): StreamStats[];
  rest(): { vendor: string; client: RestClient }[];
  channels(): ChannelReport[];
  /** Sets the one listener told of every storage batch written (its rows and duration). */
  onBatch(listener: ((t: BatchTiming) => void) | undefined): void;
}

export interface ChannelReport {
  name: string;
  frames: number;
  bytes: number;
  rows: number;
  quarantined: number;
}

export interface SessionResult {
  day: TradingDay;
  status: SessionStatus;
  /** Why the session failed or what went wrong, one line each. */
  problems: string[];
  startedMs: number;
  endedMs: number;
  channels: ChannelReport[];
  streams: StreamStats[];
  rest: { vendor: string; calls: number; retries: number; failures: number; quotaRemaining?: number; quotaLimit?: number }[];
  snapshots: number;
  reconciliation: MarketReconciliation[];
  files: string[];
}

/** With no REST answer at all, a stream must connect within this long or the session fails. */
const CONTACT_WINDOW_MS = 30_000;

export async function runSession(o: SessionOptions): Promise<SessionResult> {
  const { config, log } = o;
  const clock = o.clock ?? systemClock;
  const signal = o.signal ?? new AbortController().signal;
  const startedMs = clock.now();
  const day = o.day ?? kstDay(startedMs);
  const problems: string[] = [];
  const lastWriteMs = lastJournalWriteMs(journalPath(config.dataDir, day, config.collectorId));
  let batchListener: ((t: BatchTiming) => void) | undefined;
  const tape = await Tape.open({ dataDir: config.dataDir, day, collectorId: config.collectorId, batchRows: config.batch.rows, batchMs: config.batch.ms, fsync: config.batch.fsync, log, onBatch: (t) => batchListener?.(t) });
  const sessionId = tape.writeSession({ day, startedNs: BigInt(startedMs) * 1_000_000n, status: 'running' });
  for (const c of crashedSessions(config.dataDir, day, config.collectorId ?? '', sessionId, lastWriteMs, startedMs)) {
    tape.writeSession({ id: c.id, day, startedNs: c.startedNs, endedNs: c.endedNs, status: 'crashed' });
    const downS = (startedMs - Number(c.endedNs / 1_000_000n)) / 1000;
    problems.push(`session ${c.id} of ${day} ended without a clean stop (killed or crashed) at ${new Date(Number(c.endedNs / 1_000_000n)).toISOString()}: nothing was captured for ${downS.toFixed(1)} s until this session started`);
    log.warn({ session: c.id, downS }, problems.at(-1));
  }
  const koscomRest = new RestClient({ vendor: 'koscom', baseUrl: config.koscom.restUrl, limits: config.rest.koscom, maxRetries: config.rest.maxRetries, timeoutMs: config.rest.timeoutMs, log });
  const lsRest = config.ls && new RestClient({ vendor: 'ls', baseUrl: config.ls.restUrl, limits: config.rest.ls, maxRetries: config.rest.maxRetries, timeoutMs: config.rest.timeoutMs, log });
  // The sources write through the guard, so a full disk costs frames, not the session.
  const journaling = new DiskFullGuard(tape, log);
  const snapshots = new SnapshotSource(config, koscomRest, journaling, log);
  const onEvent = (stream: string, e: ConnectionEvent) => {
    if (e.type === 'connect-failed' && e.attempt === 1) log.warn({ stream, reason: e.reason }, `${stream}: cannot connect: ${e.reason}`);
  };
  const trades = config.markets.map((m) => new TradeStream(m, config, journaling, log, onEvent));
  let flows: FlowStream | undefined;
  if (config.ls !== undefined && lsRest !== undefined && config.bmCodes.length > 0) {
    const token = new LsToken(lsRest, config.ls, log);
    flows = new FlowStream({ ...config, ls: config.ls }, token, journaling, log, () => clock.now() - Math.max(...trades.map((t) => t.lastDataMs)), onEvent);
  }
  const details = detailStreams(config, journaling, log, onEvent);
  const streams = () => [...trades, ...(flows ? [flows] : []), ...details];
  let status: SessionStatus = 'complete';
  let reconciliation: MarketReconciliation[] = [];
  try {
    await capture();
  } catch (e) {
    status = 'failed';
    problems.push(`capture stopped by an unexpected error: ${(e as Error).message}`);
    log.error({ err: e }, 'capture stopped by an unexpected error');
  } finally {
    await Promise.all(streams().map((s) => s.stop()));
  }
  if (signal.aborted && status === 'complete') status = 'interrupted';
  if (status !== 'failed') for (const s of streams()) if (s.stats().connects === 0) problems.push(`${s.name}: never connected (${s.stats().lastError ?? 'no answer'})`);
  problems.push(...journaling.describe());
  for (const d of details) for (const r of d.rejectedSubscriptions()) problems.push(`${d.name}: subscription ${r.preset} ${r.symbol} refused: ${r.reason}`);
  return await finish();

  async function capture(): Promise<void> {
    log.info({ day, markets: config.markets, bmCodes: flows ? config.bmCodes.length : 0 }, `session ${day}: seeding from ${config.koscom.restUrl}`);
    const seeded = await snapshots.seed(signal);
    const auth = snapshots.failures.find((f) => f.kind === 'auth');
    if (auth !== undefined) {
      status = 'failed';
      problems.push(`Koscom rejected the credentials: ${auth.error}`);
      return;
    }
    if (seeded === 0 && !signal.aborted) problems.push(`could not reach Koscom REST: ${snapshots.failures[0]?.error ?? 'no answer'}`);
    if (o.times.streamStart !== undefined && clock.now() < o.times.streamStart) await sleepUntil(clock, o.times.streamStart, signal);
    for (const s of streams()) s.start();
    if (seeded === 0 && !(await firstContact())) {
      status = 'failed';
      problems.push(`could not connect to any stream either (${trades[0]?.stats().lastError ?? 'no answer'})`);
      return;
    }
    o.onLive?.({ streams: () => streams().map((s) => s.stats()), rest: () => restClients(), channels: () => channelReports(tape), onBatch: (l) => (batchListener = l) });
    const closeAt = Math.min(o.times.closeAt ?? o.times.streamEnd, o.times.streamEnd);
    await periodicSnapshots(closeAt);
    if (o.marketClosed !== undefined) await Promise.race([o.marketClosed, aborted(signal)]);
    if (signal.aborted) return;
    const n = await snapshots.snapshot('close', signal);
    if (n < config.markets.length) problems.push(`closing snapshot: ${config.markets.length - n} market(s) failed`);
    await sleepUntil(clock, o.times.streamEnd, signal);
  }

  /** Whether a stream connects within the contact window (or before the session ends). */
  async function firstContact(): Promise<boolean> {
    const deadline = Math.min(clock.now() + CONTACT_WINDOW_MS, o.times.streamEnd);
    while (!signal.aborted && clock.now() < deadline) {
      if (streams().some((s) => s.stats().connects > 0)) return true;
      await sleepUntil(clock, clock.now() + 100, signal);
    }
    return streams().some((s) => s.stats().connects > 0);
  }

  async function periodicSnapshots(closeAt: number): Promise<void> {
    let next = clock.now() + config.schedule.snapshotIntervalMs;
    while (!signal.aborted && next < closeAt) {
      await sleepUntil(clock, next, signal);
      if (signal.aborted) return;
      await snapshots.snapshot('periodic', signal);
      if (config.schedule.reconcilePeriodic) {
        await tape.flush();
        for (const r of reconcileAll()) log.info({ market: r.market, coveragePct: r.coveragePct, missing: r.missing }, describeReconciliation(r));
      }
      next = clock.now() + snapshotInterval(closeAt);
    }
  }

  /** The configured interval, stretched when the daily quota would not last (see snapshotWait). */
  function snapshotInterval(closeAt: number): number {
    const nowMs = clock.now();
    return snapshotWait({ nowMs, closeAt, intervalMs: config.schedule.snapshotIntervalMs, remaining: koscomRest.quotaLeft(nowMs), limit: koscomRest.stats.quotaLimit, callsPerSnapshot: snapshots.callsPerSnapshot });
  }

  function reconcileAll(): MarketReconciliation[] {
    const out: MarketReconciliation[] = [];
    for (const market of config.markets) {
      const snap = snapshots.latest.get(market);
      if (snap !== undefined) out.push(reconcileMarket(market, snap, tape.streamedVolume(market)));
    }
    return out;
  }

  function restClients() {
    return [{ vendor: 'koscom', client: koscomRest }, ...(lsRest ? [{ vendor: 'ls', client: lsRest }] : [])];
  }

  async function finish(): Promise<SessionResult> {
    await tape.flush();
    if (status !== 'failed') {
      reconciliation = reconcileAll();
      for (const r of reconciliation) log.info({ market: r.market, coveragePct: r.coveragePct, missing: r.missing, mode: r.mode }, describeReconciliation(r));
    }
    const endedMs = clock.now();
    const streamStats = streams().map((s) => s.stats());
    const channels = channelReports(tape);
    tape.writeSession({
      id: sessionId,
      day,
      startedNs: BigInt(startedMs) * 1_000_000n,
      endedNs: BigInt(endedMs) * 1_000_000n,
      status,
      counts: Object.fromEntries(channels.map((c) => [c.name, { frames: c.frames, bytes: c.bytes, rows: c.rows, quarantined: c.quarantined }])),
      reconnects: streamStats.reduce((n, s) => n + s.reconnects, 0),
      downtimeMs: streamStats.reduce((n, s) => n + s.downtimeMs, 0),
      gaps: reconciliation.flatMap((r) => r.gaps.filter((g) => g.missing > 0).map((g) => ({ market: r.market, ...g }))),
      reconciliation: Object.fromEntries(reconciliation.map((r) => [r.market, r])),
    });
    if (status === 'complete') await tape.sealDay(day);
    const files = tape.files();
    await tape.close();
    return {
      day,
      status,
      problems,
      startedMs,
      endedMs,
      channels,
      streams: streamStats,
      rest: restClients().map(({ vendor, client }) => ({ vendor, ...client.stats })),
      snapshots: snapshots.snapshotsTaken,
      reconciliation,
      files,
    };
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

function channelReports(tape: Tape): ChannelReport[] {
  return tape.stats().map((c) => ({ name: c.name, frames: c.frames, bytes: c.bytes, rows: c.rows, quarantined: c.quarantined }));
}

