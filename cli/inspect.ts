// `ticktape inspect`: what a data directory holds, per day and channel, and whether the stores
// agree with the journal (each store's rows against what the frames it covers decode to). Prints counts, times, reasons and file sizes only:
// never raw frames (nor anything else that could carry a credential).
import type { Command } from 'commander';
import { ARROW_CHANNELS } from '../storage/arrow-format.js';
import { listDays, type DayInfo } from '../storage/days.js';
import { inventory, type ChannelStats, type DayInventory } from '../storage/reader-inventory.js';
import { NothingFound, requireDataDir, requireDay } from './found.js';
import { withExamples } from './help.js';
import { dataDirOption, jsonFlag, parseDay, summaryFormatOption, type SummaryFormat } from './options.js';
import { count, kstClock, size } from './present.js';
import { calendarDayFilter } from './days.js';

const kstTime = (ns: bigint | null): string => (ns === null ? '-' : kstClock(ns));

function statsLine(channel: string, store: string, s: ChannelStats | null, extra = ''): string {
  if (!s) return `  ${channel.padEnd(13)} ${store.padEnd(7)} ${'—'.padStart(12)}`;
  const times = (s.firstExchNs === null ? '' : `exchange ${kstTime(s.firstExchNs)}–${kstTime(s.lastExchNs)}  `) + `receive ${kstTime(s.firstRecvNs)}–${kstTime(s.lastRecvNs)} KST`;
  return `  ${channel.padEnd(13)} ${store.padEnd(7)} ${count(s.rows).padStart(12)} rows ${count(s.symbols).padStart(6)} ${channel === 'sector_flows' ? 'sectors' : 'symbols'}  ${times}${extra}`;
}

const STORE_NAME = { sqlite: 'SQLite', arrow: 'Arrow' } as const;

/**
 * Problems worth a reader's attention: a store whose rows differ from what the journal frames it
 * covers decode to, frames no store holds yet, or (without the journal) stores that disagree.
 */
export function findings(inv: DayInventory): string[] {
  const out: string[] = [];
  const sinks = (['sqlite', 'arrow'] as const).filter((s) => (s === 'sqlite' ? inv.database : inv.coverage.some((c) => c.sink === 'arrow') || inv.channels.some((c) => c.arrow)));
  if (inv.journals && inv.journals.length > 0) {
    for (const sink of sinks) {
      for (const table of [...ARROW_CHANNELS, 'quarantine'] as const) {
        if (sink === 'arrow' && table === 'quarantine') continue;
        const expected = inv.journals.reduce((n, j) => n + (j.covered.find((c) => c.sink === sink)?.rows[table] ?? 0), 0);
        const actual = table === 'quarantine' ? (inv.quarantine?.total ?? 0) : (inv.channels.find((c) => c.channel === table)?.[sink]?.rows ?? 0);
        if (expected !== actual) out.push(`${table}: ${STORE_NAME[sink]} holds ${count(actual)} rows, but the journal frames it covers decode to ${count(expected)}`);
      }
      for (const j of inv.journals) {
        const seq = j.covered.find((c) => c.sink === sink)?.seq ?? 0;
        if (seq !== j.frames) out.push(`${j.journal}: ${STORE_NAME[sink]} covers ${count(seq)} of ${count(j.frames)} frames (the rest is stored on the collector's next start, or by \`ticktape rebuild\`)`);
      }
    }
    return out;
  }
  if (sinks.length < 2) return out;
  const seqOf = (sink: string) => new Map(inv.coverage.filter((c) => c.sink === sink).map((c) => [c.journal, c.seq]));
  const [sqliteSeq, arrowSeq] = [seqOf('sqlite'), seqOf('arrow')];
  const journals = new Set([...sqliteSeq.keys(), ...arrowSeq.keys()]);
  const sameCoverage = [...journals].every((j) => sqliteSeq.get(j) === arrowSeq.get(j));
  for (const j of journals) {
    if (sqliteSeq.get(j) !== arrowSeq.get(j)) out.push(`${j}: SQLite covers ${count(sqliteSeq.get(j) ?? 0)} frames, Arrow ${count(arrowSeq.get(j) ?? 0)}`);
  }
  for (const c of inv.channels) {
    if (!c.sqlite || !c.arrow) out.push(`${c.channel}: only in ${c.sqlite ? 'SQLite' : 'Arrow'}`);
    else if (c.sqlite.rows !== c.arrow.rows && sameCoverage) out.push(`${c.channel}: ${count(c.sqlite.rows)} rows in SQLite but ${count(c.arrow.rows)} in Arrow for the same journal range`);
  }
  return out;
}

/** Which tiers hold the day, their bytes, and the day's condition. */
function tierLines(t: DayInfo | undefined): string[] {
  if (!t) return [];
  const held = [
    t.tiers.sqliteTrades !== null ? `SQLite (${count(t.tiers.sqliteTrades)} trades)` : null,
    t.tiers.arrowBytes !== null ? `Arrow ${size(t.tiers.arrowBytes)}` : null,
    t.tiers.parquetBytes !== null ? `Parquet history ${size(t.tiers.parquetBytes)}` : null,
    t.tiers.journalBytes !== null ? `journal ${size(t.tiers.journalBytes)}${t.tiers.journalCompressed ? ' (compressed)' : ''}` : null,
  ].filter((x) => x !== null);
  return [`  tiers         ${held.join(', ') || 'none'}`, `  condition     ${t.condition}${t.reasons.length > 0 ? ` (${t.reasons.join('; ')})` : ''}`];
}

function printDay(inv: DayInventory, tiers?: DayInfo): void {
  const lines = [`day ${inv.day}`, ...tierLines(tiers)];
  for (const c of inv.channels) {
    lines.push(statsLine(c.channel, 'sqlite', c.sqlite));
    lines.push(statsLine(c.channel, 'arrow', c.arrow, c.arrow ? `  (${c.arrow.parts} part${c.arrow.parts === 1 ? '' : 's'}, ${size(c.arrow.bytes)})` : ''));
  }
  if (inv.channels.length === 0) lines.push('  no rows stored');
  if (inv.quarantine) {
    lines.push(`  quarantine    ${count(inv.quarantine.total)} frames`);
    for (const r of inv.quarantine.reasons) lines.push(`    ${count(r.count).padStart(10)} × ${r.reason}`);
  }
  for (const j of inv.journals ?? []) {
    const r = j.rows;
    lines.push(`  journal       ${j.journal}: ${count(j.frames)} frames, ${size(j.bytes)} → ${count(r.trades)} trades, ${count(r.snapshots)} snapshot rows, ${count(r.sector_flows)} sector flows, ${count(r.quarantine)} quarantined`);
  }
  for (const c of inv.coverage) {
    const j = inv.journals?.find((x) => x.journal === c.journal);
    const lag = j === undefined ? '' : j.frames > c.seq ? ` — behind the journal by ${count(j.frames - c.seq)} frames, ${size(j.bytes - c.offset)}` : ' — up to date with the journal';
    lines.push(`  ${c.sink.padEnd(13)} covers ${c.journal}: ${count(c.seq)} frames, ${size(c.offset)}${lag}`);
  }
  const problems = findings(inv);
  const ok = inv.journals && inv.journals.length > 0 ? 'ok: each store holds exactly what the journal frames it covers decode to' : 'ok: the stores agree';
  lines.push(problems.length === 0 ? `  consistency   ${ok}` : `  consistency   ${problems.length} finding(s):`);
  for (const p of problems) lines.push(`    ! ${p}`);
  lines.push('  files');
  for (const f of inv.files) lines.push(`    ${size(f.bytes).padStart(10)}  ${f.path}`);
  process.stdout.write(lines.join('\n') + '\n\n');
}

/** JSON with ns instants as decimal strings; `tiers`: every day's tiers and condition. */
function toJson(days: DayInventory[], tiers: DayInfo[]): string {
  return JSON.stringify({ days: days.map((d) => ({ ...d, findings: findings(d) })), tiers }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

export function registerInspect(program: Command): void {
  withExamples(
    program
      .command('inspect')
      .description('Show what a data directory holds per day and channel: which tiers hold each day and its condition, rows, time ranges (KST, exchange and receive clock), symbols, quarantined frames by reason, the journal against each store (frames covered, how far behind), files and sizes.')
      .option('--day <YYYY-MM-DD>', 'only this trading day (default: every day found)', parseDay)
      .addOption(dataDirOption('data directory'))
      .addOption(summaryFormatOption())
      .addOption(jsonFlag())
      .option('--no-journal', 'skip decoding the journal (faster; stores are then only compared with each other)')
      .action(async (flags: { day?: string; dataDir: string; format: SummaryFormat; json?: boolean; journal: boolean }) => {
        requireDataDir(flags.dataDir);
        const tiers = (await listDays(flags.dataDir, calendarDayFilter())).filter((t) => flags.day === undefined || t.day === flags.day);
        // A day held only by the history tier is found there; any other day must be in a store or a journal.
        if (flags.day !== undefined && !tiers.some((t) => t.condition !== 'missing')) requireDay(flags.dataDir, flags.day);
        const days = await inventory(flags.dataDir, flags.day, { journal: flags.journal });
        // Days in no store inventory() reads: compacted ones held only by the history tier, and missing trading days.
        const others = tiers.filter((t) => !days.some((d) => d.day === t.day));
        if (days.length === 0 && !others.some((t) => t.condition !== 'missing')) throw new NothingFound(`no data in ${flags.dataDir}: no journal, database, Arrow or history files (capture a day with \`ticktape collect\`)`);
        if (flags.format === 'json' || flags.json) {
          process.stdout.write(toJson(days, tiers) + '\n');
          return;
        }
        for (const d of days) printDay(d, tiers.find((t) => t.day === d.day));
        for (const t of others) process.stdout.write([`day ${t.day}`, ...tierLines(t)].join('\n') + '\n\n');
      }),
    'ticktape inspect --data-dir data',
    'ticktape inspect --day 2026-11-20 --no-journal',
    'ticktape inspect --day 2026-11-20 --format json | jq .days[0].channels',
  );
}
