// The metrics endpoint on a real port: a scraper's keep-alive connection must not keep a finished
// collector process alive (the soak test found `collect` hanging after its session).
import http from 'node:http';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { CollectorMetrics } from '../collector/metrics.js';
import type { LiveSession } from '../collector/session.js';
import { diskStatus } from '../storage/disk.js';

function get(port: number, path: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

it('serves /metrics and /healthz, and closes at once although a scraper keeps its connection alive', async () => {
  const server = await new CollectorMetrics().serve(0, pino({ level: 'silent' }));
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
  try {
    const m = await get(server.port, '/metrics', agent);
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/^# HELP ticktape_batch_seconds /m);
    expect((await get(server.port, '/healthz', agent)).status).toBeGreaterThanOrEqual(200);
    const started = performance.now();
    await server.close();
    // Without closing the kept-alive connection, close() waits for the server's keep-alive timeout (5 s).
    expect(performance.now() - started).toBeLessThan(1_000);
  } finally {
    agent.destroy();
  }
});

it('reports free disk space, and /healthz turns unhealthy under the low-disk floor', async () => {
  const metrics = new CollectorMetrics();
  const server = await metrics.serve(0, pino({ level: 'silent' }));
  const agent = new http.Agent();
  // A session's read-only view, as runSession hands it over, with no stream and no store yet.
  const live = (floor: number): LiveSession => ({
    streams: () => [],
    rest: () => [],
    channels: () => [],
    stores: () => [],
    maxStoreLagSeconds: 60,
    disk: () => diskStatus(tmpdir(), floor),
    onBatch: () => undefined,
  });
  try {
    metrics.attach(live(1));
    const ok = await get(server.port, '/healthz', agent);
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body) as { disk: { low: boolean; freeBytes: number } }).disk).toMatchObject({ low: false, freeBytes: expect.any(Number) });
    const m = await get(server.port, '/metrics', agent);
    expect(Number(/^ticktape_disk_free_bytes (\d+)/m.exec(m.body)?.[1])).toBeGreaterThan(0);
    expect(m.body).toMatch(/^ticktape_disk_low 0$/m);
    // A floor above the disk's size: low.
    metrics.attach(live(Number.MAX_SAFE_INTEGER));
    const low = await get(server.port, '/healthz', agent);
    expect(low.status).toBe(503);
    expect((JSON.parse(low.body) as { status: string; disk: { low: boolean } })).toMatchObject({ status: 'degraded', disk: { low: true } });
    expect((await get(server.port, '/metrics', agent)).body).toMatch(/^ticktape_disk_low 1$/m);
  } finally {
    metrics.attach(undefined);
    agent.destroy();
    await server.close();
  }
});
