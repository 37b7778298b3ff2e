// Fault switches of the simulator during capture sessions: each handled, each visible in the report.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectorMetrics } from '../collector/metrics.js';
import { formatReport } from '../collector/report.js';
import { captureDay, log, storedBySymbol, tempRoot, truthBySymbol } from './collector-capture.js';

const tmp = tempRoot('faults');
afterAll(() => tmp.remove());

describe('collector under simulator faults', () => {
  it('keeps every trade through malformed and wrong-typed frames, quarantining them', async () => {
    const { exchange, result, db, truth } = await captureDay(join(tmp.root, 'malformed'), { malformedRate: 0.05, wrongTypeRate: 0.05 });
    expect(result.status).toBe('complete');
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(truth, true));
    const quarantined = result.channels.filter((c) => c.name.startsWith('koscom.trades')).reduce((n, c) => n + c.quarantined, 0);
    expect(quarantined).toBeGreaterThan(0);
    expect((db.prepare('SELECT COUNT(*) AS n FROM quarantine').get() as { n: number }).n).toBeGreaterThan(0);
    db.close();
  });

  it('recovers from disconnects, stale sockets and 429/503 bursts, and shows them in the report', async () => {
    const metrics = new CollectorMetrics();
    const server = await metrics.serve(0, log);
    let scraped = '';
    let health: { status: number; body: string } | undefined;
    const { result, db } = await captureDay(join(tmp.root, 'faults'), { closeEveryMs: 1_500, staleAfterMs: 2_500, rest429Burst: 3, rest5xxBurst: 2 }, {}, (live) => {
      metrics.attach(live);
      setTimeout(async () => {
        scraped = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
        const h = await fetch(`http://127.0.0.1:${server.port}/healthz`);
        health = { status: h.status, body: await h.text() };
      }, 4_000);
    });
    await server.close();
    expect(scraped).toMatch(/ticktape_frames_total\{channel="koscom\.trades\.kospi"\} [1-9]/);
    expect(scraped).toMatch(/ticktape_reconnects_total\{stream="koscom\.trades\.kospi"\} [1-9]/);
    expect(scraped).toMatch(/ticktape_rest_quota_remaining\{vendor="koscom"\} \d+/);
    expect(scraped).toMatch(/ticktape_last_message_age_seconds\{stream="ls\.bm"\}/);
    expect([200, 503]).toContain(health?.status);
    expect(JSON.parse(health!.body).session).toBe('live');
    expect(result.status).toBe('complete');
    const kospi = result.streams.find((s) => s.name === 'koscom.trades.kospi')!;
    expect(kospi.reconnects).toBeGreaterThanOrEqual(2);
    expect(result.streams.find((s) => s.name === 'ls.bm')!.reconnects).toBeGreaterThanOrEqual(1);
    expect(result.rest.find((r) => r.vendor === 'koscom')!.retries).toBeGreaterThanOrEqual(3);
    const events = db.prepare("SELECT reconnects, downtime_ms FROM sessions").get() as { reconnects: number; downtime_ms: number };
    expect(events.reconnects).toBe(result.streams.reduce((n, s) => n + s.reconnects, 0));
    const report = formatReport(result);
    expect(report).toMatch(/koscom\.trades\.kospi\s+\d+\s+[1-9]/);
    expect(report).toMatch(/REST koscom: \d+ calls, [1-9]\d* retried/);
    // Whatever the stream lost while down is visible as a gap, not silently missing.
    for (const r of result.reconciliation) expect(r.missing).toBe(r.gaps.reduce((n, g) => n + Math.max(0, g.missing), 0));
    db.close();
  });

  it('detects a cumulative trdVol and reconciles against the last cumulative value', async () => {
    const { result, db } = await captureDay(join(tmp.root, 'cumulative'), { cumulativeTrdVol: true });
    for (const r of result.reconciliation) {
      expect(r.mode).toBe('cumulative');
      expect(r.missing).toBe(0);
      expect(r.coveragePct).toBe(100);
    }
    expect(formatReport(result)).toMatch(/trdVol cumulative/);
    db.close();
  });
});
