import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BM_CODES } from '../protocol/ls.js';
import { ConfigError, loadConfig, redactedConfig } from '../collector/config.js';
import { endpointUrl, KOSCOM_PATHS } from '../collector/endpoints.js';

const dir = mkdtempSync(join(tmpdir(), 'ticktape-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(env: Record<string, string>, file?: string): string[] {
  try {
    loadConfig({ env, file });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('collector configuration', () => {
  it('defaults to the simulator with both markets and every BM_ code', () => {
    const c = loadConfig({ env: {} });
    expect(c.useSim).toBe(true);
    expect(c.dataDir).toBe('./data');
    expect(c.markets).toEqual(['kospi', 'kosdaq']);
    expect(c.bmCodes).toEqual([...BM_CODES]);
    expect(c.schedule).toMatchObject({ seedAt: 480, streamStart: 510, streamEnd: 945, closeAt: 940, snapshotIntervalMs: 60_000 });
    expect(c.metricsPort).toBeUndefined();
  });

  it('reads real credentials and base URLs, normalizing the trailing slash', () => {
    const c = loadConfig({
      env: {
        TICKTAPE_KOSCOM_API_KEY: 'l7xx-secret-key',
        TICKTAPE_KOSCOM_WS_URL: 'ws://feed.example:9887/',
        TICKTAPE_LS_APP_KEY: 'ls-key',
        TICKTAPE_LS_APP_SECRET: 'ls-secret',
        TICKTAPE_MARKETS: 'kosdaq',
        TICKTAPE_BM_CODES: '001,301',
        TICKTAPE_SNAPSHOT_INTERVAL: '90s',
      },
    });
    expect(c.useSim).toBe(false);
    expect(c.koscom.wsUrl).toBe('ws://feed.example:9887');
    expect(c.koscom.restUrl).toBe('https://apigw.koscom.co.kr');
    expect(c.ls?.wsUrl).toBe('wss://openapi.ls-sec.co.kr:9443');
    expect(c.markets).toEqual(['kosdaq']);
    expect(c.bmCodes).toEqual(['001', '301']);
    expect(c.schedule.snapshotIntervalMs).toBe(90_000);
  });

  it('names the variable and what was expected for each bad value, all at once', () => {
    const p = problems({
      TICKTAPE_MARKETS: 'kospi,nyse',
      TICKTAPE_BM_CODES: '001,999',
      TICKTAPE_BATCH_ROWS: 'lots',
      TICKTAPE_SEED_AT: '8am',
      TICKTAPE_KOSCOM_REST_URL: 'ftp://x',
      TICKTAPE_METRICS_PORT: '70000',
    });
    const text = p.join('\n');
    expect(text).toMatch(/TICKTAPE_MARKETS: expected markets from: kospi, kosdaq/);
    expect(text).toMatch(/TICKTAPE_BM_CODES: expected BM_ market codes/);
    expect(text).toMatch(/TICKTAPE_BATCH_ROWS: expected a whole number from 1 to 1000000 \(got "lots"\)/);
    expect(text).toMatch(/TICKTAPE_SEED_AT: expected a time HH:MM/);
    expect(text).toMatch(/TICKTAPE_KOSCOM_REST_URL: expected a base URL/);
    expect(text).toMatch(/TICKTAPE_METRICS_PORT: expected a whole number from 0 to 65535/);
  });

  it('refuses a URL with a path, and partial credentials', () => {
    expect(problems({ TICKTAPE_KOSCOM_WS_URL: 'ws://h:1/ws_ksp', TICKTAPE_KOSCOM_API_KEY: 'k' }).join()).toMatch(/TICKTAPE_KOSCOM_WS_URL: .*no path/);
    expect(problems({ TICKTAPE_KOSCOM_API_KEY: 'k' }).join()).toMatch(/TICKTAPE_KOSCOM_WS_URL: required/);
    const p = problems({ TICKTAPE_KOSCOM_API_KEY: 'k', TICKTAPE_KOSCOM_WS_URL: 'ws://h:1', TICKTAPE_LS_APP_KEY: 'x' }).join();
    expect(p).toMatch(/TICKTAPE_LS_APP_SECRET: required together/);
  });

  it('checks the order of the schedule times', () => {
    expect(problems({ TICKTAPE_STREAM_START: '16:00' }).join()).toMatch(/schedule: expected TICKTAPE_SEED_AT ≤ TICKTAPE_STREAM_START/);
  });

  it('never echoes a secret in an error or in the redacted view', () => {
    const p = problems({ TICKTAPE_KOSCOM_API_KEY: 'l7xx-top-secret', TICKTAPE_LS_APP_KEY: 'ls-top-secret' }).join('\n');
    expect(p).not.toContain('top-secret');
    const c = loadConfig({ env: { TICKTAPE_KOSCOM_API_KEY: 'l7xx-top-secret', TICKTAPE_KOSCOM_WS_URL: 'ws://h:1', TICKTAPE_LS_APP_KEY: 'a-top-secret', TICKTAPE_LS_APP_SECRET: 'b-top-secret' } });
    expect(JSON.stringify(redactedConfig(c))).not.toContain('top-secret');
  });

  it('reads a JSON config file below the environment, and reports unknown keys and bad values with their path', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ dataDir: '/var/lib/ticktape', batch: { rows: 5000 }, calendar: { closed: ['2026-06-03'], special: { '2026-11-19': { streamStart: '09:30' } } } }));
    const c = loadConfig({ env: { TICKTAPE_BATCH_ROWS: '7000' }, file: good });
    expect(c.dataDir).toBe('/var/lib/ticktape');
    expect(c.batch.rows).toBe(7000);
    expect(c.calendar.closed).toEqual(['2026-06-03']);
    expect(c.calendar.special['2026-11-19']).toEqual({ streamStart: 570 });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ batch: { rows: 0 }, colour: 'blue' }));
    const p = problems({}, bad).join('\n');
    expect(p).toMatch(/bad\.json: unknown key "colour"/);
    expect(p).toMatch(/bad\.json: batch\.rows: expected a whole number/);
    expect(problems({}, join(dir, 'missing.json')).join()).toMatch(/cannot read \(ENOENT\)/);
  });

  it('places every endpoint at its documented path by default, and takes a path, a full URL or :PORT/path per endpoint', () => {
    const env = { TICKTAPE_KOSCOM_API_KEY: 'k', TICKTAPE_KOSCOM_WS_URL: 'ws://sandbox-apigw.koscom.co.kr/', TICKTAPE_LS_APP_KEY: 'a', TICKTAPE_LS_APP_SECRET: 'b' };
    const c = loadConfig({ env });
    const ws = c.koscom.wsUrl;
    // koscom.md §1: /{ws_marketcode}/ with its trailing slash on the base host, /ws/ on port 9887.
    expect(endpointUrl(ws, c.koscom.paths!.trades!, 'kospi')).toBe('ws://sandbox-apigw.koscom.co.kr/ws_ksp/');
    expect(endpointUrl(ws, c.koscom.paths!.trades!, 'kosdaq')).toBe('ws://sandbox-apigw.koscom.co.kr/ws_kdq/');
    expect(endpointUrl(ws, c.koscom.paths!.detail!)).toBe('ws://sandbox-apigw.koscom.co.kr:9887/ws/');
    // A base that names its port keeps it (the simulator serves everything on one port).
    expect(endpointUrl('ws://127.0.0.1:4100', KOSCOM_PATHS.detail)).toBe('ws://127.0.0.1:4100/ws/');
    expect(endpointUrl('', c.koscom.paths!.lists!, 'kosdaq')).toBe('/v2/market/multiquote/stocks/kosdaq/lists');
    expect(endpointUrl(c.ls!.wsUrl, c.ls!.paths!.websocket!)).toBe('wss://openapi.ls-sec.co.kr:9443/websocket');
    expect(c.ls!.paths!.token).toBe('/oauth2/token');
    const moved = loadConfig({
      env: {
        ...env,
        TICKTAPE_KOSCOM_LISTS_PATH: '/v3/market/realtime/{marketcode}/multiquote/stocks/lists',
        TICKTAPE_KOSCOM_TRADES_PATH: 'wss://feed.example:9000/{ws_marketcode}',
        TICKTAPE_LS_TOKEN_PATH: 'https://auth.example/oauth2/token',
      },
    });
    expect(endpointUrl('', moved.koscom.paths!.lists!, 'kospi')).toBe('/v3/market/realtime/kospi/multiquote/stocks/lists');
    expect(moved.koscom.paths!.ohlcLists).toBe(KOSCOM_PATHS.ohlcLists);
    expect(endpointUrl(ws, moved.koscom.paths!.trades!, 'kosdaq')).toBe('wss://feed.example:9000/ws_kdq');
    expect(moved.ls!.paths!.token).toBe('https://auth.example/oauth2/token');
  });

  it('refuses an endpoint override that is no path or URL, or lacks the market placeholder', () => {
    const p = problems({ TICKTAPE_KOSCOM_STOCK_LIST_PATH: 'v3/lists', TICKTAPE_KOSCOM_LISTS_PATH: '/v3/market/realtime/kospi/lists', TICKTAPE_KOSCOM_TRADES_PATH: 'https://x/{ws_marketcode}', TICKTAPE_KOSCOM_OHLC_LISTS_PATH: ':9000/{marketcode}' }).join('\n');
    expect(p).toMatch(/TICKTAPE_KOSCOM_STOCK_LIST_PATH: expected a path \(\/…\) or an http:\/\/ or https:\/\/ URL/);
    expect(p).toMatch(/TICKTAPE_KOSCOM_LISTS_PATH: expected the \{marketcode\} placeholder/);
    expect(p).toMatch(/TICKTAPE_KOSCOM_TRADES_PATH: expected a path \(\/…\), :PORT\/… or a ws:\/\/ or wss:\/\/ URL/);
    expect(p).toMatch(/TICKTAPE_KOSCOM_OHLC_LISTS_PATH: expected a path/);
  });
});
