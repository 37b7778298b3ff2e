// The NATS publisher: a follower of the journal, like a store, whose "store" is a JetStream stream.
// It reads the durable part of the journal from its checkpoint (`<journal>.published.json`, the end
// of the records JetStream acknowledged), publishes each record with a message id built from the
// day, the collector and the record's offset, and keeps at most `backlog` publishes awaiting their
// acknowledgement — the journal holds the rest, so a NATS outage costs lag, never capture. After an
// error it waits for the connection, goes back to its checkpoint and publishes again; what JetStream
// already had is dropped by its duplicate window (and by the store, which knows every offset it has).
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import type { TradingDay } from '../protocol/time.js';
import { JOURNAL_START, journalCollectorId, JournalTail, readChannels, writeFileAtomic, type JournalChannel } from '../storage/journal.js';
import { archivedBytes, archivedJournal, isArchive } from '../storage/journal-archive.js';
import { JournalProgress } from '../storage/journal-progress.js';
import type { SessionRecord } from '../storage/sqlite-sink.js';
import { type NatsSettings, redactUrl } from './nats-settings.js';
import { collectorToken, connectionOptions, ensureStream, HDR, recordHeaders, recordMsgId, recordSubject, SESSION_END } from './nats-stream.js';
import { headers } from '@nats-io/transport-node';

export interface PublisherOptions {
  settings: NatsSettings & { url: string };
  journalFile: string;
  day: TradingDay;
  collectorId?: string;
  progress: JournalProgress;
  log: Logger;
  pollMs?: number;
}

/** What the publisher has had acknowledged, and how it fares. */
export interface PublisherStatus {
  /** Everything before this journal offset is in the stream. */
  published: number;
  publishedSeq: number;
  /** Wall-clock ms when it last had everything durable acknowledged. */
  caughtUpAtMs: number;
  connected: boolean;
  /** Publish errors in all (each retried from the checkpoint), and the last one. */
  errors: number;
  lastError?: string;
}

interface Checkpoint {
  stream: string;
  offset: number;
  seq: number;
  /** The journal size a session-end message was acknowledged at. */
  endedAt?: number;
}

/** `<journal>.published.json`: the end of what the stream acknowledged. */
export function publishedPath(journalFile: string): string {
  return `${journalFile}.published.json`;
}

/** An earlier day's journal the stream lacks the end of; `archive`: only its compressed copy is left. */
export interface UnpublishedJournal {
  file: string;
  day: TradingDay;
  archive?: string;
}

/**
 * Earlier days' journals of this collector that the stream lacks the end of (their checkpoint is
 * behind the journal, or no session end was acknowledged at its size): a session that ended while
 * NATS was down, or a collector killed at the day's end — also once compaction has compressed the
 * journal meanwhile. Journals never published are left alone.
 */
export async function unpublishedJournals(journalFile: string, collectorId: string | undefined, day: TradingDay, stream: string): Promise<UnpublishedJournal[]> {
  const dir = path.dirname(journalFile);
  const out: UnpublishedJournal[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const archive = isArchive(name) ? path.join(dir, name) : undefined;
    const file = archivedJournal(path.join(dir, name));
    const d = name.slice(0, 10);
    if (!file.endsWith('.journal') || (archive !== undefined && fs.existsSync(file))) continue;
    if (d >= day || journalCollectorId(file) !== collectorId || !fs.existsSync(publishedPath(file))) continue;
    const c = readCheckpoint(file, stream);
    const size = archive === undefined ? fs.statSync(file).size : await archivedBytes(archive);
    if (c.stream === stream && (c.offset < size || c.endedAt !== size)) out.push({ file, day: d, ...(archive !== undefined && { archive }) });
  }
  return out;
}

/** A finished journal's progress: all of it readable, closed. */
export function finishedProgress(file: string): JournalProgress {
  const p = new JournalProgress();
  p.appended(fs.statSync(file).size, 0, 0n, true);
  p.close();
  return p;
}

function readCheckpoint(journalFile: string, stream: string): Checkpoint {
  try {
    const c = JSON.parse(fs.readFileSync(publishedPath(journalFile), 'utf8')) as Checkpoint;
    // Another stream: publish the whole journal to it.
    if (c.stream === stream) return c;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return { stream, offset: JOURNAL_START, seq: 0 };
}

const CHECKPOINT_MS = 200;
const RETRY_INITIAL_MS = 250;
const RETRY_MAX_MS = 5_000;
const PUBLISH_TIMEOUT_MS = 10_000;

export class NatsPublisher {
  readonly status: PublisherStatus;
  private readonly tail: JournalTail;
  private channels: JournalChannel[];
  private readonly inflight: { end: number; seq: number; ack: Promise<PubAck> }[] = [];
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private savedAt = 0;
  private saved: number;
  private endedAt: number | undefined;
  private stopped = false;

  constructor(private readonly o: PublisherOptions) {
    const c = readCheckpoint(o.journalFile, o.settings.stream);
    this.status = { published: c.offset, publishedSeq: c.seq, caughtUpAtMs: Date.now(), connected: false, errors: 0 };
    this.saved = c.offset;
    this.endedAt = c.endedAt;
    this.tail = JournalTail.open(o.journalFile);
    this.rewind();
    this.channels = readChannels(o.journalFile);
  }

  /**
   * Publishes until stop(), or — once `finish` is set and the journal is closed — until the whole
   * journal is acknowledged and the session-end message is in the stream. Resolves true then,
   * false when stopped or past the deadline first.
   */
  async run(finish: () => { seal: boolean; deadline: number; session?: SessionRecord } | undefined): Promise<boolean> {
    const { log, settings } = this.o;
    let waitMs = RETRY_INITIAL_MS;
    try {
      while (!this.stopped) {
        const f = finish();
        if (f !== undefined && Date.now() >= f.deadline) return false;
        try {
          if (this.js === undefined) await this.connect();
          const moved = await this.pump();
          waitMs = RETRY_INITIAL_MS;
          if (this.inflight.length === 0 && this.status.published >= this.o.progress.readable) this.status.caughtUpAtMs = Date.now();
          if (f !== undefined && this.o.progress.closed && this.inflight.length === 0 && this.status.published >= this.o.progress.size) {
            await this.publishEnd(f.seal, f.session);
            return true;
          }
          if (!moved) await sleep(this.o.pollMs ?? 20);
        } catch (e) {
          this.status.errors++;
          this.status.lastError = (e as Error).message;
          log.warn({ err: this.status.lastError, retryInMs: waitMs, nats: redactUrl(settings.url) }, `NATS publish failed (${this.status.lastError}); publishing again from the checkpoint in ${waitMs} ms`);
          await Promise.allSettled(this.inflight.map((p) => p.ack));
          this.inflight.length = 0;
          this.rewind();
          await sleep(waitMs);
          waitMs = Math.min(RETRY_MAX_MS, waitMs * 2);
        }
      }
      return false;
    } finally {
      this.save(true);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  async close(): Promise<void> {
    this.tail.close();
    await this.nc?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const { settings, log } = this.o;
    if (this.nc === undefined) {
      this.nc = await connect(connectionOptions(settings.url, `ticktape collector ${collectorToken(this.o.collectorId)}`));
      void this.watchConnection(this.nc);
    }
    await ensureStream(await jetstreamManager(this.nc), settings);
    this.js = jetstream(this.nc, { timeout: PUBLISH_TIMEOUT_MS });
    this.status.connected = true;
    log.info({ nats: redactUrl(settings.url), stream: settings.stream, from: this.status.published }, `publishing the journal to NATS stream ${settings.stream} from offset ${this.status.published}`);
  }

  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.status.connected = false;
      else if (s.type === 'reconnect') this.status.connected = true;
    }
  }

  /** Sends what the backlog allows, then waits for the oldest acknowledgement; whether anything moved. */
  private async pump(): Promise<boolean> {
    const { day, collectorId, settings, progress } = this.o;
    const limit = progress.readable;
    let sent = false;
    while (this.inflight.length < settings.backlog) {
      const r = this.tail.next(limit);
      if (r === undefined) break;
      const ch = this.channelOf(r.channel);
      const { id: _, ...spec } = ch;
      const ack = this.js!.publish(recordSubject(settings, collectorId, day, ch.name), r.bytes, { msgID: recordMsgId(day, collectorId, r.offset), headers: recordHeaders(day, collectorId, spec, r.flags, r.recvNs, r.offset) });
      ack.catch(() => undefined);
      this.inflight.push({ end: r.end, seq: r.seq + 1, ack });
      sent = true;
    }
    const head = this.inflight[0];
    if (head === undefined) return sent;
    await head.ack;
    // Acknowledgements come in order of publishing on one connection; take every settled one.
    this.inflight.shift();
    this.acked(head.end, head.seq);
    return true;
  }

  private acked(end: number, seq: number): void {
    this.status.published = end;
    this.status.publishedSeq = seq;
    this.save(false);
  }

  /** The session-end message: the journal's size, whether the day is sealed, and the session's row as JSON (ns as strings). */
  private async publishEnd(seal: boolean, session: SessionRecord | undefined): Promise<void> {
    const { day, collectorId, settings, progress } = this.o;
    const h = headers();
    h.set(HDR.day, day);
    if (collectorId !== undefined) h.set(HDR.collector, collectorId);
    h.set(HDR.end, String(progress.size));
    h.set(HDR.seal, String(seal));
    const row = session === undefined ? '' : JSON.stringify({ ...session, id: undefined }, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    await this.js!.publish(recordSubject(settings, collectorId, day, SESSION_END), Buffer.from(row), { msgID: `${recordMsgId(day, collectorId, progress.size)}.end`, headers: h });
    this.endedAt = progress.size;
    this.save(true, true);
    this.o.log.info({ day, end: progress.size, seal }, `NATS: the whole journal is in stream ${settings.stream}; session end published${seal ? ' (the store seals the day)' : ''}`);
  }

  private rewind(): void {
    this.tail.offset = this.status.published;
    this.tail.seq = this.status.publishedSeq;
  }

  private channelOf(id: number): JournalChannel {
    // Registered after we read the sidecar: the writer writes it before any record uses it.
    if (this.channels[id] === undefined) this.channels = readChannels(this.o.journalFile);
    const ch = this.channels[id];
    if (ch === undefined) throw new Error(`${this.o.journalFile}: record on channel ${id}, which its channels file does not list`);
    return ch;
  }

  /** Persists the checkpoint now and then (a restart republishes at most what came after it). */
  private save(force: boolean, ended = false): void {
    if (!ended && (this.status.published === this.saved || (!force && Date.now() - this.savedAt < CHECKPOINT_MS))) return;
    writeFileAtomic(publishedPath(this.o.journalFile), JSON.stringify({ stream: this.o.settings.stream, offset: this.status.published, seq: this.status.publishedSeq, endedAt: this.endedAt } satisfies Checkpoint));
    this.saved = this.status.published;
    this.savedAt = Date.now();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
