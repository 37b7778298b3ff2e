// The one-screen report printed at the end of a session.
import type { SessionResult } from './session.js';
import { describeReconciliation } from './reconcile.js';

/** Gap symbols listed per market; the full list is stored in `sessions`. */
const GAPS_SHOWN = 5;

export function formatReport(r: SessionResult): string {
  const lines: string[] = [];
  lines.push(`ticktape session ${r.day}: ${r.status} (${seconds(r.endedMs - r.startedMs)}, ${r.snapshots} REST snapshot rounds)`);
  for (const p of r.problems) lines.push(`  ! ${p}`);
  lines.push('');
  const channels = r.channels.filter((c) => c.frames > 0);
  const widths = [Math.max(8, ...channels.map((c) => c.name.length)) + 2, 10, 11, 11, 12];
  lines.push(row(['channel', 'frames', 'bytes', 'rows', 'quarantined'], widths));
  for (const c of channels) lines.push(row([c.name, n(c.frames), bytes(c.bytes), n(c.rows), n(c.quarantined)], widths));
  lines.push('');
  lines.push(row(['stream', 'connects', 'reconnects', 'downtime', 'refused', 'last problem'], [22, 9, 11, 10, 8, 0]));
  for (const s of r.streams) lines.push(row([s.name, n(s.connects), n(s.reconnects), seconds(s.downtimeMs), n(s.refusals), s.lastError ?? '-'], [22, 9, 11, 10, 8, 0]));
  const oversize = r.streams.reduce((k, s) => k + s.oversize, 0);
  if (oversize > 0) lines.push(`  ${oversize} frame(s) above the soft size cap were quarantined`);
  for (const s of r.streams) if (s.unknownFrames > 0) lines.push(`  ${s.name}: ${n(s.unknownFrames)} frame(s) of an unknown kind, kept in the journal`);
  for (const x of r.rest) {
    const quota = x.quotaRemaining === undefined ? '' : `, daily quota ${n(x.quotaRemaining)}${x.quotaLimit === undefined ? '' : ` of ${n(x.quotaLimit)}`} left`;
    lines.push(`REST ${x.vendor}: ${n(x.calls)} calls, ${n(x.retries)} retried, ${n(x.failures)} failed${quota}`);
  }
  for (const st of r.stores) {
    const state = st.caughtUp ? `caught up${st.sealed ? ', day sealed' : ''}` : `behind the journal by ${n(st.frames)} records (${bytes(st.bytes)}, ${st.seconds.toFixed(1)} s): the next start catches up`;
    lines.push(`store ${st.store}: ${state}${st.errors > 0 ? `; ${n(st.errors)} error(s) retried, last: ${st.lastError}` : ''}`);
  }
  if (r.publish !== undefined) {
    const used = r.publish.endpoints.filter((e) => e.connected > 0);
    const each = used.map((e) => `${e.endpoint} ${n(e.connected)} subscriber(s), ${n(e.messages)} messages${e.dropped > 0 ? `, ${n(e.dropped)} disconnected for falling behind` : ''}`);
    lines.push(`publish (live fan-out): ${each.length > 0 ? each.join('; ') : 'no subscriber'}`);
  }
  lines.push(`capture thread: longest pause ${r.maxCapturePauseMs.toFixed(1)} ms; receive clock anchored at wall − monotonic = ${r.clock.offsetMs.toFixed(1)} ms${r.clock.steps.length > 0 ? `, ${r.clock.steps.length} wall-clock step(s)` : ''}`);
  lines.push('');
  if (r.reconciliation.length === 0) lines.push('reconciliation: none (no snapshot to compare with)');
  for (const m of r.reconciliation) {
    lines.push(`reconciliation ${describeReconciliation(m)}`);
    const gaps = m.gaps.filter((g) => g.missing > 0).slice(0, GAPS_SHOWN);
    if (gaps.length > 0) lines.push(`  largest gaps: ${gaps.map((g) => `${g.symbol} −${n(g.missing)} (${n(g.streamed)}/${n(g.expected)})`).join(', ')}`);
  }
  if (r.files.length > 0) {
    lines.push('');
    lines.push('files:');
    for (const f of r.files) lines.push(`  ${f}`);
  }
  return lines.join('\n');
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : widths[i] === 0 ? ` ${c}` : c.padStart(widths[i]))).join('');
}

function n(v: number): string {
  return v.toLocaleString('en');
}

function bytes(v: number): string {
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
