// The simulator playing the pessimistic answer to each question the vendors' documents leave
// open (issue 11), one switch per test, each a real session over real sockets, each asserting what
// a user needs: every trade captured exactly against the simulator's truth.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { loadConfig, withEndpoints } from '../collector/config.js';
import { FlowStream } from '../collector/flows.js';
import { formatReport } from '../collector/report.js';
import { RestClient } from '../collector/rest.js';
import { LsToken } from '../collector/token.js';
import { BLOCK_TRADE_CODES } from '../protocol/koscom.js';
import { encodeSectorFlowPush } from '../protocol/ls.js';
import { startExchange } from '../sim/exchange.js';
import type { TruthSignal } from '../sim/truth.js';
import { Tape } from '../followers/tape.js';
import { captureDay, FAST_ENV, log, storedBySymbol, tempRoot, truthBySymbol, until } from './collector-capture.js';

const tmp = tempRoot('worst-case');
afterAll(() => tmp.remove());

const tradeStreams = ['koscom.trades.kospi', 'koscom.trades.kosdaq'];

describe('Koscom liveness without assumptions', () => {
  it('keeps exactly one connection per trade socket through a silent pre-open 5× the stale timeout with neither init nor heartbeat answered', async () => {
    // Scaled: the 45 s pre-open against the 30 s default stale timeout becomes 4 s against 800 ms.
    const { exchange, result, db } = await captureDay(join(tmp.root, 'silent-pre-open'), { noHeartbeatReply: true, noInitReply: true }, {}, undefined, 50_000, { preOpenMs: 4_000, dayLengthMs: 3_000, flowIntervalMs: 200 });
    expect(result.status).toBe('complete');
    for (const name of tradeStreams) expect(result.streams.find((s) => s.name === name)).toMatchObject({ connects: 1, reconnects: 0 });
    // As the exchange saw it: the two trade sockets and the LS socket, each opened once.
    expect(exchange.stats.connections).toBe(3);
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(exchange.truth().filter((r) => r.ch === 'trade'), true));
    db.close();
  });

  it('answers the heartbeats the server sends, so a strict server never closes the session', async () => {
    const { exchange, result, db } = await captureDay(join(tmp.root, 'server-heartbeat'), { serverHeartbeatMs: 200, noHeartbeatReply: true }, {}, undefined, 50_000, { dayLengthMs: 3_000 });
    expect(result.status).toBe('complete');
    expect(exchange.stats.serverHeartbeats).toBeGreaterThan(10);
    expect(exchange.stats.serverHeartbeatReplies).toBeGreaterThanOrEqual(exchange.stats.serverHeartbeats - 2 * tradeStreams.length);
    expect(exchange.stats.heartbeatTimeouts).toBe(0);
    for (const name of tradeStreams) expect(result.streams.find((s) => s.name === name)).toMatchObject({ connects: 1, reconnects: 0 });
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(exchange.truth().filter((r) => r.ch === 'trade'), true));
    db.close();
  });
});

describe('LS control frames', () => {
  it('answers PING frames by field and renews the token within one reconnect after each authentication error', async () => {
    const { exchange, result, db } = await captureDay(join(tmp.root, 'ls-control'), { lsPingMs: 150, lsAuthErrorEveryMs: 1_200 }, {}, undefined, 50_000, { dayLengthMs: 4_000, flowIntervalMs: 200 });
    const s = exchange.stats;
    expect(result.status).toBe('complete');
    expect(s.lsPings).toBeGreaterThan(10);
    // Every PING answered but those still in flight when a connection ended.
    expect(s.lsPongs).toBeGreaterThanOrEqual(s.lsPings - 2 * (s.lsAuthErrors + 1));
    expect(s.lsAuthErrors).toBeGreaterThanOrEqual(2);
    // One new token per authentication error, and one reconnect each: never a reconnect that kept the revoked token.
    expect(s.lsTokensIssued).toBe(s.lsAuthErrors + 1);
    const bm = result.streams.find((x) => x.name === 'ls.bm')!;
    expect(bm.reconnects).toBe(s.lsAuthErrors);
    expect(bm.refusals).toBe(s.lsAuthErrors);
    // Flows kept coming after the last renewal; the auth-error frames were journaled, not quarantined.
    const last = db.prepare("SELECT MAX(recv_ns) AS t FROM sector_flows").get() as { t: bigint | number };
    expect(Number(BigInt(last.t) / 1_000_000n)).toBeGreaterThan(exchange.closeAt - 1_000);
    expect((db.prepare("SELECT COUNT(*) AS n FROM quarantine WHERE source = 'ls.bm'").get() as { n: number }).n).toBe(0);
    db.close();
  });
});

describe('LS unknown frames', () => {
  it('journals and counts frames it does not know, answers a PING in any bytes, and never drops the socket for them', async () => {
    const exchange = await startExchange({ dayLengthMs: 60_000, preOpenMs: 60_000 });
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const pongs: string[] = [];
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.includes('PONG')) return void pongs.push(text);
        if (!text.includes('"tr_type":"3"')) return;
        ws.send('{"header":{"tr_cd":"XYZ","tr_key":"001"},"body":{"a":"1"}}');
        ws.send('{"header":{"tr_cd":"BM_","tr_key":"001","rsp_cd":"77777","rsp_msg":"something new"},"body":null}');
        ws.send('{"header":{"tr_cd":"BM_","tr_key":"001","flag":"?"},"body":{}}');
        ws.send('{"body":{"x":1},"header":{"tr_id":"PING","seq":7}}');
        ws.send(encodeSectorFlowPush({ upcode: '001', tjjcode: '0008', tjjtime: '10150000', msvolume: 3, mdvolume: 1, msvol: 2, p_msvol: 2, msvalue: 3, mdvalue: 1, msval: 2, p_msval: 2 }));
      });
    });
    const cfg = withEndpoints(loadConfig({ env: { ...FAST_ENV, TICKTAPE_BM_CODES: '001' } }), exchange);
    const ls = { ...cfg.ls!, wsUrl: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
    const tape = await Tape.open({ dataDir: join(tmp.root, 'ls-unknown'), day: exchange.day, log, arrow: false });
    const rest = new RestClient({ vendor: 'ls', baseUrl: ls.restUrl, limits: cfg.rest.ls, maxRetries: 0, timeoutMs: 5_000, log });
    const flows = new FlowStream({ ...cfg, ls }, new LsToken(rest, ls, log), tape, log, () => Infinity);
    flows.start();
    await until(() => flows.stats().unknownFrames >= 3 && pongs.length >= 1);
    await new Promise((r) => setTimeout(r, 1_000));
    await flows.stop();
    const stats = flows.stats();
    const channel = tape.stats().find((c) => c.name === 'ls.bm')!;
    await tape.close();
    await new Promise<void>((r) => wss.close(() => r()));
    await exchange.close();
    expect(stats.unknownFrames).toBe(3);
    expect(formatReport({ day: exchange.day, status: 'complete', problems: [], credentialsRejected: false, startedMs: 0, endedMs: 0, channels: [], streams: [stats], stores: [], rest: [], snapshots: 0, reconciliation: [], clock: { offsetMs: 0, steps: [] }, maxCapturePauseMs: 0, files: [] })).toMatch(/ls\.bm: 3 frame\(s\) of an unknown kind, kept in the journal/);
    expect(pongs).toEqual(['{"header":{"tr_id":"PONG"}}']);
    expect(connections).toBe(1);
    expect(stats.reconnects).toBe(0);
    // All five frames journaled; the flow stored; nothing quarantined.
    expect(channel.frames).toBe(5);
    expect(channel.rows).toBe(1);
    expect(channel.quarantined).toBe(0);
  });
});

describe('signal codes in trdTm', () => {
  it('stores block trades as trades with their kind, price and quantity, keeps every other signal code in signals, and every trade exact', async () => {
    const { exchange, result, db } = await captureDay(join(tmp.root, 'signals'), { signalCodes: true }, {}, undefined, 50_000, { dayLengthMs: 3_000 });
    expect(result.status).toBe('complete');
    const sent = exchange.truth().filter((r): r is TruthSignal => r.ch === 'signal' && r.sent);
    expect(sent).toHaveLength(2 * 8);
    const isBlock = (s: TruthSignal) => Object.hasOwn(BLOCK_TRADE_CODES, s.code);
    const stored = db.prepare('SELECT market, symbol, code FROM signals ORDER BY market, src_seq, rowid').all() as { market: string; symbol: string; code: number }[];
    expect(stored.map((s) => `${s.market} ${s.symbol} ${s.code}`).sort()).toEqual(sent.filter((s) => !isBlock(s)).map((s) => `${s.market} ${s.symbol} ${s.code}`).sort());
    expect(new Set(stored.map((s) => s.code))).toEqual(new Set([31000000, 41000000, 81000000, 91000007, 91000008]));
    // Block trades: trades with their kind, price and quantity; no clock time, so exch_ts = receive time (ms).
    const blocks = db.prepare("SELECT market, symbol, kind, price, qty, trd_vol, exch_ts, recv_ns FROM trades WHERE kind <> 'regular'").all() as { market: string; symbol: string; kind: string; price: number; qty: number; trd_vol: number; exch_ts: bigint; recv_ns: bigint }[];
    const kindOf = BLOCK_TRADE_CODES as Record<number, string>;
    expect(blocks.map((b) => `${b.market} ${b.symbol} ${b.kind} ${b.price} ${b.qty}`).sort()).toEqual(sent.filter(isBlock).map((s) => `${s.market} ${s.symbol} ${kindOf[s.code]} ${s.price} ${s.qty}`).sort());
    expect(new Set(blocks.map((b) => b.kind))).toEqual(new Set(['block_pre', 'block_intraday', 'block_post']));
    for (const b of blocks) {
      expect(b.trd_vol).toBe(b.qty);
      expect(Number(b.exch_ts)).toBe(Math.floor(Number(b.recv_ns) / 1e6) * 1e6);
    }
    expect(db.prepare("SELECT COUNT(*) FROM quarantine WHERE source LIKE 'koscom.trades.%'").pluck().get()).toBe(0);
    const regular = new Map((db.prepare("SELECT symbol, COUNT(*) AS n, SUM(qty) AS qty FROM trades WHERE kind = 'regular' GROUP BY symbol").all() as { symbol: string; n: number; qty: number }[]).map((r) => [r.symbol, { n: r.n, qty: r.qty }]));
    expect(regular).toEqual(truthBySymbol(exchange.truth().filter((r) => r.ch === 'trade'), true));
    // The simulator's accTrdvol leaves block trades out: each symbol still reconciles exactly.
    for (const r of result.reconciliation) expect(r).toMatchObject({ missing: 0, excess: 0 });
    db.close();
  });
});

describe('REST paths moved', () => {
  it('captures the day once every moved endpoint is set to its new path; the old path fails naming itself', async () => {
    const v3 = {
      TICKTAPE_KOSCOM_STOCK_LIST_PATH: '/v3/market/closed/{marketcode}/lists',
      TICKTAPE_KOSCOM_LISTS_PATH: '/v3/market/realtime/{marketcode}/multiquote/stocks/lists',
      TICKTAPE_KOSCOM_OHLC_LISTS_PATH: '/v3/market/realtime/{marketcode}/multiquote/stocks/ohlclists',
    };
    const { exchange, result, db } = await captureDay(join(tmp.root, 'moved'), { restPathsMoved: true }, v3, undefined, 50_000, { dayLengthMs: 3_000 });
    expect(result.status).toBe('complete');
    expect(result.problems).toEqual([]);
    for (const r of result.reconciliation) expect(r).toMatchObject({ missing: 0, coveragePct: 100, symbols: exchange.market.byMarket[r.market].length });
    expect(db.prepare("SELECT COUNT(DISTINCT kind) FROM snapshots").pluck().get()).toBe(3);
    expect(db.prepare('SELECT COUNT(*) FROM symbols').pluck().get()).toBe(exchange.market.issues.length);
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(exchange.truth().filter((r) => r.ch === 'trade'), true));
    db.close();
    const sim = await startExchange({ faults: { restPathsMoved: true } });
    const old = await new RestClient({ vendor: 'koscom', baseUrl: sim.koscomRestUrl, limits: { concurrency: 1, perSecond: 10 }, maxRetries: 0, timeoutMs: 5_000, log }).request({ path: '/v2/market/stocks/kospi/lists', query: { apikey: sim.credentials.koscomApiKey } }).catch((e: Error) => e);
    await sim.close();
    expect(String(old)).toMatch(/koscom GET \/v2\/market\/stocks\/kospi\/lists: HTTP 404 \(no Route matched with those values\)/);
  });
});

describe('snapshots per element', () => {
  it('quarantines the bad elements of every snapshot with their reason, stores the other rows and reconciles them', async () => {
    const { exchange, result, db } = await captureDay(join(tmp.root, 'bad-elements'), { badSnapshotElements: 2 }, {}, undefined, 50_000, { dayLengthMs: 3_000 });
    expect(result.status).toBe('complete');
    for (const market of ['kospi', 'kosdaq'] as const) {
      const symbols = exchange.market.byMarket[market].map((l) => l.symbol);
      const spoiled = symbols.slice(0, 2);
      const perSnapshot = db.prepare('SELECT taken_ns, COUNT(*) AS n, SUM(symbol IN (?, ?)) AS spoiled FROM snapshots WHERE market = ? GROUP BY taken_ns').all(...spoiled, market) as { n: number; spoiled: number }[];
      expect(perSnapshot.length).toBeGreaterThanOrEqual(3);
      for (const s of perSnapshot) expect(s).toMatchObject({ n: symbols.length - 2, spoiled: 0 });
      const bad = db.prepare("SELECT raw, reason FROM quarantine WHERE source LIKE ?").all(`koscom.multiquote-%.${market}.%`) as { raw: string; reason: string }[];
      // Two elements per half, two halves per snapshot: each element on its own, its field named.
      expect(bad.length).toBe(4 * perSnapshot.length);
      expect(bad.filter((b) => /^isuLists\[[01]\]\.trdPrc: .*the other elements were stored/.test(b.reason))).toHaveLength(2 * perSnapshot.length);
      expect(bad.filter((b) => /^isuLists\[[01]\]\.hgprc: /.test(b.reason))).toHaveLength(2 * perSnapshot.length);
      expect(new Set(bad.map((b) => (JSON.parse(b.raw) as { isuSrtCd: string }).isuSrtCd))).toEqual(new Set(spoiled));
      const r = result.reconciliation.find((x) => x.market === market)!;
      expect(r).toMatchObject({ unchecked: 2, missing: 0, excess: 0, coveragePct: 100, mode: 'per-trade', symbols: symbols.length - 2 });
    }
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(exchange.truth().filter((r) => r.ch === 'trade'), true));
    db.close();
  });
});
