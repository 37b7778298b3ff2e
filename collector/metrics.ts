// Prometheus /metrics and /healthz on 127.0.0.1. Values are read from the live session when
// scraped, so the capture path does no metric bookkeeping of its own.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StoreLag } from '../followers/follower-thread.js';
import type { PublishLag } from '../publish/nats-thread.js';
import type { LiveSession } from './session.js';

export class CollectorMetrics {
  readonly registry = new Registry();
  private live: LiveSession | undefined;
  private sessionsRun = 0;
  // Observed as batches are written (not read at scrape time): a histogram needs every batch.
  private readonly batchSeconds = new Histogram({
    name: 'ticktape_batch_seconds',
    help: 'Time a store took to write one batch, per store, live batches only.',
    labelNames: ['store'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client calls collect() with the metric as `this`: reach the collector through closures.
    const live = () => this.live;
    const sessionsRun = () => this.sessionsRun;
    // One series per row of the live session (a channel, a stream, a store…), under one label; a
    // row whose value is undefined has no series.
    const labelled = <T>(Metric: typeof Gauge | typeof Counter, name: string, help: string, label: string, rows: () => readonly T[] | undefined, key: (r: T) => string, value: (r: T) => number | undefined) =>
      new Metric({
        name,
        help,
        labelNames: [label],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const r of rows() ?? []) {
            const v = value(r);
            if (v === undefined) continue;
            if (this instanceof Gauge) this.set({ [label]: key(r) }, v);
            else this.inc({ [label]: key(r) }, v);
          }
        },
      });
    type Channel = ReturnType<LiveSession['channels']>[number];
    const perChannel = (name: string, help: string, pick: (c: Channel) => number) => labelled(Counter, name, help, 'channel', () => live()?.channels(), (c) => c.name, pick);
    perChannel('ticktape_frames_total', 'Frames journaled per channel in the current session.', (c) => c.frames);
    perChannel('ticktape_bytes_total', 'Bytes journaled per channel in the current session.', (c) => c.bytes);
    perChannel('ticktape_rows_total', 'Rows stored per channel in the current session.', (c) => c.rows);
    perChannel('ticktape_decode_failures_total', 'Frames quarantined (failed to decode) per channel.', (c) => c.quarantined);
    const streams = () => live()?.streams();
    labelled(Counter, 'ticktape_reconnects_total', 'WebSocket reconnects per stream in the current session.', 'stream', streams, (s) => s.name, (s) => s.reconnects);
    labelled(Gauge, 'ticktape_stream_downtime_seconds', 'Time each stream spent disconnected in the current session (closed outages).', 'stream', streams, (s) => s.name, (s) => s.downtimeMs / 1000);
    labelled(Gauge, 'ticktape_last_message_age_seconds', 'Seconds since the last frame on each stream (absent before the first frame).', 'stream', streams, (s) => s.name, (s) => (s.lastFrameMs > 0 ? (Date.now() - s.lastFrameMs) / 1000 : undefined));
    const rest = () => live()?.rest();
    labelled(Gauge, 'ticktape_rest_quota_remaining', 'Daily REST calls left, as announced by the vendor (X-RateLimit-Remaining-Day).', 'vendor', rest, (r) => r.vendor, (r) => r.client.stats.quotaRemaining);
    labelled(Gauge, 'ticktape_rest_queue_depth', 'REST calls waiting in the per-vendor rate-limit queue.', 'vendor', rest, (r) => r.vendor, (r) => r.client.queue.size + r.client.queue.pending);
    const perStore = (name: string, help: string, pick: (l: StoreLag) => number) => labelled(Gauge, name, help, 'store', () => live()?.stores(), (l) => (l.source === undefined ? l.store : `${l.store} ${l.source}`), pick);
    perStore('ticktape_store_lag_frames', 'Journal records a store has yet to store.', (l) => l.frames);
    perStore('ticktape_store_lag_bytes', 'Journal bytes a store has yet to store.', (l) => l.bytes);
    perStore('ticktape_store_lag_seconds', 'Seconds since a store last held everything the journal let it read (0 when it holds the whole journal).', (l) => l.seconds);
    perStore('ticktape_store_errors', 'Store errors in the current session (each retried from the checkpoint).', (l) => l.errors);
    // The live fan-out (TICKTAPE_PUBLISH_PORT), per endpoint; absent when it is off.
    const endpoints = () => live()?.publish?.()?.endpoints;
    labelled(Gauge, 'ticktape_publish_subscribers', 'Live fan-out subscribers connected, per endpoint.', 'endpoint', endpoints, (e) => e.endpoint, (e) => e.subscribers);
    labelled(Counter, 'ticktape_publish_messages_total', 'Messages the live fan-out sent, per endpoint, in the current session.', 'endpoint', endpoints, (e) => e.endpoint, (e) => e.messages);
    labelled(Counter, 'ticktape_publish_dropped_total', 'Subscribers disconnected for falling behind (TICKTAPE_PUBLISH_QUEUE_BYTES or _FRAMES), per endpoint, in the current session.', 'endpoint', endpoints, (e) => e.endpoint, (e) => e.dropped);
    // The NATS publisher, a follower of the journal like the stores (not in /healthz: a bus outage costs lag, not capture).
    const perBus = (name: string, help: string, pick: (l: PublishLag) => number) => labelled(Gauge, name, help, 'bus', () => live()?.publishers?.(), (l) => l.bus, pick);
    perBus('ticktape_bus_lag_frames', 'Journal records the publisher has yet to have acknowledged by the bus.', (l) => l.frames);
    perBus('ticktape_bus_lag_bytes', 'Journal bytes the publisher has yet to have acknowledged by the bus.', (l) => l.bytes);
    perBus('ticktape_bus_lag_seconds', 'Seconds since the bus last acknowledged everything durable in the journal (0 when caught up).', (l) => l.seconds);
    perBus('ticktape_bus_connected', '1 while the publisher is connected to the bus.', (l) => (l.connected ? 1 : 0));
    new Gauge({
      name: 'ticktape_disk_free_bytes',
      help: 'Free bytes on the file system of the data directory (the low-disk floor is TICKTAPE_MIN_FREE_BYTES).',
      registers: [this.registry],
      collect() {
        this.reset();
        const d = live()?.disk();
        if (d !== undefined) this.set(d.freeBytes);
      },
    });
    new Gauge({
      name: 'ticktape_disk_low',
      help: '1 while free space is under the low-disk floor (retention is tightened at the next seal).',
      registers: [this.registry],
      collect() {
        this.reset();
        const d = live()?.disk();
        if (d !== undefined) this.set(d.low ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ticktape_sessions_run',
      help: 'Capture sessions started by this process.',
      registers: [this.registry],
      collect() {
        this.set(sessionsRun());
      },
    });
  }

  /** Points the metrics at a session that just went live; `undefined` between sessions. */
  attach(live: LiveSession | undefined): void {
    if (live !== undefined) this.sessionsRun++;
    this.live?.onBatch(undefined);
    this.live = live;
    live?.onBatch((t) => {
      if (!t.recovering) this.batchSeconds.observe({ store: t.store }, t.seconds);
    });
  }

  /** 200 between sessions or while every stream is connected, no store lags past its limit and the disk is above its floor; 503 otherwise. */
  health(): { ok: boolean; body: object } {
    const streams = this.live?.streams() ?? [];
    const stores = this.live?.stores() ?? [];
    const down = streams.filter((s) => !s.connected);
    const lagging = stores.filter((l) => l.seconds > this.live!.maxStoreLagSeconds);
    const disk = this.live?.disk();
    const ok = down.length === 0 && lagging.length === 0 && disk?.low !== true;
    return {
      ok,
      body: {
        status: ok ? 'ok' : 'degraded',
        session: this.live ? 'live' : 'idle',
        streams: streams.map((s) => ({ name: s.name, connected: s.connected, reconnects: s.reconnects, lastFrameAgeMs: s.lastFrameMs > 0 ? Date.now() - s.lastFrameMs : null })),
        stores: stores.map((l) => ({ ...l, healthy: l.seconds <= this.live!.maxStoreLagSeconds })),
        ...(disk === undefined ? {} : { disk }),
      },
    };
  }

  /** Serves /metrics and /healthz on 127.0.0.1:port (0 = any free port). */
  async serve(port: number, log: Logger): Promise<{ port: number; close(): Promise<void> }> {
    const server: Server = createServer(async (req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': this.registry.contentType });
        res.end(await this.registry.metrics());
      } else if (req.url === '/healthz') {
        const h = this.health();
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(h.body));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    const bound = (server.address() as AddressInfo).port;
    log.info({ port: bound }, `metrics on http://127.0.0.1:${bound}/metrics, health on /healthz`);
    // A scraper's keep-alive connection would otherwise hold the process open after the session.
    return {
      port: bound,
      close: () =>
        new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
}
