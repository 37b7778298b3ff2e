// Live fan-out (issue 14, item 1), with real processes against the simulator in its own process:
// collector A captures with TICKTAPE_PUBLISH_PORT set; an unchanged collector B captures from A's
// publish port; ten filtered /stream subscribers, one that stops reading, and one that connects
// mid-day asking for the day so far all subscribe to A. One simulated day serves every check.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { TruthTrade } from '../sim/truth.js';
import { tempRoot } from './collector-capture.js';
import { type Child, collectEnv, ensureBuilt, expectExactlyOnce, freePort, journalEvents, journalTradeFrames, readTruth, sleep, spawnChild, spawnCollect, spawnSim } from './faults-run.js';

const tmp = tempRoot('publish');
const DAY_MS = 8_000;
/** Long enough for B and every subscriber to be connected before the first trade on a loaded machine. */
const PRE_OPEN_MS = 10_000;
/**
 * Small enough that a subscriber that stops reading overflows it (and the kernel's socket buffers)
 * within the day's ~23 MB of rows; large enough that the test's readers, seconds behind on a
 * loaded machine, are not.
 */
const QUEUE_BYTES = 6 * 1024 * 1024;
/**
 * The simulator pushes BM_ about once a second, later under load, and nothing before the open: a
 * 2 s stale limit made B's LS socket reconnect (and miss what A relayed meanwhile) on a busy machine.
 */
const LIVENESS = { TICKTAPE_WS_HEARTBEAT: '1s', TICKTAPE_WS_STALE: '10s' };

type Row = Record<string, unknown>;

interface Message {
  type: string;
  pos: number;
  rows?: Row[];
}

interface Subscription {
  query: string;
  ws: WebSocket;
  /** As received: parsed after the day, so that reading keeps up. */
  raw: string[];
  closed: Promise<{ code: number; reason: string }>;
}

const messages = (s: Subscription): Message[] => s.raw.map((m) => JSON.parse(m) as Message);

function subscribe(port: number, query: string): Promise<Subscription> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/stream?${query}`);
    const s: Subscription = { query, ws, raw: [], closed: new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() }))) };
    ws.on('message', (d) => s.raw.push(d.toString()));
    ws.once('open', () => resolve(s));
    ws.once('error', reject);
  });
}

/** What the server answers a /stream request it refuses. */
function refusal(port: number, query: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/stream?${query}`);
    ws.once('open', () => reject(new Error(`/stream?${query} was accepted`)));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function metric(port: number, name: string, endpoint: string): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  const m = new RegExp(`^${name}\\{endpoint="${endpoint}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** A's stored rows, as the stream writes them (camelCase, nanoseconds as decimal strings), each with its canonical line. */
function storedRows(dataDir: string): { row: Row; line: string }[] {
  const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
  db.defaultSafeIntegers(true);
  const str = (v: unknown) => (v === null ? null : String(v));
  const num = (v: unknown) => Number(v);
  const rows = (sql: string, row: (r: Row) => Row) => (db.prepare(sql).all() as Row[]).map(row);
  try {
    return [
      ...rows('SELECT * FROM trades', (r) => ({ type: 'trade', day: r.day, market: r.market, symbol: r.symbol, price: num(r.price), qty: num(r.qty), exchNs: str(r.exch_ts), recvNs: str(r.recv_ns), srcSeq: num(r.src_seq), srcIdx: num(r.src_idx) })),
      ...rows('SELECT * FROM sector_flows', (r) => ({ type: 'sectorFlow', day: r.day, upcode: r.upcode, tjjcode: r.tjjcode, tjjtime: r.tjjtime, msvolume: num(r.msvolume), mdvolume: num(r.mdvolume), msvol: num(r.msvol), p_msvol: num(r.p_msvol), msvalue: num(r.msvalue), mdvalue: num(r.mdvalue), msval: num(r.msval), p_msval: num(r.p_msval), exchNs: str(r.exch_ts), recvNs: str(r.recv_ns), srcSeq: num(r.src_seq) })),
      ...rows('SELECT * FROM snapshots', (r) => ({ type: 'snapshot', day: r.day, market: r.market, symbol: r.symbol, price: num(r.price), open: num(r.open), high: num(r.high), low: num(r.low), accVolume: num(r.acc_volume), accValue: num(r.acc_value), takenNs: str(r.taken_ns), kind: r.kind, srcSeq: num(r.src_seq) })),
      ...rows('SELECT * FROM signals', (r) => ({ type: 'signal', day: r.day, market: r.market, symbol: r.symbol, code: num(r.code), recvNs: str(r.recv_ns), srcSeq: num(r.src_seq) })),
    ].map((row) => ({ row, line: canonical(row) }));
  } finally {
    db.close();
  }
}

/** Trades and sector flows of a capture without recv_ns, in each channel's own order. */
function withoutRecv(dataDir: string): { trades: Row[]; flows: Row[] } {
  const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
  db.defaultSafeIntegers(true);
  try {
    return {
      trades: db.prepare('SELECT day, market, symbol, exch_ts, price, qty, src_seq, src_idx FROM trades ORDER BY market, src_seq, src_idx').all() as Row[],
      flows: db.prepare('SELECT day, exch_ts, upcode, tjjcode, tjjtime, msvolume, mdvolume, msvol, p_msvol, msvalue, mdvalue, msval, p_msval, src_seq FROM sector_flows ORDER BY src_seq').all() as Row[],
    };
  } finally {
    db.close();
  }
}

/** Every field of a stream row but a signal's label (the table has none), in one order for all lines. */
const FIELDS = ['type', 'day', 'market', 'symbol', 'price', 'qty', 'exchNs', 'recvNs', 'srcSeq', 'srcIdx', 'code', 'upcode', 'tjjcode', 'tjjtime', 'msvolume', 'mdvolume', 'msvol', 'p_msvol', 'msvalue', 'mdvalue', 'msval', 'p_msval', 'open', 'high', 'low', 'accVolume', 'accValue', 'takenNs', 'kind'];

/** One row as a line, its keys in FIELDS order. */
function canonical(r: Row): string {
  return JSON.stringify(r, FIELDS);
}

/** The first place two sorted lists of lines differ (a readable failure, where toEqual on 10⁵ lines is slow). */
function firstDifference(got: string[], expected: string[]): string | undefined {
  const g = sorted(got);
  const e = sorted(expected);
  for (let i = 0; i < Math.max(g.length, e.length); i++) if (g[i] !== e[i]) return `at ${i} of ${g.length} received / ${e.length} expected:\n  got      ${g[i]}\n  expected ${e[i]}`;
  return undefined;
}
const rowLine = canonical;

const sorted = (xs: string[]) => [...xs].sort();

/** Ten filters over two symbols of the day, each with what it keeps of a stored row. */
function tenFilters([s0, s1]: string[]): { query: string; keeps: (r: Row) => boolean }[] {
  return [
    { query: 'from=start', keeps: () => true },
    { query: 'channels=trades&markets=kospi&from=start', keeps: (r) => r.type === 'trade' && r.market === 'kospi' },
    { query: 'channels=trades,signals&markets=kosdaq&from=start', keeps: (r) => (r.type === 'trade' || r.type === 'signal') && r.market === 'kosdaq' },
    { query: 'channels=snapshots&markets=kospi&from=start', keeps: (r) => r.type === 'snapshot' && r.market === 'kospi' },
    // Sector flows belong to no symbol: a symbol filter lets them through.
    { query: `channels=sector_flows,snapshots&symbols=${s0}&from=start`, keeps: (r) => r.type === 'sectorFlow' || (r.type === 'snapshot' && r.symbol === s0) },
    // Live only, connected before the open: every trade and flow happens after they connect.
    { query: 'channels=trades,signals&markets=kosdaq', keeps: (r) => (r.type === 'trade' || r.type === 'signal') && r.market === 'kosdaq' },
    { query: 'channels=trades&markets=kospi', keeps: (r) => r.type === 'trade' && r.market === 'kospi' },
    { query: `channels=trades&symbols=${s0},${s1}`, keeps: (r) => r.type === 'trade' && (r.symbol === s0 || r.symbol === s1) },
    { query: 'channels=sector_flows', keeps: (r) => r.type === 'sectorFlow' },
    { query: `channels=trades,sector_flows&markets=kosdaq&symbols=${s1}`, keeps: (r) => r.type === 'sectorFlow' || (r.type === 'trade' && r.market === 'kosdaq' && r.symbol === s1) },
  ];
}

let dirA: string;
let dirB: string;
let day: string;
let closeAt: number;
let truth: TruthTrade[];
let a: Child;
let b: Child;
let filtered: Subscription[] = [];
let stuck: Subscription;
let stuckClose: { code: number; reason: string };
let late: Subscription;
let droppedBeforeEnd = 0;
let refused: { status: number; body: string };
const symbols: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  dirA = join(tmp.root, 'a');
  dirB = join(tmp.root, 'b');
  const truthFile = join(tmp.root, 'truth.ndjson');
  const sim = await spawnSim({ dayLengthMs: DAY_MS, preOpenMs: PRE_OPEN_MS, kospiSymbols: 20, kosdaqSymbols: 30, tradesPerDay: 120_000, seed: 21, truthFile });
  const e = sim.endpoints;
  day = e.day;
  closeAt = e.closeAt;
  try {
    const publishPort = await freePort();
    const metricsPort = await freePort();
    a = spawnCollect(e, dirA, e.closeAt + 1_500 - Date.now(), { ...LIVENESS, TICKTAPE_PUBLISH_PORT: String(publishPort), TICKTAPE_METRICS_PORT: String(metricsPort), TICKTAPE_PUBLISH_QUEUE_BYTES: String(QUEUE_BYTES) });
    const base = `127.0.0.1:${publishPort}`;
    // The seed recorded and published: the REST answer B's seed will get.
    await until(async () => (await fetch(`http://${base}/v2/market/stocks/kospi/lists?apikey=x`).then((r) => r.status, () => 0)) === 200, 'A to publish its seed');
    const list = (await fetch(`http://${base}/v2/market/stocks/kosdaq/lists?apikey=x`).then((r) => r.json())) as { isuLists: { isuSrtCd: string }[] };
    symbols.push(...list.isuLists.slice(0, 2).map((l) => l.isuSrtCd));
    // B: the unchanged collector, its vendor URLs pointed at A's publish port.
    b = spawnChild(['bin/ticktape.js', 'collect', '--day', day, '--duration', '300s'], collectEnv({ ...e, koscomRestUrl: `http://${base}`, koscomWsUrl: `ws://${base}`, lsRestUrl: `http://${base}`, lsWsUrl: `ws://${base}` }, dirB, LIVENESS));
    refused = await refusal(publishPort, 'channels=trades,quotes&symbols=005930');
    filtered = await Promise.all(tenFilters(symbols).map((f) => subscribe(publishPort, f.query)));
    stuck = await subscribe(publishPort, 'channels=trades,sector_flows');
    // It stops reading: its socket is paused, so the publisher's queue for it only grows.
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await until(async () => (await metric(metricsPort, 'ticktape_publish_subscribers', 'ls')) === 1 && (await metric(metricsPort, 'ticktape_publish_subscribers', 'koscom.kospi')) === 1 && (await metric(metricsPort, 'ticktape_publish_subscribers', 'koscom.kosdaq')) === 1, 'B to be on every vendor stream of A');
    expect(Date.now(), 'B and the subscribers must be connected before the open for a whole-day comparison').toBeLessThan(e.openAt);
    // Mid-day, a late subscriber asks for the day so far, then the live tail.
    await sleep(e.openAt + DAY_MS / 3 - Date.now());
    late = await subscribe(publishPort, 'from=start');
    await until(async () => (droppedBeforeEnd = await metric(metricsPort, 'ticktape_publish_dropped_total', 'stream')) > 0, 'the stuck subscriber to be dropped', 60_000);
    // Reading again, it learns why it was disconnected: the close frame waited behind its queue.
    (stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    stuckClose = await stuck.closed;
    expect(await a.exited, a.err().slice(-3000)).toBe(0);
    b.proc.kill('SIGTERM');
    expect(await b.exited, b.err().slice(-3000)).toBe(0);
    await Promise.all([...filtered, late].map((s) => s.closed));
    truth = readTruth(truthFile).filter((r): r is TruthTrade => r.ch === 'trade');
  } finally {
    for (const c of [a, b]) if (c?.proc.exitCode === null) c.proc.kill('SIGKILL');
    await sim.stop();
  }
}, 150_000);

afterAll(() => tmp.remove());

describe('live fan-out (TICKTAPE_PUBLISH_PORT)', () => {
  it('an unchanged collector pointed at the publish port captures the live day, equal to the original in every trades and sector_flows column but recv_ns', () => {
    const first = withoutRecv(dirA);
    const second = withoutRecv(dirB);
    expect(first.trades.length).toBeGreaterThan(50_000);
    expect(first.flows.length).toBeGreaterThan(10);
    expect(second.trades.length).toBe(first.trades.length);
    expect(second.trades).toEqual(first.trades);
    expect(second.flows).toEqual(first.flows);
  });

  it('refuses a /stream filter it cannot serve, naming the parameter and what it expects', () => {
    expect(refused.status).toBe(400);
    expect(refused.body).toBe('/stream: channels: expected a comma-separated list of trades, signals, sector_flows, snapshots (got "trades,quotes")\n');
  });

  it('ten subscribers with filters each get exactly their rows', () => {
    const all = storedRows(dirA);
    expect(all.some((r) => r.row.type === 'snapshot')).toBe(true);
    for (const [i, f] of tenFilters(symbols).entries()) {
      const expected = all.filter((r) => f.keeps(r.row)).map((r) => r.line);
      const got = messages(filtered[i]).flatMap((m) => (m.type === 'rows' ? m.rows!.map(rowLine) : []));
      expect(got.length, f.query).toBe(expected.length);
      expect(firstDifference(got, expected), f.query).toBeUndefined();
      expect(got.length, `${f.query}: some rows`).toBeGreaterThan(0);
    }
  });

  it('a subscriber that stops reading is dropped with a close code and the reason, logged and counted, while capture loses nothing and stays on pace', async () => {
    expect(droppedBeforeEnd).toBe(1);
    expect(stuckClose.code).toBe(1008);
    expect(stuckClose.reason).toMatch(/^fell behind: \d+ (bytes|messages) queued \(limit \d+\)$/);
    expect(a.err()).toMatch(/"msg":"publish: subscriber #\d+ on stream disconnected: fell behind/);
    // … and the session report says so: twelve /stream subscribers in all (ten filtered, the stuck one, the late one).
    expect(a.out()).toMatch(/^publish \(live fan-out\): .*stream 12 subscriber\(s\), [\d,]+ messages, 1 disconnected for falling behind$/m);
    // Every trade the exchange sent is in A's journal and stores, once.
    const { missingQty } = await expectExactlyOnce(dirA, day, truth);
    expect(missingQty).toEqual(new Map());
    // On pace: a capture that waited for the stuck subscriber would have stopped reading once its
    // queue filled, mid-day. The capture thread's own stall record shows no pause near that (the
    // few tens of ms it does show are a loaded 2-core machine's scheduling), and the day's last
    // trade frame was received at the close.
    const stalls = journalEvents(dirA, day).filter((e) => e.type === 'stall');
    expect(Math.max(0, ...stalls.map((e) => e.ms!)), JSON.stringify(stalls)).toBeLessThan(1_000);
    const lastFrameMs = Number(journalTradeFrames(dirA, day).at(-1)! / 1_000_000n);
    expect(Math.abs(lastFrameMs - closeAt)).toBeLessThan(1_000);
  });

  it('a late subscriber gets the day so far, then the live tail, with no gap or duplicate at the seam', () => {
    const all = storedRows(dirA).map((r) => r.line);
    const lateMessages = messages(late);
    const seam = lateMessages.findIndex((m) => m.type === 'live');
    expect(seam).toBeGreaterThan(0);
    const before = lateMessages.slice(0, seam);
    const after = lateMessages.slice(seam + 1);
    // The seam fell mid-day: trades on both sides of it.
    expect(before.some((m) => m.rows?.some((r) => r.type === 'trade'))).toBe(true);
    expect(after.some((m) => m.rows?.some((r) => r.type === 'trade'))).toBe(true);
    expect(after[0].pos).toBeGreaterThanOrEqual(lateMessages[seam].pos);
    expect(before.at(-1)!.pos).toBeLessThan(lateMessages[seam].pos);
    // Journal positions strictly increase across the whole stream: no record twice …
    const pos = lateMessages.filter((m) => m.type === 'rows').map((m) => m.pos);
    for (let i = 1; i < pos.length; i++) expect(pos[i]).toBeGreaterThan(pos[i - 1]);
    // … and no row missing or doubled.
    const got = lateMessages.flatMap((m) => (m.type === 'rows' ? m.rows!.map(rowLine) : []));
    expect(got.length).toBe(all.length);
    expect(firstDifference(got, all)).toBeUndefined();
  });
});
