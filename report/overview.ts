// The multi-day overview: every day of the store with its condition (complete, degraded, partial,
// missing), its trades and volume, and the tiers that hold it — one self-contained HTML page, so a
// backtest's author sees at a glance which days to trust, as a per-day dataset condition table.
import type { TradingDay } from '../protocol/time.js';
import { type DayCondition, type DayInfo, listDays } from '../storage/days.js';
import { queryStore } from '../storage/query.js';
import { escapeHtml, FONT_STACK } from './page.js';

export interface OverviewDay extends DayInfo {
  /** Shares traded that day (per-trade quantities summed), null when no tier holds its trades. */
  volume: number | null;
}

export interface OverviewReport {
  /** When the page was made, epoch ms. */
  generatedAt: number;
  days: OverviewDay[];
}

/** Every day from `fromDay` to `toDay` (default: all the store holds), with volumes from every tier. */
export async function gatherOverview(dataDir: string, opts: { fromDay?: TradingDay; toDay?: TradingDay; isTradingDay?: (day: TradingDay) => boolean } = {}): Promise<OverviewReport> {
  const days = (await listDays(dataDir, opts.isTradingDay)).filter((d) => (opts.fromDay === undefined || d.day >= opts.fromDay) && (opts.toDay === undefined || d.day <= opts.toDay));
  const volume = new Map<string, number>();
  if (days.some((d) => d.trades !== null)) {
    const r = await queryStore(dataDir, 'SELECT day, sum(qty) AS volume FROM trades GROUP BY day', {}, { isTradingDay: opts.isTradingDay });
    for (const [day, v] of r.rows as [string, number | string][]) volume.set(String(day), Number(v));
  }
  return { generatedAt: Date.now(), days: days.map((d) => ({ ...d, volume: volume.get(d.day) ?? null })) };
}

const COLOUR: Record<DayCondition, string> = { complete: '#2ca02c', degraded: '#ff7f0e', partial: '#d62728', missing: '#7f7f7f' };
const BAR_WIDTH = 14;
const CHART_HEIGHT = 160;

/** YYYY-MM-DD HH:MM:SS KST of an epoch-ms instant. */
function kst(ms: number): string {
  return `${new Date(ms + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ')} KST`;
}

function mib(bytes: number | null): string {
  return bytes === null ? '—' : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function renderOverview(r: OverviewReport): string {
  const n = (v: number | null) => (v === null ? '—' : v.toLocaleString('en-US'));
  const max = Math.max(1, ...r.days.map((d) => d.volume ?? 0));
  const bars = r.days
    .map((d, i) => {
      const h = d.volume === null ? 2 : Math.max(2, Math.round((d.volume / max) * CHART_HEIGHT));
      return `<rect data-day="${d.day}" data-condition="${d.condition}" x="${i * (BAR_WIDTH + 2)}" y="${CHART_HEIGHT - h}" width="${BAR_WIDTH}" height="${h}" fill="${COLOUR[d.condition]}"><title>${d.day}: ${d.condition}, ${n(d.volume)} shares</title></rect>`;
    })
    .join('');
  const rows = r.days
    .map(
      (d) =>
        `<tr data-condition="${d.condition}"><td>${d.day}</td><td><span class="dot" style="background:${COLOUR[d.condition]}"></span>${d.condition}</td><td class="num">${n(d.trades)}</td><td class="num">${n(d.volume)}</td><td class="num">${mib(d.tiers.parquetBytes)}</td><td class="num">${mib(d.tiers.journalBytes)}${d.tiers.journalCompressed ? ' (compressed)' : ''}</td><td>${escapeHtml(d.reasons.join('; ') || '—')}</td></tr>`,
    )
    .join('');
  const counts = (Object.keys(COLOUR) as DayCondition[]).map((c) => `${c} ${r.days.filter((d) => d.condition === c).length}`).join(' · ');
  const span = r.days.length === 0 ? 'no days' : `${r.days[0].day} – ${r.days[r.days.length - 1].day}`;
  return `<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>ticktape overview ${span}</title>
<style>
body { font-family: ${FONT_STACK}; margin: 24px; color: #222; }
table { border-collapse: collapse; } td, th { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; }
</style></head>
<body>
<h1>ticktape — days ${escapeHtml(span)}</h1>
<p>${r.days.length} day(s): ${counts}. Complete: captured whole; degraded: reconnects, downtime, reconciliation gaps or store lag; partial: a session ended early or failed; missing: a trading day with no data.</p>
<svg width="${Math.max(1, r.days.length) * (BAR_WIDTH + 2)}" height="${CHART_HEIGHT}" role="img" aria-label="volume per day, coloured by condition">${bars}</svg>
<table><tr><th>day</th><th>condition</th><th>trades</th><th>volume (shares)</th><th>Parquet history</th><th>journal</th><th>why</th></tr>${rows}</table>
<p><small>Generated ${kst(r.generatedAt)} by ticktape.</small></p>
</body></html>
`;
}
