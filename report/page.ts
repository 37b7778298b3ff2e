// The day report as one self-contained HTML page: uPlot's script and style sheet inlined, the data
// as JSON in the page, no request at view time. Each chart's container records how many data
// points it drew (data-points) and the body says when all are drawn (data-charts="ready").
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { DayReport } from './day.js';

const require = createRequire(import.meta.url);

function asset(name: string): string {
  return fs.readFileSync(require.resolve(`uplot/dist/${name}`), 'utf8');
}

/** JSON safe inside <script>: no "</script>" or "<!--" can appear. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** BM_ investor groups (tjjcode): Korean and English names, one colour each; the main three shown by default. */
const INVESTOR_GROUPS: Readonly<Record<string, { ko: string; en: string; colour: string; main?: true }>> = {
  '0008': { ko: '개인', en: 'Individuals', colour: '#1f77b4', main: true },
  '0017': { ko: '외국인', en: 'Foreigners', colour: '#d62728', main: true },
  '0018': { ko: '기관계', en: 'Institutions (total)', colour: '#2ca02c', main: true },
  '0000': { ko: '사모펀드', en: 'Private equity', colour: '#ff7f0e' },
  '0001': { ko: '증권', en: 'Securities firms', colour: '#9467bd' },
  '0002': { ko: '보험', en: 'Insurance', colour: '#8c564b' },
  '0003': { ko: '투신', en: 'Investment trusts', colour: '#e377c2' },
  '0004': { ko: '은행', en: 'Banks', colour: '#7f7f7f' },
  '0005': { ko: '종금', en: 'Merchant banks', colour: '#bcbd22' },
  '0006': { ko: '기금', en: 'Pension funds', colour: '#17becf' },
  '0007': { ko: '기타법인', en: 'Other corporations', colour: '#393b79' },
  '0009': { ko: '등록외국인', en: 'Registered foreigners', colour: '#e7969c' },
  '0010': { ko: '미등록외국인', en: 'Unregistered foreigners', colour: '#8ca252' },
  '0011': { ko: '국가', en: 'Government', colour: '#843c39' },
  '0016': { ko: '외인계', en: 'Foreign (total)', colour: '#6b6ecf' },
};

/** Korean first: investor names are Hangul; the rest of the page is Latin. */
/** Korean first: investor groups and names render where a Korean font is installed. */
export const FONT_STACK = '"Noto Sans KR", "Noto Sans CJK KR", "Malgun Gothic", "Apple SD Gothic Neo", "Nanum Gothic", system-ui, sans-serif';

// Runs in the browser, in its own scope (a page script's top level shares names with window).
// Plain JS: uPlot is the global from the inlined IIFE build. Every time axis shows 24-hour KST;
// each chart's container records its x range and tick labels (data-x-range, data-x-ticks).
const DRAW = String.raw`(() => {
const data = JSON.parse(document.getElementById('report-data').textContent);
const groups = JSON.parse(document.getElementById('investor-groups').textContent);
const FONT = document.body.dataset.font;
const width = () => Math.min(1100, document.body.clientWidth - 40);
const kst = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Asia/Seoul');
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const count = (cols) => cols.slice(1).reduce((n, c) => n + c.filter((v) => v !== null && v !== undefined).length, 0);
const two = (n) => String(n).padStart(2, '0');
const secOfDay = (ts) => (((Math.floor(ts) + 9 * 3600) % 86400) + 86400) % 86400;
const hhmm = (ts) => two(Math.floor(secOfDay(ts) / 3600)) + ':' + two(Math.floor(secOfDay(ts) / 60) % 60);

/** A chart; a time chart (range: [from, to] epoch seconds) gets a 24-hour KST axis over that range. */
function chart(name, title, cols, series, extra = {}, range) {
  const box = document.querySelector('[data-chart="' + name + '"]');
  box.dataset.points = String(count(cols));
  const { axes: [xAxis = {}, ...yAxes] = [{}, { size: 90 }], scales = {}, ...rest } = extra;
  const x = range ? { values: (u, ticks) => { const v = ticks.map(hhmm); box.dataset.xTicks = v.join(','); return v; } } : {};
  const opts = {
    // No live legend values: without a cursor on the chart they read "--".
    title, width: width(), height: 280, tzDate: kst, legend: { live: false },
    series: [{}, ...series],
    // Wide y axes (the default): volumes and values in 원 run to many digits.
    axes: [{ font: '12px ' + FONT, ...x, ...xAxis }, ...yAxes.map((a) => ({ font: '12px ' + FONT, ...a }))],
    scales,
    ...rest,
  };
  if (range) {
    opts.scales = { ...scales, x: { time: true, range: () => range } };
    opts.hooks = { draw: [(u) => (box.dataset.xRange = u.scales.x.min + ',' + u.scales.x.max)] };
  }
  new uPlot(opts, cols, box);
}

function line(label, i, more = {}) {
  return { label, stroke: palette[i % palette.length], width: 1.5, spanGaps: true, ...more };
}

/** Merge x values of several sparse series into aligned columns. */
function aligned(parts) {
  const xs = [...new Set(parts.flatMap((p) => p.x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const cols = [xs];
  for (const p of parts) {
    const col = new Array(xs.length).fill(null);
    p.x.forEach((x, i) => (col[at.get(x)] = p.y[i]));
    cols.push(col);
  }
  return cols;
}

const session = [data.session.open, data.session.close];
const markets = Object.keys(data.tradesPerMinute.series);
chart('trades', 'Trades per minute (exchange time, KST)', [data.tradesPerMinute.minutes, ...markets.map((m) => data.tradesPerMinute.series[m])], markets.map((m, i) => line(m, i)), {}, session);

const recon = [];
markets.forEach((m) => recon.push({ x: data.cumulativeVolume.minutes.map((t) => t + 60), y: data.cumulativeVolume.series[m] }));
markets.forEach((m) => {
  const pts = data.snapshots.filter((s) => s.market === m);
  recon.push({ x: pts.map((s) => s.at), y: pts.map((s) => s.accVolume) });
});
chart('reconciliation', 'Cumulative volume: streamed vs REST snapshots (KST)', aligned(recon), [
  ...markets.map((m, i) => line(m + ' streamed', i)),
  ...markets.map((m, i) => line(m + ' snapshot', i, { width: 0, points: { show: true, size: 9, fill: palette[i] }, spanGaps: false })),
], {}, session);

for (const upcode of Object.keys(data.flows)) {
  const pts = data.flows[upcode];
  const codes = [...new Set(pts.flatMap((p) => Object.keys(p.net)))].sort((a, b) => Number(!!(groups[b] || {}).main) - Number(!!(groups[a] || {}).main) || a.localeCompare(b));
  const series = codes.map((c, i) => {
    const g = groups[c];
    // The main groups are shown; the others are one click on their legend entry away.
    return g ? line(g.ko + ' ' + g.en, i, { stroke: g.colour, show: !!g.main }) : line(c, i, { show: false });
  });
  chart('flows-' + upcode, 'BM_ ' + upcode + ': net bought value (원) by investor group', [pts.map((p) => p.at), ...codes.map((c) => pts.map((p) => p.net[c] ?? null))], series, {}, session);
}

// Connected streams over time (each event moves the count), quarantined frames per minute.
let up = 0;
const conn = { x: [], y: [] };
for (const e of data.events) {
  if (e.type === 'connected' || e.type === 'reconnected') up++;
  else if (e.type === 'disconnected') up = Math.max(0, up - 1);
  else continue;
  conn.x.push(e.at);
  conn.y.push(up);
}
const quarantine = { x: data.quarantinePerMinute.minutes, y: data.quarantinePerMinute.frames };
const healthCols = aligned([conn, quarantine]);
// The collector connects before 09:00 and stays after 15:30: the axis widens to its whole day.
const healthRange = [Math.min(session[0], healthCols[0][0] ?? session[0]), Math.max(session[1], healthCols[0][healthCols[0].length - 1] ?? session[1])];
chart('health', 'Capture health: connected streams, quarantined frames per minute (receive time, KST)', healthCols, [
  line('connected streams', 2, { paths: uPlot.paths.stepped({ align: 1 }), scale: 'n' }),
  line('quarantined frames / min', 1, { width: 0, points: { show: true, size: 8, fill: palette[1] }, spanGaps: false, scale: 'q' }),
], { axes: [{}, { scale: 'n', size: 50 }, { scale: 'q', side: 1, size: 50, grid: { show: false } }] }, healthRange);

const top = data.topSymbols;
chart('top', 'Top symbols by traded value (원)', [top.map((_, i) => i), top.map((s) => s.value)], [line('traded value', 0, { paths: uPlot.paths.bars({ size: [0.7, 60] }), fill: palette[0] + '99' })], {
  scales: { x: { time: false, range: [-0.5, top.length - 0.5] } },
  axes: [{ values: (_, ticks) => ticks.map((t) => (top[t] ? top[t].symbol : '')), rotate: -45, size: 60 }, { size: 110 }],
});

document.body.dataset.charts = 'ready';
})();
`;

/** `YYYY-MM-DD HH:MM:SS` KST of an epoch-ms instant. */
function kstStamp(ms: number): string {
  return new Date(ms + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

export function renderDayReport(r: DayReport): string {
  const kst = (sec: number | null) => (sec === null ? '—' : kstStamp(sec * 1000).slice(11));
  const n = (v: number) => v.toLocaleString('en-US');
  const sessions = r.sessions
    .map((s) => `<tr><td>${escapeHtml(s.collector || '(default)')}</td><td>${kst(s.startedAt)}</td><td>${kst(s.endedAt)}</td><td>${escapeHtml(s.status)}</td><td>${n(s.reconnects)}</td><td>${(s.downtimeMs / 1000).toFixed(1)} s</td><td>${escapeHtml(storesAtEnd(s.stores))}</td></tr>`)
    .join('');
  const abGaps = r.abGaps.length === 0 ? '' : `<h3>A/B capture: gaps filled</h3>
<table><tr><th>stream</th><th>missed by</th><th>filled by</th><th>frames</th><th>trades</th><th>from (KST)</th><th>to (KST)</th></tr>${r.abGaps.map((g) => `<tr><td>${escapeHtml(g.channel)}</td><td>${escapeHtml(g.missedBy)}</td><td>${escapeHtml(g.filledBy)}</td><td>${n(g.frames)}</td><td>${n(g.trades)}</td><td>${kstStamp(g.from * 1000).slice(11)}</td><td>${kstStamp(g.to * 1000).slice(11)}</td></tr>`).join('')}</table>`;
  const flowCharts = Object.keys(r.flows)
    .map((u) => `<div class="chart" data-chart="flows-${escapeHtml(u)}"></div>`)
    .join('\n');
  const main = Object.values(INVESTOR_GROUPS).filter((g) => g.main).map((g) => `${g.ko} (${g.en})`).join(', ');
  // Volumes are each trade's own quantity, derived from trdVol as each market's feed sent it.
  const trdVol = r.trdVol.length === 0 ? '' : `<p class="note">trdVol read as ${r.trdVol.map((m) => `${escapeHtml(m.market)} <b>${escapeHtml(m.mode)}</b> (${escapeHtml(m.basis)})`).join(', ')}; streamed volume is each regular trade's own quantity.</p>\n`;
  const t = r.totals;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ticktape day report ${escapeHtml(r.day)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<style>${asset('uPlot.min.css')}</style>
<style>
body { font: 14px ${FONT_STACK}; margin: 20px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
.totals span { margin-right: 18px; } .chart { margin: 12px 0; } .note { color: #555; }
</style>
</head>
<body data-font='${FONT_STACK}'>
<h1>ticktape — ${escapeHtml(r.day)}</h1>
<p class="note">All times KST (Asia/Seoul), 24-hour; trading charts on exchange time over the regular session, 09:00–15:30.</p>
<p class="totals"><span>${n(t.trades)} trades</span><span>${n(t.volume)} shares</span><span>${n(t.symbols)} symbols</span><span>${n(t.snapshots)} snapshot rows</span><span>${n(t.flows)} BM_ rows</span><span>${n(t.quarantined)} quarantined frames</span><span>source: ${r.source}</span></p>
<h2>Trading</h2>
<div class="chart" data-chart="trades"></div>
<h2>Reconciliation</h2>
${trdVol}<div class="chart" data-chart="reconciliation"></div>
<h2>Sector investor flows (LS BM_)</h2>
<p class="note">Shown: ${main}. Click a group in a chart's legend to show or hide it.</p>
${flowCharts}
<h2>Capture health</h2>
<table><tr><th>collector</th><th>started (KST)</th><th>ended (KST)</th><th>status</th><th>reconnects</th><th>downtime</th><th>stores at the end</th></tr>${sessions}</table>
${abGaps}
<div class="chart" data-chart="health"></div>
<h2>Top symbols</h2>
<div class="chart" data-chart="top"></div>
<p><small>Generated ${kstStamp(r.generatedAt)} KST by ticktape. Synthetic data unless you captured with your own market-data licence.</small></p>
<script type="application/json" id="report-data">${scriptJson(r)}</script>
<script type="application/json" id="investor-groups">${scriptJson(INVESTOR_GROUPS)}</script>
<script>${asset('uPlot.iife.min.js')}</script>
<script>${DRAW}</script>
</body>
</html>
`;
}

/** "sqlite: caught up, sealed · arrow: 1,234 records (3.2 s) behind" */
function storesAtEnd(stores: DayReport['sessions'][number]['stores']): string {
  if (stores.length === 0) return '—';
  return stores.map((st) => `${st.store}: ${st.caughtUp ? `caught up${st.sealed ? ', sealed' : ''}` : `${st.frames.toLocaleString('en')} records (${st.seconds.toFixed(1)} s) behind`}${st.errors > 0 ? `, ${st.errors} error(s) retried` : ''}`).join(' · ');
}
