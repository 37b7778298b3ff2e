// The Arrow sink: each batch from the tape becomes one record batch per channel, appended to the
// open part file of that channel (Arrow IPC file format, written synchronously to a hidden
// temporary file). The open parts of all channels form one generation with one part number and
// one journal range; they roll together (when any reaches `partRows`) so that "covered up to
// offset X" holds for every channel at once. Finishing a generation: footers (with the journal
// range) written and fsynced for every channel first, then each file renamed into place — so
// after a crash a generation either has no finished file (its temporaries are deleted and
// recovery rebuilds it from the journal) or all its temporaries are complete (they are renamed).
import fs from 'node:fs';
import path from 'node:path';
import { RecordBatchFileWriter, type RecordBatch } from 'apache-arrow';
import type { Logger } from 'pino';
import type { RowBatch } from './batch.js';
import { writeFileAtomic } from './journal.js';
import { FlowBatchBuilder, SnapshotBatchBuilder, TradeBatchBuilder, utf8Data, type PartStats } from './arrow-batches.js';
import { ARROW_CHANNELS, ARROW_TIME_ZONE, META, channelDir, coveredPath, parsePartName, partFileName, readPartInfo, type ArrowChannel } from './arrow-format.js';

export interface ArrowSinkOptions {
  dataDir: string;
  day: string;
  /** Distinguishes the parts of several collectors writing the same day (file name suffix). */
  collectorId?: string;
  log: Logger;
  /** Rows per part file and channel before the parts roll (default 1,000,000). */
  partRows?: number;
}

/**
 * A file writer that hands its bytes to us synchronously instead of queueing them for a stream,
 * and writes each dictionary once, whole, after the record batches: the IPC file format lets
 * readers find dictionaries anywhere through the footer, while a dictionary that grows during a
 * part would otherwise need delta batches, which Polars (among others) cannot read.
 */
class PartFileWriter extends RecordBatchFileWriter {
  private chunks: Uint8Array[] = [];
  private last: RecordBatch | null = null;

  protected override _writeDictionaries(batch: RecordBatch): this {
    this.last = batch;
    return this;
  }

  /** Before close(): the dictionaries of the last batch (each a superset of the earlier ones'). */
  writeDictionaries(): void {
    for (const [id, dict] of this.last?.dictionaries ?? []) {
      this._writeDictionaryBatch(dict.data.length === 1 ? dict.data[0] : utf8Data(dict.toArray() as string[]), id, false);
    }
  }

  protected override _write(chunk: unknown): this {
    if (this._started && ArrayBuffer.isView(chunk) && chunk.byteLength > 0) {
      this.chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this._position += chunk.byteLength;
    }
    return this;
  }

  /** The footer carries the only copy of the schema in an IPC file, so metadata set before close lands there. */
  setFooterMetadata(entries: Record<string, string>): void {
    for (const [k, v] of Object.entries(entries)) this._schema!.metadata.set(k, v);
  }

  writeTo(fd: number): void {
    let chunks = this.chunks;
    this.chunks = [];
    while (chunks.length > 0) {
      let written = fs.writevSync(fd, chunks);
      // A short write: drop what went out and retry the rest.
      let i = 0;
      while (i < chunks.length && written >= chunks[i].byteLength) written -= chunks[i++].byteLength;
      chunks = chunks.slice(i);
      if (written > 0) chunks[0] = chunks[0].subarray(written);
    }
  }
}

interface ChannelPart {
  channel: ArrowChannel;
  tmpPath: string;
  finalPath: string;
  fd: number;
  writer: PartFileWriter;
  stats: PartStats;
}

interface Generation {
  part: number | null;
  journalFile: string;
  fromOffset: number;
  fromSeq: number;
  toOffset: number;
  toSeq: number;
  channels: Map<ArrowChannel, ChannelPart>;
  trades: TradeBatchBuilder;
  snapshots: SnapshotBatchBuilder;
  flows: FlowBatchBuilder;
}

const COLLECTOR_ID = /^[A-Za-z0-9_-]+$/;

export class ArrowSink {
  /** Per journal file: end offset and end seq covered by finished parts. */
  private readonly covered = new Map<string, { offset: number; seq: number }>();
  /** Journals whose coverage goes past their last finished part (noted in the day's covered file on close). */
  private readonly uncoveredTail = new Set<string>();
  private nextPart = 0;
  private gen: Generation | null = null;
  private readonly partRows: number;
  private readonly log: Logger;

  private constructor(private readonly opts: ArrowSinkOptions) {
    this.partRows = opts.partRows ?? 1_000_000;
    this.log = opts.log;
  }

  static open(opts: ArrowSinkOptions): ArrowSink {
    if (opts.collectorId !== undefined && !COLLECTOR_ID.test(opts.collectorId)) {
      throw new Error(`collectorId must be letters, digits, '_' or '-' (it is part of file names), got ${JSON.stringify(opts.collectorId)}`);
    }
    if (opts.partRows !== undefined && !(Number.isSafeInteger(opts.partRows) && opts.partRows > 0)) throw new Error(`partRows must be a positive integer, got ${opts.partRows}`);
    const sink = new ArrowSink(opts);
    for (const ch of ARROW_CHANNELS) fs.mkdirSync(channelDir(opts.dataDir, opts.day, ch), { recursive: true });
    sink.recover();
    return sink;
  }

  /** End offset in `journalFile` covered by finished parts: the journal must be replayed from here. */
  resumeOffset(journalFile: string): number {
    return this.covered.get(journalFile)?.offset ?? 0;
  }

  write(batch: RowBatch): void {
    const j = batch.journal;
    if (this.gen && this.gen.journalFile !== j.file) this.finishGeneration();
    const done = this.covered.get(j.file);
    // Replays that start before what finished parts hold must not store rows twice. The tape cuts
    // its recovery batches at each sink's resume offset, so a batch is either covered or not.
    if (done && j.fromSeq < done.seq) {
      if (j.toSeq <= done.seq) return;
      throw new Error(`arrow: batch of journal records [${j.fromSeq}, ${j.toSeq}) straddles finished parts ending at record ${done.seq}`);
    } else if (!this.gen && done && j.fromOffset > done.offset) {
      this.log.warn({ journal: j.file, coveredOffset: done.offset, fromOffset: j.fromOffset }, 'arrow: journal range skipped; rows in between are not in Arrow');
    }
    const gen = (this.gen ??= {
      part: null,
      journalFile: j.file,
      fromOffset: j.fromOffset,
      fromSeq: j.fromSeq,
      toOffset: j.toOffset,
      toSeq: j.toSeq,
      channels: new Map(),
      trades: new TradeBatchBuilder(),
      snapshots: new SnapshotBatchBuilder(),
      flows: new FlowBatchBuilder(),
    });
    gen.toOffset = j.toOffset;
    gen.toSeq = j.toSeq;
    if (batch.trades.length > 0) this.append(gen, 'trades', gen.trades.build(batch.trades), gen.trades.stats);
    if (batch.snapshots.length > 0) this.append(gen, 'snapshots', gen.snapshots.build(batch.snapshots), gen.snapshots.stats);
    if (batch.flows.length > 0) this.append(gen, 'sector_flows', gen.flows.build(batch.flows), gen.flows.stats);
    if (gen.trades.stats.rows >= this.partRows || gen.snapshots.stats.rows >= this.partRows || gen.flows.stats.rows >= this.partRows) {
      this.finishGeneration();
    }
  }

  /** Finishes the open parts. The sink is not used afterwards. */
  close(): void {
    this.finishGeneration();
    // A journal's last records may decode to no Arrow rows (events, sent frames): note that they
    // are covered too, so the next start does not read the journal again for nothing.
    if (this.uncoveredTail.size > 0) {
      const file = coveredPath(this.opts.dataDir, this.opts.day, this.opts.collectorId);
      writeFileAtomic(file, JSON.stringify(Object.fromEntries(this.covered)));
    }
  }

  /**
   * After a failed write: deletes the open parts instead of finishing them, so no footer claims
   * rows a part may not hold; the next sink resumes from the last finished part. Not used afterwards.
   */
  abandon(): void {
    const gen = this.gen;
    this.gen = null;
    for (const p of gen?.channels.values() ?? []) {
      try {
        fs.closeSync(p.fd);
      } catch {
        // Already closed by a failed finish: the file is removed all the same.
      }
      fs.rmSync(p.tmpPath, { force: true });
    }
  }

  private append(gen: Generation, channel: ArrowChannel, rb: RecordBatch, stats: PartStats): void {
    let cp = gen.channels.get(channel);
    if (!cp) {
      gen.part ??= this.nextPart++;
      const dir = channelDir(this.opts.dataDir, this.opts.day, channel);
      const tmpPath = path.join(dir, partFileName(gen.part, this.opts.collectorId, true));
      cp = { channel, tmpPath, finalPath: path.join(dir, partFileName(gen.part, this.opts.collectorId, false)), fd: fs.openSync(tmpPath, 'w'), writer: new PartFileWriter(), stats };
      gen.channels.set(channel, cp);
    }
    cp.writer.write(rb);
    cp.writer.writeTo(cp.fd);
  }

  private finishGeneration(): void {
    const gen = this.gen;
    this.gen = null;
    if (!gen) return;
    if (gen.part === null) {
      // Batches with no Arrow rows: covered as soon as they are seen.
      this.cover(gen.journalFile, gen.toOffset, gen.toSeq);
      this.uncoveredTail.add(gen.journalFile);
      return;
    }
    const parts = [...gen.channels.values()];
    const names = parts.map((p) => p.channel).join(',');
    for (const p of parts) {
      const s = p.stats;
      p.writer.setFooterMetadata({
        [META.timeZone]: ARROW_TIME_ZONE,
        [META.day]: this.opts.day,
        [META.channel]: p.channel,
        [META.collector]: this.opts.collectorId ?? '',
        [META.journalFile]: gen.journalFile,
        [META.fromOffset]: String(gen.fromOffset),
        [META.toOffset]: String(gen.toOffset),
        [META.fromSeq]: String(gen.fromSeq),
        [META.toSeq]: String(gen.toSeq),
        [META.partChannels]: names,
        [META.rows]: String(s.rows),
        [META.minRecvNs]: s.minRecvNs === null ? '' : String(s.minRecvNs),
        [META.maxRecvNs]: s.maxRecvNs === null ? '' : String(s.maxRecvNs),
        [META.minExchNs]: s.minExchMs === null ? '' : String(BigInt(s.minExchMs) * 1_000_000n),
        [META.maxExchNs]: s.maxExchMs === null ? '' : String(BigInt(s.maxExchMs) * 1_000_000n),
        [META.batchMinRecvNs]: s.batchMinRecvNs.join(','),
        [META.batchMinExchNs]: s.batchMinExchMs.map((ms) => (ms === null ? '' : String(BigInt(ms) * 1_000_000n))).join(','),
      });
      p.writer.writeDictionaries();
      p.writer.close();
      p.writer.writeTo(p.fd);
      fs.fsyncSync(p.fd);
      fs.closeSync(p.fd);
    }
    // Every temporary is complete and durable before the first rename (see the file comment).
    for (const p of parts) fs.renameSync(p.tmpPath, p.finalPath);
    for (const p of parts) syncDir(path.dirname(p.finalPath));
    this.covered.set(gen.journalFile, { offset: gen.toOffset, seq: gen.toSeq });
    this.log.info(
      { day: this.opts.day, part: gen.part, channels: names, rows: parts.map((p) => p.stats.rows).join(','), journal: gen.journalFile, fromOffset: gen.fromOffset, toOffset: gen.toOffset },
      'arrow part finished',
    );
  }

  /** Finds finished parts (what they cover, the next part number) and settles leftover temporaries. */
  private recover(): void {
    const { dataDir, day, collectorId } = this.opts;
    const finished = new Map<number, ArrowChannel[]>();
    const temporaries: { channel: ArrowChannel; part: number; file: string }[] = [];
    for (const channel of ARROW_CHANNELS) {
      const dir = channelDir(dataDir, day, channel);
      for (const name of fs.readdirSync(dir)) {
        const p = parsePartName(name);
        if (!p || p.collectorId !== collectorId) continue;
        this.nextPart = Math.max(this.nextPart, p.part + 1);
        const file = path.join(dir, name);
        if (p.tmp) {
          temporaries.push({ channel, part: p.part, file });
          continue;
        }
        const info = readPartInfo(file, channel);
        finished.set(p.part, info.partChannels);
        this.cover(info.journal.file, info.journal.toOffset, info.journal.toSeq);
      }
    }
    const coveredFile = coveredPath(dataDir, day, collectorId);
    if (fs.existsSync(coveredFile)) {
      for (const [file, c] of Object.entries(JSON.parse(fs.readFileSync(coveredFile, 'utf8')) as Record<string, { offset: number; seq: number }>)) this.cover(file, c.offset, c.seq);
    }
    for (const t of temporaries) {
      const final = path.join(path.dirname(t.file), partFileName(t.part, collectorId, false));
      if (finished.get(t.part)?.includes(t.channel)) {
        fs.renameSync(t.file, final);
        syncDir(path.dirname(final));
        this.log.warn({ file: final }, 'arrow: finished a part left complete but not yet renamed by a crash');
      } else {
        fs.unlinkSync(t.file);
        this.log.warn({ file: t.file }, 'arrow: removed an unfinished part; its rows are rebuilt from the journal');
      }
    }
  }

  private cover(file: string, offset: number, seq: number): void {
    const c = this.covered.get(file);
    if (!c || offset > c.offset) this.covered.set(file, { offset, seq });
  }
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
