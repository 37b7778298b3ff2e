// The simulator's LS endpoints: OAuth token, and the /websocket feeds BM_, S3_/K3_, IJ_, JIF.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeTokenResponse, encodeTokenRequest } from '../protocol/ls-rest.js';
import { decodeIndexBody, decodePush, decodeSectorFlowBody, decodeTradeBody, encodeSubscribe } from '../protocol/ls.js';
import { type Exchange, startExchange } from '../sim/exchange.js';
import { SIM_ERROR } from '../sim/ls.js';

async function token(ex: Exchange, appkey = ex.credentials.lsAppKey, appsecretkey = ex.credentials.lsAppSecret) {
  const res = await fetch(`${ex.lsRestUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: encodeTokenRequest({ appkey, appsecretkey }),
  });
  return { status: res.status, body: await res.text() };
}

async function open(url: string) {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  ws.on('message', (d) => frames.push(String(d)));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, frames, closed };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('LS OAuth and WebSocket', () => {
  let ex: Exchange;
  beforeAll(async () => {
    ex = await startExchange({ seed: 31, kospiSymbols: 40, kosdaqSymbols: 40, tradesPerDay: 150_000, dayLengthMs: 3_000, preOpenMs: 1_500, flowIntervalMs: 200, lsAck: true });
  });
  afterAll(() => ex.close());

  it('issues a JWT-shaped token with expires_in as a number, and refuses bad credentials', async () => {
    const ok = await token(ex);
    expect(ok.status).toBe(200);
    expect(typeof JSON.parse(ok.body).expires_in).toBe('number');
    const t = decodeTokenResponse(ok.body);
    expect(t.ok && t.value.expiresInSec).toBe(86_400);
    expect(t.ok && t.value.accessToken.split('.')).toHaveLength(3);
    expect((await token(ex, ex.credentials.lsAppKey, 'wrong-secret')).status).toBe(401);
    const bad = await fetch(`${ex.lsRestUrl}/oauth2/token/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(bad.status).toBe(400);
    expect((await fetch(`${ex.lsRestUrl}/oauth2/token`)).status).toBe(405);
  });

  it('closes a socket that registers with a bad token', async () => {
    const c = await open(`${ex.lsWsUrl}/websocket`);
    c.ws.send(encodeSubscribe('not-a-token', 'BM_', '001'));
    expect(await c.closed).toBe(1008);
    const p = decodePush(c.frames[0]);
    expect(p.ok && p.value.kind === 'control' && p.value.header.rsp_cd).toBe(SIM_ERROR.badToken);
  });

  it('pushes BM_ for every registered market code, S3_/K3_ per trade, IJ_ and JIF, consistent with the truth', async () => {
    const t = decodeTokenResponse((await token(ex)).body);
    if (!t.ok) throw new Error('no token');
    const c = await open(`${ex.lsWsUrl}/websocket/`);
    const kospi = ex.market.byMarket.kospi.find((i) => !i.etf)!;
    const kosdaq = ex.market.byMarket.kosdaq[0];
    for (const code of ['001', '301', '900']) c.ws.send(encodeSubscribe(t.value.accessToken, 'BM_', code));
    c.ws.send(encodeSubscribe(t.value.accessToken, 'S3_', kospi.symbol));
    c.ws.send(encodeSubscribe(t.value.accessToken, 'K3_', kosdaq.symbol));
    c.ws.send(encodeSubscribe(t.value.accessToken, 'IJ_', '001'));
    c.ws.send(encodeSubscribe(t.value.accessToken, 'JIF', '0'));
    c.ws.send(encodeSubscribe(t.value.accessToken, 'S3_', kosdaq.symbol));
    await until(() => c.frames.length >= 8);
    expect(ex.sessionState(), 'registered before the open, so JIF 21 is seen').toBe('pre-open');
    const acks = c.frames.slice(0, 8).map((f) => decodePush(f));
    expect(acks.filter((a) => a.ok && a.value.kind === 'control' && a.value.header.rsp_cd === '00000')).toHaveLength(7);
    expect(acks.some((a) => a.ok && a.value.kind === 'control' && a.value.header.rsp_cd === SIM_ERROR.notServed)).toBe(true);
    await ex.sessionEnded;
    await new Promise((r) => setTimeout(r, 200));
    const data = c.frames.map((f) => decodePush(f)).flatMap((p) => (p.ok && p.value.kind === 'data' ? [p.value] : []));
    const flows = data.filter((d) => d.trCd === 'BM_').map((d) => decodeSectorFlowBody(d.body));
    expect(flows.every((f) => f.ok)).toBe(true);
    expect(new Set(flows.map((f) => (f.ok ? f.value.upcode : '')))).toEqual(new Set(['001', '301', '900']));
    const truthFlows = ex.truth().filter((r) => r.ch === 'flow' && ['001', '301', '900'].includes(r.upcode));
    expect(flows.map((f) => (f.ok ? JSON.stringify(f.value) : ''))).toEqual(truthFlows.map(({ ch: _ch, ...f }) => JSON.stringify(f)));
    // The last KOSDAQ flow totals equal the KOSDAQ traded volume.
    const kosdaqVolume = ex.market.byMarket.kosdaq.reduce((a, i) => a + ex.market.accVolume[i.index], 0);
    const lastKosdaq = new Map<string, number>();
    for (const f of flows) if (f.ok && f.value.upcode === '301' && f.value.tjjcode <= '0011') lastKosdaq.set(f.value.tjjcode, f.value.msvolume);
    expect([...lastKosdaq.values()].reduce((a, b) => a + b, 0)).toBe(kosdaqVolume);

    const s3 = data.filter((d) => d.trCd === 'S3_').map((d) => decodeTradeBody(d.body));
    expect(s3.length).toBe(ex.truth().filter((r) => r.ch === 'trade' && r.symbol === kospi.symbol).length);
    expect(s3.every((b) => b.ok && b.value.shcode === kospi.symbol)).toBe(true);
    const lastS3 = s3.at(-1)!;
    expect(lastS3.ok && lastS3.value.volume).toBe(ex.market.accVolume[kospi.index]);
    expect(data.filter((d) => d.trCd === 'K3_').length).toBe(ex.truth().filter((r) => r.ch === 'trade' && r.symbol === kosdaq.symbol).length);
    const ij = data.filter((d) => d.trCd === 'IJ_').map((d) => decodeIndexBody(d.body));
    expect(ij.length).toBeGreaterThan(3);
    expect(ij.every((b) => b.ok && b.value.upcode === '001' && b.value.jisu > 1000)).toBe(true);
    expect(data.filter((d) => d.trCd === 'JIF').map((d) => `${d.body.jangubun}:${d.body.jstatus}`)).toEqual(['1:21', '2:21', '1:41', '2:41']);
    c.ws.close();
  });
});
