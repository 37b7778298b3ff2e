import { describe, expect, it } from 'vitest';
import { BM_CODES } from '../protocol/ls.js';
import { SyntheticMarket, TradeTape, ceilToTick, floorToTick, isinCheckDigit, priceLimits, tickSize } from '../sim/market.js';
import { Random } from '../sim/random.js';
import { CLOSE_MS, OPEN_MS, SessionClock } from '../sim/session.js';

const tapes = () => ({ kospi: new TradeTape(), kosdaq: new TradeTape() });

describe('synthetic market', () => {
  it('draws a KRX-like universe: counts, unique 6-digit codes, valid ISINs, limits on ticks', () => {
    const m = new SyntheticMarket({ seed: 3, kospiSymbols: 120, kosdaqSymbols: 200 });
    expect(m.byMarket.kospi).toHaveLength(120);
    expect(m.byMarket.kosdaq).toHaveLength(200);
    expect(new Set(m.issues.map((i) => i.symbol)).size).toBe(320);
    expect(new Set(m.issues.map((i) => i.name)).size).toBe(320);
    for (const i of m.issues) {
      expect(i.symbol).toMatch(/^\d{6}$/);
      expect(i.isin).toMatch(/^KR7\d{6}00\d$/);
      expect(i.isin.slice(3, 9)).toBe(i.symbol);
      expect(Number(i.isin[11])).toBe(isinCheckDigit(i.isin.slice(0, 11)));
      expect(i.basePrice % tickSize(i.basePrice)).toBe(0);
      expect(i.upper).toBeLessThanOrEqual(i.basePrice * 1.3);
      expect(i.lower).toBeGreaterThanOrEqual(i.basePrice * 0.7);
      expect(i.upper % tickSize(i.upper)).toBe(0);
      expect(i.lower % tickSize(i.lower)).toBe(0);
    }
    expect(m.issues.filter((i) => i.kp200)).toHaveLength(Math.min(200, m.byMarket.kospi.filter((i) => !i.etf).length));
  });

  it('has real ISIN check digits and the KRX tick table', () => {
    expect(isinCheckDigit('KR700593000')).toBe(3); // Samsung Electronics KR7005930003
    expect(isinCheckDigit('KR700066000')).toBe(1); // SK hynix KR7000660001
    expect([1999, 2000, 4999, 5000, 19_990, 20_000, 49_950, 50_000, 199_900, 200_000, 499_500, 500_000].map(tickSize)).toEqual([1, 5, 5, 10, 10, 50, 50, 100, 100, 500, 500, 1000]);
    expect(priceLimits(10_000)).toEqual({ upper: 13_000, lower: 7_000 });
    expect(priceLimits(5_120)).toEqual({ upper: 6_650, lower: 3_585 });
    expect(floorToTick(50_049)).toBe(50_000);
    expect(ceilToTick(19_991)).toBe(20_000);
  });

  it('is deterministic for a seed and different for another', () => {
    const run = (seed: number) => {
      const m = new SyntheticMarket({ seed, kospiSymbols: 40, kosdaqSymbols: 60, tradesPerDay: 20_000 });
      const t = tapes();
      m.advance(OPEN_MS + 3_600_000, t);
      return [m.issues.map((i) => i.symbol).join(), Array.from(t.kospi.price.subarray(0, t.kospi.length)).join(), t.kosdaq.length];
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  it('keeps per-symbol state consistent with the trades and within the limits', () => {
    const m = new SyntheticMarket({ seed: 5, kospiSymbols: 50, kosdaqSymbols: 50, tradesPerDay: 50_000 });
    const t = tapes();
    m.advance(CLOSE_MS, t);
    const vol = new Float64Array(m.issues.length);
    const value = new Float64Array(m.issues.length);
    const hi = new Float64Array(m.issues.length);
    const lo = new Float64Array(m.issues.length).fill(Infinity);
    const bad: string[] = [];
    for (const tape of [t.kospi, t.kosdaq]) {
      let lastMs = 0;
      for (let k = 0; k < tape.length; k++) {
        const i = tape.issue[k];
        const p = tape.price[k];
        vol[i] += tape.qty[k];
        value[i] += tape.qty[k] * p;
        hi[i] = Math.max(hi[i], p);
        lo[i] = Math.min(lo[i], p);
        if (tape.accVolume[k] !== vol[i]) bad.push(`${k}: accVolume`);
        if (tape.msOfDay[k] < lastMs) bad.push(`${k}: time goes back`);
        if (p % tickSize(p) !== 0) bad.push(`${k}: price ${p} off tick`);
        if (!Number.isInteger(tape.qty[k]) || tape.qty[k] <= 0) bad.push(`${k}: qty ${tape.qty[k]}`);
        lastMs = tape.msOfDay[k];
      }
    }
    expect(bad).toEqual([]);
    expect(t.kospi.length + t.kosdaq.length).toBe(m.trades);
    expect(m.trades).toBeGreaterThan(40_000);
    expect(m.trades).toBeLessThan(60_000);
    for (const i of m.issues) {
      expect(m.accVolume[i.index]).toBe(vol[i.index]);
      expect(m.accValue[i.index]).toBe(value[i.index]);
      if (vol[i.index] > 0) {
        expect(m.high[i.index]).toBe(hi[i.index]);
        expect(m.low[i.index]).toBe(lo[i.index]);
        expect(m.high[i.index]).toBeLessThanOrEqual(i.upper);
        expect(m.low[i.index]).toBeGreaterThanOrEqual(i.lower);
      }
    }
  });

  it('shapes arrivals as a U: the first and last hour are busier than midday, and activity is heavy-tailed', () => {
    const m = new SyntheticMarket({ seed: 9, kospiSymbols: 200, kosdaqSymbols: 200, tradesPerDay: 200_000 });
    const t = tapes();
    m.advance(CLOSE_MS, t);
    const hour = (from: number) => {
      let n = 0;
      for (const tape of [t.kospi, t.kosdaq]) for (let k = 0; k < tape.length; k++) if (tape.msOfDay[k] >= from && tape.msOfDay[k] < from + 3_600_000) n++;
      return n;
    };
    const first = hour(OPEN_MS);
    const mid = hour(OPEN_MS + 2.75 * 3_600_000);
    const last = hour(CLOSE_MS - 3_600_000);
    expect(first).toBeGreaterThan(2 * mid);
    expect(last).toBeGreaterThan(2 * mid);
    const counts = Array.from(m.tradeCount).sort((a, b) => b - a);
    const top10 = counts.slice(0, Math.ceil(counts.length / 10)).reduce((a, b) => a + b, 0);
    expect(top10 / m.trades).toBeGreaterThan(0.3);
  });

  it('books sector flows consistent with the trades: per sector, buys = sells = traded volume', () => {
    const m = new SyntheticMarket({ seed: 2, kospiSymbols: 300, kosdaqSymbols: 100, tradesPerDay: 30_000 });
    const t = tapes();
    m.advance(OPEN_MS + 3_600_000, t);
    const flows = m.flows.emit(OPEN_MS + 3_600_000);
    const kospiStocks = m.issues.filter((i) => i.market === 'kospi' && !i.etf).reduce((a, i) => a + m.accVolume[i.index], 0);
    const kosdaq = m.issues.filter((i) => i.market === 'kosdaq').reduce((a, i) => a + m.accVolume[i.index], 0);
    const kp200 = m.issues.filter((i) => i.kp200).reduce((a, i) => a + m.accVolume[i.index], 0);
    for (const [code, volume] of [['001', kospiStocks], ['301', kosdaq], ['101', kp200]] as const) {
      const elementary = flows.filter((f) => f.upcode === code && f.tjjcode <= '0011');
      expect(elementary.reduce((a, f) => a + f.msvolume, 0)).toBe(volume);
      expect(elementary.reduce((a, f) => a + f.mdvolume, 0)).toBe(volume);
      expect(m.flows.sectorVolume(code)).toBe(volume);
    }
    for (const f of flows) {
      expect(BM_CODES).toContain(f.upcode);
      expect(f.msvol).toBe(f.msvolume - f.mdvolume);
      expect(f.msval).toBe(f.msvalue - f.mdvalue);
      expect(f.p_msvol).toBe(f.msvol);
      expect(f.tjjtime).toBe('10000000');
    }
    const foreign = flows.find((f) => f.upcode === '001' && f.tjjcode === '0017')!;
    const parts = flows.filter((f) => f.upcode === '001' && (f.tjjcode === '0009' || f.tjjcode === '0010'));
    expect(foreign.msvolume).toBe(parts.reduce((a, f) => a + f.msvolume, 0));
    // The next emission carries the change since this one in p_msvol.
    m.advance(OPEN_MS + 3_700_000, t);
    const next = m.flows.emit(OPEN_MS + 3_700_000).find((f) => f.upcode === '001' && f.tjjcode === '0008')!;
    const prev = flows.find((f) => f.upcode === '001' && f.tjjcode === '0008')!;
    expect(next.p_msvol).toBe(next.msvol - prev.msvol);
  });

  it('maps the session onto a compressed day or the KST clock', () => {
    const c = new SessionClock({ day: '2026-03-02', startMs: 1_000_000, preOpenMs: 500, dayLengthMs: 60_000 });
    expect(c.state(1_000_400)).toBe('pre-open');
    expect(c.msOfDay(1_000_500)).toBe(OPEN_MS);
    expect(c.msOfDay(1_030_500)).toBe((OPEN_MS + CLOSE_MS) / 2);
    expect(c.state(1_060_499)).toBe('open');
    expect(c.state(1_060_500)).toBe('closed');
    expect(c.closeDataAt).toBeGreaterThan(c.closeAt);
    const real = new SessionClock({ day: '2026-03-02', startMs: 0, preOpenMs: 0, dayLengthMs: 0 });
    expect(new Date(real.openAt).toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(real.msOfDay(Date.parse('2026-03-02T01:30:00Z'))).toBe(10.5 * 3_600_000);
  });

  it('draws the same numbers from the same seed', () => {
    const a = new Random(42);
    const b = new Random(42);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 100 }, () => b.next()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const p = Array.from({ length: 2000 }, () => a.poisson(4));
    expect(p.reduce((s, x) => s + x, 0) / p.length).toBeGreaterThan(3.7);
    expect(p.reduce((s, x) => s + x, 0) / p.length).toBeLessThan(4.3);
  });
});
