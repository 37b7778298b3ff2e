/// <reference lib="dom" />
// The day report rendered in headless Chromium (Debian's, driven by playwright-core) with a Korean
// font (Debian's fonts-noto-cjk): every chart drew with data, time axes span the session 09:00–15:30
// in 24-hour KST, investor groups are named in Korean and English, no console errors, no request
// leaves the page; a screenshot is kept in test-artifacts/report.png. `ticktape report` is run as
// the real CLI.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kstMidnight } from '../protocol/time.js';
import pino from 'pino';
import { gatherDayReport } from '../report/day.js';
import { renderDayReport } from '../report/page.js';
import { DAY, UPCODES, writeDay } from './export-day.js';

const CHROMIUM = '/usr/bin/chromium';
/** What Debian's fonts-noto-cjk installs (the Makefile's test target does). */
const KOREAN_FONT = '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc';
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

/** Debian's Chromium, once per file, in a fresh profile directory (playwright passes it as --user-data-dir). */
async function launch(): Promise<BrowserContext> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), or set TICKTAPE_SKIP_BROWSER=1 to skip this test`);
  if (!fs.existsSync(KOREAN_FONT)) throw new Error(`${KOREAN_FONT} not found: install Debian's fonts-noto-cjk (make test does), or set TICKTAPE_SKIP_BROWSER=1 to skip this test`);
  browser ??= await chromium.launchPersistentContext(fs.mkdtempSync(path.join(dir, 'profile-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return browser;
}

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
    const page = await (await launch()).newPage();
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
    // Time axes: the regular session on exchange time, labelled in 24-hour KST.
    const open = kstMidnight(DAY) / 1000 + 9 * 3600;
    const axes = await page.$$eval('.chart[data-x-range]', (els) => els.map((el) => ({ name: (el as HTMLElement).dataset.chart, range: (el as HTMLElement).dataset.xRange, ticks: ((el as HTMLElement).dataset.xTicks ?? '').split(',') })));
    expect(axes.map((a) => a.name).sort()).toEqual(['health', 'reconciliation', 'trades', ...UPCODES.map((u) => `flows-${u}`)].sort());
    for (const a of axes.filter((x) => x.name !== 'health')) {
      expect(a.range, a.name).toBe(`${open},${open + 6.5 * 3600}`);
      for (const t of a.ticks) expect(t, a.name).toMatch(/^(09|1[0-5]):[0-5]\d$/);
      // 24-hour: afternoon hours as 13:00, 14:00, not 1:00pm.
      expect(a.ticks.some((t) => Number(t.slice(0, 2)) >= 13), a.name).toBe(true);
    }
    // Capture health runs on the receive clock over the collector's day: 24-hour KST as well.
    for (const t of axes.find((x) => x.name === 'health')!.ticks) expect(t).toMatch(/^[0-2]\d:[0-5]\d$/);
    const legends = await page.$$eval('[data-chart^="flows-"] .u-legend', (els) => els.map((el) => Array.from(el.querySelectorAll('.u-series')).map((s) => `${s.querySelector('.u-label')?.textContent}${s.classList.contains('u-off') ? ' (hidden)' : ''}`)));
    for (const l of legends) expect(l).toEqual(['개인 Individuals', '외국인 Foreigners', '기관계 Institutions (total)']);
    const text = await page.evaluate(() => document.body.innerText);
    expect(text).toMatch(/Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST/);
    expect(text).not.toMatch(/\d(am|pm)\b/);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    fs.mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(root, 'test-artifacts', 'report.png'), fullPage: true });
    expect(fs.statSync(path.join(root, 'test-artifacts', 'report.png')).size).toBeGreaterThan(10_000);
  });

  it.skipIf(skipBrowser)('sector charts show 개인, 외국인, 기관계 and keep the other groups a legend click away', async () => {
    const report = await gatherDayReport({ dataDir: path.join(dir, 'data'), day: DAY, log: pino({ level: 'silent' }) });
    // Two more investor groups on one sector: 사모펀드 (0000) and 국가 (0011).
    for (const p of report.flows[UPCODES[0]]) Object.assign(p.net, { '0000': 1000, '0011': -500 });
    const file = path.join(dir, 'groups.html');
    fs.writeFileSync(file, renderDayReport(report));
    const page = await (await launch()).newPage();
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-charts="ready"]', { timeout: 15_000 });
    const legend = () => page.$$eval(`[data-chart="flows-${UPCODES[0]}"] .u-legend .u-series`, (els) => els.map((s) => `${s.querySelector('.u-label')?.textContent}${s.classList.contains('u-off') ? ' (hidden)' : ''}`));
    expect(await legend()).toEqual(['개인 Individuals', '외국인 Foreigners', '기관계 Institutions (total)', '사모펀드 Private equity (hidden)', '국가 Government (hidden)']);
    await page.click(`[data-chart="flows-${UPCODES[0]}"] .u-legend .u-series:nth-child(4)`);
    expect((await legend())[3]).toBe('사모펀드 Private equity');
  });
});
