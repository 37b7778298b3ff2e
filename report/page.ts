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

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const INVESTOR_LABELS: Readonly<Record<string, string>> = {
  '0000': '사모펀드', '0001': '증권', '0002': '보험', '0003': '투신', '0004': '은행', '0005': '종금', '0006': '기금', '0007': '기타법인',
  '0008': '개인', '0009': '등록외국인', '0010': '미등록외국인', '0011': '국가', '0016': '외인계', '0017': '외국인', '0018': '기관계',
};

// Runs in the browser, in its own scope (a page script's top level shares names with window).
// Plain JS: uPlot is the global from the inlined IIFE build.
const DRAW = String.raw`(() => {
const data = JSON.parse(document.getElementById('report-data').textContent);
const labels = JSON.parse(document.getElementById('investor-labels').textContent);
const width = () => Math.min(1100, document.body.clientWidth - 40);
const kst = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Asia/Seoul');
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const count = (cols) => cols.slice(1).reduce((n, c) => n + c.filter((v) => v !== null && v !== undefined).length, 0);

function chart(name, title, cols, series, extra = {}) {
  const box = document.querySelector('[data-chart="' + name + '"]');
  box.dataset.points = String(count(cols));
  // Wide y axes: volumes and values in 원 run to many digits.
  new uPlot({ title, width: width(), height: 280, tzDate: kst, series: [{}, ...series], axes: [{}, { size: 90 }], ...extra }, cols, box);
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

const markets = Object.keys(data.tradesPerMinute.series);
chart('trades', 'Trades per minute', [data.tradesPerMinute.minutes, ...markets.map((m) => data.tradesPerMinute.series[m])], markets.map((m, i) => line(m, i)));

const recon = [];
markets.forEach((m) => recon.push({ x: data.cumulativeVolume.minutes.map((t) => t + 60), y: data.cumulativeVolume.series[m] }));
markets.forEach((m) => {
  const pts = data.snapshots.filter((s) => s.market === m);
  recon.push({ x: pts.map((s) => s.at), y: pts.map((s) => s.accVolume) });
});
chart('reconciliation', 'Cumulative volume: streamed vs REST snapshots', aligned(recon), [
  ...markets.map((m, i) => line(m + ' streamed', i)),
  ...markets.map((m, i) => line(m + ' snapshot', i, { width: 0, points: { show: true, size: 9, fill: palette[i] }, spanGaps: false })),
]);

for (const upcode of Object.keys(data.flows)) {
  const pts = data.flows[upcode];
  const groups = [...new Set(pts.flatMap((p) => Object.keys(p.net)))].sort();
  chart('flows-' + upcode, 'BM_ ' + upcode + ': net bought value by investor group', [pts.map((p) => p.at), ...groups.map((g) => pts.map((p) => p.net[g] ?? null))], groups.map((g, i) => line(g + ' ' + (labels[g] ?? ''), i)));
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
chart('health', 'Capture health: connected streams, quarantined frames per minute', aligned([conn, quarantine]), [
  line('connected streams', 2, { paths: uPlot.paths.stepped({ align: 1 }), scale: 'n' }),
  line('quarantined frames / min', 1, { width: 0, points: { show: true, size: 8, fill: palette[1] }, spanGaps: false, scale: 'q' }),
], { axes: [{}, { scale: 'n', size: 50 }, { scale: 'q', side: 1, size: 50, grid: { show: false } }] });

const top = data.topSymbols;
chart('top', 'Top symbols by traded value (원)', [top.map((_, i) => i), top.map((s) => s.value)], [line('traded value', 0, { paths: uPlot.paths.bars({ size: [0.7, 60] }), fill: palette[0] + '99' })], {
  scales: { x: { time: false, range: [-0.5, top.length - 0.5] } },
  axes: [{ values: (_, ticks) => ticks.map((t) => (top[t] ? top[t].symbol : '')), rotate: -45, size: 60 }, { size: 110 }],
});

document.body.dataset.charts = 'ready';
})();
`;

export function renderDayReport(r: DayReport): string {
  const kst = (sec: number | null) => (sec === null ? '—' : new Date(sec * 1000 + 9 * 3_600_000).toISOString().slice(11, 19));
  const sessions = r.sessions
    .map((s) => `<tr><td>${escapeHtml(s.collector || '(default)')}</td><td>${kst(s.startedAt)}</td><td>${kst(s.endedAt)}</td><td>${escapeHtml(s.status)}</td><td>${s.reconnects}</td><td>${(s.downtimeMs / 1000).toFixed(1)} s</td><td>${escapeHtml(storesAtEnd(s.stores))}</td></tr>`)
    .join('');
  const flowCharts = Object.keys(r.flows)
    .map((u) => `<div class="chart" data-chart="flows-${escapeHtml(u)}"></div>`)
    .join('\n');
  const t = r.totals;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ticktape day report ${escapeHtml(r.day)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<style>${asset('uPlot.min.css')}</style>
<style>
body { font: 14px system-ui, sans-serif; margin: 20px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
.totals span { margin-right: 18px; } .chart { margin: 12px 0; }
</style>
</head>
<body>
<h1>ticktape — ${escapeHtml(r.day)} (KST)</h1>
<p class="totals"><span>${t.trades.toLocaleString('en-US')} trades</span><span>${t.volume.toLocaleString('en-US')} shares</span><span>${t.symbols} symbols</span><span>${t.snapshots.toLocaleString('en-US')} snapshot rows</span><span>${t.flows.toLocaleString('en-US')} BM_ rows</span><span>${t.quarantined} quarantined frames</span><span>source: ${r.source}</span></p>
<h2>Trading</h2>
<div class="chart" data-chart="trades"></div>
<h2>Reconciliation</h2>
<div class="chart" data-chart="reconciliation"></div>
<h2>Sector investor flows (LS BM_)</h2>
${flowCharts}
<h2>Capture health</h2>
<table><tr><th>collector</th><th>started</th><th>ended</th><th>status</th><th>reconnects</th><th>downtime</th><th>stores at the end</th></tr>${sessions}</table>
<div class="chart" data-chart="health"></div>
<h2>Top symbols</h2>
<div class="chart" data-chart="top"></div>
<p><small>Generated ${escapeHtml(r.generatedAt)} by ticktape. Synthetic data unless you captured with your own market-data licence.</small></p>
<script type="application/json" id="report-data">${scriptJson(r)}</script>
<script type="application/json" id="investor-labels">${scriptJson(INVESTOR_LABELS)}</script>
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
