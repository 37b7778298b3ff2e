// The trade-stream socket against a WebSocket server of our own (real sockets on 127.0.0.1):
// lulls are not mistaken for dead sockets, a silent server is, oversized frames are kept.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
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

/** A Koscom-like /ws_ksp server: answers init and heartbeats (unless told not to), then `behaviour`. */
async function server(behaviour: Behaviour, answerHeartbeats = (_connection: number) => true) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let connections = 0;
  wss.on('connection', (ws) => {
    const n = ++connections;
    ws.on('message', (data) => {
      const m = decodeRpcMessage(data.toString());
      if (!m.ok || m.value.kind !== 'request') return;
      if (m.value.method === 'init') {
        ws.send(encodeResult(m.value.id, RESULT_OK));
        behaviour(ws, n);
      } else if (m.value.method === 'heartbeat' && answerHeartbeats(n)) ws.send(encodeResult(m.value.id, RESULT_OK));
    });
  });
  const port = (wss.address() as { port: number }).port;
  return { url: `ws://127.0.0.1:${port}`, connections: () => connections, close: () => new Promise<void>((r) => wss.close(() => r())) };
}

const trades = (n: number, qty = 1) => encodeTradeFrame(Array.from({ length: n }, (_, i) => ({ symbol: '005930', price: 70_000 + i, qty, msOfDay: 9 * 3_600_000 + i * 10 })));

async function run(name: string, url: string, ms: number, env: Record<string, string> = {}) {
  const cfg = loadConfig({ env: { TICKTAPE_KOSCOM_API_KEY: 'l7xx-test-key', TICKTAPE_KOSCOM_WS_URL: url, TICKTAPE_WS_HEARTBEAT: '100ms', TICKTAPE_WS_STALE: '600ms', TICKTAPE_WS_BACKOFF_INITIAL: '50ms', TICKTAPE_WS_BACKOFF_MAX: '200ms', ...env } });
  const tape = await Tape.open({ dataDir: join(tmp.root, name), day: '2026-03-03', log, arrow: false });
  const events: ConnectionEvent[] = [];
  const stream = new TradeStream('kospi', cfg, tape, log, (_s, e) => events.push(e));
  stream.start();
  await new Promise((r) => setTimeout(r, ms));
  await stream.stop();
  const stats = tape.stats();
  const stored = tape.streamedVolume('kospi').sum.get('005930') ?? 0;
  await tape.close();
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

  it('reconnects when the server goes silent without closing, and records the outage', async () => {
    const s = await server((ws) => ws.send(trades(2)), (n) => n > 1);
    const r = await run('silent', s.url, 2_000);
    await s.close();
    expect(s.connections()).toBe(2);
    const reconnect = r.events.find((e) => e.type === 'reconnected');
    expect(reconnect).toMatchObject({ type: 'reconnected', reason: expect.stringMatching(/^stale: nothing received/) });
    expect(r.stream.reconnects).toBe(1);
    expect(r.stored).toBe(4);
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
