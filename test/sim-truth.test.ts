// The ground-truth file: what a client receives equals the `sent` trades of the NDJSON file.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeInit } from '../protocol/jsonrpc.js';
import { decodeTradeFrame } from '../protocol/koscom.js';
import { formatHhmmsscc, kstMidnight } from '../protocol/time.js';
import { startExchange } from '../sim/exchange.js';
import type { TruthRecord } from '../sim/truth.js';

const dir = mkdtempSync(join(tmpdir(), 'ticktape-sim-truth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('truth file', () => {
  it('lists every trade and flow; the sent trades are exactly what a /ws_kdq client received', async () => {
    const file = join(dir, 'truth.ndjson');
    const seen: TruthRecord[] = [];
    const ex = await startExchange({ seed: 41, kospiSymbols: 10, kosdaqSymbols: 30, tradesPerDay: 80_000, dayLengthMs: 2_000, preOpenMs: 800, truthFile: file, keepTruth: false, onTruth: (r) => seen.push(r), faults: { dropRate: 0.05 } });
    const ws = new WebSocket(`${ex.koscomWsUrl}/ws_kdq`);
    const got: string[] = [];
    const sink = {
      trade: (symbol: string, price: number, qty: number, exchMs: number) => got.push(JSON.stringify([symbol, price, qty, formatHhmmsscc(exchMs - kstMidnight(ex.day))])),
      signal: () => got.push('signal'),
    };
    ws.on('message', (d) => {
      const s = String(d);
      if (s.startsWith('[')) expect(decodeTradeFrame(s, kstMidnight(ex.day), sink)).toEqual([]);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(encodeInit(1, ex.credentials.koscomApiKey, ex.credentials.koscomMember));
    await ex.sessionEnded;
    const expectedCount = ex.stats.tradesGenerated - ex.stats.tradesDropped - seen.filter((r) => r.ch === 'trade' && r.market === 'kospi' && r.sent).length;
    const deadline = Date.now() + 5000;
    while (got.length < expectedCount && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    await ex.close();
    expect(ex.truth()).toEqual([]);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TruthRecord);
    expect(lines).toEqual(seen);
    expect(lines.filter((r) => r.ch === 'trade')).toHaveLength(ex.stats.tradesGenerated);
    expect(lines.filter((r) => r.ch === 'flow')).toHaveLength(ex.stats.flowsGenerated);
    expect(lines.some((r) => r.ch === 'trade' && !r.sent)).toBe(true);
    const sent = lines.flatMap((r) => (r.ch === 'trade' && r.market === 'kosdaq' && r.sent ? [JSON.stringify([r.symbol, r.price, r.qty, r.trdTm])] : []));
    expect(sent.length).toBeGreaterThan(1000);
    expect(got).toEqual(sent);
  });
});
