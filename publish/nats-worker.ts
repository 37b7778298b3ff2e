// The NATS publisher's own thread (publish/nats-publisher.ts): never the capture thread, never the
// session's. It reports its status a few times a second and, asked to finish, publishes the journal
// to the end its writer closed it at and the session-end message, then exits.
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { threadLogger } from '../capture/thread-log.js';
import { archivePath, restoreJournal } from '../storage/journal-archive.js';
import { JournalProgress } from '../storage/journal-progress.js';
import type { SessionRecord } from '../storage/sqlite-sink.js';
import type { FromPublisher, PublisherWorkerData, ToPublisher } from './nats-thread.js';
import { finishedProgress, NatsPublisher, unpublishedJournals } from './nats-publisher.js';

const STATUS_MS = 250;

const data = workerData as PublisherWorkerData;
const port = parentPort!;
const post = (m: FromPublisher) => port.postMessage(m);
const log = threadLogger(port, data.logLevel, 'publish.nats');
const publisher = new NatsPublisher({ ...data, progress: new JournalProgress(data.progress), log });
let finishing: { seal: boolean; deadline: number; session?: SessionRecord } | undefined;
let deadline: NodeJS.Timeout | undefined;

port.on('message', (m: ToPublisher) => {
  finishing = { seal: m.seal, deadline: Date.now() + m.timeoutMs, session: m.session };
  // The publisher may be waiting on a server that is down: the deadline ends the thread regardless.
  deadline = setTimeout(() => void done(false), m.timeoutMs + 1_000);
});

const status = setInterval(() => post({ type: 'status', status: publisher.status }), STATUS_MS);

let ended = false;
async function done(caughtUp: boolean): Promise<void> {
  if (ended) return;
  ended = true;
  publisher.stop();
  clearInterval(status);
  clearTimeout(deadline);
  post({ type: 'finished', caughtUp, status: publisher.status });
  await publisher.close();
  port.close();
  // The client's reconnect timers would keep a thread whose server is down alive.
  process.exit(0);
}

// Earlier days whose end the stream lacks are published beside today's journal, and sealed: their
// day is over (the session's catch-up seals them here too). A journal compaction compressed
// meanwhile is written back plain for the publisher, and removed again after: its archive holds
// the same bytes.
void (async () => {
  for (const j of await unpublishedJournals(data.journalFile, data.collectorId, data.day, data.settings.stream)) {
    if (ended) return;
    log.info({ journal: j.archive ?? j.file }, `NATS: publishing the rest of ${j.day}'s journal and its end`);
    if (j.archive !== undefined) await restoreJournal(j.archive);
    const earlier = new NatsPublisher({ ...data, journalFile: j.file, day: j.day, progress: finishedProgress(j.file), log });
    await earlier.run(() => ({ seal: true, deadline: Infinity })).finally(() => earlier.close());
    if (fs.existsSync(archivePath(j.file))) fs.rmSync(j.file, { force: true });
  }
})().catch((e: Error) => log.error({ err: e.message }, `NATS: publishing earlier days failed: ${e.message}; the next start tries again`));

void publisher.run(() => finishing).then(
  (caughtUp) => done(caughtUp),
  (e: Error) => {
    log.error({ err: e.message }, `NATS publisher failed: ${e.message}`);
    return done(false);
  },
);
