import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BM_CODES } from '../protocol/ls.js';
import { ConfigError, loadConfig, redactedConfig } from '../collector/config.js';

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
});
