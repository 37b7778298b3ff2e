// Capture sessions against the real simulator over real sockets, into real files.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, withEndpoints } from '../collector/config.js';
import { formatReport } from '../collector/report.js';
import { runSession } from '../collector/session.js';
import { startExchange } from '../sim/exchange.js';
import { FAST_ENV, captureDay, log, storedBySymbol, tempRoot, truthBySymbol } from './collector-capture.js';

const tmp = tempRoot('session');
afterAll(() => tmp.remove());

describe('collector session against the simulator', () => {
  it('captures a whole compressed day: every trade the truth holds, per-symbol quantities equal, 100% coverage', async () => {
    const { exchange, result, db, truth, dataDir } = await captureDay(join(tmp.root, 'full'));
    expect(result.status).toBe('complete');
    // The receive clock's anchor (wall − monotonic) is reported and stored with the session.
    expect(Math.abs(result.clock.offsetMs - (Date.now() - Number(process.hrtime.bigint() / 1_000_000n)))).toBeLessThan(1_000);
    const clock = JSON.parse((db.prepare('SELECT clock FROM sessions WHERE day = ?').get(exchange.day) as { clock: string }).clock) as { offsetMs: number; steps: unknown[] };
    expect(clock).toEqual({ offsetMs: result.clock.offsetMs, steps: [] });
    expect(result.stores.map((s) => [s.store, s.caughtUp, s.frames])).toEqual([['sqlite', true, 0], ['arrow', true, 0]]);
    expect(truth.length).toBeGreaterThan(1000);
    const stored = storedBySymbol(db, exchange.day);
    const expected = truthBySymbol(truth, true);
    expect(stored).toEqual(expected);
    const total = db.prepare('SELECT COUNT(*) AS n FROM trades').get() as { n: number };
    expect(total.n).toBe(truth.length);
    for (const r of result.reconciliation) {
      expect(r.mode).toBe('per-trade');
      expect(r.missing).toBe(0);
      expect(r.coveragePct).toBe(100);
    }
    expect(result.reconciliation.map((r) => r.market).sort()).toEqual(['kosdaq', 'kospi']);
    expect((db.prepare("SELECT COUNT(*) AS n FROM snapshots WHERE kind = 'seed'").get() as { n: number }).n).toBe(60);
    expect((db.prepare("SELECT COUNT(*) AS n FROM snapshots WHERE kind = 'close'").get() as { n: number }).n).toBe(60);
    expect((db.prepare('SELECT COUNT(*) AS n FROM symbols').get() as { n: number }).n).toBe(60);
    expect((db.prepare('SELECT COUNT(*) AS n FROM sector_flows').get() as { n: number }).n).toBeGreaterThan(0);
    const session = db.prepare('SELECT status, reconciliation FROM sessions WHERE day = ?').get(exchange.day) as { status: string; reconciliation: string };
    expect(session.status).toBe('complete');
    expect(JSON.parse(session.reconciliation).kospi.coveragePct).toBe(100);
    const report = formatReport(result);
    expect(report).toContain('koscom.trades.kospi');
    expect(report).toMatch(/coverage 100\.000%/);
    // The init frames and LS registrations were journaled, but never with the credentials.
    const journals = readdirSync(join(dataDir, 'journal')).map((f) => readFileSync(join(dataDir, 'journal', f)).toString('latin1')).join('');
    expect(journals).toContain('"init"');
    for (const secret of Object.values(exchange.credentials)) if (secret.length > 20) expect(journals).not.toContain(secret);
    db.close();
  });

  it('reconciliation finds exactly the trades a drop fault removed, per symbol', async () => {
    const { exchange, result, db, truth } = await captureDay(join(tmp.root, 'drops'), { dropRate: 0.05 });
    const dropped = truthBySymbol(truth, false);
    expect(dropped.size).toBeGreaterThan(0);
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(truth, true));
    const found = new Map<string, number>();
    for (const r of result.reconciliation) for (const g of r.gaps) found.set(g.symbol, g.missing);
    expect(found).toEqual(new Map([...dropped].map(([s, v]) => [s, v.qty])));
    const missing = result.reconciliation.reduce((n, r) => n + r.missing, 0);
    expect(missing).toBe([...dropped.values()].reduce((n, v) => n + v.qty, 0));
    expect(result.reconciliation.every((r) => r.coveragePct < 100)).toBe(true);
    expect(formatReport(result)).toMatch(/largest gaps/);
    db.close();
  });

  it('streams from the open when the seed is slower than the pre-open, seeding beside the streams', async () => {
    // Every REST answer takes 3.2 s and the day opens 3 s after the start: a seed-then-stream
    // order would lose the day's first moments.
    const { exchange, result, db, truth } = await captureDay(join(tmp.root, 'slow-seed'), { restDelayMs: 3_200 });
    expect(result.status).toBe('complete');
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(truth, true));
    expect((db.prepare("SELECT COUNT(*) AS n FROM snapshots WHERE kind = 'seed'").get() as { n: number }).n).toBe(60);
    db.close();
  });

  it('streams all session when one REST endpoint answers 401, and the report names the endpoint', async () => {
    // An endpoint the key is not licensed for (here both multiquote lists): the streams run regardless.
    const { exchange, result, db, truth } = await captureDay(join(tmp.root, 'rest-401'), { restUnauthorizedPath: 'multiquote' });
    expect(result.status).toBe('complete');
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(truth, true));
    expect(result.streams.filter((s) => s.name.startsWith('koscom.trades.')).every((s) => s.connects === 1 && s.reconnects === 0)).toBe(true);
    const report = formatReport(result);
    expect(report).toMatch(/REST \/v2\/market\/multiquote\/stocks\/kospi\/lists\/? \(kospi\) failed \d+ time\(s\), last: .*HTTP 401.*the streams ran regardless/);
    expect(report).toMatch(/REST \/v2\/market\/multiquote\/stocks\/kosdaq\/ohlclists\/? \(kosdaq\) failed/);
    // The stock lists, on another endpoint, were stored.
    expect((db.prepare('SELECT COUNT(*) AS n FROM symbols WHERE day = ?').get(exchange.day) as { n: number }).n).toBe(60);
    db.close();
  });

  it('ends the session on rejected stream credentials, naming the stream and the rejected REST endpoints', async () => {
    const dataDir = join(tmp.root, 'badcreds');
    const exchange = await startExchange({ dayLengthMs: 4_000, preOpenMs: 500, kospiSymbols: 5, kosdaqSymbols: 5, tradesPerDay: 1_000, faults: { rejectCredentials: true } });
    try {
      const config = withEndpoints(loadConfig({ env: { ...FAST_ENV, TICKTAPE_DATA_DIR: dataDir } }), exchange);
      const result = await runSession({ config, log, day: exchange.day, times: { streamEnd: Date.now() + 15_000 } });
      expect(result.status).toBe('failed');
      expect(result.credentialsRejected).toBe(true);
      // The stream's refusals end the session, well before its planned end.
      expect(result.endedMs - result.startedMs).toBeLessThan(10_000);
      expect(result.problems.join('\n')).toMatch(/koscom\.trades\.(kospi|kosdaq): Koscom refused the stream \d+ times .*: the API key is rejected/);
      expect(result.problems.join('\n')).toMatch(/REST \/v2\/market\/multiquote\/stocks\/kospi\/lists .*HTTP 401/);
      expect(result.problems.join()).not.toContain(exchange.credentials.koscomApiKey);
      expect(formatReport(result)).toContain('failed');
    } finally {
      await exchange.close();
    }
  });

  it('stretches the periodic snapshots to the daily quota, keeping the closing snapshot', async () => {
    // 16 calls: stock lists (2) + seed snapshot (4) leave 10; a 1 s interval would need ~20 more.
    const { result, db } = await captureDay(join(tmp.root, 'quota'), {}, { TICKTAPE_SNAPSHOT_INTERVAL: '1s', TICKTAPE_RECONCILE_PERIODIC: 'true' }, undefined, 16);
    expect(result.rest.find((r) => r.vendor === 'koscom')).toMatchObject({ failures: 0, quotaLimit: 16 });
    expect(result.snapshots).toBeLessThanOrEqual(3);
    expect((db.prepare("SELECT COUNT(*) AS n FROM snapshots WHERE kind = 'close'").get() as { n: number }).n).toBe(60);
    for (const r of result.reconciliation) expect(r).toMatchObject({ snapshotKind: 'close', coveragePct: 100 });
    db.close();
  });
});
