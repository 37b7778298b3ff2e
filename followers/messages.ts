// What a store's thread and the session say to each other.
import type { SessionRecord } from '../storage/sqlite-sink.js';
import type { BatchTiming, FollowedChannel, FollowerOptions } from './store-follower.js';

export interface FollowerWorkerData {
  follower: Omit<FollowerOptions, 'log' | 'beforeWrite' | 'onBatch'>;
  logLevel: string;
  /** The live journal's progress; absent for a journal nobody writes (catch-up of an earlier day). */
  progress?: SharedArrayBuffer;
  /** Poll interval while caught up, ms. */
  pollMs: number;
  /** A batch older than this is written even before the journal's next sync, ms. */
  batchMs: number;
  /** Backoff after a store error: first wait, and the longest, ms. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** The thread's nice value; absent: the process's. */
  nice?: number;
  /** Catch-up of a finished journal: store it to its end (and seal the day), then exit. */
  finish?: { seal: boolean };
}

export type ToFollower =
  | { type: 'session'; id: number; record: SessionRecord }
  /** Store the journal to its end once its writer has closed it (seal the day too), then exit; give up after timeoutMs. */
  | { type: 'finish'; seal: boolean; timeoutMs: number }
  /** Stop a seal in progress between two chunks (the process is stopping). */
  | { type: 'stop-seal' };

export interface FollowerStatus {
  store: string;
  /** Everything before this journal offset is stored. */
  stored: number;
  storedSeq: number;
  /** Wall-clock ms when the store last held everything the journal let it read. */
  caughtUpAtMs: number;
  /** Store errors since the store last wrote successfully (0 = healthy). */
  failures: number;
  /** Store errors in all. */
  errors: number;
  lastError?: string;
  channels: [string, FollowedChannel][];
}

export interface FinishResult {
  store: string;
  /** The store holds the whole journal. */
  caughtUp: boolean;
  sealed: boolean;
  status: FollowerStatus;
  problems: string[];
}

export type FromFollower =
  | { type: 'status'; status: FollowerStatus }
  | { type: 'batch'; timing: BatchTiming }
  | { type: 'session-written'; id: number; sessionId: number }
  | { type: 'finished'; result: FinishResult }
  | { type: 'log'; line: string };
