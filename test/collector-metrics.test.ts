// The metrics endpoint on a real port: a scraper's keep-alive connection must not keep a finished
// collector process alive (the soak test found `collect` hanging after its session).
import http from 'node:http';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { CollectorMetrics } from '../collector/metrics.js';

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
