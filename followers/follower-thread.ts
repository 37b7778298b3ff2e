// The session's handle on a store's thread (followers/worker.ts): starts it, keeps its latest
// status, measures its lag behind the journal, and asks it to finish.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { relayLogLine } from '../capture/thread-log.js';
import { threadScript } from '../capture/thread-script.js';
import type { JournalProgress } from '../storage/journal-progress.js';
import type { SessionRecord } from '../storage/sqlite-sink.js';
import type { FinishResult, FollowerStatus, FollowerWorkerData, FromFollower } from './messages.js';
import type { BatchTiming, FollowerOptions } from './store-follower.js';
import { STORES, type StoreName } from './stores.js';
import type { CollectorConfig } from '../collector/config.js';

export interface FollowerThreadOptions {
  follower: Omit<FollowerOptions, 'log' | 'beforeWrite' | 'onBatch'>;
  log: Logger;
  /** The live journal's progress; absent: the journal is finished, store it to its end and exit. */
  progress?: JournalProgress;
  /** With no progress: seal the day once stored. */
  seal?: boolean;
  batchMs: number;
  pollMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** The thread's nice value (config.stores.nice); absent: the process's. */
  nice?: number;
  onBatch?(t: BatchTiming): void;
}

/** How far a store is behind its journal. */
export interface StoreLag {
  store: StoreName;
  /** The journal followed, where one process follows several (`ticktape store`: `<day>[.<collector>]`). */
  source?: string;
  frames: number;
  bytes: number;
  seconds: number;
  /** Store errors since it last wrote (0 = healthy), all errors, and the last one. */
  failures: number;
  errors: number;
  lastError?: string;
}

export class FollowerThread {
  private status: FollowerStatus;
  private readonly sessionWaits = new Map<number, (id: number) => void>();
  private nextSession = 1;
  private readonly finished: Promise<FinishResult>;
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    private readonly o: FollowerThreadOptions,
  ) {
    this.status = { store: o.follower.store, stored: 0, storedSeq: 0, caughtUpAtMs: Date.now(), failures: 0, errors: 0, channels: [] };
    this.finished = new Promise((resolve) => {
      worker.on('message', (m: FromFollower) => {
        if (m.type === 'status') this.status = m.status;
        else if (m.type === 'log') relayLogLine(o.log, m.line);
        else if (m.type === 'batch') o.onBatch?.(m.timing);
        else if (m.type === 'session-written') {
          this.sessionWaits.get(m.id)?.(m.sessionId);
          this.sessionWaits.delete(m.id);
        } else if (m.type === 'finished') {
          this.status = m.result.status;
          resolve(m.result);
        }
      });
      worker.on('error', (e) => o.log.error({ store: this.store, err: e }, `${this.store} thread failed: ${e.message}`));
      worker.on('exit', () => {
        this.exited = true;
        resolve({ store: this.store, caughtUp: false, sealed: false, status: this.status, problems: [`${this.store} thread ended unexpectedly; the next start catches up from its checkpoint`] });
      });
    });
  }

  static start(o: FollowerThreadOptions): FollowerThread {
    const data: FollowerWorkerData = {
      follower: o.follower,
      logLevel: o.log.level,
      progress: o.progress?.buffer,
      pollMs: o.pollMs ?? 20,
      batchMs: o.batchMs,
      retryInitialMs: o.retryInitialMs ?? 500,
      retryMaxMs: o.retryMaxMs ?? 10_000,
      nice: o.nice,
      finish: o.progress === undefined ? { seal: o.seal ?? false } : undefined,
    };
    return new FollowerThread(new Worker(threadScript(import.meta.url, 'worker.js'), { workerData: data }), o);
  }

  get store(): StoreName {
    return this.o.follower.store;
  }

  /** Rows stored per channel, as of the latest status. */
  rows(): Map<string, { rows: number; quarantined: number }> {
    return new Map(this.status.channels);
  }

  /** Lag behind the live journal: records and bytes not yet stored, and seconds since the store last caught up. */
  lag(progress: JournalProgress): StoreLag {
    const s = this.status;
    const bytes = Math.max(0, progress.size - s.stored);
    // How long since the store last held all it could read: a healthy one catches up every poll.
    const seconds = bytes === 0 ? 0 : Math.max(0, (Date.now() - s.caughtUpAtMs) / 1000);
    return { store: this.store, frames: Math.max(0, progress.seq - s.storedSeq), bytes, seconds, failures: s.failures, errors: s.errors, lastError: s.lastError };
  }

  /** Queues a `sessions` row (SQLite's thread only); resolves with its id once written. */
  writeSession(record: SessionRecord): Promise<number> {
    const id = this.nextSession++;
    this.worker.postMessage({ type: 'session', id, record });
    return new Promise((resolve) => this.sessionWaits.set(id, resolve));
  }

  /** Stores the journal to the end its writer closed it at (and seals), within timeoutMs; then the thread exits. */
  finish(seal: boolean, timeoutMs: number): Promise<FinishResult> {
    if (!this.exited) this.worker.postMessage({ type: 'finish', seal, timeoutMs });
    return this.finished;
  }

  /** Stops a seal in progress between two of its chunks (the rest is finished by the next start). */
  stopSeal(): void {
    if (!this.exited) this.worker.postMessage({ type: 'stop-seal' });
  }

  /** Ends the thread now (what the store committed stays; the next start resumes from there). */
  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }

  /** Resolves when a thread started on a finished journal is done. */
  done(): Promise<FinishResult> {
    return this.finished;
  }
}

/** Where the stores of a live journal follow it (a capture session, a `ticktape store` copy). */
export interface LiveJournal {
  day: string;
  journalFile: string;
  collectorId?: string;
  progress: JournalProgress;
  log: Logger;
  onBatch?(t: BatchTiming): void;
}

/** Both stores' threads following a live journal, as the configuration sets them (batches, retries, priority). */
export function followJournal(config: CollectorConfig, j: LiveJournal): FollowerThread[] {
  return STORES.map((store) =>
    FollowerThread.start({
      follower: { store, dataDir: config.dataDir, day: j.day, journalFile: j.journalFile, collectorId: j.collectorId, batchRows: config.batch.rows },
      progress: j.progress,
      batchMs: config.batch.ms,
      retryMaxMs: config.stores.retryMaxMs,
      retryInitialMs: Math.min(500, config.stores.retryMaxMs),
      nice: config.stores.nice[store],
      log: j.log,
      onBatch: j.onBatch,
    }),
  );
}
