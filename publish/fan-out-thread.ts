// The session's handle on the live fan-out's thread (publish/fan-out-worker.ts): starts it on the
// live journal, keeps its latest status for /metrics, and asks it to finish once capture stopped.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { relayLogLine } from '../capture/thread-log.js';
import { threadScript } from '../capture/thread-script.js';
import type { JournalProgress } from '../storage/journal-progress.js';
import type { FanOutOptions, FanOutStatus } from './fan-out.js';

export interface FanOutWorkerData {
  fanOut: Omit<FanOutOptions, 'progress' | 'log'>;
  progress: SharedArrayBuffer;
  logLevel: string;
}

export type ToFanOut = { type: 'finish'; timeoutMs: number };

export type FromFanOut =
  | { type: 'listening'; port: number }
  | { type: 'failed'; error: string }
  | { type: 'status'; status: FanOutStatus }
  | { type: 'finished'; status: FanOutStatus }
  | { type: 'log'; line: string };

export class FanOutThread {
  private latest: FanOutStatus = { endpoints: [], lagBytes: 0 };
  private exited = false;
  private readonly done: Promise<void>;
  /** The bound port, or the reason the server could not start. */
  readonly listening: Promise<{ port: number } | { error: string }>;

  private constructor(private readonly worker: Worker, log: Logger) {
    let listened: (r: { port: number } | { error: string }) => void = () => {};
    this.listening = new Promise((resolve) => (listened = resolve));
    this.done = new Promise((resolve) => {
      worker.on('message', (m: FromFanOut) => {
        if (m.type === 'log') relayLogLine(log, m.line);
        else if (m.type === 'listening') listened({ port: m.port });
        else if (m.type === 'failed') listened({ error: m.error });
        else {
          this.latest = m.status;
          if (m.type === 'finished') resolve();
        }
      });
      worker.on('error', (e) => log.error({ err: e }, `publish thread failed: ${e.message}`));
      worker.on('exit', () => {
        this.exited = true;
        listened({ error: 'the publish thread ended' });
        resolve();
      });
    });
  }

  static start(o: Omit<FanOutOptions, 'progress'> & { progress: JournalProgress }): FanOutThread {
    const { progress, log, ...fanOut } = o;
    const data: FanOutWorkerData = { fanOut, progress: progress.buffer, logLevel: log.level };
    return new FanOutThread(new Worker(threadScript(import.meta.url, 'fan-out-worker.js'), { workerData: data }), log);
  }

  /** Subscribers, messages and disconnections per endpoint, as of the latest status. */
  status(): FanOutStatus {
    return this.latest;
  }

  /** Once the journal is closed: the last records go out, subscribers are closed; bounded by timeoutMs. Resolves with the final status. */
  async finish(timeoutMs: number): Promise<FanOutStatus> {
    if (!this.exited) this.worker.postMessage({ type: 'finish', timeoutMs } satisfies ToFanOut);
    const timer = setTimeout(() => void this.worker.terminate(), timeoutMs + 2_000);
    await this.done;
    clearTimeout(timer);
    if (!this.exited) await this.worker.terminate();
    return this.latest;
  }
}
