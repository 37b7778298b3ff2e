// The trade-stream socket against a WebSocket server of our own (real sockets on 127.0.0.1):
// lulls are not mistaken for dead sockets, a silent server is, oversized frames are kept.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { marketOpenAt } from '../collector/calendar.js';
import { kstDay } from '../protocol/time.js';
import { loadConfig } from '../collector/config.js';
import type { ConnectionEvent } from '../collector/socket.js';
import { TradeStream } from '../collector/trades.js';
import { decodeRpcMessage, encodeResult, RESULT_OK } from '../protocol/jsonrpc.js';
import { encodeTradeFrame } from '../protocol/koscom.js';
import { Tape } from '../followers/tape.js';
import { log, tempRoot } from './collector-capture.js';

const tmp = tempRoot('stream');
afterAll(() => tmp.remove());

type Behaviour = (ws: WebSocket, connection: number) => void;

/**
 * A Koscom-like /ws_ksp server: answers init (unless told not to) and heartbeats (while
 * `answerHeartbeat(connection, nth)` says so), then `behaviour`. Its `received` holds every
 * frame the clients sent, parsed.
 */
async function server(behaviour: Behaviour, answerHeartbeat = (_connection: number, _nth: number) => true, answerInit = true) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let connections = 0;
  const received: unknown[] = [];
  wss.on('connection', (ws) => {
    const n = ++connections;
    let heartbeats = 0;
    ws.on('message', (data) => {
      received.push(JSON.parse(data.toString()));
      const m = decodeRpcMessage(data.toString());
      if (!m.ok || m.value.kind !== 'request') return;
      if (m.value.method === 'init') {
        if (answerInit) ws.send(encodeResult(m.value.id, RESULT_OK));
        behaviour(ws, n);
      } else if (m.value.method === 'heartbeat' && answerHeartbeat(n, ++heartbeats)) ws.send(encodeResult(m.value.id, RESULT_OK));
    });
  });
  const port = (wss.address() as { port: number }).port;
  return { url: `ws://127.0.0.1:${port}`, connections: () => connections, received, close: () => new Promise<void>((r) => wss.close(() => r())) };
}

/** Epoch ms → `HH:MM` on the KST clock. */
const kstHhmm = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(11, 16);

const trades = (n: number, qty = 1) => encodeTradeFrame(Array.from({ length: n }, (_, i) => ({ symbol: '005930', price: 70_000 + i, qty, msOfDay: 9 * 3_600_000 + i * 10 })));

async function run(name: string, url: string, ms: number, env: Record<string, string> = {}) {
  const cfg = loadConfig({ env: { TICKTAPE_KOSCOM_API_KEY: 'l7xx-test-key', TICKTAPE_KOSCOM_WS_URL: url, TICKTAPE_WS_HEARTBEAT: '100ms', TICKTAPE_WS_STALE: '600ms', TICKTAPE_WS_BACKOFF_INITIAL: '50ms', TICKTAPE_WS_BACKOFF_MAX: '200ms', ...env } });
  const tape = await Tape.open({ dataDir: join(tmp.root, name), day: '2026-03-03', log, arrow: false });
  const events: ConnectionEvent[] = [];
  // Today's open as the session passes it to its streams (the calendar, on the session's thread).
  const stream = new TradeStream('kospi', { ...cfg, marketOpenAt: marketOpenAt(kstDay(Date.now()), cfg) }, tape, log, (_s, e) => events.push(e));
  stream.start();
  await new Promise((r) => setTimeout(r, ms));
  await stream.stop();
  const stats = tape.stats();
  // After the close: a market's trades wait for its trdVol reading until evidence or the store's end.
  await tape.close();
  const db = new Database(join(tmp.root, name, 'ticktape.db'), { readonly: true });
  const stored = (db.prepare("SELECT sum(qty) FROM trades WHERE symbol = '005930'").pluck().get() as number | null) ?? 0;
  db.close();
  return { stream: stream.stats(), events, channel: stats.find((c) => c.name === 'koscom.trades.kospi')!, control: stats.find((c) => c.name === 'koscom.trades.kospi.control')!, stored };
}

describe('trade stream socket', () => {
  it('stays connected through a long lull while heartbeats are answered', async () => {
    const s = await server((ws) => ws.send(trades(3)));
    const r = await run('lull', s.url, 2_500);
    await s.close();
    expect(r.stream.reconnects).toBe(0);
    expect(s.connections()).toBe(1);
    expect(r.stored).toBe(3);
    // Heartbeat replies are journaled on the control channel, never quarantined as bad trades.
    expect(r.control.frames).toBeGreaterThan(5);
    expect(r.channel.quarantined).toBe(0);
  });

  it('reconnects at once, backoff reset, when a server that answered heartbeats goes silent without closing', async () => {
    // The first connection answers one heartbeat (so transport pongs no longer prove it alive), then nothing.
    const s = await server((ws) => ws.send(trades(2)), (n, nth) => n > 1 || nth === 1);
    const r = await run('silent', s.url, 2_000);
    await s.close();
    expect(s.connections()).toBe(2);
    const reconnect = r.events.find((e) => e.type === 'reconnected');
    expect(reconnect).toMatchObject({ type: 'reconnected', reason: expect.stringMatching(/^stale: nothing received/), attempts: 0 });
    expect(r.stream.reconnects).toBe(1);
    expect(r.stored).toBe(4);
  });

  it('keeps one connection through a silence far longer than the stale timeout when heartbeats and init go unanswered but pings do not', async () => {
    // A pre-open as Koscom documents it: nothing on the socket; and the undocumented replies never come.
    const s = await server((ws) => setTimeout(() => ws.send(trades(4)), 2_400), () => false, false);
    const r = await run('no-replies', s.url, 3_000);
    await s.close();
    expect(s.connections()).toBe(1);
    expect(r.stream.reconnects).toBe(0);
    expect(r.events.filter((e) => e.type !== 'connected')).toEqual([]);
    expect(r.stored).toBe(4);
  });

  it('answers the heartbeats the server sends, by id', async () => {
    const s = await server((ws) => {
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 9001, method: 'heartbeat' }));
      ws.send(trades(1));
    });
    const r = await run('server-heartbeat', s.url, 500);
    await s.close();
    expect(s.received).toContainEqual({ jsonrpc: '2.0', id: 9001, result: RESULT_OK });
    expect(r.stored).toBe(1);
    expect(r.channel.quarantined).toBe(0);
  });

  it('caps the reconnect backoff within 10 minutes of the market open, and only there', async () => {
    // A gateway that answers every WebSocket upgrade with 503: every attempt fails.
    const http = createServer();
    http.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const slow = { TICKTAPE_WS_BACKOFF_INITIAL: '400ms', TICKTAPE_WS_BACKOFF_MAX: '60s', TICKTAPE_WS_BACKOFF_AT_OPEN: '300ms' };
    const retries = (events: ConnectionEvent[]) => events.flatMap((e) => (e.type === 'connect-failed' ? [e.retryInMs] : []));
    const atOpen = await run('backoff-open', url, 2_000, { ...slow, TICKTAPE_MARKET_OPEN: kstHhmm(Date.now()) });
    const offHours = await run('backoff-off', url, 1_500, { ...slow, TICKTAPE_MARKET_OPEN: kstHhmm(Date.now() + 3 * 3_600_000) });
    await new Promise<void>((r) => http.close(() => r()));
    expect(retries(atOpen.events).length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...retries(atOpen.events))).toBeLessThanOrEqual(300);
    // Away from the open the backoff doubles from 400 ms (200–400, 400–800, …).
    expect(retries(offHours.events)[1]).toBeGreaterThanOrEqual(400);
  });

  it('quarantines a frame above the soft cap without dropping the connection; above the hard cap it reconnects', async () => {
    const big = trades(1200);
    const huge = trades(6000);
    const s = await server((ws, n) => {
      if (n === 1) {
        ws.send(big);
        ws.send(trades(5));
        setTimeout(() => ws.send(huge), 200);
      } else ws.send(trades(7));
    });
    const r = await run('caps', s.url, 1_500, { TICKTAPE_WS_SOFT_CAP: String(64 * 1024), TICKTAPE_WS_HARD_CAP: String(256 * 1024) });
    await s.close();
    expect(big.length).toBeGreaterThan(64 * 1024);
    expect(huge.length).toBeGreaterThan(256 * 1024);
    expect(r.stream.oversize).toBe(1);
    expect(r.channel.quarantined).toBeGreaterThanOrEqual(1);
    expect(r.events.find((e) => e.type === 'disconnected')).toMatchObject({ reason: 'frame above the hard cap (maxPayload)' });
    expect(s.connections()).toBe(2);
    // The frames after the oversized one and after the reconnect were captured.
    expect(r.stored).toBeGreaterThanOrEqual(12);
  });
});
