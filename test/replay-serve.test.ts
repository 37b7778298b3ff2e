import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeTradeFrame } from '../protocol/koscom.js';
import { decodeQuoteLists, multiquotePath, stockListPath } from '../protocol/koscom-rest.js';
import { decodeSectorFlowFrame, encodeSubscribe } from '../protocol/ls.js';
import type { Market } from '../protocol/market.js';
import { kstMidnight } from '../protocol/time.js';
import { SERVED_STREAMS, startReplayServer, type ReplayServer } from '../replay/serve.js';
import type { ReplaySource } from '../replay/source.js';
import { DAY, knownDay, writeArrowDay, writeJournalDay, writeSqliteDay, type KnownDay, type RecordedFrame } from './replay-day.js';

let dir: string;
let d: KnownDay;
let recorded: RecordedFrame[];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-replay-serve-'));
  d = knownDay();
  writeArrowDay(dir, d);
  await writeSqliteDay(dir, d);
  recorded = writeJournalDay(dir, d);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function open(url: string): Promise<{ ws: WebSocket; frames: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(data.toString()));
    ws.once('open', () => resolve({ ws, frames }));
    ws.once('error', reject);
  });
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function get(server: ReplayServer, p: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${server.url}${p}`);
  return { status: r.status, text: await r.text() };
}

/** Connects like the collector: Koscom init on both markets, LS token + BM_ registrations. */
async function connectClients(server: ReplayServer) {
  const ws = server.url.replace('http:', 'ws:');
  const kospi = await open(`${ws}/ws_ksp`);
  const kosdaq = await open(`${ws}/ws_kdq/`);
  for (const k of [kospi, kosdaq]) k.ws.send('{"jsonrpc":"2.0","id":1,"method":"init","params":{"key":"l7xx-any","membername":"test"}}');
  await until(() => kospi.frames.length > 0 && kosdaq.frames.length > 0);
  expect(JSON.parse(kospi.frames.shift()!)).toEqual({ jsonrpc: '2.0', id: 1, result: { message: 'ok' } });
  kosdaq.frames.shift();
  const tokenResponse = await fetch(`${server.url}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&appkey=a&appsecretkey=b&scope=oob' });
  const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
  const ls = await open(`${ws}/websocket`);
  for (const key of ['001', '301']) ls.ws.send(encodeSubscribe(token, 'BM_', key));
  return { kospi, kosdaq, ls, close: () => [kospi, kosdaq, ls].forEach((c) => c.ws.close()) };
}

/** Waits for every stream by name, as the collector connects them one after another. */
async function serve(source: ReplaySource): Promise<ReplayServer> {
  return startReplayServer({ dataDir: dir, day: DAY, source, speed: 'max', port: 0, logger: pino({ level: 'silent' }), waitFor: SERVED_STREAMS, startTimeoutMs: 20_000 });
}

describe('replay serve from the journal', () => {
  it('sends every recorded frame byte-identical to the socket it came from, and the recorded REST bodies', async () => {
    const server = await serve('journal');
    try {
      const restBody = (p: string, nth: 'first' | 'last') => (nth === 'first' ? recorded.find((f) => f.route === `rest:${p}`) : recorded.findLast((f) => f.route === `rest:${p}`))!.text;
      // Before the start: what the collector saw before the streams opened.
      expect((await get(server, `${stockListPath('kosdaq')}?apikey=x`)).text).toBe(restBody(stockListPath('kosdaq'), 'first'));
      expect((await get(server, `${multiquotePath('kospi', 'lists')}?apikey=x`)).text).toBe(restBody(multiquotePath('kospi', 'lists'), 'first'));
      const c = await connectClients(server);
      await server.done;
      const expected = (route: string) => recorded.filter((f) => f.route === route).map((f) => f.text);
      await until(() => c.kospi.frames.length === expected('koscom.kospi').length && c.kosdaq.frames.length === expected('koscom.kosdaq').length);
      expect(c.kospi.frames).toEqual(expected('koscom.kospi'));
      expect(c.kosdaq.frames).toEqual(expected('koscom.kosdaq'));
      const lsExpected = recorded.filter((f) => f.route.startsWith('ls.')).map((f) => f.text);
      await until(() => c.ls.frames.length === lsExpected.length);
      expect(c.ls.frames).toEqual(lsExpected);
      // After the day: the last recorded snapshot.
      expect((await get(server, `${multiquotePath('kospi', 'lists')}?apikey=x`)).text).toBe(restBody(multiquotePath('kospi', 'lists'), 'last'));
      c.close();
    } finally {
      await server.close();
    }
  });
});

describe('replay serve from a journal whose streams opened before the seed', () => {
  it('still answers REST with the seed (found by its kind), not the nothing recorded before the first stream frame', async () => {
    const late = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-replay-serve-late-seed-'));
    const frames = writeJournalDay(late, d, { seedAfterFrames: 20 });
    // The fixture really put stream frames first.
    expect(frames.findIndex((f) => f.route.startsWith('rest:'))).toBe(20);
    const server = await startReplayServer({ dataDir: late, day: DAY, source: 'journal', speed: 'max', port: 0, logger: pino({ level: 'silent' }), waitFor: SERVED_STREAMS, startTimeoutMs: 20_000 });
    try {
      const body = (p: string) => frames.find((f) => f.route === `rest:${p}`)!.text;
      for (const market of ['kospi', 'kosdaq'] as const) {
        expect((await get(server, `${stockListPath(market)}?apikey=x`)).text).toBe(body(stockListPath(market)));
        const seed = (await get(server, `${multiquotePath(market, 'lists')}?apikey=x`)).text;
        expect(seed).toBe(body(multiquotePath(market, 'lists')));
        const decoded = decodeQuoteLists(seed);
        expect(decoded.ok && decoded.value.rows.map((r) => r.symbol)).toEqual(d.snapshots.filter((s) => s.market === market && s.kind === 'seed').map((s) => s.symbol));
      }
      const c = await connectClients(server);
      await server.done;
      const kospi = frames.filter((f) => f.route === 'koscom.kospi').map((f) => f.text);
      await until(() => c.kospi.frames.length === kospi.length);
      expect(c.kospi.frames).toEqual(kospi);
      c.close();
    } finally {
      await server.close();
      fs.rmSync(late, { recursive: true, force: true });
    }
  });
});

describe.each(['arrow', 'sqlite'] as const)('replay serve from %s', (source) => {
  it('re-encodes trades into frames as recorded (≤ 50, one per frame), flows as BM_ pushes, snapshots at the session time', async () => {
    const server = await serve(source);
    try {
      const seed = decodeQuoteLists((await get(server, `${multiquotePath('kosdaq', 'lists')}?apikey=x`)).text);
      expect(seed.ok && seed.value.rows.map((r) => r.symbol)).toEqual(d.snapshots.filter((s) => s.market === 'kosdaq' && s.kind === 'seed').map((s) => s.symbol));
      const list = JSON.parse((await get(server, `${stockListPath('kospi')}?apikey=x`)).text) as { trdDd: string; isuLists: { isuSrtCd: string; isuCd: string }[] };
      expect(list.trdDd).toBe('20250314');
      expect(list.isuLists.map((l) => l.isuSrtCd).sort()).toEqual(['000660', '005930', '035420']);
      const c = await connectClients(server);
      await server.done;
      const midnight = kstMidnight(DAY);
      for (const [market, socket] of [['kospi', c.kospi], ['kosdaq', c.kosdaq]] as [Market, { frames: string[] }][]) {
        const want = d.trades.filter((t) => t.market === market);
        const frames = new Set(want.map((t) => t.srcSeq)).size;
        await until(() => socket.frames.length === frames);
        const got: string[] = [];
        for (const f of socket.frames) {
          const errors = decodeTradeFrame(f, midnight, { trade: (symbol, price, qty, exchMs, idx) => got.push(`${symbol} ${price} ${qty} ${exchMs} ${idx}`), signal: () => undefined });
          expect(errors).toEqual([]);
        }
        expect(got).toEqual(want.map((t) => `${t.symbol} ${t.price} ${t.qty} ${t.exchNs === null ? 0 : Number(t.exchNs / 1_000_000n)} ${t.srcIdx}`));
      }
      await until(() => c.ls.frames.length === d.flows.length);
      const flows = c.ls.frames.map((f) => decodeSectorFlowFrame(f));
      expect(flows.map((f) => f.ok && f.value && `${f.value.upcode} ${f.value.tjjtime} ${f.value.msvol}`)).toEqual(d.flows.map((f) => `${f.upcode} ${f.tjjtime} ${f.msvol}`));
      const last = decodeQuoteLists((await get(server, `${multiquotePath('kospi', 'lists')}?apikey=x`)).text);
      const periodic = d.snapshots.filter((s) => s.kind === 'periodic');
      expect(last.ok && last.value.rows.map((r) => r.price)).toEqual(periodic.map((s) => s.price));
      c.close();
    } finally {
      await server.close();
    }
  });
});

describe('replay serve, waiting for clients', () => {
  it('with no --wait-for, one Koscom client starts the day promptly; the log names each client and what the replay waits for', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push((JSON.parse(l) as { msg: string }).msg) });
    // A start timeout far beyond the test's: only the settle rule can start this replay in time.
    const server = await startReplayServer({ dataDir: dir, day: DAY, source: 'journal', speed: 'max', port: 0, logger, startTimeoutMs: 600_000 });
    try {
      await until(() => lines.some((l) => l.includes('waiting for a first client')));
      const kospi = await open(`${server.url.replace('http:', 'ws:')}/ws_ksp`);
      kospi.ws.send('{"jsonrpc":"2.0","id":1,"method":"init","params":{"key":"l7xx-any","membername":"test"}}');
      await server.done;
      const expected = recorded.filter((f) => f.route === 'koscom.kospi').length;
      await until(() => kospi.frames.length === expected + 1);
      kospi.ws.close();
      expect(lines).toContainEqual(expect.stringMatching(/client connected on \/ws_ksp \(kospi\)/));
      expect(lines).toContainEqual(expect.stringMatching(/kospi client ready \(init\)/));
      expect(lines).toContainEqual(expect.stringMatching(/starts once every client that connected within 1 s is ready, or anyway in 600 s/));
      expect(lines).toContainEqual(expect.stringMatching(/playing 2025-03-14 .* to kospi$/));
    } finally {
      await server.close();
    }
  });

  it('with --wait-for, logs the streams it still waits for and starts anyway at the timeout', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push((JSON.parse(l) as { msg: string }).msg) });
    const server = await startReplayServer({ dataDir: dir, day: DAY, source: 'arrow', speed: 'max', port: 0, logger, waitFor: ['kospi', 'ls'], startTimeoutMs: 1000 });
    try {
      await server.done;
      expect(lines).toContainEqual(expect.stringMatching(/waiting for clients on kospi, ls; starts once kospi, ls each have a client, or anyway in 1 s/));
      expect(lines).toContainEqual(expect.stringMatching(/start timeout \(1 s\): starting anyway, still without clients on kospi, ls/));
    } finally {
      await server.close();
    }
  });
});

describe('replay serve, protocol edges', () => {
  it('rejects REST without an API key, unknown paths, and BM_ registrations with an unknown token', async () => {
    const server = await startReplayServer({ dataDir: dir, day: DAY, source: 'arrow', speed: 'max', port: 0, logger: pino({ level: 'silent' }), waitFor: ['ls'], startTimeoutMs: 20_000 });
    try {
      expect((await get(server, stockListPath('kospi'))).status).toBe(401);
      expect((await get(server, '/v2/market/stocks/kospi/005930/master?apikey=x')).status).toBe(404);
      const koscom = await open(`${server.url.replace('http:', 'ws:')}/ws_ksp`);
      koscom.ws.send('{"jsonrpc":"2.0","method":');
      await until(() => koscom.frames.length > 0);
      expect(JSON.parse(koscom.frames[0])).toMatchObject({ jsonrpc: '2.0', error: { code: 47 } });
      koscom.ws.close();
      const ls = await open(`${server.url.replace('http:', 'ws:')}/websocket`);
      ls.ws.send(encodeSubscribe('not-a-token', 'BM_', '001'));
      await new Promise((r) => setTimeout(r, 500));
      // Not started: the only client waited for never registered.
      expect(server.replay.progress().events).toBe(0);
      expect(ls.frames).toEqual([]);
      ls.ws.close();
    } finally {
      await server.close();
    }
  });
});
