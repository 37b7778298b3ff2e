// A/B capture: two real collectors on the same simulated feed, each behind a TCP path of its own
// that is cut for 5 s at a different moment (a network losing a machine). Each alone misses its
// window. Both publish to a real nats-server: `ticktape store --from nats://… --ab` on the "store
// machine" merges them as they end, and `ticktape merge` merges their own journals after the fact;
// each makes a day holding every trade the exchange sent once, and names who filled each gap.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { startExchange } from '../sim/exchange.js';
import type { TruthTrade } from '../sim/truth.js';
import { type Child, collectEnv, expectExactlyOnce, journalTrades, sleep, spawnChild, spawnCollect } from './faults-run.js';
import { natsForFile } from './nats-fixture.js';

const tmp = natsForFile('ab');

const COLLECTORS = ['seoul', 'busan'] as const;

/** The day's trades in a data directory's SQLite, one text line each, sorted (receive times included). */
function storedTrades(dataDir: string, day: string): string[] {
  const file = join(dataDir, 'ticktape.db');
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    db.defaultSafeIntegers(true);
    if (db.prepare('SELECT 1 FROM sealed_days WHERE day = ?').get(day) === undefined) return [];
    const rows = db.prepare('SELECT market, symbol, price, qty, trd_vol, kind, recv_ns, src_seq, src_idx FROM trades WHERE day = ?').all(day) as Record<string, unknown>[];
    return rows.map((r) => Object.values(r).join('|')).sort();
  } finally {
    db.close();
  }
}

const CUT_MS = 5_000;
const DAY_MS = 22_000;

/** A loopback TCP path to `port` that can be cut: open connections dropped, new ones refused meanwhile. */
async function cuttablePath(port: number): Promise<{ url: string; cut(ms: number): void; close(): Promise<void> }> {
  const open = new Set<Socket>();
  let cutUntil = 0;
  const server = createServer((client) => {
    if (Date.now() < cutUntil) return void client.destroy();
    const remote = connect(port, '127.0.0.1');
    open.add(client).add(remote);
    const drop = () => {
      client.destroy();
      remote.destroy();
      open.delete(client);
      open.delete(remote);
    };
    client.on('error', drop).on('close', drop);
    remote.on('error', drop).on('close', drop);
    client.pipe(remote).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`,
    cut(ms) {
      cutUntil = Date.now() + ms;
      for (const s of open) s.destroy();
      open.clear();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The trades that begin a frame in a collector's journal: where its connection's frames were cut. */
const frameStarts = (dataDir: string, day: string, collector: string) => new Set(journalTrades(dataDir, day, collector).filter((t) => t.src_idx === 0).map((t) => `${t.market}|${t.symbol}|${t.price}|${t.qty}|${t.exch_ms}`));

// Whether the vendor sends every connection the same frames is not documented (koscom.md §7): the
// exchange plays both answers, the same frames to each connection and each connection its own cuts.
it.each([
  { batching: 'the same frames on both connections', tag: 'same', faults: {} },
  { batching: 'each connection batched differently', tag: 'rebatched', faults: { batchPerConnection: true } },
])('merges two collectors cut off at different moments into a day holding every trade once, naming who filled each gap ($batching)', { timeout: DAY_MS + 240_000 }, async ({ tag, faults }) => {
  const exchange = await startExchange({ dayLengthMs: DAY_MS, preOpenMs: 6_000, kospiSymbols: 20, kosdaqSymbols: 20, tradesPerDay: 30_000, seed: 77, stepMs: 10, faults });
  const paths = [await cuttablePath(exchange.port), await cuttablePath(exchange.port)];
  const root = join(tmp.root, tag);
  const dirs = COLLECTORS.map((n) => join(root, n));
  const storeDir = join(root, 'store');
  const bus: Record<string, string> = tmp.server === undefined ? {} : { TICKTAPE_NATS_URL: tmp.server.url, TICKTAPE_NATS_STREAM: `AB_${tag}`, TICKTAPE_NATS_SUBJECT_PREFIX: `ab-${tag}` };
  const children: Child[] = [];
  let store: Child | undefined;
  try {
    // The store machine: it keeps each collector's copy apart and stores their merge.
    if (tmp.server !== undefined) store = spawnChild(['bin/ticktape.js', 'store', '--from', tmp.server.url, '--data-dir', storeDir, '--ab', COLLECTORS.join(',')], collectEnv(exchange, storeDir, bus));
    for (const [i, dir] of dirs.entries()) children.push(spawnCollect({ ...exchange, koscomWsUrl: paths[i].url }, dir, exchange.closeAt + 1_500 - Date.now(), { TICKTAPE_BM_CODES: 'none', TICKTAPE_COLLECTOR_ID: COLLECTORS[i], ...bus }));
    // seoul loses its network 4 s into the day, busan 13 s in: never both at once (reconnects take < 1 s).
    await sleep(exchange.openAt + 4_000 - Date.now());
    paths[0].cut(CUT_MS);
    await sleep(exchange.openAt + 13_000 - Date.now());
    paths[1].cut(CUT_MS);
    for (const c of children) expect(await c.exited, c.err().slice(-3000)).toBe(0);
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    for (const p of paths) await p.close();
    await exchange.close();
  }
  const day = exchange.day;
  const truth = exchange.truth().filter((r): r is TruthTrade => r.ch === 'trade' && r.sent !== false);
  // Each collector alone lacks its 5 s.
  const sent = truth.length;
  for (const [i, d] of dirs.entries()) expect(journalTrades(d, day, COLLECTORS[i]).length).toBeLessThan(sent * 0.9);
  // Each connection's own cuts: few frames of one begin where a frame of the other does.
  const starts = dirs.map((d, i) => frameStarts(d, day, COLLECTORS[i]));
  const shared = [...starts[0]].filter((k) => starts[1].has(k)).length;
  if (tag === 'rebatched') expect(shared).toBeLessThan(starts[0].size / 2);
  else expect(shared).toBeGreaterThan(starts[0].size / 2);

  const merged = join(root, 'merged');
  const { stdout } = await promisify(execFile)(process.execPath, ['bin/ticktape.js', 'merge', '--day', day, '--a', `seoul=${dirs[0]}`, '--b', `busan=${dirs[1]}`, '--data-dir', merged], { env: { ...process.env, TICKTAPE_LOG_LEVEL: 'warn' } });
  // Every trade the exchange sent, once, in SQLite and Arrow alike.
  const { missingQty } = await expectExactlyOnce(merged, day, truth);
  expect(missingQty).toEqual(new Map());
  expect(journalTrades(merged, day).length).toBe(sent);
  expect(stdout).toMatch(/stores: trades_sealed [\d,]+/);
  // Who filled what: busan filled seoul's 5 s on both markets, then seoul filled busan's.
  for (const ch of ['koscom.trades.kospi', 'koscom.trades.kosdaq']) {
    expect(stdout).toMatch(new RegExp(`${ch.replace(/\./g, '\\.')}: busan filled seoul's gap, [\\d,]+ frame`));
    expect(stdout).toMatch(new RegExp(`${ch.replace(/\./g, '\\.')}: seoul filled busan's gap, [\\d,]+ frame`));
  }
  const busanFirst = stdout.indexOf("busan filled seoul's gap") < stdout.indexOf("seoul filled busan's gap");
  expect(busanFirst, stdout).toBe(true);
  // The day report names them too.
  const page = join(root, 'report.html');
  await promisify(execFile)(process.execPath, ['bin/ticktape.js', 'report', '--day', day, '--data-dir', merged, '--out', page], { env: { ...process.env, TICKTAPE_LOG_LEVEL: 'warn' } });
  const html = readFileSync(page, 'utf8');
  expect(html).toContain('A/B capture: gaps filled');
  expect(html).toMatch(/<tr><td>koscom\.trades\.kospi<\/td><td>seoul<\/td><td>busan<\/td><td>[\d,]+<\/td>/);
  expect(html).toMatch(/<tr><td>koscom\.trades\.kospi<\/td><td>busan<\/td><td>seoul<\/td><td>[\d,]+<\/td>/);

  // Over the bus: the store merged the two collectors as their sessions ended — the same day.
  if (store !== undefined) {
    try {
      const want = storedTrades(merged, day);
      expect(want).toHaveLength(sent);
      for (const deadline = Date.now() + 120_000; Date.now() < deadline && storedTrades(storeDir, day).length < sent; ) await sleep(250);
      expect(storedTrades(storeDir, day)).toEqual(want);
      expect(store.out() + store.err()).toMatch(/busan filled seoul's gap/);
    } finally {
      store.proc.kill('SIGTERM');
      await store.exited;
    }
  }
});
