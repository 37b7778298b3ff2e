// The reader API's SQLite back end. Each stream runs on its own read-only connection, so several
// streams (e.g. the channels a replay merges) can be open at once; rows come through
// `stmt.iterate()`, so memory stays flat however long the day.
import Database from 'better-sqlite3';
import type { Market, SnapshotKind } from '../protocol/market.js';
import type { ArrowChannel } from './arrow-format.js';
import type { TradeKind } from './batch.js';
import { CHUNK_ROWS, type ResolvedQuery, type SectorFlowRow, type StoredSnapshotRow, type TradeRow } from './reader-query.js';

const TABLES: readonly ArrowChannel[] = ['trades', 'snapshots', 'sector_flows'];

export function openReadOnly(file: string): Database.Database {
  return new Database(file, { readonly: true, fileMustExist: true });
}

/** Days with rows, sessions or quarantined frames in the database, ascending. */
export function sqliteDays(db: Database.Database): string[] {
  const present = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  const days = new Set<string>();
  for (const t of ['sessions', 'symbols', 'sealed_days']) {
    if (present.has(t)) for (const d of db.prepare(`SELECT DISTINCT day FROM ${t}`).pluck().all() as string[]) days.add(d);
  }
  // Skip-scan: one index probe per day where (day, …) is indexed; `trades` is a view over
  // trades_sealed (indexed) and trades_live (the days being captured), so those are probed instead.
  for (const t of ['trades', 'trades_sealed', 'trades_live', 'snapshots', 'sector_flows', 'quarantine']) {
    if (!present.has(t)) continue;
    const sql = `WITH RECURSIVE d(day) AS (SELECT MIN(day) FROM ${t} UNION ALL SELECT (SELECT MIN(day) FROM ${t} WHERE day > d.day) FROM d WHERE d.day IS NOT NULL) SELECT day FROM d WHERE day IS NOT NULL`;
    for (const d of db.prepare(sql).pluck().all() as string[]) days.add(d);
  }
  return [...days].sort();
}

interface Sql {
  text: string;
  params: unknown[];
}

/** WHERE and ORDER BY for one table: the window and the order use the receive or exchange expression. */
function select(columns: string, table: string, q: ResolvedQuery, opts: { symbolFilter: boolean; exchange: string | null; receive: string; tieBreak: string }): Sql {
  const where = ['day = ?'];
  const params: unknown[] = [q.day];
  if (opts.symbolFilter && q.markets) {
    where.push('market IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify([...q.markets]));
  }
  if (opts.symbolFilter && q.symbols) {
    where.push('symbol IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify([...q.symbols]));
  }
  const key = q.time === 'exchange' && opts.exchange ? opts.exchange : opts.receive;
  if (q.from !== null) {
    where.push(`${key} >= ?`);
    params.push(q.from);
  }
  if (q.to !== null) {
    where.push(`${key} < ?`);
    params.push(q.to);
  }
  const order = key === opts.receive ? `${opts.receive}, ${opts.tieBreak}` : `${key}, ${opts.receive}, ${opts.tieBreak}`;
  return { text: `SELECT ${columns} FROM ${table} WHERE ${where.join(' AND ')} ORDER BY ${order}`, params };
}

export class SqliteStore {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    this.db = openReadOnly(file);
  }

  /** Days with any stored row or session, ascending. */
  days(): string[] {
    return sqliteDays(this.db);
  }

  channels(day: string): ArrowChannel[] {
    return TABLES.filter((t) => this.db.prepare(`SELECT 1 FROM ${t} WHERE day = ? LIMIT 1`).get(day) !== undefined);
  }

  async *trades(q: ResolvedQuery): AsyncGenerator<TradeRow[]> {
    const sql = select('market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx, trd_vol, kind', 'trades', q, { symbolFilter: true, exchange: 'COALESCE(exch_ts, recv_ns)', receive: 'recv_ns', tieBreak: 'src_seq, src_idx' });
    yield* this.stream(sql, (r) => ({
      day: q.day,
      market: r[0] as Market,
      symbol: r[1] as string,
      exchNs: r[2] as bigint | null,
      price: Number(r[3]),
      qty: Number(r[4]),
      recvNs: r[5] as bigint,
      srcSeq: Number(r[6]),
      srcIdx: Number(r[7]),
      trdVol: Number(r[8]),
      kind: r[9] as TradeKind,
    }));
  }

  async *snapshots(q: ResolvedQuery): AsyncGenerator<StoredSnapshotRow[]> {
    const sql = select('taken_ns, kind, market, symbol, price, open, high, low, acc_volume, acc_value, src_seq', 'snapshots', q, { symbolFilter: true, exchange: null, receive: 'taken_ns', tieBreak: 'src_seq, rowid' });
    yield* this.stream(sql, (r) => ({
      day: q.day,
      takenNs: r[0] as bigint,
      kind: r[1] as SnapshotKind,
      market: r[2] as Market,
      symbol: r[3] as string,
      price: Number(r[4]),
      open: Number(r[5]),
      high: Number(r[6]),
      low: Number(r[7]),
      accVolume: Number(r[8]),
      accValue: Number(r[9]),
      srcSeq: Number(r[10]),
    }));
  }

  async *sectorFlows(q: ResolvedQuery): AsyncGenerator<SectorFlowRow[]> {
    const sql = select('recv_ns, exch_ts, upcode, tjjcode, tjjtime, msvolume, mdvolume, msvol, p_msvol, msvalue, mdvalue, msval, p_msval, src_seq', 'sector_flows', q, {
      symbolFilter: false,
      exchange: 'COALESCE(exch_ts, recv_ns)',
      receive: 'recv_ns',
      tieBreak: 'src_seq, rowid',
    });
    yield* this.stream(sql, (r) => ({
      day: q.day,
      recvNs: r[0] as bigint,
      exchNs: r[1] as bigint | null,
      upcode: r[2] as string,
      tjjcode: r[3] as string,
      tjjtime: r[4] as string,
      msvolume: Number(r[5]),
      mdvolume: Number(r[6]),
      msvol: Number(r[7]),
      p_msvol: Number(r[8]),
      msvalue: Number(r[9]),
      mdvalue: Number(r[10]),
      msval: Number(r[11]),
      p_msval: Number(r[12]),
      srcSeq: Number(r[13]),
    }));
  }

  close(): void {
    this.db.close();
  }

  private async *stream<R>(sql: Sql, row: (r: unknown[]) => R): AsyncGenerator<R[]> {
    const db = openReadOnly(this.file);
    try {
      // safeIntegers: ns times exceed 2^53 and must come back as bigint.
      const stmt = db.prepare(sql.text).raw(true).safeIntegers(true);
      let chunk: R[] = [];
      for (const r of stmt.iterate(...sql.params) as IterableIterator<unknown[]>) {
        chunk.push(row(r));
        if (chunk.length === CHUNK_ROWS) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length > 0) yield chunk;
    } finally {
      db.close();
    }
  }
}
