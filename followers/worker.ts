// A store's own thread: follows the journal into one store (SQLite or Arrow) from the store's
// checkpoint, a batch per journal sync. When the store fails — SQLITE_BUSY past its timeout, a
// full disk, an I/O error — the follower is dropped (an Arrow part in progress is deleted), and a
// new one resumes from the checkpoint after a backoff: the store falls behind, then catches up.
// SQLite's thread also writes the `sessions` rows and seals the day.
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { threadLogger } from '../capture/thread-log.js';
import { setThreadNice } from '../capture/thread-priority.js';
import { JournalProgress } from '../storage/journal-progress.js';
import type { SessionRecord } from '../storage/sqlite-sink.js';
import type { FinishResult, FollowerStatus, FollowerWorkerData, FromFollower, ToFollower } from './messages.js';
import { StoreFollower } from './store-follower.js';

/** Records read before the thread looks at its messages again. */
const CHUNK_RECORDS = 20_000;
const STATUS_MS = 250;

const data = workerData as FollowerWorkerData;
const port = parentPort!;
const post = (m: FromFollower) => port.postMessage(m);
const log = threadLogger(port, data.logLevel, `store.${data.follower.store}`);
const progress = data.progress && new JournalProgress(data.progress);
const store = data.follower.store;
if (data.nice !== undefined) {
  const priority = setThreadNice(data.nice);
  if (priority.refused !== undefined) log.warn(priority, `${store} store thread: nice ${priority.asked} refused (${priority.refused}), it stays at ${priority.nice}`);
}

let follower: StoreFollower | undefined;
let failures = 0;
let errors = 0;
let lastError: string | undefined;
let retryAt = 0;
let finishing: { seal: boolean; deadline: number } | undefined = data.finish && { ...data.finish, deadline: Infinity };
const sessions: { id: number; record: SessionRecord }[] = [];
const problems: string[] = [];
// What a dropped follower had stored, so the totals survive a reopen.
let status: FollowerStatus = { store, stored: 0, storedSeq: 0, caughtUpAtMs: Date.now(), failures: 0, errors: 0, channels: [] };
let caughtUpAtMs = Date.now();
const carried = new Map<string, { rows: number; quarantined: number }>();

/** What the follower may read: the durable part of a live journal, or all of a finished one. */
function limit(): number {
  if (progress !== undefined) return progress.readable;
  return fs.statSync(data.follower.journalFile).size;
}

/** Whether the store holds everything its journal will ever hold. */
function complete(f: StoreFollower): boolean {
  if (progress !== undefined) return progress.closed && f.stored >= progress.size;
  return f.read >= limit() && f.pending === 0 && f.stored >= f.read;
}

function snapshot(): FollowerStatus {
  if (follower !== undefined) {
    const channels = new Map(carried);
    for (const [name, st] of follower.channelStats) {
      const c = channels.get(name) ?? { rows: 0, quarantined: 0 };
      channels.set(name, { rows: c.rows + st.rows, quarantined: c.quarantined + st.quarantined });
    }
    status = { store, stored: follower.stored, storedSeq: follower.storedSeq, caughtUpAtMs, failures, errors, lastError, channels: [...channels] };
  } else status = { ...status, caughtUpAtMs, failures, errors, lastError };
  return status;
}

/** Errors after which the same follower simply tries again: the failed transaction left nothing. */
const TRANSIENT = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);

async function fail(e: unknown): Promise<void> {
  failures++;
  errors++;
  const err = e as NodeJS.ErrnoException;
  lastError = `${err.code ? `${err.code}: ` : ''}${err.message}`;
  const waitMs = Math.min(data.retryMaxMs, data.retryInitialMs * 2 ** Math.min(failures - 1, 20));
  retryAt = Date.now() + waitMs;
  const again = follower !== undefined && err.code !== undefined && TRANSIENT.has(err.code);
  log.warn({ store, err: lastError, retryInMs: waitMs, failures }, `${store} store failed (${lastError}); it ${again ? 'tries again' : 'resumes from its checkpoint'} in ${waitMs} ms`);
  if (again) return;
  const f = follower;
  follower = undefined;
  if (f !== undefined) {
    snapshot();
    for (const [name, st] of f.channelStats) {
      const c = carried.get(name) ?? { rows: 0, quarantined: 0 };
      carried.set(name, { rows: c.rows + st.rows, quarantined: c.quarantined + st.quarantined });
    }
    try {
      await f.abandon();
    } catch (e2) {
      log.warn({ store, err: (e2 as Error).message }, `${store}: closing the failed store: ${(e2 as Error).message}`);
    }
  }
  post({ type: 'status', status: snapshot() });
}

function open(): StoreFollower {
  return StoreFollower.open({ ...data.follower, log, onBatch: (timing) => post({ type: 'batch', timing }) });
}

function writeSessions(f: StoreFollower): void {
  while (sessions.length > 0 && f.sqlite !== undefined) {
    const s = sessions[0];
    const sessionId = f.sqlite.writeSession(s.record);
    sessions.shift();
    post({ type: 'session-written', id: s.id, sessionId });
  }
}

async function finish(caughtUp: boolean): Promise<void> {
  let sealed = false;
  const f = follower;
  if (f !== undefined) {
    try {
      writeSessions(f);
      if (caughtUp && finishing?.seal && f.sqlite !== undefined) {
        log.info({ day: data.follower.day }, `sealing ${data.follower.day}`);
        // In chunks, each its own transaction: a stop between two leaves the rest to the next start.
        sealed = (await f.sqlite.sealDayInChunks(data.follower.day, { signal: stopSeal.signal })).sealed;
        if (!sealed) problems.push(`${store}: the seal of ${data.follower.day} was stopped part way; the next start finishes it`);
      }
    } catch (e) {
      problems.push(`${store}: sealing ${data.follower.day} failed (${(e as Error).message}); the next start seals it`);
      log.error({ store, err: (e as Error).message }, problems.at(-1));
    }
    snapshot();
    try {
      await (caughtUp ? f.close() : f.abandon());
    } catch (e) {
      problems.push(`${store}: closing the store failed: ${(e as Error).message}`);
    }
  }
  if (!caughtUp) problems.push(`${store} store is behind its journal (${lastError ?? 'it could not catch up in time'}); the next start catches up from its checkpoint`);
  const result: FinishResult = { store, caughtUp, sealed, status: snapshot(), problems };
  post({ type: 'finished', result });
  port.close();
}

async function tick(): Promise<void> {
  let read = 0;
  const now = Date.now();
  if (follower === undefined && now >= retryAt) {
    try {
      follower = open();
    } catch (e) {
      await fail(e);
    }
  }
  const f = follower;
  if (f !== undefined && now >= retryAt) {
    try {
      const readable = limit();
      read = f.follow(readable, CHUNK_RECORDS);
      // At the end of a finished journal nothing more can decide a market's trdVol reading.
      const ended = finishing !== undefined && (progress === undefined ? f.read >= readable : progress.closed && f.read >= progress.size);
      // Caught up with what is durable: write now (one batch per journal sync), else when old.
      if (ended || read < CHUNK_RECORDS || f.batchAgeMs(now) >= data.batchMs) f.flush(ended);
      if (f.stored >= readable) caughtUpAtMs = Date.now();
      writeSessions(f);
      failures = 0;
    } catch (e) {
      await fail(e);
    }
  }
  if (finishing !== undefined) {
    if (follower !== undefined && complete(follower)) return finish(true);
    if (Date.now() >= finishing.deadline) return finish(false);
  }
  setTimeout(() => void tick(), read >= CHUNK_RECORDS ? 0 : data.pollMs);
}

const stopSeal = new AbortController();

port.on('message', (m: ToFollower) => {
  if (m.type === 'session') sessions.push(m);
  else if (m.type === 'stop-seal') stopSeal.abort();
  else finishing = { seal: m.seal, deadline: Date.now() + m.timeoutMs };
});

setInterval(() => post({ type: 'status', status: snapshot() }), STATUS_MS).unref();
void tick();
