// What the capture thread and the session say to each other. The frames themselves never cross:
// the capture thread journals them, and the stores read the journal.
import type { ConnectionEvent } from '../collector/socket.js';
import type { StreamStats } from '../collector/stream.js';
import type { CollectorConfig } from '../collector/config.js';
import type { ChannelSpec } from '../storage/journal.js';
import type { JournaledChannel } from './journal-tape.js';
import type { ClockStep } from './recv-clock.js';

export interface CaptureWorkerData {
  config: CollectorConfig;
  journalFile: string;
  /** pino level of the thread's own log lines ('silent' in tests). */
  logLevel: string;
  progress: SharedArrayBuffer;
  /** When the market opens on the session's day, epoch ms (the reconnect backoff is capped around it). */
  marketOpenAt: number;
}

export type ToCapture =
  | { type: 'start-streams' }
  /** A REST answer (or any frame received off the capture thread) to journal. */
  | { type: 'append'; channel: ChannelSpec; frame: string; recvNs: bigint }
  | { type: 'event'; channel: ChannelSpec; event: object }
  | { type: 'token'; id: number; token?: string; error?: string }
  | { type: 'stop' };

export interface CaptureStats {
  streams: StreamStats[];
  channels: JournaledChannel[];
  /** Disk-full episodes, one line each. */
  diskFull: string[];
  /** Wall-clock steps seen against the receive clock. */
  clockSteps: ClockStep[];
  /** The longest stall of the capture thread so far, ms: nothing read its sockets meanwhile. */
  maxStallMs: number;
  /** Receive → journal write, per frame, µs. */
  journalLatencyUs: { p50: number; p99: number; max: number };
}

export type FromCapture =
  | { type: 'ready'; clockOffsetMs: number }
  | { type: 'stats'; stats: CaptureStats }
  | { type: 'connection'; stream: string; event: ConnectionEvent }
  | { type: 'token-request'; id: number }
  /** The LS server refused this token: the next request must get a new one. */
  | { type: 'token-refused'; token: string }
  | { type: 'stopped'; stats: CaptureStats }
  | { type: 'failed'; error: string }
  | { type: 'log'; line: string };
