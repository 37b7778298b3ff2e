// LS Securities endpoints of the simulator (ls.md §2, §4, §5): `POST /oauth2/token` and the
// WebSocket `/websocket` with BM_ sector flows, S3_/K3_ trades, IJ_ index levels and JIF
// session events. Tokens look like the gateway's JWTs but are synthetic and only valid here.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import {
  BM_CODES, PING, PING_FRAME, PONG, PONG_FRAME, TR_TYPE, decodePush, decodeSubscribe, encodeIndexPush, encodeMarketStatusPush, encodeSectorFlowPush,
  encodeSimAck, encodeTradePush,
} from '../protocol/ls.js';
import { TOKEN_CONTENT_TYPE, decodeTokenRequest, encodeTokenResponse } from '../protocol/ls-rest.js';
import type { SectorFlow } from '../protocol/market.js';
import { formatHhmmss } from '../protocol/time.js';
import { type SimContext, isStale } from './context.js';
import { truncated, wrongTypedLsPush } from './garble.js';
import type { Issue } from './market.js';
import { bestQuotes, changeSign } from './quotes.js';
import { OPEN_MS, SESSION_MS } from './session.js';

const TOKEN_TTL_SEC = 86_400;
/** Token request bodies are a few hundred bytes; anything past this is ignored. */
const MAX_FORM_BYTES = 65_536;

/** IJ_ keys the simulator computes, with each index's previous close. */
const INDEX_BASE: Readonly<Record<string, number>> = { '001': 2_500, '101': 330, '301': 800 };

/**
 * SIMULATOR ONLY: LS documents no error frame for the WebSocket (ls.md §4.2). The simulator
 * answers a bad frame with this control frame (header with rsp_cd/rsp_msg, body null).
 */
export const SIM_ERROR = { badFrame: '40000', badToken: '40100', notServed: '40400' } as const;

interface LsConn {
  ws: WebSocket;
  openedAt: number;
  regs: Set<string>;
  /** PING frames sent and not answered (ping fault). */
  pingsDue: number;
  lastPingAt: number;
}

/** A PING left unanswered this many times closes the connection. */
const MAX_PINGS_DUE = 3;
/** The simulator's PING: the field LS clients match on, in other bytes than the public client's constant. */
const SIM_PING = JSON.stringify({ header: { tr_cd: '', tr_id: PING }, body: null });

interface IndexDay {
  open: number;
  openTime: string;
  high: number;
  highTime: string;
  low: number;
  lowTime: string;
  volume: number;
}

export class LsEndpoints {
  /** Per issue: S3_/K3_ registrations on it. */
  readonly watched: Uint16Array;
  private readonly tokens = new Map<string, number>();
  private readonly conns = new Set<LsConn>();
  /** Registrations by `tr_cd|tr_key`. */
  private readonly byKey = new Map<string, Set<LsConn>>();
  private readonly indexDay = new Map<string, IndexDay>();
  private lastRevokeAt = Date.now();
  private authErrorsSent = 0;

  constructor(private readonly ctx: SimContext) {
    this.watched = new Uint16Array(ctx.market.issues.length);
  }

  /** `POST /oauth2/token`, form-encoded appkey/appsecretkey. */
  handleToken(req: IncomingMessage, res: ServerResponse): void {
    const ctx = this.ctx;
    const reply = (status: number, body: string) => {
      const send = () => {
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(body);
      };
      if (ctx.faults.restDelayMs > 0) setTimeout(send, ctx.faults.restDelayMs);
      else send();
    };
    if (req.method !== 'POST') return reply(405, lsError('IGW00001', 'POST 요청만 허용됩니다'));
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      if (body.length < MAX_FORM_BYTES) body += chunk;
    });
    req.on('end', () => {
      ctx.stats.restRequests++;
      if (!(req.headers['content-type'] ?? '').startsWith(TOKEN_CONTENT_TYPE)) return reply(400, lsError('IGW00002', `content-type: ${TOKEN_CONTENT_TYPE} 이어야 합니다`));
      const form = decodeTokenRequest(body);
      if (!form.ok) return reply(400, lsError('IGW00002', `${form.error.field}: ${form.error.reason}`));
      const { appkey, appsecretkey } = form.value;
      if (ctx.faults.rejectCredentials || appkey !== ctx.credentials.lsAppKey || appsecretkey !== ctx.credentials.lsAppSecret) {
        return reply(401, lsError('IGW00105', '유효하지 않은 AppKey 또는 AppSecret 입니다'));
      }
      const token = syntheticJwt(TOKEN_TTL_SEC);
      this.tokens.set(token, Date.now() + TOKEN_TTL_SEC * 1000);
      ctx.stats.lsTokensIssued++;
      reply(200, encodeTokenResponse({ accessToken: token, expiresInSec: TOKEN_TTL_SEC, tokenType: 'Bearer' }));
    });
  }

  accept(ws: WebSocket): void {
    const now = Date.now();
    const conn: LsConn = { ws, openedAt: now, regs: new Set(), pingsDue: 0, lastPingAt: now };
    this.conns.add(conn);
    ws.on('close', () => {
      this.conns.delete(conn);
      for (const key of conn.regs) this.release(conn, key);
    });
    ws.on('message', (data) => this.onFrame(conn, String(data)));
  }

  private onFrame(conn: LsConn, text: string): void {
    const ctx = this.ctx;
    if (isStale(ctx, conn.openedAt, Date.now())) return;
    if (text === PING_FRAME) return this.send(conn, PONG_FRAME);
    const control = decodePush(text);
    if (control.ok && control.value.kind === 'control' && control.value.control.trId === PONG) {
      conn.pingsDue = 0;
      ctx.stats.lsPongs++;
      return;
    }
    const f = decodeSubscribe(text);
    if (!f.ok) return this.send(conn, controlFrame('', '', SIM_ERROR.badFrame, `${f.error.field}: ${f.error.reason}`));
    const { token, trType, trCd, trKey } = f.value;
    const expiry = token === undefined ? undefined : this.tokens.get(token);
    if (ctx.faults.rejectCredentials || expiry === undefined || expiry < Date.now()) {
      this.send(conn, controlFrame(trCd, trKey, SIM_ERROR.badToken, token === undefined ? 'header.token 이 없습니다' : '유효하지 않은 토큰입니다'));
      conn.ws.close(1008, 'invalid token');
      return;
    }
    if (trType !== TR_TYPE.register && trType !== TR_TYPE.release) {
      return this.send(conn, controlFrame(trCd, trKey, SIM_ERROR.notServed, `tr_type ${trType}: 계좌 실시간은 시뮬레이터가 제공하지 않습니다`));
    }
    const issue = this.validKey(trCd, trKey);
    if (issue === false) return this.send(conn, controlFrame(trCd, trKey, SIM_ERROR.notServed, `${trCd} ${trKey}: 제공하지 않는 TR 또는 키입니다`));
    const key = `${trCd}|${trKey}`;
    if (trType === TR_TYPE.register) {
      if (!conn.regs.has(key)) {
        conn.regs.add(key);
        let set = this.byKey.get(key);
        if (!set) this.byKey.set(key, (set = new Set()));
        set.add(conn);
        if (issue) this.watched[issue.index]++;
      }
      if (ctx.lsAck) this.send(conn, encodeSimAck(trCd, trKey));
    } else {
      if (conn.regs.delete(key)) this.release(conn, key);
      if (ctx.lsAck) this.send(conn, encodeSimAck(trCd, trKey, 'simulator: released'));
    }
  }

  /** The issue for S3_/K3_ keys, null for other valid keys, false for keys the simulator does not serve. */
  private validKey(trCd: string, trKey: string): Issue | null | false {
    switch (trCd) {
      case 'BM_':
        return (BM_CODES as readonly string[]).includes(trKey) ? null : false;
      case 'IJ_':
        return trKey in INDEX_BASE ? null : false;
      case 'JIF':
        return null;
      case 'S3_':
      case 'K3_': {
        const issue = this.ctx.market.issue(trKey);
        return issue && issue.market === (trCd === 'S3_' ? 'kospi' : 'kosdaq') ? issue : false;
      }
      default:
        return false;
    }
  }

  private release(conn: LsConn, key: string): void {
    const set = this.byKey.get(key);
    if (!set?.delete(conn)) return;
    const [trCd, trKey] = key.split('|');
    if (trCd === 'S3_' || trCd === 'K3_') {
      const issue = this.ctx.market.issue(trKey);
      if (issue) this.watched[issue.index]--;
    }
  }

  /**
   * The LS fault switches that run on the clock: PING frames (a connection leaving three
   * unanswered is closed) and token revocation (every token dropped, each registered connection
   * told with an authentication-error frame and sent nothing more).
   */
  faultTick(now: number): void {
    const { faults, stats } = this.ctx;
    if (faults.lsPingMs > 0) {
      for (const c of this.conns) {
        if (now - c.lastPingAt < faults.lsPingMs || isStale(this.ctx, c.openedAt, now)) continue;
        if (c.pingsDue >= MAX_PINGS_DUE) {
          c.ws.close(1008, 'ping timeout');
          continue;
        }
        c.lastPingAt = now;
        c.pingsDue++;
        stats.lsPings++;
        this.send(c, SIM_PING, now);
      }
    }
    if (faults.lsAuthErrorEveryMs <= 0) this.lastRevokeAt = now;
    else if (now - this.lastRevokeAt >= faults.lsAuthErrorEveryMs) {
      this.lastRevokeAt = now;
      this.tokens.clear();
      for (const c of this.conns) {
        if (c.regs.size === 0) continue;
        const inBody = this.authErrorsSent++ % 2 === 1;
        const rsp = { rsp_cd: SIM_ERROR.badToken, rsp_msg: '토큰이 만료되었거나 폐기되었습니다' };
        this.send(c, JSON.stringify(inBody ? { header: { tr_cd: 'BM_', tr_key: '' }, body: rsp } : { header: { tr_cd: 'BM_', tr_key: '', ...rsp }, body: null }), now);
        stats.lsAuthErrors++;
        for (const key of c.regs) this.release(c, key);
        c.regs.clear();
      }
    }
  }

  /** Close-every fault: drop every LS connection abruptly. */
  dropAll(): void {
    for (const c of this.conns) {
      c.ws.terminate();
      this.ctx.stats.forcedCloses++;
    }
  }

  /** BM_ pushes of newly generated flows to the connections registered on each flow's market code. */
  broadcastFlows(flows: readonly SectorFlow[], now: number): void {
    for (const flow of flows) {
      const set = this.byKey.get(`BM_|${flow.upcode}`);
      if (set && set.size > 0) this.broadcast(set, encodeSectorFlowPush(flow), 'BM_', flow.upcode, now);
    }
  }

  /** S3_/K3_ push after a trade of a registered issue: this trade's price and quantity, the issue's day so far. */
  onTrade(issue: Issue, price: number, qty: number, volume: number, value: number, msOfDay: number, now: number): void {
    const trCd = issue.market === 'kospi' ? 'S3_' : 'K3_';
    const set = this.byKey.get(`${trCd}|${issue.symbol}`);
    if (!set || set.size === 0) return;
    const m = this.ctx.market;
    const k = issue.index;
    const buy = m.buyVolume[k];
    const sell = m.accVolume[k] - buy;
    const [ask, bid] = bestQuotes(price);
    const frame = encodeTradePush(trCd, {
      chetime: formatHhmmss(msOfDay), sign: changeSign(price, issue.basePrice, issue.upper, issue.lower),
      change: Math.abs(price - issue.basePrice), drate: round2(((price - issue.basePrice) / issue.basePrice) * 100), price,
      opentime: formatHhmmss(m.openMs[k]), open: m.open[k], hightime: formatHhmmss(m.highMs[k]), high: m.high[k],
      lowtime: formatHhmmss(m.lowMs[k]), low: m.low[k], cgubun: m.lastSide[k] === 2 ? '+' : '-', cvolume: qty, volume,
      value: Math.round(value / 1e6), mdvolume: sell, mdchecnt: m.tradeCount[k] - m.buyCount[k], msvolume: buy,
      mschecnt: m.buyCount[k], cpower: sell > 0 ? round2((buy / sell) * 100) : 0, w_avrg: Math.round(value / volume),
      offerho: ask, bidho: bid, status: '00', jnilvolume: Math.round((issue.prevVolume * Math.max(0, msOfDay - OPEN_MS)) / SESSION_MS),
      shcode: issue.symbol, exchname: 'KRX',
    });
    this.broadcast(set, frame, trCd, issue.symbol, now);
  }

  /** IJ_ pushes for the registered index keys, computed from the issues' last prices. */
  pushIndices(msOfDay: number, now: number): void {
    for (const code of Object.keys(INDEX_BASE)) {
      const set = this.byKey.get(`IJ_|${code}`);
      if (set && set.size > 0) this.broadcast(set, encodeIndexPush(this.indexBody(code, msOfDay)), 'IJ_', code, now);
    }
  }

  /** JIF session event (jstatus 21 장 시작, 41 장 마감) for both markets. */
  sessionEvent(jstatus: string, now: number): void {
    const set = this.byKey.get('JIF|0');
    if (!set || set.size === 0) return;
    for (const jangubun of ['1', '2']) this.broadcast(set, encodeMarketStatusPush({ jangubun, jstatus }), 'JIF', '0', now);
  }

  private indexBody(code: string, msOfDay: number) {
    const m = this.ctx.market;
    const members = m.issues.filter((i) => (code === '301' ? i.market === 'kosdaq' : code === '101' ? i.kp200 : i.market === 'kospi' && !i.etf));
    let ratio = 0;
    let up = 0, high = 0, unchanged = 0, low = 0, down = 0, volume = 0, value = 0;
    for (const i of members) {
      const p = m.last[i.index];
      ratio += p / i.basePrice;
      volume += m.accVolume[i.index];
      value += m.accValue[i.index];
      if (p >= i.upper) up++;
      else if (p <= i.lower) down++;
      if (p > i.basePrice) high++;
      else if (p < i.basePrice) low++;
      else unchanged++;
    }
    const base = INDEX_BASE[code];
    const jisu = round2((base * ratio) / Math.max(1, members.length));
    const time = formatHhmmss(msOfDay);
    let day = this.indexDay.get(code);
    if (!day) this.indexDay.set(code, (day = { open: jisu, openTime: time, high: jisu, highTime: time, low: jisu, lowTime: time, volume: 0 }));
    if (jisu > day.high) [day.high, day.highTime] = [jisu, time];
    if (jisu < day.low) [day.low, day.lowTime] = [jisu, time];
    const thousands = Math.round(volume / 1000);
    const cvolume = thousands - day.volume;
    day.volume = thousands;
    const [frgsvolume, frgsvalue] = m.flows.net(code, '0017');
    const [orgsvolume, orgsvalue] = m.flows.net(code, '0018');
    return {
      time, jisu, sign: jisu > base ? '2' : jisu < base ? '5' : '3', change: round2(Math.abs(jisu - base)), drate: round2(((jisu - base) / base) * 100),
      cvolume, volume: thousands, value: Math.round(value / 1e6), upjo: up, highjo: high, unchgjo: unchanged, lowjo: low, downjo: down,
      upjrate: round2((high / Math.max(1, members.length)) * 100), openjisu: day.open, opentime: day.openTime, highjisu: day.high,
      hightime: day.highTime, lowjisu: day.low, lowtime: day.lowTime, frgsvolume, orgsvolume,
      frgsvalue: Math.round(frgsvalue / 1e6), orgsvalue: Math.round(orgsvalue / 1e6), upcode: code,
    };
  }

  private broadcast(set: Set<LsConn>, frame: string, trCd: string, trKey: string, now: number): void {
    const ctx = this.ctx;
    let extra: string | undefined;
    if (ctx.faults.malformedRate > 0 && ctx.faultRng.next() < ctx.faults.malformedRate) extra = truncated(frame, ctx.faultRng);
    else if (ctx.faults.wrongTypeRate > 0 && ctx.faultRng.next() < ctx.faults.wrongTypeRate) extra = wrongTypedLsPush(trCd, trKey, ctx.faultRng);
    for (const c of set) {
      this.send(c, frame, now);
      if (extra !== undefined && !isStale(ctx, c.openedAt, now)) {
        this.send(c, extra, now);
        ctx.stats.badFrames++;
      }
    }
  }

  private send(conn: LsConn, frame: string, now = Date.now()): void {
    if (conn.ws.readyState !== conn.ws.OPEN || isStale(this.ctx, conn.openedAt, now)) return;
    conn.ws.send(frame);
    this.ctx.stats.framesSent++;
  }
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** SIMULATOR ONLY error body of the token endpoint (LS documents none): `{rsp_cd, rsp_msg}`. */
function lsError(rspCd: string, rspMsg: string): string {
  return JSON.stringify({ rsp_cd: rspCd, rsp_msg: rspMsg });
}

function controlFrame(trCd: string, trKey: string, rspCd: string, rspMsg: string): string {
  return JSON.stringify({ header: { tr_cd: trCd, tr_key: trKey, rsp_cd: rspCd, rsp_msg: rspMsg }, body: null });
}

/** A JWT-shaped token (HS512 header, nbf/exp 24 h apart) whose signature is random bytes. */
function syntheticJwt(ttlSec: number): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ typ: 'JWT', alg: 'HS512' })}.${part({ sub: 'ticktape-sim', aud: 'ticktape-sim', nbf: now, iat: now, exp: now + ttlSec, jti: randomBytes(8).toString('hex') })}.${randomBytes(64).toString('base64url')}`;
}
