// The session's handle on the NATS publisher's thread (publish/nats-worker.ts): starts it, keeps
// its latest status, measures its lag behind the journal, and asks it to finish.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { relayLogLine } from '../capture/thread-log.js';
import { threadScript } from '../capture/thread-script.js';
import type { TradingDay } from '../protocol/time.js';
import type { JournalProgress } from '../storage/journal-progress.js';
import type { SessionRecord } from '../storage/sqlite-sink.js';
import type { PublisherStatus } from './nats-publisher.js';
import type { NatsSettings } from './nats-settings.js';

export interface PublisherWorkerData {
  settings: NatsSettings & { url: string };
  journalFile: string;
  day: TradingDay;
  collectorId?: string;
  logLevel: string;
  progress: SharedArrayBuffer;
}

/** Finish: publish the journal to its end, then the session end carrying the session's row. */
export type ToPublisher = { type: 'finish'; seal: boolean; timeoutMs: number; session?: SessionRecord };
export type FromPublisher = { type: 'status'; status: PublisherStatus } | { type: 'finished'; caughtUp: boolean; status: PublisherStatus } | { type: 'log'; line: string };

/** How far the publisher is behind the journal. */
export interface PublishLag {
  bus: 'nats';
  frames: number;
  bytes: number;
  /** Seconds since it last had everything durable acknowledged (0 when caught up). */
  seconds: number;
  connected: boolean;
  errors: number;
}

export class PublisherThread {
  private status: PublisherStatus = { published: 0, publishedSeq: 0, caughtUpAtMs: Date.now(), connected: false, errors: 0 };
  private readonly finished: Promise<{ caughtUp: boolean; problems: string[] }>;
  private exited = false;

  private constructor(private readonly worker: Worker) {
    this.finished = new Promise((resolve) => {
      worker.on('message', (m: FromPublisher) => {
        if (m.type === 'log') return;
        this.status = m.status;
        if (m.type === 'finished') resolve({ caughtUp: m.caughtUp, problems: m.caughtUp ? [] : [`NATS publisher is behind its journal (${m.status.lastError ?? 'it could not publish everything in time'}); published up to offset ${m.status.published}`] });
      });
      worker.on('exit', () => {
        this.exited = true;
        resolve({ caughtUp: false, problems: ['NATS publisher thread ended unexpectedly'] });
      });
    });
  }

  static start(data: Omit<PublisherWorkerData, 'logLevel'>, log: Logger): PublisherThread {
    const worker = new Worker(threadScript(import.meta.url, 'nats-worker.js'), { workerData: { ...data, logLevel: log.level } satisfies PublisherWorkerData });
    worker.on('message', (m: FromPublisher) => m.type === 'log' && relayLogLine(log, m.line));
    worker.on('error', (e) => log.error({ err: e }, `NATS publisher thread failed: ${e.message}`));
    return new PublisherThread(worker);
  }

  lag(progress: JournalProgress): PublishLag {
    const s = this.status;
    const bytes = Math.max(0, progress.size - s.published);
    return { bus: 'nats', frames: Math.max(0, progress.seq - s.publishedSeq), bytes, seconds: bytes === 0 ? 0 : Math.max(0, (Date.now() - s.caughtUpAtMs) / 1000), connected: s.connected, errors: s.errors };
  }

  /** Publishes the journal to the end its writer closed it at and the session end (with its row), within timeoutMs. */
  finish(seal: boolean, timeoutMs: number, session?: SessionRecord): Promise<{ caughtUp: boolean; problems: string[] }> {
    if (!this.exited) this.worker.postMessage({ type: 'finish', seal, timeoutMs, session } satisfies ToPublisher);
    return this.finished;
  }
}
