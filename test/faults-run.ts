// Shared by the fault suite (test/faults-*.test.ts): the real `ticktape collect` as a child
// process against the simulator, and the checks every scenario makes against the ground truth.
// TICKTAPE_FAULTS=full runs each scenario at its full size; unset, a bounded size for `make test`.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { emptyBatch, FrameDecoder, resetBatch } from '../storage/decode.js';
import { FLAG, journalPath, readChannels, readJournal } from '../storage/journal.js';
import { TickReader } from '../storage/reader.js';
import type { TruthRecord, TruthTrade } from '../sim/truth.js';
import { FAST_ENV } from './collector-capture.js';

export const FULL = process.env.TICKTAPE_FAULTS === 'full';

/** The bounded size for `make test`, or the full one for `make test-faults`. */
export function sized<T>(bounded: T, full: T): T {
  return FULL ? full : bounded;
}

/** Compiles dist/ when a source file is newer than it (tsc emits despite others' type errors). */
export function ensureBuilt(): void {
  const built = existsSync('dist/cli/main.js') ? statSync('dist/cli/main.js').mtimeMs : 0;
  const newest = Math.max(...['cli', 'capture', 'followers', 'collector', 'storage', 'sim', 'protocol', 'replay', 'publish'].flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(d, f)).mtimeMs) : [0])));
  if (newest > built) spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'ignore', timeout: 170_000 });
  if (!existsSync('dist/cli/main.js')) throw new Error('npm run build produced no dist/cli/main.js');
}

export interface Endpoints {
  koscomRestUrl: string;
  koscomWsUrl: string;
  lsRestUrl: string;
  lsWsUrl: string;
  credentials: { koscomApiKey: string; koscomMember: string; lsAppKey: string; lsAppSecret: string };
}

/** The environment that points `ticktape collect` at a simulator, with fast liveness settings. */
export function collectEnv(e: Endpoints, dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    ...FAST_ENV,
    // Longer than the simulator's 1 s BM_ cadence, so that a quiet LS socket is not taken for stale.
    TICKTAPE_WS_HEARTBEAT: '400ms',
    TICKTAPE_WS_STALE: '2s',
    TICKTAPE_DATA_DIR: dataDir,
    TICKTAPE_LOG_FORMAT: 'json',
    TICKTAPE_KOSCOM_API_KEY: e.credentials.koscomApiKey,
    TICKTAPE_KOSCOM_MEMBER: e.credentials.koscomMember,
    TICKTAPE_KOSCOM_REST_URL: e.koscomRestUrl,
    TICKTAPE_KOSCOM_WS_URL: e.koscomWsUrl,
    TICKTAPE_LS_APP_KEY: e.credentials.lsAppKey,
    TICKTAPE_LS_APP_SECRET: e.credentials.lsAppSecret,
    TICKTAPE_LS_REST_URL: e.lsRestUrl,
    TICKTAPE_LS_WS_URL: e.lsWsUrl,
    ...extra,
  };
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

export function spawnChild(args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  // Bounded: a long run logs a lot.
  proc.stderr!.on('data', (d) => (err = (err + d).slice(-2_000_000)));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, pid: proc.pid!, out: () => out, err: () => err, exited };
}

/** `ticktape collect --duration <ms>` against the endpoints. */
export function spawnCollect(e: Endpoints, dataDir: string, durationMs: number, extraEnv: Record<string, string> = {}): Child {
  return spawnChild(['bin/ticktape.js', 'collect', '--duration', `${Math.max(1, Math.round(durationMs))}ms`], collectEnv(e, dataDir, extraEnv));
}

/** The simulator in its own process (test/fixtures/sim-child.mjs), writing its truth file. */
export async function spawnSim(opts: Record<string, unknown>): Promise<{ child: Child; endpoints: Endpoints & { day: string; openAt: number; closeAt: number }; setFaults(f: object): void; stop(): Promise<void> }> {
  const child = spawnChild(['test/fixtures/sim-child.mjs', JSON.stringify(opts)], { PATH: process.env.PATH });
  const deadline = Date.now() + 15_000;
  while (!child.out().includes('\n') && Date.now() < deadline) await sleep(20);
  const line = child.out().split('\n')[0];
  if (!line) throw new Error(`simulator did not start: ${child.err().slice(-2000)}`);
  return {
    child,
    endpoints: JSON.parse(line),
    setFaults: (f) => child.proc.stdin!.write(`${JSON.stringify(f)}\n`),
    stop: async () => {
      child.proc.kill('SIGTERM');
      await child.exited;
    },
  };
}

/** A port that was free a moment ago: nothing listens there until someone binds it. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function readTruth(file: string): TruthTrade[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as TruthRecord)
    .filter((r): r is TruthTrade => r.ch === 'trade');
}

/** Resident set size of a process, bytes (from /proc; 0 once it is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const tradeKey = (t: { market: string; symbol: string; price: number; qty: number }) => `${t.market}|${t.symbol}|${t.price}|${t.qty}`;

function multiset<T>(items: Iterable<T>, key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
  return m;
}

export interface StoredTrade {
  market: string;
  symbol: string;
  price: number;
  qty: number;
  src_seq: number;
  src_idx: number;
  /** Exchange time, epoch ms (journal reads only). */
  exch_ms?: number;
}

export function sqliteTrades(dataDir: string, day: string): StoredTrade[] {
  const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
  try {
    return db.prepare('SELECT market, symbol, price, qty, src_seq, src_idx FROM trades WHERE day = ?').all(day) as StoredTrade[];
  } finally {
    db.close();
  }
}

/** Trades decoded from the journal's frames, each tagged with its frame's number and its place in it. */
export function journalTrades(dataDir: string, day: string, collectorId?: string): StoredTrade[] {
  const file = journalPath(dataDir, day, collectorId);
  const channels = readChannels(file);
  const decoder = new FrameDecoder(day);
  const batch = emptyBatch(day, file, 0, 0, 1 << 16);
  const out: StoredTrade[] = [];
  for (const r of readJournal(file)) {
    const ch = channels[r.channel];
    if (r.flags !== FLAG.incoming || ch?.kind !== 'trades') continue;
    resetBatch(batch, r.offset, r.seq);
    decoder.decode(ch, r.flags, r.recvNs, r.frame, r.bytes, batch);
    const t = batch.trades;
    for (let i = 0; i < t.length; i++) out.push({ market: ch.market!, symbol: t.symbol[i], price: t.price[i], qty: t.qty[i], src_seq: t.srcSeq[i], src_idx: t.srcIdx[i], exch_ms: t.exchMs[i] });
  }
  return out;
}

/** Receive times (ns) of the day's incoming trade frames, both markets, in journal order. */
export function journalTradeFrames(dataDir: string, day: string): bigint[] {
  const file = journalPath(dataDir, day);
  const channels = readChannels(file);
  const out: bigint[] = [];
  for (const r of readJournal(file)) if (r.flags === FLAG.incoming && channels[r.channel]?.kind === 'trades') out.push(r.recvNs);
  return out;
}

export async function arrowTrades(dataDir: string, day: string): Promise<StoredTrade[]> {
  const reader = TickReader.open({ dataDir, source: 'arrow' });
  const out: StoredTrade[] = [];
  try {
    for await (const t of reader.trades({ day })) out.push({ market: t.market, symbol: t.symbol, price: t.price, qty: t.qty, src_seq: t.srcSeq, src_idx: t.srcIdx });
  } finally {
    reader.close();
  }
  return out;
}

/** The connection events (connected, disconnected, reconnected …) journaled for a day. */
export function journalEvents(dataDir: string, day: string): { stream?: string; type: string; reason?: string; downMs?: number; atMs?: number; ms?: number; busyMs?: number; nice?: number; refused?: string }[] {
  const out = [];
  for (const r of readJournal(journalPath(dataDir, day))) if (r.flags === FLAG.event) out.push(JSON.parse(r.bytes.toString('utf8')));
  return out;
}

/** A trade's frame and place in it: src_seq numbers the frames of each market's channel. */
const byFrame = (t: StoredTrade) => `${t.market}/${t.src_seq}/${t.src_idx}`;

/**
 * The core promise under every fault: every trade that reached the journal is in SQLite and in
 * Arrow exactly once, and what was captured is a sub-multiset of what the exchange generated.
 * Returns the per-symbol quantity the exchange generated but the capture lacks.
 */
export async function expectExactlyOnce(dataDir: string, day: string, truth: TruthTrade[]): Promise<{ captured: number; missingQty: Map<string, number> }> {
  const journal = journalTrades(dataDir, day);
  const sqlite = sqliteTrades(dataDir, day);
  const arrow = await arrowTrades(dataDir, day);
  expect(journal.length).toBeGreaterThan(0);
  for (const [name, stored] of [['sqlite', sqlite], ['arrow', arrow]] as const) {
    expect(new Set(stored.map(byFrame)).size, `${name}: a (market, src_seq, src_idx) stored twice`).toBe(stored.length);
    expect(stored.length, `${name} rows vs trades in the journal`).toBe(journal.length);
    expect(multiset(stored, (t) => `${byFrame(t)}|${tradeKey(t)}`)).toEqual(multiset(journal, (t) => `${byFrame(t)}|${tradeKey(t)}`));
  }
  const generated = multiset(truth, tradeKey);
  for (const [k, n] of multiset(sqlite, tradeKey)) expect(n, `captured ${n}× a trade the exchange generated ${generated.get(k) ?? 0}×: ${k}`).toBeLessThanOrEqual(generated.get(k) ?? 0);
  const missingQty = new Map<string, number>();
  for (const t of truth) missingQty.set(t.symbol, (missingQty.get(t.symbol) ?? 0) + t.qty);
  for (const t of sqlite) missingQty.set(t.symbol, missingQty.get(t.symbol)! - t.qty);
  for (const [s, q] of missingQty) if (q === 0) missingQty.delete(s);
  return { captured: sqlite.length, missingQty };
}

export interface SessionRow {
  id: number;
  started_ms: number;
  ended_ms: number | null;
  status: string;
  reconnects: number;
  downtime_ms: number;
  reconciliation: string;
}

export function sessionRows(dataDir: string, day: string): SessionRow[] {
  const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
  try {
    return db.prepare('SELECT id, started_ns / 1000000 AS started_ms, ended_ns / 1000000 AS ended_ms, status, reconnects, downtime_ms, reconciliation FROM sessions WHERE day = ? ORDER BY id').all(day) as SessionRow[];
  } finally {
    db.close();
  }
}

/** Per symbol, the shortfall the session's reconciliation found (closing snapshot − streamed). */
export function reconciledMissing(row: SessionRow): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of Object.values(JSON.parse(row.reconciliation) as Record<string, { gaps: { symbol: string; missing: number }[] }>)) for (const g of r.gaps) if (g.missing !== 0) m.set(g.symbol, g.missing);
  return m;
}
