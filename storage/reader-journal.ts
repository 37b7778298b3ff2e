// The reader API's last tier: a day held only as a journal (plain or compressed), decoded on the
// fly the way the tape decodes it. A collector journals stream frames in receive order, so trades
// and sector flows stream out, each held only until a later receive time shows its ties are all in;
// snapshots (REST bodies: a body's receive time can precede frames journaled before it) and a day
// with several collectors' journals are sorted in memory. The exchange clock needs every row at
// hand to order, so it is refused here: `ticktape rebuild` brings such a day back into SQLite first.
import path from 'node:path';
import fs from 'node:fs';
import type { TradingDay } from '../protocol/time.js';
import type { ArrowChannel } from './arrow-format.js';
import { MARKET_BY_CODE, type RowBatch, TRADE_KINDS } from './batch.js';
import { emptyBatch, FrameDecoder, resetBatch } from './decode.js';
import { readChannels } from './journal.js';
import { archivedJournal, dayJournalFiles, readJournalRecords } from './journal-archive.js';
import { inWindow, release } from './reader-arrow.js';
import { CHUNK_ROWS, compareReceive, type ResolvedQuery, type SectorFlowRow, type StoredSnapshotRow, type TradeRow } from './reader-query.js';

const STORED: readonly ArrowChannel[] = ['trades', 'snapshots', 'sector_flows'];

export class JournalStore {
  constructor(readonly dataDir: string) {}

  days(): TradingDay[] {
    const dir = path.join(this.dataDir, 'journal');
    if (!fs.existsSync(dir)) return [];
    return [...new Set(fs.readdirSync(dir).filter((f) => /^\d{4}-\d{2}-\d{2}(\..+)?\.journal(\.br)?$/.test(f)).map((f) => f.slice(0, 10)))].sort();
  }

  /** What a journal holds is known only by decoding it: every stored channel is assumed. */
  channels(day: TradingDay): ArrowChannel[] {
    return dayJournalFiles(this.dataDir, day).length > 0 ? [...STORED] : [];
  }

  trades(q: ResolvedQuery): AsyncGenerator<TradeRow[]> {
    return this.decoded<TradeRow>(q, compareReceive, (r) => r.recvNs, (b, out) => {
      const t = b.trades;
      for (let i = 0; i < t.length; i++) {
        const market = MARKET_BY_CODE[t.market[i]];
        if ((q.symbols && !q.symbols.has(t.symbol[i])) || (q.markets && !q.markets.has(market)) || !inWindow(t.recvNs[i], q)) continue;
        out.push({ day: q.day, market, symbol: t.symbol[i], exchNs: t.exchMs[i] === 0 ? null : BigInt(t.exchMs[i]) * 1_000_000n, price: t.price[i], qty: t.qty[i], recvNs: t.recvNs[i], srcSeq: t.srcSeq[i], srcIdx: t.srcIdx[i], trdVol: t.trdVol[i], kind: TRADE_KINDS[t.kind[i]] });
      }
    });
  }

  snapshots(q: ResolvedQuery): AsyncGenerator<StoredSnapshotRow[]> {
    const byTaken = (a: StoredSnapshotRow, b: StoredSnapshotRow) => (a.takenNs !== b.takenNs ? (a.takenNs < b.takenNs ? -1 : 1) : a.srcSeq - b.srcSeq);
    return this.decoded<StoredSnapshotRow>(q, byTaken, null, (b, out) => {
      for (const s of b.snapshots) {
        if ((q.symbols && !q.symbols.has(s.symbol)) || (q.markets && !q.markets.has(s.market)) || !inWindow(s.takenNs, q)) continue;
        out.push({ ...s, day: q.day });
      }
    });
  }

  sectorFlows(q: ResolvedQuery): AsyncGenerator<SectorFlowRow[]> {
    return this.decoded<SectorFlowRow>(q, compareReceive, (r) => r.recvNs, (b, out) => {
      for (const f of b.flows) {
        if (!inWindow(f.recvNs, q)) continue;
        const { exchMs, ...rest } = f;
        out.push({ ...rest, day: q.day, exchNs: exchMs === 0 ? null : BigInt(exchMs) * 1_000_000n });
      }
    });
  }

  /** Rows of every record through `pick`; with a receive-time `key`, streamed (one journal), else sorted at the end. */
  private async *decoded<R>(q: ResolvedQuery, compare: (a: R, b: R) => number, key: ((r: R) => bigint) | null, pick: (b: RowBatch, out: R[]) => void): AsyncGenerator<R[]> {
    if (q.time === 'exchange') throw new RangeError(`${q.day} is held only as a journal, which reads on the receive clock: run \`ticktape rebuild --day ${q.day}\` to read it on the exchange clock`);
    const files = dayJournalFiles(this.dataDir, q.day);
    const stream = key !== null && files.length === 1;
    let rows: R[] = [];
    for (const file of files) {
      const channels = new Map(readChannels(archivedJournal(file)).map((c) => [c.id, c]));
      const decoder = new FrameDecoder(q.day);
      const batch = emptyBatch(q.day, path.basename(archivedJournal(file)), 0, 0, 1024);
      for await (const r of readJournalRecords(file)) {
        decoder.decode(channels.get(r.channel), r.flags, r.recvNs, r.frame, r.bytes, batch);
        // Trades waiting for their market's trdVol reading stay in the batch until it is decided.
        if (decoder.holding) continue;
        pick(batch, rows);
        resetBatch(batch, r.end, r.seq + 1);
        // Later records are received no earlier than this one: rows before it are final.
        if (stream && rows.length >= CHUNK_ROWS) rows = yield* release(rows, r.recvNs, compare, key);
      }
      // The end of the journal: as a store that stops there, undecided markets are read per-trade.
      if (decoder.holding) decoder.settle(batch);
      pick(batch, rows);
    }
    yield* release(rows, null, compare, key ?? (() => 0n));
  }
}
