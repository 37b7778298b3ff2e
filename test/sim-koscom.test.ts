// The simulator's Koscom endpoints, exercised with real ws clients and HTTP requests.
import { afterAll, beforeAll, describe, expect, it, onTestFinished as after } from 'vitest';
import WebSocket from 'ws';
import { decodeRpcMessage, encodeHeartbeat, encodeInit, encodeSubscription } from '../protocol/jsonrpc.js';
import { decodeTradeFrame } from '../protocol/koscom.js';
import { decodeHistoryBody, decodeMasterBody, decodeMultiquotePrice, decodeOhlcLists, decodePriceBody, decodeQuoteLists, decodeStockList } from '../protocol/koscom-rest.js';
import { formatHhmmsscc, kstMidnight } from '../protocol/time.js';
import { type Exchange, startExchange } from '../sim/exchange.js';
import { WS_ERROR } from '../sim/koscom-ws.js';

interface Client {
  ws: WebSocket;
  frames: string[];
  /** Resolves with the first frame from index `from` on that satisfies `pred`. */
  next(pred: (f: string) => boolean, from?: number, timeoutMs?: number): Promise<string>;
  closed: Promise<number>;
}

async function connect(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (d) => {
    frames.push(String(d));
    for (const w of waiters) w();
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = (pred: (f: string) => boolean, from = 0, timeoutMs = 5000) =>
    new Promise<string>((resolve, reject) => {
      let scanned = from;
      const check = () => {
        for (; scanned < frames.length; scanned++) {
          if (!pred(frames[scanned])) continue;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(frames[scanned]);
          return;
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching frame within ${timeoutMs} ms (${frames.length} frames)`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { ws, frames, next, closed };
}

const rpc = (f: string) => {
  const m = decodeRpcMessage(f);
  return m.ok ? m.value : undefined;
};
const isId = (id: number) => (f: string) => {
  const m = rpc(f);
  return m !== undefined && 'id' in m && m.id === id;
};

async function get(ex: Exchange, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(ex.koscomRestUrl + path, { headers });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe('Koscom trade streams /ws_ksp /ws_kdq', () => {
  let ex: Exchange;
  beforeAll(async () => {
    ex = await startExchange({ seed: 21, kospiSymbols: 30, kosdaqSymbols: 40, tradesPerDay: 60_000, dayLengthMs: 2_500, preOpenMs: 1_200 });
  });
  afterAll(() => ex.close());

  it('streams every generated trade, as sent, in string-valued frames of at most 50, and the truth matches', async () => {
    const ksp = await connect(`${ex.koscomWsUrl}/ws_ksp`);
    const kdq = await connect(`${ex.koscomWsUrl}/ws_kdq/`);
    ksp.ws.send(encodeInit(1, ex.credentials.koscomApiKey, ex.credentials.koscomMember));
    kdq.ws.send(encodeInit(1, ex.credentials.koscomApiKey, ex.credentials.koscomMember));
    expect(rpc(await ksp.next(isId(1)))).toMatchObject({ kind: 'result', id: 1, result: { message: 'ok' } });
    await kdq.next(isId(1));
    expect(ex.sessionState()).toBe('pre-open');
    ksp.ws.send(encodeHeartbeat(2));
    expect(rpc(await ksp.next(isId(2)))).toMatchObject({ kind: 'result', id: 2 });
    await ex.sessionEnded;
    const truth = ex.truth();
    for (const [market, client] of [['kospi', ksp], ['kosdaq', kdq]] as const) {
      const expected = truth.filter((r) => r.ch === 'trade' && r.market === market);
      const got: string[] = [];
      const sink = {
        trade: (symbol: string, price: number, qty: number, exchMs: number) => got.push(`${symbol} ${price} ${qty} ${formatHhmmsscc(exchMs - kstMidnight(ex.day))}`),
        signal: () => got.push('signal'),
      };
      const deadline = Date.now() + 5000;
      let frames: string[] = [];
      while (Date.now() < deadline) {
        frames = client.frames.filter((f) => f.startsWith('['));
        if (frames.reduce((n, f) => n + (JSON.parse(f) as unknown[]).length, 0) >= expected.length) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const f of frames) {
        const arr = JSON.parse(f) as Record<string, unknown>[];
        expect(arr.length).toBeGreaterThan(0);
        expect(arr.length).toBeLessThanOrEqual(50);
        expect(Object.keys(arr[0])).toEqual(['isuSrtCd', 'trdPrc', 'trdVol', 'trdTm']);
        expect(arr.every((el) => Object.values(el).every((v) => typeof v === 'string'))).toBe(true);
        expect(decodeTradeFrame(f, kstMidnight(ex.day), sink)).toEqual([]);
      }
      expect(expected.length).toBeGreaterThan(1000);
      expect(got).toEqual(expected.map((r) => (r.ch === 'trade' ? `${r.symbol} ${r.price} ${r.qty} ${r.trdTm}` : '')));
    }
    // Cumulative REST volume = sum of streamed quantities.
    const lists = decodeQuoteLists((await get(ex, `/v2/market/multiquote/stocks/kospi/lists?apikey=${ex.credentials.koscomApiKey}`)).body);
    expect(lists.ok).toBe(true);
    if (!lists.ok) return;
    const sums = new Map<string, number>();
    for (const r of truth) if (r.ch === 'trade' && r.market === 'kospi') sums.set(r.symbol, (sums.get(r.symbol) ?? 0) + r.qty);
    for (const row of lists.value.rows) expect(row.accVolume).toBe(sums.get(row.symbol) ?? 0);
    ksp.ws.close();
    kdq.ws.close();
  });

  it('rejects a bad or missing key with a JSON-RPC error, then closes', async () => {
    const c = await connect(`${ex.koscomWsUrl}/ws_ksp`);
    c.ws.send(encodeInit(7, 'l7xx-not-the-key', 'x'));
    expect(rpc(await c.next(() => true))).toMatchObject({ kind: 'error', id: 7, code: WS_ERROR.auth });
    expect(await c.closed).toBe(1008);
    const d = await connect(`${ex.koscomWsUrl}/ws_kdq`);
    d.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'init', params: { membername: 'x' } }));
    expect(rpc(await d.next(() => true))).toMatchObject({ kind: 'error', code: WS_ERROR.auth });
    expect(await d.closed).toBe(1008);
    const e = await connect(`${ex.koscomWsUrl}/ws_kdq`);
    e.ws.send(encodeHeartbeat(9));
    expect(rpc(await e.next(() => true))).toMatchObject({ kind: 'error', code: WS_ERROR.auth });
    expect(await e.closed).toBe(1008);
  });

  it('answers malformed JSON-RPC with error 47 and refuses unknown paths', async () => {
    const c = await connect(`${ex.koscomWsUrl}/ws_ksp`);
    c.ws.send('{"jsonrpc":"2.0","id":1,"method":');
    expect(rpc(await c.next(() => true))).toMatchObject({ kind: 'error', code: 47 });
    c.ws.close();
    await expect(connect(`${ex.koscomWsUrl}/ws_nope`)).rejects.toThrow();
  });
});

describe('Koscom REST', () => {
  let ex: Exchange;
  let key: string;
  beforeAll(async () => {
    ex = await startExchange({ seed: 22, kospiSymbols: 25, kosdaqSymbols: 35, tradesPerDay: 20_000, dayLengthMs: 1_500, preOpenMs: 2_000, quotaPerDay: 40 });
    key = ex.credentials.koscomApiKey;
  });
  afterAll(() => ex.close());

  it('serves the stock lists, snapshots, price, master and history before the open, closeprice only after 15:40', async () => {
    const list = await get(ex, `/v2/market/stocks/kospi/lists?apikey=${key}`);
    expect(list.status).toBe(200);
    const decoded = decodeStockList(list.body, 'kospi');
    expect(decoded.ok && decoded.value.listings.length).toBe(25);
    const sym = decoded.ok ? decoded.value.listings[0].symbol : '';
    expect(decoded.ok && decoded.value.day).toBe(ex.day);
    const slash = await get(ex, `/v2/market/stocks/kosdaq/lists/?apikey=${key}`);
    expect(decodeStockList(slash.body, 'kosdaq')).toMatchObject({ ok: true, value: { listings: { length: 35 } } });
    const ohlc = decodeOhlcLists((await get(ex, `/v2/market/multiquote/stocks/kospi/ohlclists?apikey=${key}`)).body);
    expect(ohlc.ok && ohlc.value.rows.every((r) => r.open === 0 && r.high === 0 && r.price > 0)).toBe(true);
    const price = decodePriceBody((await get(ex, `/v2/market/stocks/kospi/${sym}/price`, { apikey: key })).body);
    expect(price).toMatchObject({ ok: true, value: { isuSrtCd: sym, accTrdvol: 0, trdTm: 0 } });
    const master = decodeMasterBody((await get(ex, `/v2/market/stocks/kospi/${sym}/master?apikey=${key}`)).body);
    expect(master.ok && master.value.isuCd).toMatch(/^KR7\d{9}$/);
    expect(master.ok && master.value.uplmtprc! > master.value.basPrc!).toBe(true);
    const hist = await get(ex, `/v2/market/stocks/kospi/${sym}/history?apikey=${key}&trnsmCycleTpCd=D&reqCnt=500`);
    const h = decodeHistoryBody(hist.body);
    expect(h.ok && h.value.bars.length).toBe(100);
    expect(h.ok && h.value.bars[0].day < ex.day && h.value.bars[0].day > h.value.bars[1].day).toBe(true);
    const weekly = decodeHistoryBody((await get(ex, `/v2/market/stocks/kospi/${sym}/history?apikey=${key}&trnsmCycleTpCd=W&reqCnt=5`)).body);
    expect(weekly.ok && weekly.value.bars.map((b) => new Date(`${b.day}T00:00:00Z`).getUTCDay())).toEqual([5, 5, 5, 5, 5]);
    const close = await get(ex, `/v2/market/stocks/kospi/${sym}/closeprice?apikey=${key}`);
    expect(close).toMatchObject({ status: 400, body: '{"error":"당일 종가 제공 시간이 아닙니다."}' });
    const multi = await get(ex, `/v2/market/multiquote/stocks/kospi/price?apikey=${key}&isuCd=${decoded.ok ? decoded.value.listings.slice(0, 3).map((l) => l.symbol).join('%2C') : ''}`);
    expect(decodeMultiquotePrice(multi.body)).toMatchObject({ ok: true, value: { length: 3 } });
    const tooMany = await get(ex, `/v2/market/multiquote/stocks/kospi/price?apikey=${key}&isuCd=${decoded.ok ? decoded.value.listings.slice(0, 21).map((l) => l.symbol).join(',') : ''}`);
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(tooMany.body).error.code).toBe(20056);
    const unknown = await get(ex, `/v2/market/stocks/kospi/999999/price?apikey=${key}`);
    expect(JSON.parse(unknown.body).error.code).toBe(10040);

    await new Promise((r) => setTimeout(r, Math.max(0, ex.closeDataAt - Date.now() + 50)));
    const after = await get(ex, `/v2/market/stocks/kospi/${sym}/closeprice?apikey=${key}`);
    expect(after.status).toBe(200);
    const state = decodePriceBody((await get(ex, `/v2/market/stocks/kospi/${sym}/price?apikey=${key}`)).body);
    expect(JSON.parse(after.body).result.accTrdvol).toBe(state.ok ? state.value.accTrdvol : -1);
  });

  it('checks the key, routes, and counts the daily quota down to HTTP 429', async () => {
    const none = await get(ex, '/v2/market/stocks/kospi/lists');
    expect(none).toMatchObject({ status: 401, body: '{"message":"No API key found in request"}' });
    const bad = await get(ex, '/v2/market/stocks/kospi/lists?apikey=l7xx0000');
    expect(bad).toMatchObject({ status: 401, body: '{"message":"Invalid authentication credentials"}' });
    const lost = await get(ex, `/v2/market/stocks/nasdaq/lists?apikey=${key}`);
    expect(lost).toMatchObject({ status: 404, body: '{"message":"no Route matched with those values"}' });
    const first = await get(ex, `/v2/market/stocks/kospi/lists?apikey=${key}`);
    expect(first.headers.get('x-ratelimit-limit-day')).toBe('40');
    let remaining = Number(first.headers.get('x-ratelimit-remaining-day'));
    expect(remaining).toBeGreaterThan(0);
    let last = first;
    for (let n = 0; n < 50 && last.status !== 429; n++) {
      last = await get(ex, `/v2/market/stocks/kospi/lists?apikey=${key}`);
      if (last.status === 200) {
        const r = Number(last.headers.get('x-ratelimit-remaining-day'));
        expect(r).toBe(remaining - 1);
        remaining = r;
      }
    }
    expect(last).toMatchObject({ status: 429, body: '{"message":"API rate limit exceeded"}' });
    expect(last.headers.get('x-ratelimit-remaining-day')).toBe('0');
  });
});

describe('Koscom /ws per-symbol subscriptions', () => {
  let ex: Exchange;
  beforeAll(async () => {
    ex = await startExchange({ seed: 23, kospiSymbols: 150, kosdaqSymbols: 150, tradesPerDay: 400_000, dayLengthMs: 4_000, preOpenMs: 300 });
  });
  afterAll(() => ex.close());

  const init = async (c: Client) => {
    c.ws.send(encodeInit(1, ex.credentials.koscomApiKey, ex.credentials.koscomMember));
    await c.next(isId(1));
  };

  it('answers subscribe with ok then a snapshot push for each preset, pushes trades, and honours unsubscribe', async () => {
    const c = await connect(`${ex.koscomWsUrl}/ws/`);
    await init(c);
    const busiest = ex.market.issues[0].symbol;
    const presets = ['tick', 'quote', 'tick10', 'quote10'] as const;
    for (const [n, preset] of presets.entries()) {
      const from = c.frames.length;
      c.ws.send(encodeSubscription(10 + n, 'subscribe', preset, busiest));
      expect(rpc(await c.next(isId(10 + n), from))).toMatchObject({ kind: 'result', result: { message: 'ok' } });
      const push = rpc(await c.next((f) => rpc(f)?.kind === 'push' && (rpc(f) as unknown as { params: { preset: string } }).params.preset === preset, from));
      expect(push).toMatchObject({ kind: 'push', params: { preset, isuSrtCd: busiest } });
    }
    const q10 = rpc(c.frames.find((f) => f.includes('"quote10"'))!) as { params: Record<string, number> };
    expect(q10.params.askStep10BstordPrc).toBeGreaterThan(q10.params.askStep1BstordPrc);
    expect(q10.params.bidStep1BstordPrc).toBeLessThan(q10.params.askStep1BstordPrc);
    const unsubFrom = c.frames.length;
    c.ws.send(encodeSubscription(20, 'unsubscribe', 'quote', busiest));
    await c.next(isId(20), unsubFrom);
    c.ws.send(encodeHeartbeat(21));
    await c.next(isId(21), unsubFrom);
    // Trade pushes arrive once the session runs; after the unsubscribe, no more `quote` pushes.
    const mark = c.frames.length;
    await c.next((f) => f.includes('"preset":"tick"') && (rpc(f) as unknown as { params: { trdTm: number } }).params.trdTm > 0, mark, 6000);
    expect(c.frames.slice(mark).some((f) => f.includes('"preset":"quote"'))).toBe(false);
    c.ws.close();
  });

  it('limits a session to 200 subscriptions, refuses unknown symbols and presets, and answers 47 to malformed frames', async () => {
    const quiet = await startExchange({ seed: 25, kospiSymbols: 120, kosdaqSymbols: 100, tradesPerDay: 0 });
    after(() => quiet.close());
    const c = await connect(`${quiet.koscomWsUrl}/ws`);
    c.ws.send(encodeInit(1, quiet.credentials.koscomApiKey, 'x'));
    await c.next(isId(1));
    const symbols = quiet.market.issues.map((i) => i.symbol);
    for (let n = 0; n < 200; n++) c.ws.send(encodeSubscription(100 + n, 'subscribe', 'tick', symbols[n]));
    await c.next(isId(299), 0, 10_000);
    expect(c.frames.filter((f) => rpc(f)?.kind === 'error')).toEqual([]);
    c.ws.send(encodeSubscription(400, 'subscribe', 'tick', symbols[200]));
    expect(rpc(await c.next(isId(400)))).toMatchObject({ kind: 'error', code: WS_ERROR.tooManySubscriptions });
    // Re-subscribing an existing (symbol, preset) does not count twice.
    c.ws.send(encodeSubscription(401, 'subscribe', 'tick', symbols[0]));
    expect(rpc(await c.next(isId(401)))).toMatchObject({ kind: 'result' });
    c.ws.send(encodeSubscription(402, 'unsubscribe', 'tick', symbols[0]));
    await c.next(isId(402));
    c.ws.send(encodeSubscription(403, 'subscribe', 'quote', symbols[200]));
    expect(rpc(await c.next(isId(403)))).toMatchObject({ kind: 'result' });
    c.ws.send(encodeSubscription(404, 'subscribe', 'tick', '999999'));
    expect(rpc(await c.next(isId(404)))).toMatchObject({ kind: 'error', code: WS_ERROR.unknownSymbol });
    c.ws.send(encodeSubscription(405, 'subscribe', 'change', symbols[1]));
    expect(rpc(await c.next(isId(405)))).toMatchObject({ kind: 'error', code: WS_ERROR.badInput });
    const from = c.frames.length;
    c.ws.send('not json');
    expect(rpc(await c.next((f) => rpc(f)?.kind === 'error' && !('id' in rpc(f)!), from))).toMatchObject({ code: 47 });
    c.ws.close();
  });

  it('limits a sandbox session to 20', async () => {
    const sandbox = await startExchange({ seed: 24, kospiSymbols: 30, kosdaqSymbols: 0, tradesPerDay: 0, sandbox: true });
    try {
      const c = await connect(`${sandbox.koscomWsUrl}/ws`);
      c.ws.send(encodeInit(1, sandbox.credentials.koscomApiKey, 'x'));
      await c.next(isId(1));
      for (let n = 0; n < 21; n++) c.ws.send(encodeSubscription(100 + n, 'subscribe', 'tick', sandbox.market.issues[n].symbol));
      expect(rpc(await c.next(isId(120)))).toMatchObject({ kind: 'error', code: WS_ERROR.tooManySubscriptions });
      expect(rpc(await c.next(isId(119)))).toMatchObject({ kind: 'result' });
      c.ws.close();
    } finally {
      await sandbox.close();
    }
  });
});
