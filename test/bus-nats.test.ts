// NATS JetStream as the bus between machines, with real parts: Debian's nats-server (JetStream in a
// temporary directory, on a loopback port), the simulator in its own process, `ticktape collect`
// publishing (TICKTAPE_NATS_URL) and `ticktape store --from nats://…` consuming, as child processes.
// The store's data directory must equal the collector's: the same trades, rows for rows (receive
// times included, since the store writes the collector's journal records at the same offsets), in
// SQLite and in Arrow, the day sealed — also across SIGKILLs of either process and a restart of
// nats-server mid-day, and with two collectors (one per market) publishing into one stream.
import { join } from 'node:path';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { natsServerInstalled, startNatsCluster } from '../bench/nats-server.js';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig, redactedConfig } from '../collector/config.js';
import { finishedProgress, NatsPublisher, publishedPath } from '../publish/nats-publisher.js';
import { HDR, recordHeaders } from '../publish/nats-stream.js';
import { parseBusMessage, runBusStore } from '../publish/nats-store.js';
import { ensureStream, recordSubject, SESSION_END } from '../publish/nats-stream.js';
import { syntheticFrames } from '../bench/decode.js';
import { brotliDecompressSync } from 'node:zlib';
import { headers } from '@nats-io/transport-node';
import { PublisherThread } from '../publish/nats-thread.js';
import { FLAG, Journal, journalPath } from '../storage/journal.js';
import { archiveJournal, archivePath } from '../storage/journal-archive.js';
import { JournalProgress } from '../storage/journal-progress.js';
import { log } from './collector-capture.js';
import { arrowTrades, type Child, collectEnv, expectExactlyOnce, freePort, readTruth, sleep, spawnChild, spawnCollect, spawnSim } from './faults-run.js';
import { natsForFile } from './nats-fixture.js';

const tmp = natsForFile('bus-nats');
/** The file's nats-server (its tests run only where one is installed). */
const nats = () => tmp.server!;

type Sim = Awaited<ReturnType<typeof spawnSim>>;

/** The bus settings of one scenario: a stream and subjects of its own on the shared server. */
function busEnv(name: string): Record<string, string> {
  return { TICKTAPE_NATS_URL: nats().url, TICKTAPE_NATS_STREAM: name.toUpperCase(), TICKTAPE_NATS_SUBJECT_PREFIX: name };
}

function spawnStore(sim: Sim, dataDir: string, name: string, env: Record<string, string> = {}): Child {
  return spawnChild(['bin/ticktape.js', 'store', '--from', nats().url, '--data-dir', dataDir], collectEnv(sim.endpoints, dataDir, { ...busEnv(name), ...env }));
}

/** A scrape of a /metrics endpoint, polled until `series` is in it (or 30 s passed). */
async function scrapeUntil(port: number, series: RegExp): Promise<string> {
  let metrics = '';
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && !series.test(metrics); await sleep(200)) {
    metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  }
  return metrics;
}

interface Row {
  market: string;
  symbol: string;
  price: number;
  qty: number;
  recv_ns: bigint;
  src_seq: number;
  src_idx: number;
}

function tradeRows(dataDir: string, day: string): string[] {
  const file = join(dataDir, 'ticktape.db');
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    db.defaultSafeIntegers(true);
    const rows = db.prepare('SELECT market, symbol, price, qty, recv_ns, src_seq, src_idx FROM trades WHERE day = ?').all(day) as Row[];
    return rows.map((r) => `${r.market}|${r.src_seq}|${r.src_idx}|${r.symbol}|${r.price}|${r.qty}|${r.recv_ns}`).sort();
  } catch {
    return []; // not migrated yet
  } finally {
    db.close();
  }
}

/** The day's session rows but their ids (each database numbers its own), oldest first. */
function sessions(dataDir: string, day: string, except?: string): unknown[] {
  const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
  try {
    db.defaultSafeIntegers(true);
    return db.prepare('SELECT collector, day, started_ns, ended_ns, status, counts, reconnects, downtime_ms, gaps, reconciliation, stores, clock FROM sessions WHERE day = ? AND status != ? ORDER BY started_ns, collector').all(day, except ?? '');
  } finally {
    db.close();
  }
}

function sealed(dataDir: string, day: string): boolean {
  const file = join(dataDir, 'ticktape.db');
  if (!existsSync(file)) return false;
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT 1 FROM sealed_days WHERE day = ?').get(day) !== undefined;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

async function waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !done()) await sleep(250);
}

/** Waits until the store has sealed the day holding `want` trades (or gives up after the timeout). */
function storeHolds(dataDir: string, day: string, want: number, timeoutMs: number): Promise<void> {
  return waitFor(() => sealed(dataDir, day) && tradeRows(dataDir, day).length >= want, timeoutMs);
}

/** The day's journals compressed by the compaction that follows the seal, as a daemon's are. */
const archived = (dataDir: string, journals: string[]) => () => journals.every((j) => existsSync(join(dataDir, 'journal', `${j}.br`)));

async function stop(child: Child): Promise<number | null> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGTERM');
  return child.exited;
}

const arrowKeys = async (dataDir: string, day: string) => (await arrowTrades(dataDir, day)).map((t) => `${t.market}|${t.src_seq}|${t.src_idx}|${t.symbol}|${t.price}|${t.qty}`).sort();

describe('the bus settings and messages', () => {
  it('reads back what the publisher writes, and refuses headers that would name other files', () => {
    const spec = { name: 'koscom.trades.kospi', vendor: 'koscom' as const, endpoint: '/ws_ksp', kind: 'trades' as const, market: 'kospi' as const };
    expect(parseBusMessage({ headers: recordHeaders('2026-11-20', 'a-1', spec, FLAG.incoming, 1_796_000_000_000_000_123n, 4242) })).toEqual({ day: '2026-11-20', collector: 'a-1', kind: 'record', offset: 4242, channel: spec, flags: FLAG.incoming, recvNs: 1_796_000_000_000_000_123n });
    const h = recordHeaders('2026-11-20', undefined, spec, FLAG.event, 1n, 8);
    expect(parseBusMessage({ headers: h })).toMatchObject({ collector: undefined, kind: 'record', offset: 8, flags: FLAG.event });
    h.set(HDR.collector, '../../etc');
    expect(parseBusMessage({ headers: h })).toMatch(/Ticktape-Collector "..\/..\/etc" is not a collector id/);
    expect(parseBusMessage({ headers: recordHeaders('2026-11-20/..', 'a', spec, FLAG.incoming, 1n, 8) })).toMatch(/is not a day/);
    expect(parseBusMessage({ headers: recordHeaders('2026-11-20', 'a', spec, FLAG.incoming, 1n, 3) })).toMatch(/is not a journal offset/);
    expect(parseBusMessage({ headers: undefined })).toBe('no headers');
  });

  it('reads TICKTAPE_NATS_*, names a bad one, and never shows a password in the URL', () => {
    const c = loadConfig({ env: { TICKTAPE_NATS_URL: 'nats://user:s3cret@bus:4222,nats://bus2:4222', TICKTAPE_NATS_REPLICAS: '3', TICKTAPE_NATS_MAX_AGE: '48h', TICKTAPE_NATS_RETENTION: 'interest' } });
    expect(c.nats).toMatchObject({ url: 'nats://user:s3cret@bus:4222,nats://bus2:4222', stream: 'TICKTAPE', subjectPrefix: 'ticktape', replicas: 3, maxAgeMs: 48 * 3_600_000, retention: 'interest', duplicateWindowMs: 120_000 });
    expect(JSON.stringify(redactedConfig(c))).not.toContain('s3cret');
    const bad = (() => {
      try {
        loadConfig({ env: { TICKTAPE_NATS_URL: 'http://user:s3cret@bus', TICKTAPE_NATS_REPLICAS: '9', TICKTAPE_NATS_SUBJECT_PREFIX: 'a.>' } });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(bad).toBeInstanceOf(ConfigError);
    expect(bad!.problems.join('\n')).toMatch(/TICKTAPE_NATS_URL: expected nats:\/\/host:port/);
    expect(bad!.problems.join('\n')).toMatch(/TICKTAPE_NATS_REPLICAS: expected a whole number from 1 to 5/);
    expect(bad!.problems.join('\n')).toMatch(/TICKTAPE_NATS_SUBJECT_PREFIX: expected subject tokens/);
    expect(bad!.message).not.toContain('s3cret');
  });

  it('ticktape store refuses a --from that is not a NATS URL, without echoing its password', () => {
    const r = spawnSync(process.execPath, ['bin/ticktape.js', 'store', '--from', 'http://user:s3cret@bus:4222'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/is not a NATS URL \(expected nats:\/\/host:port/);
    expect(r.stderr).not.toContain('s3cret');
  });
});

describe.skipIf(!natsServerInstalled())('NATS JetStream between a collector and a store', () => {
  it('collector → JetStream → ticktape store equals the collector\u2019s own capture', { timeout: 120_000 }, async () => {
    const sim = await spawnSim({ dayLengthMs: 6_000, preOpenMs: 2_000, kospiSymbols: 15, kosdaqSymbols: 20, tradesPerDay: 8_000, seed: 11 });
    const collectorDir = join(tmp.root, 'equal-collector');
    const storeDir = join(tmp.root, 'equal-store');
    const storePort = await freePort();
    const store = spawnStore(sim, storeDir, 'equal', { TICKTAPE_METRICS_PORT: String(storePort) });
    try {
      let port = await freePort();
      while (port === storePort) port = await freePort();
      const collect = spawnCollect(sim.endpoints, collectorDir, sim.endpoints.closeAt + 1_500 - Date.now(), { ...busEnv('equal'), TICKTAPE_METRICS_PORT: String(port) });
      // The publisher's lag is in /metrics beside the stores'.
      const metrics = await scrapeUntil(port, /ticktape_bus_connected\{bus="nats"\} 1/);
      expect(metrics).toMatch(/ticktape_bus_connected\{bus="nats"\} 1/);
      expect(metrics).toMatch(/ticktape_bus_lag_frames\{bus="nats"\} \d+/);
      expect(metrics).toMatch(/ticktape_bus_lag_seconds\{bus="nats"\} [\d.]+/);
      // The store's own: each store's lag behind the day's copy, and its health.
      const day = sim.endpoints.day;
      const storeMetrics = await scrapeUntil(storePort, new RegExp(`ticktape_store_lag_bytes\\{store="arrow ${day}"\\} \\d+`));
      for (const s of ['sqlite', 'arrow']) expect(storeMetrics).toMatch(new RegExp(`ticktape_store_lag_seconds\\{store="${s} ${day}"\\} [\\d.]+`));
      expect((await fetch(`http://127.0.0.1:${storePort}/healthz`)).status).toBe(200);
      expect(await collect.exited, collect.err().slice(-3000)).toBe(0);
      const own = tradeRows(collectorDir, sim.endpoints.day);
      expect(own.length).toBeGreaterThan(1000);
      await storeHolds(storeDir, sim.endpoints.day, own.length, 60_000);
      expect(tradeRows(storeDir, sim.endpoints.day)).toEqual(own);
      expect(sealed(storeDir, sim.endpoints.day), store.err().slice(-3000)).toBe(true);
      expect(await arrowKeys(storeDir, sim.endpoints.day)).toEqual(await arrowKeys(collectorDir, sim.endpoints.day));
      // The session's row came with its end: the day's condition reads the same on both machines.
      expect(sessions(collectorDir, sim.endpoints.day)).toHaveLength(1);
      expect(sessions(storeDir, sim.endpoints.day)).toEqual(sessions(collectorDir, sim.endpoints.day));
      // The day is compacted after the seal, as a daemon's: the journal is archived beside the Parquet history.
      await waitFor(archived(storeDir, [`${sim.endpoints.day}.journal`]), 30_000);
      expect(archived(storeDir, [`${sim.endpoints.day}.journal`])()).toBe(true);
      expect(await stop(store), store.err().slice(-3000)).toBe(0);
    } finally {
      store.proc.kill('SIGKILL');
      await sim.stop();
    }
  });

  it('SIGKILL of the collector, SIGKILL of the store and a nats-server restart mid-day: every trade once', { timeout: 150_000 }, async () => {
    const truthFile = join(tmp.root, 'faults-truth.ndjson');
    const sim = await spawnSim({ dayLengthMs: 14_000, preOpenMs: 2_000, kospiSymbols: 15, kosdaqSymbols: 20, tradesPerDay: 12_000, seed: 12, truthFile });
    const { day, openAt, closeAt } = sim.endpoints;
    const collectorDir = join(tmp.root, 'faults-collector');
    const storeDir = join(tmp.root, 'faults-store');
    const until = () => closeAt + 1_500 - Date.now();
    let store = spawnStore(sim, storeDir, 'faults');
    let collect = spawnCollect(sim.endpoints, collectorDir, until(), busEnv('faults'));
    try {
      await sleep(openAt + 3_000 - Date.now());
      collect.proc.kill('SIGKILL');
      expect(await collect.exited).toBe(null);
      collect = spawnCollect(sim.endpoints, collectorDir, until(), busEnv('faults'));
      await sleep(openAt + 6_000 - Date.now());
      store.proc.kill('SIGKILL');
      expect(await store.exited).toBe(null);
      store = spawnStore(sim, storeDir, 'faults');
      // The restarted store goes on from its own journal, not from the start.
      const resumed = new RegExp(`copying ${day} into \\S+ from offset [1-9]\\d{3,}`);
      await waitFor(() => resumed.test(store.err()), 30_000);
      expect(store.err()).toMatch(resumed);
      await sleep(openAt + 9_000 - Date.now());
      await nats().restart();
      expect(await collect.exited, collect.err().slice(-3000)).toBe(0);
      expect(collect.out()).toMatch(/ticktape session .*: complete/);
      // The collector's own capture holds every trade it journaled once (the fault suite's check) …
      await expectExactlyOnce(collectorDir, day, readTruth(truthFile));
      const own = tradeRows(collectorDir, day);
      // … and the store holds exactly the same rows.
      await storeHolds(storeDir, day, own.length, 90_000);
      const stored = tradeRows(storeDir, day);
      expect(new Set(stored).size).toBe(stored.length);
      expect(stored.length, store.err().slice(-3000)).toBe(own.length);
      expect(stored).toEqual(own);
      expect(await arrowKeys(storeDir, day)).toEqual(await arrowKeys(collectorDir, day));
      expect(sealed(storeDir, day)).toBe(true);
      // The sessions that ended send their rows; a killed one's ('crashed', written by the next) stays on the collector.
      expect(sessions(storeDir, day)).toEqual(sessions(collectorDir, day, 'crashed'));
      expect(await stop(store), store.err().slice(-3000)).toBe(0);
    } finally {
      collect.proc.kill('SIGKILL');
      store.proc.kill('SIGKILL');
      await sim.stop();
    }
  });

  it('two collectors (one per market) into one stream, one store holding both', { timeout: 120_000 }, async () => {
    const sim = await spawnSim({ dayLengthMs: 6_000, preOpenMs: 2_000, kospiSymbols: 15, kosdaqSymbols: 20, tradesPerDay: 8_000, seed: 13 });
    const { day } = sim.endpoints;
    const storeDir = join(tmp.root, 'two-store');
    const collectors = ['kospi', 'kosdaq'].map((market) => ({ market, dir: join(tmp.root, `two-${market}`) }));
    const store = spawnStore(sim, storeDir, 'two');
    try {
      const runs = collectors.map((c) => spawnCollect(sim.endpoints, c.dir, sim.endpoints.closeAt + 1_500 - Date.now(), { ...busEnv('two'), TICKTAPE_COLLECTOR_ID: c.market, TICKTAPE_MARKETS: c.market, TICKTAPE_BM_CODES: c.market === 'kospi' ? '' : 'none' }));
      for (const r of runs) expect(await r.exited, r.err().slice(-3000)).toBe(0);
      const own = collectors.flatMap((c) => tradeRows(c.dir, day)).sort();
      for (const c of collectors) expect(tradeRows(c.dir, day).every((k) => k.startsWith(`${c.market}|`))).toBe(true);
      // Sealed once per collector's session end; both journals kept apart, named as on the collectors.
      await storeHolds(storeDir, day, own.length, 60_000);
      expect(tradeRows(storeDir, day)).toEqual(own);
      // Compacted once the last of the day's collectors ended: both journals, named as on the collectors.
      const journals = collectors.map((c) => `${day}.${c.market}.journal`);
      await waitFor(archived(storeDir, journals), 30_000);
      expect(archived(storeDir, journals)()).toBe(true);
      // Each collector's session row, as on its own machine.
      const byStart = (a: unknown, b: unknown) => Number((a as { started_ns: bigint }).started_ns - (b as { started_ns: bigint }).started_ns) || String((a as { collector: string }).collector).localeCompare(String((b as { collector: string }).collector));
      expect(sessions(storeDir, day)).toEqual(collectors.flatMap((c) => sessions(c.dir, day)).sort(byStart));
      expect(await stop(store), store.err().slice(-3000)).toBe(0);
    } finally {
      store.proc.kill('SIGKILL');
      await sim.stop();
    }
  });

  it.each([
    { compressed: false, prefix: 'earlier' },
    // Compaction after the seal compressed the journal before the publisher caught up.
    { compressed: true, prefix: 'earlierbr' },
  ])('publishes the rest of an earlier day the stream lacks the end of, then its session end (journal compressed meanwhile: $compressed)', { timeout: 60_000 }, async ({ compressed, prefix }) => {
    const dataDir = join(tmp.root, prefix);
    const settings = { ...loadConfig({ env: {} }).nats, url: nats().url, stream: prefix.toUpperCase(), subjectPrefix: prefix };
    // Yesterday's journal: ten records, of which the stream acknowledged the first four (NATS went down at the close).
    const yesterday = Journal.open(journalPath(dataDir, '2026-11-19', 'a'), { log });
    const ch = yesterday.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
    const offsets: number[] = [];
    for (let i = 0; i < 10; i++) {
      offsets.push(yesterday.size);
      yesterday.append(ch, FLAG.incoming, `frame ${i}`, BigInt(i));
    }
    const size = yesterday.size;
    yesterday.close();
    writeFileSync(publishedPath(yesterday.file), JSON.stringify({ stream: settings.stream, offset: offsets[4], seq: 4 }));
    if (compressed) {
      await archiveJournal(yesterday.file);
      rmSync(yesterday.file);
    }
    // Today's session starts with an empty journal.
    const today = Journal.open(journalPath(dataDir, '2026-11-20', 'a'), { log });
    const progress = new JournalProgress();
    progress.appended(today.size, today.seq, 0n, true);
    const thread = PublisherThread.start({ settings, journalFile: today.file, day: '2026-11-20', collectorId: 'a', progress: progress.buffer }, log);
    const ended = () => (JSON.parse(readFileSync(publishedPath(yesterday.file), 'utf8')) as { endedAt?: number }).endedAt === size;
    await waitFor(ended, 30_000);
    expect(ended()).toBe(true);
    progress.close();
    today.close();
    expect((await thread.finish(false, 10_000)).caughtUp).toBe(true);
    // Only the compressed copy is left, as compaction left it.
    expect([existsSync(yesterday.file), existsSync(archivePath(yesterday.file))]).toEqual([!compressed, compressed]);

    const nc = await connect({ servers: nats().url });
    try {
      const got: { subject: string; offset?: string; end?: string; seal?: string }[] = [];
      const messages = await (await jetstream(nc).consumers.get(settings.stream)).fetch({ max_messages: 100, expires: 2_000 });
      for await (const m of messages) {
        got.push({ subject: m.subject, offset: m.headers?.get(HDR.offset) || undefined, end: m.headers?.get(HDR.end) || undefined, seal: m.headers?.get(HDR.seal) || undefined });
        if (m.info.pending === 0) break;
      }
      const day = got.filter((g) => g.subject.startsWith(`${prefix}.a.2026-11-19.`));
      expect(day.filter((g) => g.offset !== undefined).map((g) => Number(g.offset))).toEqual(offsets.slice(4));
      // Its end, sealed (the day is over); and today's end, not sealed (finish(false)).
      expect(day.filter((g) => g.end !== undefined)).toEqual([{ subject: `${prefix}.a.2026-11-19._session-end`, end: String(size), seal: 'true' }]);
      expect(got.filter((g) => g.subject === `${prefix}.a.2026-11-20._session-end`).map((g) => g.seal)).toEqual(['false']);
    } finally {
      await nc.close();
    }
  });

  it('the store writes records in journal order whatever order and how often they come, and seals at the session end', { timeout: 60_000 }, async () => {
    const settings = { ...loadConfig({ env: {} }).nats, url: nats().url, stream: 'REORDER', subjectPrefix: 'reorder' };
    const day = '2026-11-20';
    // The collector's journal: six frames of 50 trades.
    const source = Journal.open(journalPath(join(tmp.root, 'reorder-collector'), day, 'a'), { log });
    const spec = { name: 'koscom.trades.kospi', vendor: 'koscom' as const, endpoint: '/ws_ksp', kind: 'trades' as const, market: 'kospi' as const };
    const ch = source.channel(spec);
    const records = syntheticFrames(6).map((f, i) => {
      const offset = source.size;
      source.append(ch, FLAG.incoming, f, BigInt(i + 1));
      return { offset, frame: f, recvNs: BigInt(i + 1) };
    });
    source.close();
    const nc = await connect({ servers: nats().url });
    await ensureStream(await jetstreamManager(nc), settings);
    const storeDir = join(tmp.root, 'reorder-store');
    const stop = new AbortController();
    const store = runBusStore({ config: { ...loadConfig({ env: { TICKTAPE_DATA_DIR: storeDir, TICKTAPE_MIN_FREE_BYTES: '0', TICKTAPE_BATCH_MS: '50ms' } }), nats: settings }, url: nats().url, durable: 'reorder', log: pino({ level: 'silent' }), signal: stop.signal });
    try {
      const js = jetstream(nc);
      const publish = (i: number, copy = '') => js.publish(recordSubject(settings, 'a', day, spec.name), Buffer.from(records[i].frame), { msgID: `${records[i].offset}${copy}`, headers: recordHeaders(day, 'a', spec, FLAG.incoming, records[i].recvNs, records[i].offset) });
      // Reordered by a publisher's retry, and republished past the duplicate window (new ids).
      for (const [i, copy] of [[0, ''], [2, ''], [1, ''], [1, '.again'], [3, ''], [5, ''], [4, ''], [0, '.again']] as const) await publish(i, copy);
      const end = headers();
      end.set(HDR.day, day);
      end.set(HDR.collector, 'a');
      end.set(HDR.end, String(records[5].offset + 19 + Buffer.byteLength(records[5].frame)));
      end.set(HDR.seal, 'true');
      await js.publish(recordSubject(settings, 'a', day, SESSION_END), new Uint8Array(0), { msgID: 'end', headers: end });
      await storeHolds(storeDir, day, 300, 30_000);
      const rows = tradeRows(storeDir, day);
      expect(rows.length).toBe(300);
      expect(new Set(rows.map((r) => r.split('|').slice(0, 3).join('|'))).size).toBe(300);
      // The store's journal is the collector's, byte for byte (archived by the compaction after the seal).
      const file = journalPath(storeDir, day, 'a');
      await waitFor(() => existsSync(`${file}.br`), 30_000);
      expect(brotliDecompressSync(readFileSync(`${file}.br`)).equals(readFileSync(journalPath(join(tmp.root, 'reorder-collector'), day, 'a')))).toBe(true);
    } finally {
      stop.abort();
      await store;
      await nc.close();
    }
  });

  it('creates the stream once, brings it to changed settings, and refuses a retention change it cannot make', { timeout: 30_000 }, async () => {
    const settings = { ...loadConfig({ env: {} }).nats, url: nats().url, stream: 'SETTINGS', subjectPrefix: 'settings' };
    const nc = await connect({ servers: nats().url });
    try {
      const jsm = await jetstreamManager(nc);
      await ensureStream(jsm, settings);
      await ensureStream(jsm, settings);
      const first = (await jsm.streams.info('SETTINGS')).config;
      expect(first).toMatchObject({ subjects: ['settings.>'], max_age: settings.maxAgeMs * 1e6, duplicate_window: 120e9, num_replicas: 1, retention: 'limits' });
      await ensureStream(jsm, { ...settings, maxAgeMs: 3_600_000, duplicateWindowMs: 30_000 });
      expect((await jsm.streams.info('SETTINGS')).config).toMatchObject({ max_age: 3_600e9, duplicate_window: 30e9 });
      await expect(ensureStream(jsm, { ...settings, retention: 'interest' })).rejects.toThrow(/has retention limits, not interest \(TICKTAPE_NATS_RETENTION\)/);
    } finally {
      await nc.close();
    }
  });

  it('a JetStream cluster of three, one node stopped, with no change but the URL and the replicas', { timeout: 240_000 }, async () => {
    const cluster = await startNatsCluster(join(tmp.root, 'cluster'));
    const settings = { ...loadConfig({ env: {} }).nats, url: cluster.url, stream: 'CLUSTER', subjectPrefix: 'cluster', replicas: 3 };
    const day = '2026-11-20';
    const source = Journal.open(journalPath(join(tmp.root, 'cluster-collector'), day, 'a'), { log });
    const ch = source.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
    for (const [i, f] of syntheticFrames(100).entries()) source.append(ch, FLAG.incoming, f, BigInt(i + 1));
    source.close();
    const stop = new AbortController();
    const storeDir = join(tmp.root, 'cluster-store');
    let store: Promise<void> | undefined;
    try {
      const publisher = new NatsPublisher({ settings, journalFile: source.file, day, collectorId: 'a', progress: finishedProgress(source.file), log });
      expect(await publisher.run(() => ({ seal: true, deadline: Date.now() + 60_000 }))).toBe(true);
      await publisher.close();
      const nc = await connect({ servers: settings.url.split(',') });
      const info = await (await jetstreamManager(nc)).streams.info('CLUSTER');
      await nc.close();
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas).toHaveLength(2);
      // One node down: the replicas on the other two serve the store.
      await cluster.servers[0].stop();
      store = runBusStore({ config: { ...loadConfig({ env: { TICKTAPE_DATA_DIR: storeDir, TICKTAPE_MIN_FREE_BYTES: '0', TICKTAPE_BATCH_MS: '50ms' } }), nats: settings }, url: settings.url, durable: 'cluster', log, signal: stop.signal });
      await storeHolds(storeDir, day, 5_000, 150_000);
      expect(tradeRows(storeDir, day)).toHaveLength(5_000);
      const file = journalPath(storeDir, day, 'a');
      await waitFor(() => existsSync(`${file}.br`), 30_000);
      expect(brotliDecompressSync(readFileSync(`${file}.br`)).equals(readFileSync(source.file))).toBe(true);
    } finally {
      stop.abort();
      await store;
      await cluster.stop();
    }
  });
});
