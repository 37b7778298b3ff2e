/// <reference lib="dom" />
// The day report rendered in headless Chromium (Debian's, driven by playwright-core): every chart
// drew with data, no console errors, no request leaves the page; a screenshot is kept in
// test-artifacts/report.png. `ticktape report` is run as the real CLI.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, UPCODES, writeDay } from './export-day.js';

const CHROMIUM = '/usr/bin/chromium';
const root = fileURLToPath(new URL('..', import.meta.url));
const skipBrowser = process.env.TICKTAPE_SKIP_BROWSER === '1';

let dir: string;
let html: string;
let browser: BrowserContext | undefined;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-report-'));
  const dataDir = path.join(dir, 'data');
  await writeDay({ dataDir, minutes: 10 });
  html = path.join(dir, 'report.html');
  execFileSync(process.execPath, [path.join(root, 'bin/ticktape.js'), 'report', '--day', DAY, '--data-dir', dataDir, '--out', html], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TICKTAPE_LOG_LEVEL: 'warn' } });
});

afterAll(async () => {
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('ticktape report', () => {
  it('writes one self-contained page: uPlot inlined, no external reference', () => {
    const page = fs.readFileSync(html, 'utf8');
    expect(page).toContain('uPlot');
    expect(page).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  });

  it.skipIf(skipBrowser)('draws every chart with data in headless Chromium, without console errors', async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), or set TICKTAPE_SKIP_BROWSER=1 to skip this test`);
    const profile = fs.mkdtempSync(path.join(dir, 'profile-'));
    // A fresh profile directory (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(`file://${html}`);
    // On a script error the page never gets ready: show the errors rather than a timeout.
    await page.waitForSelector('body[data-charts="ready"]', { timeout: 15_000 }).catch(() => undefined);
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => document.body.dataset.charts)).toBe('ready');
    const charts = await page.$$eval('.chart', (els) =>
      els.map((el) => {
        const canvas = el.querySelector('canvas');
        let inked = 0;
        if (canvas) {
          const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) inked++;
        }
        return { name: (el as HTMLElement).dataset.chart, points: Number((el as HTMLElement).dataset.points), width: canvas?.width ?? 0, inked };
      }),
    );
    expect(charts.map((c) => c.name).sort()).toEqual(['health', 'reconciliation', 'top', 'trades', ...UPCODES.map((u) => `flows-${u}`)].sort());
    for (const c of charts) {
      expect(c.points, `${c.name}: data points`).toBeGreaterThan(0);
      expect(c.width, `${c.name}: canvas`).toBeGreaterThan(0);
      // Axes and grid alone ink a few thousand pixels; series add many more.
      expect(c.inked, `${c.name}: inked pixels`).toBeGreaterThan(2000);
    }
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    fs.mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(root, 'test-artifacts', 'report.png'), fullPage: true });
    expect(fs.statSync(path.join(root, 'test-artifacts', 'report.png')).size).toBeGreaterThan(10_000);
  });
});
