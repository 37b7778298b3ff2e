// The session's handle on the capture thread (capture/worker.ts): starts it, hands it REST answers
// to journal, answers its LS token requests, keeps its latest counters, and stops it. Frames
// received here (REST) cross to the capture thread, which alone appends to the journal.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { CaptureTape } from '../collector/capture.js';
import type { CollectorConfig } from '../collector/config.js';
import type { ConnectionEvent } from '../collector/socket.js';
import type { ChannelSpec } from '../storage/journal.js';
import { JournalProgress } from '../storage/journal-progress.js';
import type { CaptureStats, CaptureWorkerData, FromCapture, ToCapture } from './messages.js';
import { nowNs } from './recv-clock.js';
import { relayLogLine } from './thread-log.js';
import { threadScript } from './thread-script.js';

export interface CaptureThreadOptions {
  config: CollectorConfig;
  journalFile: string;
  /** When the market opens on the session's day, epoch ms. */
  marketOpenAt: number;
  log: Logger;
  /** A connection event of a stream (connects, disconnects, failures). */
  onConnection?(stream: string, e: ConnectionEvent): void;
  /** An LS access token for the BM_ stream (REST runs on this thread, never on the capture thread). */
  token?(): Promise<string>;
  /** The LS server refused this token: drop it, so that the next token() gets a new one. */
  tokenRefused?(token: string): void;
  /** The capture thread ended without being asked to (a bug, or out of memory). */
  onExit?(error: string): void;
}

const EMPTY: CaptureStats = { streams: [], channels: [], diskFull: [], clockSteps: [], maxStallMs: 0, journalLatencyUs: { p50: 0, p99: 0, max: 0 } };

export class CaptureThread implements CaptureTape {
  private latest: CaptureStats = EMPTY;
  private readonly specs: ChannelSpec[] = [];
  private stopping: Promise<CaptureStats> | undefined;
  private exited = false;
  clockOffsetMs = 0;

  private constructor(
    private readonly worker: Worker,
    private readonly o: CaptureThreadOptions,
    /** How far the journal is written, shared with the capture thread. */
    readonly progress: JournalProgress,
  ) {}

  /** Starts the thread; resolves once its journal is open (streams not yet started). */
  static start(o: CaptureThreadOptions): Promise<CaptureThread> {
    const data: Omit<CaptureWorkerData, 'progress'> = { config: o.config, journalFile: o.journalFile, logLevel: o.log.level, marketOpenAt: o.marketOpenAt };
    const progress = new JournalProgress();
    const worker = new Worker(threadScript(import.meta.url, 'worker.js'), { workerData: { ...data, progress: progress.buffer } });
    const t = new CaptureThread(worker, o, progress);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromCapture) => {
        if (m.type === 'ready') {
          ready = true;
          t.clockOffsetMs = m.clockOffsetMs;
          resolve(t);
        } else t.onMessage(m);
      });
      worker.on('error', (e) => {
        if (!ready) reject(e);
        else o.log.error({ err: e }, `capture thread failed: ${e.message}`);
      });
      worker.on('exit', (code) => {
        t.exited = true;
        if (!ready) reject(new Error(`capture thread exited with code ${code} before it was ready`));
        else if (t.stopping === undefined) o.onExit?.(`capture thread exited with code ${code}`);
      });
    });
  }

  private onMessage(m: FromCapture): void {
    switch (m.type) {
      case 'stats':
        this.latest = m.stats;
        return;
      case 'connection':
        this.o.onConnection?.(m.stream, m.event);
        return;
      case 'token-request': {
        const reply = (r: { token?: string; error?: string }) => this.post({ type: 'token', id: m.id, ...r });
        if (this.o.token === undefined) reply({ error: 'no LS credentials configured' });
        else this.o.token().then((token) => reply({ token }), (e: Error) => reply({ error: e.message }));
        return;
      }
      case 'token-refused':
        this.o.tokenRefused?.(m.token);
        return;
      case 'failed':
        this.o.log.error(`capture thread: ${m.error}`);
        return;
      case 'log':
        relayLogLine(this.o.log, m.line);
        return;
      case 'ready':
      case 'stopped':
        return;
    }
  }

  private post(m: ToCapture): void {
    if (!this.exited) this.worker.postMessage(m);
  }

  startStreams(): void {
    this.post({ type: 'start-streams' });
  }

  /** Counters as of the thread's last report (a few times a second). */
  stats(): CaptureStats {
    return this.latest;
  }

  // CaptureTape, for the sources on this thread (REST): the capture thread journals for them.
  channel(spec: ChannelSpec): number {
    let id = this.specs.findIndex((s) => s.name === spec.name);
    if (id < 0) id = this.specs.push(spec) - 1;
    return id;
  }

  append(channel: number, frame: string | Buffer, recvNs: bigint = nowNs()): void {
    this.post({ type: 'append', channel: this.specs[channel], frame: typeof frame === 'string' ? frame : frame.toString('utf8'), recvNs });
  }

  appendOutgoing(): void {
    throw new Error('frames are sent from the capture thread only');
  }

  event(channel: number, event: object): void {
    this.post({ type: 'event', channel: this.specs[channel], event });
  }

  /** Stops the streams and closes the journal; resolves with the final counters. */
  stop(): Promise<CaptureStats> {
    this.stopping ??= new Promise<CaptureStats>((resolve) => {
      if (this.exited) return resolve(this.latest);
      const done = (m: FromCapture) => {
        if (m.type === 'stopped') {
          this.latest = m.stats;
          resolve(m.stats);
        }
      };
      this.worker.on('message', done);
      this.worker.once('exit', () => resolve(this.latest));
      this.post({ type: 'stop' });
    });
    return this.stopping;
  }
}
