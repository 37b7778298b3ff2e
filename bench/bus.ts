// The NATS JetStream bus (publish/), against Debian's nats-server on a loopback port:
// - the publisher's rate (journal → JetStream, every message acknowledged, at most `backlog` in
//   flight), beside a plain core-NATS publish of the same frames with the same client in the same
//   run (no headers, no acknowledgement, no persistence);
// - collector → store lag: a journal written at a realistic rate (200 frames of 50 trades a second,
//   a busy open; fsync per 50 ms batch as the capture thread does), published by the publisher's
//   thread, consumed by `ticktape store`'s consumer into its journal and stores: p50/p99 of the time
//   from a record's receive time to its being durable in the store's journal.
// Run alone: `npm run build && node dist/bench/phase.js bus`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { loadConfig } from '../collector/config.js';
import { NatsPublisher } from '../publish/nats-publisher.js';
import { runBusStore } from '../publish/nats-store.js';
import { PublisherThread } from '../publish/nats-thread.js';
import { FLAG, Journal, journalPath } from '../storage/journal.js';
import { JournalProgress } from '../storage/journal-progress.js';
import { syntheticFrames } from './decode.js';
import type { Figure } from './figures.js';
import { startNatsServer } from './nats-server.js';

const DAY = '2026-11-20';
const PUBLISH_FRAMES = 50_000;
const LAG_RATE = 200;
const LAG_SECONDS = 20;
const SYNC_MS = 50;
const log = pino({ level: 'warn' });

const nowNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A journal of `frames` trade frames on one channel, closed: what the publisher reads. */
function writeJournal(dataDir: string, collectorId: string, frames: string[]): { file: string; progress: JournalProgress } {
  const file = journalPath(dataDir, DAY, collectorId);
  const j = Journal.open(file, { log, fsync: 'off' });
  const ch = j.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
  for (const f of frames) j.append(ch, FLAG.incoming, f, nowNs());
  const progress = new JournalProgress();
  progress.appended(j.size, j.seq, nowNs(), true);
  progress.close();
  j.close();
  return { file, progress };
}

export async function run(): Promise<Figure[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-bench-bus-'));
  const server = await startNatsServer(path.join(root, 'jetstream'));
  try {
    const frames = syntheticFrames(2_000);
    const many = Array.from({ length: PUBLISH_FRAMES }, (_, i) => frames[i % frames.length]);
    const bytes = many.reduce((n, f) => n + Buffer.byteLength(f), 0);
    const settings = { ...loadConfig({ env: {} }).nats, url: server.url, stream: 'BENCH', subjectPrefix: 'bench' };

    // Plain core-NATS publish of the same frames, same client: fire and forget, then one flush.
    const nc = await connect({ servers: server.url });
    const encoded = many.map((f) => Buffer.from(f));
    let t = performance.now();
    for (const f of encoded) nc.publish('plain.koscom.trades.kospi', f);
    await nc.flush();
    const plainRate = PUBLISH_FRAMES / ((performance.now() - t) / 1000);
    await nc.close();

    // The publisher: journal → JetStream, each message acknowledged, backlog-bounded.
    const { file, progress } = writeJournal(path.join(root, 'pub'), 'bench', many);
    const publisher = new NatsPublisher({ settings, journalFile: file, day: DAY, collectorId: 'bench', progress, log });
    t = performance.now();
    const done = await publisher.run(() => ({ seal: false, deadline: Date.now() + 600_000 }));
    const jsRate = PUBLISH_FRAMES / ((performance.now() - t) / 1000);
    await publisher.close();
    if (!done) throw new Error('the publisher did not finish');

    // Collector → store lag at a realistic rate.
    const lags = await lagRun(root, { ...settings, stream: 'LAG', subjectPrefix: 'lag' }, frames);
    lags.sort((a, b) => a - b);
    const note = `${LAG_RATE} frames/s × 50 trades for ${LAG_SECONDS} s, journal fsync per ${SYNC_MS} ms`;
    return [
      { name: `NATS JetStream publish, journal → stream, acknowledged (${PUBLISH_FRAMES / 1000}k trade frames, ${(bytes / PUBLISH_FRAMES).toFixed(0)} B avg, backlog ${settings.backlog})`, value: jsRate, unit: 'frames/s', baseline: { name: 'core NATS publish of the same frames, same client', value: plainRate } },
      { name: `collector → store lag p50 (receive → durable in the store's journal; ${note})`, value: percentile(lags, 50), unit: 'ms', higherIsBetter: false },
      { name: `collector → store lag p99 (${note})`, value: percentile(lags, 99), unit: 'ms', higherIsBetter: false },
    ];
  } finally {
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Writes a live journal at LAG_RATE, publishes it from the publisher's thread, consumes it into a store; the lags, ms. */
async function lagRun(root: string, settings: ReturnType<typeof loadConfig>['nats'] & { url: string }, frames: string[]): Promise<number[]> {
  const collectorDir = path.join(root, 'collector');
  const file = journalPath(collectorDir, DAY, 'lag');
  const journal = Journal.open(file, { log, fsync: 'off' });
  const ch = journal.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
  const progress = new JournalProgress();
  const publisher = PublisherThread.start({ settings, journalFile: file, day: DAY, collectorId: 'lag', progress: progress.buffer }, log);
  const lags: number[] = [];
  const stop = new AbortController();
  const config = loadConfig({ env: { TICKTAPE_DATA_DIR: path.join(root, 'store'), TICKTAPE_MIN_FREE_BYTES: '0', TICKTAPE_BATCH_MS: `${SYNC_MS}ms` } });
  const store = runBusStore({ config: { ...config, nats: settings }, url: settings.url, durable: 'bench', log, signal: stop.signal, onDurable: (recvNs) => lags.push(Number(nowNs() - recvNs) / 1e6) });
  // One record first: the lags are measured once the store's copy of the day is open (threads started).
  journal.append(ch, FLAG.incoming, frames[0], nowNs());
  journal.sync();
  progress.appended(journal.size, journal.seq, nowNs(), true);
  const deadline = Date.now() + 60_000;
  while (lags.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  lags.length = 0;
  const total = LAG_RATE * LAG_SECONDS;
  const started = performance.now();
  let written = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * LAG_RATE));
      for (; written < due; written++) {
        journal.append(ch, FLAG.incoming, frames[written % frames.length], nowNs());
        progress.appended(journal.size, journal.seq, nowNs(), false);
      }
      journal.sync();
      progress.synced(journal.size);
      if (written >= total) {
        clearInterval(timer);
        resolve();
      }
    }, SYNC_MS);
  });
  progress.close();
  journal.close();
  await publisher.finish(false, 60_000);
  const end = Date.now() + 60_000;
  while (lags.length < total && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  stop.abort();
  await store;
  if (lags.length < total) throw new Error(`the store received ${lags.length} of ${total} records`);
  return lags;
}
