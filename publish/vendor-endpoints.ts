// The vendors' endpoints as a server, for whoever has frames to hand out in the vendors' own wire
// formats: `replay serve` (a recorded day) and the live fan-out (the day being captured). It speaks
// the protocols; what to send, when, and at whose pace is its owner's business.
//   Koscom  WS /ws_ksp /ws_kdq   init → OK, heartbeat → OK; then whatever the owner sends
//           REST stock lists, multiquote lists / ohlclists: the owner's answer
//   LS      POST /oauth2/token → a local token; WS /websocket: BM_ register / release by market code
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeRpcMessage, encodeResult, encodeRpcError, RESULT_OK, RPC_MALFORMED, RPC_MALFORMED_MESSAGE } from '../protocol/jsonrpc.js';
import { TRADE_STREAM_PATH } from '../protocol/koscom.js';
import { encodeGatewayError, GATEWAY_MESSAGE, multiquotePath, stockListPath } from '../protocol/koscom-rest.js';
import { decodeTokenRequest, encodeTokenResponse, TOKEN_PATH } from '../protocol/ls-rest.js';
import { decodeSubscribe, TR_TYPE, WS_PATH } from '../protocol/ls.js';
import { MARKETS, type Market } from '../protocol/market.js';
import { FLAG } from '../storage/journal.js';

/** A vendor stream a client can be on: a Koscom market socket, or LS BM_. */
export type ServedStream = Market | 'ls';
export const SERVED_STREAMS: readonly ServedStream[] = ['kospi', 'kosdaq', 'ls'];

/** A Koscom market-data REST request the owner answers: which market, which list. */
export interface MarketDataRequest {
  /** The request path without a trailing slash, as the collector journals it. */
  path: string;
  market: Market;
  /** `/v2/market/multiquote/stocks/…` (a snapshot half) rather than the stock list. */
  multiquote: boolean;
  list: 'lists' | 'ohlclists';
}

export interface VendorEndpointsOptions {
  log: Logger;
  /** Who is speaking, in log lines (`replay serve`, `publish`). */
  name: string;
  /** The body of a market-data answer (status 200 unless given). */
  answer(req: MarketDataRequest): Promise<{ status?: number; body: string }>;
  /** A client connected, became ready (Koscom init, LS first BM_ register) or left. */
  onClientsChanged?(): void;
  /** A WebSocket path of the owner's own (the fan-out's `/stream`); return false to refuse it with 404. */
  upgrade?(path: string, req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Sends a frame to a ready client; default `ws.send` (the fan-out counts and bounds each client's queue). */
  send?(ws: WebSocket, frame: string | Uint8Array): void;
  /** A vendor-protocol client connected (before it is ready). */
  onClient?(ws: WebSocket, stream: ServedStream): void;
}

const TOKEN_TTL_SEC = 86_400;
const MARKET_DATA_PATH = /^\/v2\/market\/(?:multiquote\/)?stocks\/(kospi|kosdaq)\/(lists|ohlclists)$/;

export class VendorEndpoints {
  readonly server: http.Server;
  readonly wss = new WebSocketServer({ noServer: true });
  /** Ready Koscom sockets (init answered) per market. */
  readonly koscom: Record<Market, Set<WebSocket>> = { kospi: new Set(), kosdaq: new Set() };
  /** LS sockets by the BM_ market codes they registered. */
  readonly ls = new Map<WebSocket, Set<string>>();
  /** Sockets that connected and are not ready yet (Koscom before init, LS before its first BM_ register). */
  readonly pending = new Set<WebSocket>();
  private readonly tokens = new Set<string>();
  private readonly sendFrame: (ws: WebSocket, frame: string | Uint8Array) => void;

  constructor(private readonly o: VendorEndpointsOptions) {
    this.sendFrame = o.send ?? ((ws, frame) => ws.send(frame, { binary: false }));
    this.server = http.createServer((req, res) => {
      this.handleRest(req, res).catch((e: Error) => {
        o.log.error({ err: e.message, path: req.url?.split('?')[0] }, `${o.name}: REST handler failed`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ message: 'internal error' }));
      });
    });
    this.server.on('upgrade', (req, socket, head) => {
      const path = (req.url ?? '/').split('?')[0].replace(/\/$/, '');
      const market = MARKETS.find((mk) => TRADE_STREAM_PATH[mk] === path);
      if (market !== undefined || path === WS_PATH) {
        this.wss.handleUpgrade(req, socket, head, (ws) => (market !== undefined ? this.serveKoscom(ws, market) : this.serveLs(ws)));
      } else if (!o.upgrade?.(path, req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    });
  }

  /** Listens; resolves with the bound port (0 = any free port). */
  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  hasClient(s: ServedStream): boolean {
    return s === 'ls' ? [...this.ls.values()].some((k) => k.size > 0) : this.koscom[s].size > 0;
  }

  readyStreams(): ServedStream[] {
    return SERVED_STREAMS.filter((s) => this.hasClient(s));
  }

  /** Sends a Koscom trade frame to every ready client of the market. */
  sendKoscom(market: Market, frame: string | Uint8Array): void {
    for (const ws of this.koscom[market]) this.sendFrame(ws, frame);
  }

  /** Sends an LS push to every client that registered its market code. */
  sendLs(trKey: string, frame: string | Uint8Array): void {
    for (const [ws, keys] of this.ls) if (keys.has(trKey)) this.sendFrame(ws, frame);
  }

  /** Every vendor-protocol socket (ready or not). */
  *sockets(): Iterable<WebSocket> {
    for (const set of Object.values(this.koscom)) yield* set;
    yield* this.ls.keys();
    yield* this.pending;
  }

  /** Forgets a socket the owner dropped (it is closing). */
  forget(ws: WebSocket): void {
    for (const set of Object.values(this.koscom)) set.delete(ws);
    this.ls.delete(ws);
    this.pending.delete(ws);
  }

  /** Ends every connection and stops listening. */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handleRest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
    };
    if (req.method === 'POST' && url.pathname === TOKEN_PATH) {
      const r = decodeTokenRequest(await readBody(req));
      if (!r.ok) return send(400, JSON.stringify({ message: `${r.error.field}: ${r.error.reason}` }));
      // Any app key is accepted: nothing here is the vendor's to protect; the token only gates /websocket.
      const token = randomBytes(24).toString('base64url');
      this.tokens.add(token);
      return send(200, encodeTokenResponse({ accessToken: token, expiresInSec: TOKEN_TTL_SEC, tokenType: 'Bearer' }));
    }
    if (req.method !== 'GET') return send(404, encodeGatewayError(GATEWAY_MESSAGE.noRoute));
    if (!url.searchParams.get('apikey') && !req.headers.apikey) return send(401, encodeGatewayError(GATEWAY_MESSAGE.noKey));
    const path = url.pathname.replace(/\/$/, '');
    const m = MARKET_DATA_PATH.exec(path);
    if (!m) return send(404, encodeGatewayError(GATEWAY_MESSAGE.noRoute));
    const a = await this.o.answer({ path, market: m[1] as Market, multiquote: path.includes('/multiquote/'), list: m[2] as 'lists' | 'ohlclists' });
    return send(a.status ?? 200, a.body);
  }

  private serveKoscom(ws: WebSocket, market: Market): void {
    const { log, name } = this.o;
    log.info({ stream: market }, `${name}: client connected on ${TRADE_STREAM_PATH[market]} (${market})`);
    this.pending.add(ws);
    this.o.onClient?.(ws, market);
    this.o.onClientsChanged?.();
    ws.on('message', (data) => {
      const msg = decodeRpcMessage(data.toString());
      if (!msg.ok) return ws.send(encodeRpcError(RPC_MALFORMED, RPC_MALFORMED_MESSAGE));
      if (msg.value.kind !== 'request') return;
      const { id, method } = msg.value;
      if (method === 'init') {
        ws.send(encodeResult(id, RESULT_OK));
        if (!this.pending.delete(ws)) return;
        this.koscom[market].add(ws);
        log.info({ stream: market }, `${name}: ${market} client ready (init)`);
        this.o.onClientsChanged?.();
      } else if (method === 'heartbeat') ws.send(encodeResult(id, RESULT_OK));
    });
    ws.on('close', () => {
      const was = this.koscom[market].delete(ws) || this.pending.delete(ws);
      if (was) this.o.onClientsChanged?.();
    });
  }

  private serveLs(ws: WebSocket): void {
    const { log, name } = this.o;
    const keys = new Set<string>();
    log.info({ stream: 'ls' }, `${name}: client connected on ${WS_PATH} (LS)`);
    this.pending.add(ws);
    this.o.onClient?.(ws, 'ls');
    this.o.onClientsChanged?.();
    ws.on('message', (data) => {
      const sub = decodeSubscribe(data.toString());
      if (!sub.ok || sub.value.trCd !== 'BM_') return;
      if (sub.value.token === undefined || !this.tokens.has(sub.value.token)) {
        log.warn(`${name}: LS register with an unknown token, ignored`);
        return;
      }
      if (sub.value.trType === TR_TYPE.register) keys.add(sub.value.trKey);
      else if (sub.value.trType === TR_TYPE.release) keys.delete(sub.value.trKey);
      if (this.pending.delete(ws)) {
        this.ls.set(ws, keys);
        log.info({ stream: 'ls' }, `${name}: LS client ready (BM_ ${sub.value.trKey} registered)`);
      }
      this.o.onClientsChanged?.();
    });
    ws.on('close', () => {
      const was = this.ls.delete(ws) || this.pending.delete(ws);
      if (was) this.o.onClientsChanged?.();
    });
  }
}

/** Where a journal frame goes on the vendors' endpoints: a Koscom trade socket, LS sockets registered for a key, or a REST answer. */
export type FrameRoute = { kind: 'trades'; market: Market } | { kind: 'ls'; trKey: string } | { kind: 'rest'; path: string } | { kind: 'none' };

const NO_ROUTE: FrameRoute = { kind: 'none' };

export function frameRoute(e: { flags: number; kind: string; market?: Market; bytes: Uint8Array }): FrameRoute {
  // Only what the vendor sent goes back on the wire: not our own frames, not connection events.
  if (e.flags !== FLAG.incoming) return NO_ROUTE;
  switch (e.kind) {
    case 'trades':
      return e.market === undefined ? NO_ROUTE : { kind: 'trades', market: e.market };
    case 'ls.ws': {
      // Route on header.tr_key as the vendor does; control frames (no key) are not replayed.
      const key = /"tr_key"\s*:\s*"([^"]*)"/.exec(Buffer.from(e.bytes.buffer, e.bytes.byteOffset, Math.min(e.bytes.byteLength, 200)).toString('utf8'));
      return key ? { kind: 'ls', trKey: key[1] } : NO_ROUTE;
    }
    case 'stock-list':
      return e.market === undefined ? NO_ROUTE : { kind: 'rest', path: stockListPath(e.market) };
    case 'multiquote-lists':
      return e.market === undefined ? NO_ROUTE : { kind: 'rest', path: multiquotePath(e.market, 'lists') };
    case 'multiquote-ohlclists':
      return e.market === undefined ? NO_ROUTE : { kind: 'rest', path: multiquotePath(e.market, 'ohlclists') };
    default:
      return NO_ROUTE;
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
