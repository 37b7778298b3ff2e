// `ticktape store --from nats://…`: the other end of the bus. A durable JetStream consumer reads
// the records collectors published (publish/nats-publisher.ts) and writes each collector's day into
// a local journal of the same name (`<day>[.<collector>].journal`) at the same offsets, so that the
// stores that follow it — the same follower threads as a local capture, SQLite and Arrow — produce
// the collector's data directory. A message is acknowledged only once its record is durable in the
// local journal (fdatasync); a redelivered or republished record is known by its offset and only
// acknowledged. The collector's session-end message closes the local journal: the stores catch up,
// SQLite seals the day when the collector did, then compaction and retention run (afterSeal).
//
// One source copy per (day, collector): a later merge of two collectors' copies of the same feed
// (A/B capture) sits between the messages of each source and the local journal.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, type Consumer, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { CollectorConfig } from '../collector/config.js';
import type { LiveSession } from '../collector/session.js';
import { type FollowerThread, followJournal, type StoreLag } from '../followers/follower-thread.js';
import type { TradingDay } from '../protocol/time.js';
import { type ChannelSpec, Journal, JOURNAL_START, journalPath, type RecordFlag } from '../storage/journal.js';
import { diskStatus } from '../storage/disk.js';
import { archivePath } from '../storage/journal-archive.js';
import { openReadOnly } from '../storage/reader-sqlite.js';
import { databaseFile, type SessionRecord, SqliteSink } from '../storage/sqlite-sink.js';
import { JournalProgress } from '../storage/journal-progress.js';
import { redactUrl } from './nats-settings.js';
import { connectionOptions, ensureStream, HDR, UNNAMED_COLLECTOR } from './nats-stream.js';

export interface BusStoreOptions {
  config: CollectorConfig;
  url: string;
  /** The durable consumer's name: one per store (two stores with one name share the work). */
  durable: string;
  log: Logger;
  signal: AbortSignal;
  /** Called as each record is durable in the local journal, with its capture time (bench). */
  onDurable?(recvNs: bigint): void;
  /** Called once with what /metrics and /healthz read: every copy's stores' lag, the disk. */
  onLive?(live: LiveSession): void;
  /**
   * A/B capture: collectors `a` and `b` capture the same feed. Each one's copy is kept apart
   * (abSideDir) with no stores of its own; once both sessions of a day ended (or one ended and
   * the other did not within `waitMs`), the day is their merge (followers/ab-journals.ts).
   */
  ab?: { a: string; b: string; waitMs: number };
}

/** Where the copy of an A/B collector's journals lives: apart from the day's own (merged) journal. */
export function abSideDir(dataDir: string, collector: string): string {
  return path.join(dataDir, 'ab', collector);
}

/** Messages the consumer may hold unacknowledged (records waiting for an earlier one, and the batch being synced). */
const MAX_ACK_PENDING = 20_000;
/**
 * Messages a killed store had been handed come again after this long (a restarted store waits that
 * long for them at most); a live store only gets a slow or held record again, which it knows.
 */
const ACK_WAIT_NS = 10e9;
const STREAM_ATTEMPTS = 60;
/** Records held this long waiting for an earlier one are reported (it may have left the stream). */
const GAP_WARN_MS = 30_000;

/** A message of the stream, checked: a record of a collector's journal, or its session's end. */
type BusMessage = { day: TradingDay; collector?: string } & ({ kind: 'record'; offset: number; channel: ChannelSpec; flags: RecordFlag; recvNs: bigint } | { kind: 'end'; size: number; seal: boolean; session?: SessionRecord });

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const COLLECTOR = /^[A-Za-z0-9_-]{1,32}$/;
const INTEGER = /^\d{1,18}$/;

/**
 * The message's fields, or why it is not one of ours. Day and collector become file names, so
 * they are checked as strictly as the collector's own configuration checks them.
 */
export function parseBusMessage(m: Pick<JsMsg, 'headers'> & { data?: Uint8Array }): BusMessage | string {
  const h = m.headers;
  if (h === undefined) return 'no headers';
  const day = h.get(HDR.day);
  if (!DAY.test(day)) return `${HDR.day} ${JSON.stringify(day)} is not a day YYYY-MM-DD`;
  const collector = h.has(HDR.collector) ? h.get(HDR.collector) : undefined;
  if (collector !== undefined && !COLLECTOR.test(collector)) return `${HDR.collector} ${JSON.stringify(collector)} is not a collector id`;
  if (h.has(HDR.end)) {
    const size = h.get(HDR.end);
    if (!INTEGER.test(size)) return `${HDR.end} ${JSON.stringify(size)} is not a journal size`;
    const session = m.data === undefined || m.data.length === 0 ? undefined : sessionRow(Buffer.from(m.data).toString('utf8'), day, collector);
    if (typeof session === 'string') return session;
    return { day, collector, kind: 'end', size: Number(size), seal: h.get(HDR.seal) === 'true', session };
  }
  const [offset, flags, recvNs] = [h.get(HDR.offset), h.get(HDR.flags), h.get(HDR.recvNs)];
  if (!INTEGER.test(offset) || Number(offset) < JOURNAL_START) return `${HDR.offset} ${JSON.stringify(offset)} is not a journal offset`;
  if (!/^[0-2]$/.test(flags)) return `${HDR.flags} ${JSON.stringify(flags)} are not a journal record's`;
  if (!/^-?\d{1,19}$/.test(recvNs)) return `${HDR.recvNs} ${JSON.stringify(recvNs)} is not a time in ns`;
  let channel: ChannelSpec;
  try {
    channel = JSON.parse(h.get(HDR.channel)) as ChannelSpec;
  } catch {
    return `${HDR.channel} is not JSON`;
  }
  if (typeof channel?.name !== 'string' || typeof channel.kind !== 'string' || typeof channel.vendor !== 'string') return `${HDR.channel} names no channel`;
  return { day, collector, kind: 'record', offset: Number(offset), channel, flags: Number(flags) as RecordFlag, recvNs: BigInt(recvNs) };
}

/** The session's row a session-end message carries (ns as strings), or why it is not one. */
function sessionRow(text: string, day: TradingDay, collector: string | undefined): SessionRecord | string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return 'its session row is not JSON';
  }
  const ns = (v: unknown) => typeof v === 'string' && /^\d{1,19}$/.test(v);
  if (typeof r.status !== 'string' || !ns(r.startedNs) || (r.endedNs !== undefined && !ns(r.endedNs))) return 'its session row has no status or times';
  // The row is this collector's and this day's, whatever it says.
  return { ...(r as unknown as SessionRecord), id: undefined, day, collector: collector ?? '', startedNs: BigInt(r.startedNs as string), endedNs: r.endedNs === undefined ? undefined : BigInt(r.endedNs as string) };
}

type RecordMessage = Extract<BusMessage, { kind: 'record' }>;

interface SessionEnd {
  size: number;
  seal: boolean;
  session?: SessionRecord;
  msg: JsMsg;
}

/** One collector's day, copied from the stream into the local journal and stored. */
class SourceCopy {
  private readonly progress = new JournalProgress();
  private readonly stores: FollowerThread[];
  /** Records that arrived before an earlier one (a publisher's retry reorders), by offset. */
  private readonly ahead = new Map<number, { m: JsMsg; r: RecordMessage }>();
  private aheadSinceMs = 0;
  private gapWarned = false;
  /** Appended, not yet synced: acknowledged after the next fdatasync. */
  private toAck: { m: JsMsg; recvNs: bigint }[] = [];
  private end: SessionEnd | undefined;
  finishing: Promise<void> | undefined;

  constructor(
    private readonly o: BusStoreOptions,
    readonly day: TradingDay,
    readonly collectorId: string | undefined,
    private readonly journal: Journal,
    /** One side of an A/B pair: copied only, stored once merged with the other side. */
    readonly abSide = false,
  ) {
    this.progress.appended(journal.size, journal.seq, 0n, true);
    const { config } = o;
    this.stores = abSide ? [] : followJournal(config, { day, journalFile: journal.file, collectorId, progress: this.progress, log: o.log });
  }

  get size(): number {
    return this.journal.size;
  }

  /** How far each of its stores is behind the copy. */
  lags(): StoreLag[] {
    const source = `${this.day}${this.collectorId === undefined ? '' : `.${this.collectorId}`}`;
    return this.stores.map((s) => ({ ...s.lag(this.progress), source }));
  }

  /** A record message: appended if it is the next record, held if it is ahead, acknowledged if known. */
  record(m: JsMsg, r: RecordMessage): void {
    if (r.offset < this.journal.size) {
      m.ack();
      return;
    }
    if (r.offset > this.journal.size) {
      // Held already: this is it again (acknowledging either acknowledges the message, so neither is yet).
      if (this.ahead.size === 0) this.aheadSinceMs = Date.now();
      this.ahead.set(r.offset, { m, r });
      return;
    }
    this.append(m, r);
    for (let next = this.ahead.get(this.journal.size); next !== undefined; next = this.ahead.get(this.journal.size)) {
      this.ahead.delete(this.journal.size);
      this.append(next.m, next.r);
    }
    if (this.ahead.size > 0) this.aheadSinceMs = Date.now();
    this.gapWarned = false;
  }

  private append(m: JsMsg, r: RecordMessage): void {
    this.journal.append(this.journal.channel(r.channel), r.flags, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), r.recvNs);
    this.progress.appended(this.journal.size, this.journal.seq, r.recvNs, false);
    this.toAck.push({ m, recvNs: r.recvNs });
  }

  /** The session-end message that finished this copy (an A/B side's, acknowledged after the merge). */
  get endMessage(): JsMsg | undefined {
    return this.end?.msg;
  }

  /** The collector's session ended with its journal at `size`: finish once the copy has it all. */
  sessionEnd(m: JsMsg, end: Extract<BusMessage, { kind: 'end' }>): void {
    // A later session's end supersedes an earlier one (whose row is still written); the same one delivered again replaces it.
    const earlier = this.end;
    if (earlier !== undefined && earlier.msg.seq !== m.seq) void this.writeSession(earlier).then(() => earlier.msg.ack());
    this.end = { size: end.size, seal: end.seal, session: end.session, msg: m };
  }

  /** The A/B side's session rows, written with the merged day. */
  readonly sessions: SessionRecord[] = [];

  /** Writes the session's row on SQLite's thread (once: a row delivered again updates the same one). */
  private writeSession(end: SessionEnd): Promise<unknown> {
    if (end.session === undefined) return Promise.resolve();
    if (this.abSide) {
      this.sessions.push(end.session);
      return Promise.resolve();
    }
    const r = end.session;
    const file = databaseFile(this.o.config.dataDir);
    let id: number | undefined;
    if (fs.existsSync(file)) {
      const db = openReadOnly(file);
      try {
        id = db.prepare('SELECT id FROM sessions WHERE day = ? AND collector = ? AND started_ns = ?').pluck().get(r.day, r.collector ?? '', r.startedNs) as number | undefined;
      } finally {
        db.close();
      }
    }
    return this.stores[0].writeSession({ ...r, id });
  }

  /** fdatasync, then acknowledge what it made durable; whether the collector's session is complete here. */
  sync(): boolean {
    if (this.toAck.length > 0) {
      this.journal.sync();
      this.progress.synced(this.journal.size);
      for (const { m, recvNs } of this.toAck) {
        m.ack();
        this.o.onDurable?.(recvNs);
      }
      this.toAck = [];
    }
    if (this.ahead.size > 0 && !this.gapWarned && Date.now() - this.aheadSinceMs > GAP_WARN_MS) {
      this.gapWarned = true;
      this.o.log.error({ journal: this.journal.file, waitingFor: this.journal.size, held: this.ahead.size }, `${this.journal.file}: waiting ${GAP_WARN_MS / 1000} s for the record at offset ${this.journal.size} while ${this.ahead.size} later ones are held; it may have left the stream (TICKTAPE_NATS_MAX_AGE)`);
    }
    const end = this.end;
    if (end === undefined || this.journal.size < end.size) return false;
    if (!end.seal) {
      // An interrupted session: the collector's next session of the day goes on in the same journal.
      this.end = undefined;
      void this.writeSession(end).then(() => end.msg.ack());
      return false;
    }
    return true;
  }

  /** The stores catch up with the closed journal and SQLite seals the day; whether it did. */
  async finish(seal: boolean): Promise<boolean> {
    const { config, log } = this.o;
    this.sync();
    this.progress.close();
    if (seal && this.end !== undefined) void this.writeSession(this.end);
    // Stopping (no seal) leaves the stores less time: the next start catches up from their checkpoints.
    const results = await Promise.all(this.stores.map((s) => s.finish(seal && s.store === 'sqlite', seal ? config.stores.catchUpMs : Math.min(config.stores.catchUpMs, 5_000))));
    for (const r of results) for (const p of r.problems) log.warn(`${this.journal.file}: ${p}`);
    this.journal.close();
    if (this.abSide) {
      // Its end is acknowledged once the merged day is stored (endMessage): a store killed before gets it again.
      return seal && this.end !== undefined;
    }
    const sealed = results.some((r) => r.sealed);
    if (sealed) {
      log.info({ day: this.day, collector: this.collectorId }, `${this.day}${this.collectorId ? ` (${this.collectorId})` : ''}: the collector's session ended; stored and sealed`);
      // Acknowledged once sealed: a store killed before gets the session end again.
      this.end?.msg.ack();
    }
    this.end = undefined;
    return sealed;
  }
}

/** Consumes the stream into the data directory until `signal` aborts. */
export async function runBusStore(o: BusStoreOptions): Promise<void> {
  const { config, log } = o;
  const settings = config.nats;
  const nc = await connect({ ...connectionOptions(o.url, `ticktape store ${o.durable}`), waitOnFirstConnect: true });
  log.info({ nats: redactUrl(o.url), stream: settings.stream, durable: o.durable, dataDir: config.dataDir }, `store: consuming NATS stream ${settings.stream} as ${o.durable} into ${config.dataDir}`);
  const copies = new Map<string, SourceCopy>();
  // No sockets, REST or channels of its own: what it shows is its stores' lag and its disk.
  o.onLive?.({
    streams: () => [],
    rest: () => [],
    channels: () => [],
    stores: () => [...copies.values()].flatMap((c) => c.lags()),
    maxStoreLagSeconds: config.stores.maxLagMs / 1000,
    disk: () => diskStatus(config.dataDir, config.retention.minFreeBytes),
    onBatch: () => undefined,
  });
  let syncTimer: NodeJS.Timeout | undefined;
  let history = Promise.resolve();
  // A/B capture: the sides of each day that ended, merged into the day once both have (or the wait ran out).
  const abEnded = new Map<TradingDay, { sides: SourceCopy[]; timer?: NodeJS.Timeout }>();
  const abSide = (collector: string | undefined): collector is string => o.ab !== undefined && (collector === o.ab.a || collector === o.ab.b);
  const copyFile = (day: TradingDay, collector: string | undefined) => journalPath(abSide(collector) ? abSideDir(config.dataDir, collector) : config.dataDir, day, collector);
  const openCopy = (day: TradingDay, collector: string | undefined): SourceCopy => {
    const file = copyFile(day, collector);
    const copy = new SourceCopy(o, day, collector, Journal.open(file, { log, fsync: 'off' }), abSide(collector));
    copies.set(`${day}.${collector ?? UNNAMED_COLLECTOR}`, copy);
    log.info({ journal: file, size: copy.size }, `store: copying ${day}${collector ? ` of collector ${collector}` : ''} into ${file} from offset ${copy.size}`);
    return copy;
  };
  try {
    // A cluster electing a leader (at start, or after a node stopped) answers "temporarily
    // unavailable", or not at all (the request times out), for a few seconds: the stream and the
    // consumer are set up again until it answers.
    let messages: Awaited<ReturnType<Consumer['consume']>>;
    const consumer = { durable_name: o.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: `${settings.subjectPrefix}.>`, max_ack_pending: MAX_ACK_PENDING, ack_wait: ACK_WAIT_NS };
    for (let attempt = 1; ; attempt++) {
      try {
        const jsm = await jetstreamManager(nc);
        await ensureStream(jsm, { ...settings, url: o.url });
        const exists = await jsm.consumers.info(settings.stream, o.durable).then(
          () => true,
          () => false,
        );
        if (!exists) await jsm.consumers.add(settings.stream, consumer);
        else await jsm.consumers.update(settings.stream, o.durable, { ack_wait: ACK_WAIT_NS, max_ack_pending: MAX_ACK_PENDING });
        messages = await jetstream(nc).consumers.get(settings.stream, o.durable).then((c) => c.consume({ max_messages: 1_000 }));
        break;
      } catch (e) {
        if (o.signal.aborted || attempt >= STREAM_ATTEMPTS) throw e;
        log.warn({ err: (e as Error).message, attempt }, `store: NATS stream ${settings.stream} or its consumer ${o.durable} not ready (${(e as Error).message}); trying again in 1 s`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    // Journals whose stores fell behind (a store killed before they caught up) catch up now, not at their next message.
    const { journalsBehind } = await import('../followers/catch-up.js');
    for (const j of journalsBehind(config.dataDir)) if (j.behind.length > 0) openCopy(j.day, j.collectorId);
    o.signal.addEventListener('abort', () => void messages.close(), { once: true });

    // Compaction and retention, one at a time, once the last collector of a day copied here has ended.
    const afterSealed = (day: TradingDay) =>
      (history = history.then(async () => {
        if ([...copies.values()].some((c) => c.day === day)) return;
        try {
          const { afterSeal } = await import('../storage/after-seal.js');
          await afterSeal(config.dataDir, day, config.retention, log);
        } catch (e) {
          log.error({ err: e, day }, `compaction or retention after the seal of ${day} failed: ${(e as Error).message}; \`ticktape compact --day ${day}\` and \`ticktape retain\` run it by hand`);
        }
      }));
    const mergeAb = (day: TradingDay) => {
      const pending = abEnded.get(day);
      if (pending === undefined || o.ab === undefined) return history;
      abEnded.delete(day);
      clearTimeout(pending.timer);
      const { a, b } = o.ab;
      const merged = history.then(async () => {
        try {
          const { mergeAbJournals } = await import('../followers/ab-journals.js');
          const r = await mergeAbJournals({ day, a: { name: a, dataDir: abSideDir(config.dataDir, a), optional: true }, b: { name: b, dataDir: abSideDir(config.dataDir, b), optional: true }, dataDir: config.dataDir, log, replace: true });
          const sink = SqliteSink.open({ dataDir: config.dataDir, log, walCheckpointMs: 0 });
          try {
            for (const side of pending.sides) for (const row of side.sessions) sink.writeSession(row);
          } finally {
            await sink.close();
          }
          for (const g of r.gaps) log.info({ day, ...g, fromNs: String(g.fromNs), toNs: String(g.toNs) }, `${day} ${g.channel}: ${g.filledBy} filled ${g.missedBy}'s gap, ${g.frames} frame(s), ${g.trades} trade(s)`);
          log.info({ day, ...r.counts }, `${day}: A/B day merged from ${a} and ${b} (${r.counts.both} frames from both, ${r.counts.a} from ${a} alone, ${r.counts.b} from ${b} alone), stored and sealed`);
          for (const side of pending.sides) side.endMessage?.ack();
          return true;
        } catch (e) {
          log.error({ err: e, day }, `the A/B merge of ${day} failed: ${(e as Error).message}; \`ticktape merge --day ${day}\` runs it by hand`);
          return false;
        }
      });
      history = merged.then(() => undefined);
      return merged.then((ok) => (ok ? afterSealed(day) : undefined));
    };
    const sideEnded = (copy: SourceCopy) => {
      let pending = abEnded.get(copy.day);
      if (pending === undefined) abEnded.set(copy.day, (pending = { sides: [] }));
      pending.sides.push(copy);
      if (pending.sides.length >= 2) return mergeAb(copy.day);
      pending.timer = setTimeout(() => void mergeAb(copy.day), o.ab!.waitMs);
      log.info({ day: copy.day, collector: copy.collectorId }, `${copy.day}: A/B collector ${copy.collectorId} ended; the day is merged when the other one ends (or in ${Math.round(o.ab!.waitMs / 1000)} s)`);
      return history;
    };
    const sync = () => {
      for (const [key, copy] of copies) {
        if (copy.finishing !== undefined || !copy.sync()) continue;
        copy.finishing = copy.finish(true).then(async (sealed) => {
          copies.delete(key);
          if (sealed && copy.abSide) await sideEnded(copy);
          else if (sealed) await afterSealed(copy.day);
        });
      }
    };
    syncTimer = setInterval(() => {
      try {
        sync();
      } catch (e) {
        log.error({ err: e }, `store: ${(e as Error).message}`);
      }
    }, config.batch.ms);

    for await (const m of messages) {
      const b = parseBusMessage(m);
      if (typeof b === 'string') {
        // Redelivering it would not make it readable.
        log.error({ subject: m.subject, seq: m.seq, problem: b }, `store: message ${m.seq} on ${m.subject} is not a ticktape record (${b}); skipped for good`);
        m.term();
        continue;
      }
      const { day, collector } = b;
      const key = `${day}.${collector ?? UNNAMED_COLLECTOR}`;
      let copy = copies.get(key);
      if (copy?.finishing !== undefined) {
        await copy.finishing;
        copy = undefined;
      }
      if (copy === undefined) {
        const file = copyFile(day, collector);
        // A day already sealed and compacted here: a record republished later is nothing new.
        const done = abSide(collector) ? fs.existsSync(archivePath(journalPath(config.dataDir, day))) : !fs.existsSync(file) && fs.existsSync(archivePath(file));
        if (done) {
          m.ack();
          continue;
        }
        copy = openCopy(day, collector);
      }
      if (b.kind === 'end') copy.sessionEnd(m, b);
      else copy.record(m, b);
    }
  } finally {
    clearInterval(syncTimer);
    // A side still waiting for the other is merged by the next start (its end comes again, unacknowledged).
    for (const p of abEnded.values()) clearTimeout(p.timer);
    // Stopped: what is durable is acknowledged; the stores catch up (no seal) and close.
    await Promise.all([...copies.values()].map((c) => c.finishing ?? c.finish(false)));
    await history;
    await nc.drain().catch(() => undefined);
  }
}
