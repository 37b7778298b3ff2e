// Each fault switch of the simulator, switched at run time through Exchange.faults.
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { decodeRpcMessage, encodeHeartbeat, encodeInit } from '../protocol/jsonrpc.js';
import { decodeTradeFrame } from '../protocol/koscom.js';
import { decodeQuoteLists } from '../protocol/koscom-rest.js';
import { encodeTokenRequest, decodeTokenResponse } from '../protocol/ls-rest.js';
import { decodePush, encodeSubscribe } from '../protocol/ls.js';
import { kstMidnight } from '../protocol/time.js';
import { type Exchange, type ExchangeOptions, startExchange } from '../sim/exchange.js';

const SMALL: Partial<ExchangeOptions> = { kospiSymbols: 20, kosdaqSymbols: 20, tradesPerDay: 100_000, dayLengthMs: 2_000, preOpenMs: 800 };

async function exchange(opts: Partial<ExchangeOptions> = {}): Promise<Exchange> {
  const ex = await startExchange({ ...SMALL, ...opts });
  onTestFinished(() => ex.close());
  return ex;
}

async function open(url: string) {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  ws.on('message', (d) => frames.push(String(d)));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, frames, closed };
}

async function tradeStream(ex: Exchange, path = '/ws_ksp') {
  const c = await open(ex.koscomWsUrl + path);
  c.ws.send(encodeInit(1, ex.credentials.koscomApiKey, ex.credentials.koscomMember));
  await until(() => c.frames.length > 0);
  return c;
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Decodes every array frame; returns the trades and the frames that failed. */
function decodeAll(ex: Exchange, frames: readonly string[]) {
  const trades: { symbol: string; price: number; qty: number }[] = [];
  let bad = 0;
  const sink = { trade: (symbol: string, price: number, qty: number) => trades.push({ symbol, price, qty }), signal: () => undefined };
  for (const f of frames) {
    if (!f.startsWith('[')) continue;
    if (decodeTradeFrame(f, kstMidnight(ex.day), sink).length > 0) bad++;
  }
  return { trades, bad };
}

const streamedTruth = (ex: Exchange, market = 'kospi') => ex.truth().flatMap((r) => (r.ch === 'trade' && r.market === market && r.sent ? [{ symbol: r.symbol, price: r.price, qty: r.qty }] : []));

describe('fault injection', () => {
  it('drops trades from the stream but not from REST volumes, and marks them sent:false', async () => {
    const ex = await exchange({ faults: { dropRate: 0.3 } });
    const c = await tradeStream(ex);
    await ex.sessionEnded;
    await until(() => decodeAll(ex, c.frames).trades.length >= streamedTruth(ex).length);
    const dropped = ex.truth().filter((r) => r.ch === 'trade' && !r.sent);
    expect(dropped.length).toBeGreaterThan(0);
    expect(ex.stats.tradesDropped).toBe(dropped.length);
    expect(decodeAll(ex, c.frames).trades).toEqual(streamedTruth(ex));
    const res = await fetch(`${ex.koscomRestUrl}/v2/market/multiquote/stocks/kospi/lists?apikey=${ex.credentials.koscomApiKey}`);
    const lists = decodeQuoteLists(await res.text());
    const all = new Map<string, number>();
    for (const r of ex.truth()) if (r.ch === 'trade' && r.market === 'kospi') all.set(r.symbol, (all.get(r.symbol) ?? 0) + r.qty);
    expect(lists.ok && lists.value.rows.map((r) => r.accVolume)).toEqual(lists.ok && lists.value.rows.map((r) => all.get(r.symbol) ?? 0));
  });

  it('injects truncated and wrong-typed frames beside the real ones, which still match the truth', async () => {
    const ex = await exchange({ faults: { malformedRate: 0.5 } });
    const c = await tradeStream(ex);
    await until(() => ex.stats.badFrames >= 5);
    ex.faults.malformedRate = 0;
    ex.faults.wrongTypeRate = 1;
    const before = ex.stats.badFrames;
    await until(() => ex.stats.badFrames >= before + 5);
    await ex.sessionEnded;
    await until(() => decodeAll(ex, c.frames).trades.length >= streamedTruth(ex).length);
    const { trades, bad } = decodeAll(ex, c.frames);
    expect(bad).toBe(ex.stats.badFrames);
    expect(c.frames.some((f) => f.startsWith('[') && !f.endsWith(']'))).toBe(true);
    expect(c.frames.some((f) => /"trdVol":(null|"7\.5"|\[\]|"-"|false|"x")/.test(f))).toBe(true);
    expect(trades).toEqual(streamedTruth(ex));
  });

  it('sends trdVol cumulative when switched', async () => {
    const ex = await exchange({ faults: { cumulativeTrdVol: true } });
    const c = await tradeStream(ex, '/ws_kdq');
    await ex.sessionEnded;
    await until(() => decodeAll(ex, c.frames).trades.length >= streamedTruth(ex, 'kosdaq').length);
    const running = new Map<string, number>();
    const expected = streamedTruth(ex, 'kosdaq').map((t) => {
      const acc = (running.get(t.symbol) ?? 0) + t.qty;
      running.set(t.symbol, acc);
      return { ...t, qty: acc };
    });
    expect(decodeAll(ex, c.frames).trades).toEqual(expected);
  });

  it('batch per connection: two connections get the same trades in the same order, each cut into frames of 1–50 at its own boundaries', async () => {
    const ex = await exchange({ faults: { batchPerConnection: true } });
    const conns = [await tradeStream(ex), await tradeStream(ex)];
    await ex.sessionEnded;
    await until(() => conns.every((c) => decodeAll(ex, c.frames).trades.length >= streamedTruth(ex).length));
    /** Where each connection's frames end, counted in trades. */
    const cuts = conns.map((c) => {
      const sizes = c.frames.filter((f) => f.startsWith('[')).map((f) => (JSON.parse(f) as unknown[]).length);
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(50);
      let n = 0;
      return sizes.map((k) => (n += k));
    });
    for (const c of conns) expect(decodeAll(ex, c.frames)).toEqual({ trades: streamedTruth(ex), bad: 0 });
    expect(cuts[0]).not.toEqual(cuts[1]);
    expect(cuts[0].filter((n) => !cuts[1].includes(n)).length).toBeGreaterThan(cuts[0].length / 2);
  });

  it('goes stale: the socket stays open but nothing comes, not even heartbeat replies; clearing it resumes', async () => {
    const ex = await exchange({ dayLengthMs: 4_000 });
    const c = await tradeStream(ex);
    await until(() => c.frames.length > 3);
    ex.faults.staleAfterMs = 1;
    await sleep(100);
    const mark = c.frames.length;
    const generated = ex.stats.tradesGenerated;
    c.ws.send(encodeHeartbeat(5));
    await sleep(500);
    expect(ex.stats.tradesGenerated).toBeGreaterThan(generated);
    expect(c.frames.length).toBe(mark);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    ex.faults.staleAfterMs = 0;
    await until(() => c.frames.length > mark);
    c.ws.close();
  });

  it('drops every streaming connection every N ms', async () => {
    const ex = await exchange({ dayLengthMs: 5_000 });
    const ksp = await tradeStream(ex);
    const res = await fetch(`${ex.lsRestUrl}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: encodeTokenRequest({ appkey: ex.credentials.lsAppKey, appsecretkey: ex.credentials.lsAppSecret }) });
    const token = decodeTokenResponse(await res.text());
    const ls = await open(`${ex.lsWsUrl}/websocket`);
    ls.ws.send(encodeSubscribe(token.ok ? token.value.accessToken : '', 'BM_', '001'));
    ex.faults.closeEveryMs = 300;
    const [a, b] = await Promise.all([ksp.closed, ls.closed]);
    expect(a).toBe(1006);
    expect(b).toBe(1006);
    expect(ex.stats.forcedCloses).toBe(2);
    const again = await tradeStream(ex);
    expect(await again.closed).toBe(1006);
  });

  it('delays REST answers, answers 429 and 5xx bursts, and rejects credentials on every channel', async () => {
    const ex = await exchange({ dayLengthMs: 10_000 });
    const url = `${ex.koscomRestUrl}/v2/market/stocks/kospi/lists?apikey=${ex.credentials.koscomApiKey}`;
    ex.faults.restDelayMs = 300;
    const t0 = Date.now();
    expect((await fetch(url)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    ex.faults.restDelayMs = 0;
    ex.faults.rest429Burst = 2;
    ex.faults.rest5xxBurst = 1;
    const statuses = [];
    for (let n = 0; n < 4; n++) statuses.push((await fetch(url)).status);
    expect(statuses).toEqual([429, 429, 503, 200]);

    ex.faults.rejectCredentials = true;
    const rest = await fetch(url);
    expect(rest.status).toBe(401);
    expect(await rest.json()).toEqual({ message: 'Invalid authentication credentials' });
    const ws = await open(`${ex.koscomWsUrl}/ws`);
    ws.ws.send(encodeInit(1, ex.credentials.koscomApiKey, 'x'));
    expect(await ws.closed).toBe(1008);
    const m = decodeRpcMessage(ws.frames[0]);
    expect(m.ok && m.value.kind).toBe('error');
    const token = await fetch(`${ex.lsRestUrl}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: encodeTokenRequest({ appkey: ex.credentials.lsAppKey, appsecretkey: ex.credentials.lsAppSecret }) });
    expect(token.status).toBe(401);
    const body = await token.text();
    expect(body).not.toContain(ex.credentials.lsAppSecret);
    ex.faults.rejectCredentials = false;
    expect((await fetch(url)).status).toBe(200);
  });

  it('leaves LS pushes decodable while adding bad ones', async () => {
    const ex = await exchange({ flowIntervalMs: 100, faults: { malformedRate: 0.3, wrongTypeRate: 0.3 } });
    const res = await fetch(`${ex.lsRestUrl}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: encodeTokenRequest({ appkey: ex.credentials.lsAppKey, appsecretkey: ex.credentials.lsAppSecret }) });
    const token = decodeTokenResponse(await res.text());
    const ls = await open(`${ex.lsWsUrl}/websocket`);
    ls.ws.send(encodeSubscribe(token.ok ? token.value.accessToken : '', 'BM_', '001'));
    await ex.sessionEnded;
    await sleep(200);
    const decoded = ls.frames.map((f) => decodePush(f));
    const bad = decoded.filter((d) => !d.ok || (d.value.kind === 'data' && typeof d.value.body.msvolume !== 'string'));
    expect(bad.length).toBe(ex.stats.badFrames);
    expect(bad.length).toBeGreaterThan(0);
    const good = decoded.filter((d) => d.ok && d.value.kind === 'data' && typeof d.value.body.msvolume === 'string');
    expect(good.length).toBe(ex.truth().filter((r) => r.ch === 'flow' && r.upcode === '001').length);
  });

  it('single /ws session: a second init while one session is open is refused with 13004 and closed; after the first closes one may open', async () => {
    const ex = await exchange({ faults: { wsSingleSession: true } });
    const init = (c: Awaited<ReturnType<typeof open>>) => c.ws.send(encodeInit(1, ex.credentials.koscomApiKey, 'x'));
    const first = await open(`${ex.koscomWsUrl}/ws`);
    init(first);
    await until(() => first.frames.length > 0);
    const second = await open(`${ex.koscomWsUrl}/ws/`);
    init(second);
    expect(await second.closed).toBe(1008);
    expect(decodeRpcMessage(second.frames[0])).toMatchObject({ ok: true, value: { kind: 'error', id: 1, code: 13004 } });
    expect(ex.stats.refusedSessions).toBe(1);
    first.ws.close();
    await first.closed;
    const third = await open(`${ex.koscomWsUrl}/ws`);
    init(third);
    await until(() => third.frames.length > 0);
    expect(decodeRpcMessage(third.frames[0])).toMatchObject({ ok: true, value: { kind: 'result', id: 1 } });
    third.ws.close();
  });

  it('no heartbeat reply, no init reply, server heartbeats: each switch changes only what it names', async () => {
    const ex = await exchange({ preOpenMs: 5_000, faults: { noInitReply: true, noHeartbeatReply: true, serverHeartbeatMs: 100 } });
    const c = await open(`${ex.koscomWsUrl}/ws_ksp`);
    c.ws.send(encodeInit(1, ex.credentials.koscomApiKey, 'x'));
    c.ws.send(encodeHeartbeat(2));
    // Left unanswered three times, the server closes the socket.
    expect(await c.closed).toBe(1008);
    expect(ex.stats.heartbeatTimeouts).toBe(1);
    const msgs = c.frames.map((f) => decodeRpcMessage(f));
    // Only the server's own heartbeats came: no init reply, no heartbeat reply.
    expect(msgs).toHaveLength(3);
    for (const m of msgs) expect(m).toMatchObject({ ok: true, value: { kind: 'request', method: 'heartbeat' } });
  });
});
