// The /stream filter a subscriber gives at connect time: what it keeps, and a refusal that names
// the parameter and what it expects (the fan-out answers it with HTTP 400).
import { describe, expect, it } from 'vitest';
import { parseStreamFilter, type StreamFilter } from '../publish/stream-events.js';

const parse = (q: string) => parseStreamFilter(new URLSearchParams(q));

describe('/stream filter', () => {
  it('defaults to every channel, market and symbol, live only', () => {
    const f = parse('') as StreamFilter;
    expect([...f.channels]).toEqual(['trades', 'signals', 'sector_flows', 'snapshots']);
    expect(f.markets).toBeUndefined();
    expect(f.symbols).toBeUndefined();
    expect(f.from).toBe('live');
  });

  it('reads comma-separated lists; subscribers keeping the same rows share a key, whatever the order', () => {
    const a = parse('channels=trades,signals&markets=kosdaq&symbols=035720,005930&from=start') as StreamFilter;
    const b = parse('symbols=005930,035720&channels=signals,trades&markets=kosdaq') as StreamFilter;
    expect([...a.channels]).toEqual(['trades', 'signals']);
    expect([...a.markets!]).toEqual(['kosdaq']);
    expect([...a.symbols!]).toEqual(['035720', '005930']);
    expect(a.from).toBe('start');
    expect(a.key).toBe(b.key);
    expect((parse('channels=trades') as StreamFilter).key).not.toBe(a.key);
  });

  it.each([
    ['channels=trades,quotes', 'channels: expected a comma-separated list of trades, signals, sector_flows, snapshots (got "trades,quotes")'],
    ['channels=', 'channels: expected a comma-separated list of trades, signals, sector_flows, snapshots (got "")'],
    ['markets=konex', 'markets: expected a comma-separated list of kospi, kosdaq (got "konex")'],
    ['symbols=5930', 'symbols: expected comma-separated 6-character short codes such as 005930 (got "5930")'],
    ['from=yesterday', 'from: expected start (the day so far, then live) or live (got "yesterday")'],
    ['symbol=005930', 'unknown parameter "symbol" (expected channels, markets, symbols, from)'],
  ])('refuses %s, naming what was wrong', (q, message) => {
    expect(parse(q)).toBe(message);
  });
});
