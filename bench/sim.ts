// The local exchange's maximum trade emission rate (--max-rate) over a real loopback WebSocket,
// against the transport's own ceiling: a plain ws server sending one pre-encoded 50-trade frame
// as fast as the socket drains, received by the same client.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { encodeInit } from '../protocol/jsonrpc.js';
import { TRADE_STREAM_PATH } from '../protocol/koscom.js';
import { startExchange } from '../sim/exchange.js';
import { syntheticFrames } from './decode.js';
import type { Figure } from './figures.js';

const WINDOW_MS = 3000;

/** Counts trades received on `url` for WINDOW_MS after the first frame (elements = '{' bytes). */
function countTrades(url: string, init?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let trades = 0;
    let started = 0;
    ws.on('open', () => init && ws.send(init));
    ws.on('message', (data: Buffer) => {
      if (started === 0) started = performance.now();
      for (let i = 0; i < data.length; i++) if (data[i] === 0x7b) trades++;
      if (performance.now() - started >= WINDOW_MS) {
        ws.terminate();
        resolve((trades * 1000) / (performance.now() - started));
      }
    });
    ws.on('error', reject);
  });
}

async function transportCeiling(): Promise<number> {
  const frame = Buffer.from(syntheticFrames(1)[0]);
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    const pump = () => {
      while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 1 << 20) ws.send(frame);
      if (ws.readyState === WebSocket.OPEN) setImmediate(pump);
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const rate = await countTrades(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  wss.close();
  server.close();
  return rate;
}

export async function run(): Promise<Figure[]> {
  const baseline = await transportCeiling();
  const ex = await startExchange({ maxRate: true, preOpenMs: 0, dayLengthMs: 600_000, kospiSymbols: 950, kosdaqSymbols: 1650 });
  const rate = await countTrades(`${ex.koscomWsUrl}${TRADE_STREAM_PATH.kospi}`, encodeInit(1, ex.credentials.koscomApiKey, ex.credentials.koscomMember));
  await ex.close();
  return [{ name: 'sim --max-rate emission, one market socket', value: rate, unit: 'trades/s', baseline: { name: 'plain ws send of a pre-encoded frame', value: baseline } }];
}
