// The JetStream stream that carries journal records between machines: its settings, its subjects,
// the message layout both ends agree on, and its idempotent creation. A collector publishes each
// journal record as one message on `<prefix>.<collector>.<day>.<channel>` (an unnamed collector
// is `_`); `ticktape store --from nats://…` consumes them (publish/nats-store.ts).
import type { ConnectionOptions, MsgHdrs } from '@nats-io/transport-node';
import { headers } from '@nats-io/transport-node';
import { type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { ChannelSpec } from '../storage/journal.js';
import type { NatsSettings } from './nats-settings.js';

/** The subject token of an unnamed collector (collector ids are letters, digits, `_`, `-`). */
export const UNNAMED_COLLECTOR = '_';

/** Headers of a record message (the payload is the raw frame). */
export const HDR = {
  day: 'Ticktape-Day',
  collector: 'Ticktape-Collector',
  /** The channel's spec as JSON (name, vendor, endpoint, kind, market, snapshotKind). */
  channel: 'Ticktape-Channel',
  flags: 'Ticktape-Flags',
  recvNs: 'Ticktape-Recv-Ns',
  /** The record's byte offset in the collector's journal: its position, and its message id's tail. */
  offset: 'Ticktape-Offset',
  /** On a session-end message: the journal's size then, and whether the collector sealed the day. */
  end: 'Ticktape-End',
  seal: 'Ticktape-Seal',
} as const;

/** The last subject token of a session-end message (no channel name starts with `_`). */
export const SESSION_END = '_session-end';

export function collectorToken(collectorId: string | undefined): string {
  return collectorId ?? UNNAMED_COLLECTOR;
}

export function recordSubject(s: Pick<NatsSettings, 'subjectPrefix'>, collectorId: string | undefined, day: string, channel: string): string {
  return `${s.subjectPrefix}.${collectorToken(collectorId)}.${day}.${channel}`;
}

/** `Nats-Msg-Id` of a record: the same record republished after a restart gets the same id. */
export function recordMsgId(day: string, collectorId: string | undefined, offset: number): string {
  return `${day}.${collectorToken(collectorId)}.${offset}`;
}

export function recordHeaders(day: string, collectorId: string | undefined, channel: ChannelSpec, flags: number, recvNs: bigint, offset: number): MsgHdrs {
  const h = headers();
  h.set(HDR.day, day);
  if (collectorId !== undefined) h.set(HDR.collector, collectorId);
  h.set(HDR.channel, JSON.stringify(channel));
  h.set(HDR.flags, String(flags));
  h.set(HDR.recvNs, String(recvNs));
  h.set(HDR.offset, String(offset));
  return h;
}

/** The client's connection options: several servers, endless reconnects (the journal waits). */
export function connectionOptions(url: string, name: string): ConnectionOptions {
  return { servers: url.split(',').map((s) => s.trim()), name, maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true, timeout: 5_000 };
}

export function streamConfig(s: NatsSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: s.stream,
    subjects: [`${s.subjectPrefix}.>`],
    retention: s.retention === 'interest' ? RetentionPolicy.Interest : RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: s.replicas,
    max_age: s.maxAgeMs * 1_000_000,
    duplicate_window: s.duplicateWindowMs * 1_000_000,
  };
}

/**
 * Creates the stream, or brings an existing one to these settings (the same call from every
 * collector and store is harmless). Retention cannot change on a live stream: that is an error.
 */
export async function ensureStream(jsm: JetStreamManager, s: NatsSettings): Promise<void> {
  const want = streamConfig(s);
  let have: StreamConfig | undefined;
  try {
    have = (await jsm.streams.info(s.stream)).config;
  } catch (e) {
    if (!/stream not found/i.test((e as Error).message)) throw e;
  }
  if (have === undefined) {
    await jsm.streams.add(want);
    return;
  }
  const subjects = have.subjects.includes(want.subjects![0]) ? have.subjects : [...have.subjects, ...want.subjects!];
  const same = have.max_age === want.max_age && have.duplicate_window === want.duplicate_window && have.num_replicas === want.num_replicas && subjects === have.subjects;
  if (have.retention !== want.retention) throw new Error(`NATS stream ${s.stream} has retention ${have.retention}, not ${want.retention} (TICKTAPE_NATS_RETENTION); JetStream cannot change it on an existing stream`);
  if (!same) await jsm.streams.update(s.stream, { ...have, ...want, subjects });
}
