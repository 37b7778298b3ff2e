// Gap detection for the market-wide trade stream, which has no sequence numbers and no
// retransmission: per symbol, the streamed quantity against the cumulative volume of a REST
// snapshot. The streamed quantity is each trade's own, derived from trdVol whichever way the
// market's feed sends it (storage/trade-quantity.ts). Whether the snapshot's accTrdvol counts
// block trades is not documented: a symbol matches with or without its block trades.
import type { Market, SnapshotKind } from '../protocol/market.js';
import type { StreamedVolume } from '../storage/sqlite-sink.js';
import type { TrdVolMode } from '../storage/trade-quantity.js';

export type { TrdVolMode } from '../storage/trade-quantity.js';

export interface SymbolGap {
  symbol: string;
  streamed: number;
  expected: number;
  /** expected − streamed: > 0 trades missing from the stream, < 0 more streamed than the snapshot knows. */
  missing: number;
}

export interface MarketReconciliation {
  market: Market;
  /** How the market's trdVol was read ('undecided': no trade showed it yet). */
  mode: TrdVolMode | 'undecided';
  snapshotKind: SnapshotKind;
  snapshotTakenMs: number;
  symbols: number;
  streamed: number;
  expected: number;
  /** Sum of the positive per-symbol shortfalls. */
  missing: number;
  /** Sum of streamed volume the snapshot does not account for (timing skew, or a bad snapshot). */
  excess: number;
  /** Share of the expected volume that was streamed, 0–100 (100 when nothing was expected). */
  coveragePct: number;
  /** Every symbol whose streamed volume differs from the expected one. */
  gaps: SymbolGap[];
  /** Symbols left out because their snapshot element was bad (quarantined). */
  unchecked: number;
}

export function reconcileMarket(
  market: Market,
  snapshot: { kind: SnapshotKind; takenMs: number; volumes: Map<string, number>; unchecked?: ReadonlySet<string> },
  streamedVolume: StreamedVolume,
): MarketReconciliation {
  const unchecked = snapshot.unchecked ?? new Set<string>();
  const expectedVolumes = snapshot.volumes;
  let totalExpected = 0;
  for (const v of expectedVolumes.values()) totalExpected += v;
  const gaps: SymbolGap[] = [];
  let streamed = 0;
  let missing = 0;
  let excess = 0;
  const symbols = new Set([...expectedVolumes.keys(), ...streamedVolume.sum.keys(), ...streamedVolume.block.keys()]);
  for (const symbol of symbols) {
    if (unchecked.has(symbol)) continue;
    const e = expectedVolumes.get(symbol) ?? 0;
    const regular = streamedVolume.sum.get(symbol) ?? 0;
    const withBlocks = regular + (streamedVolume.block.get(symbol) ?? 0);
    const s = withBlocks === e ? withBlocks : regular;
    streamed += s;
    if (s === e) continue;
    gaps.push({ symbol, streamed: s, expected: e, missing: e - s });
    if (e > s) missing += e - s;
    else excess += s - e;
  }
  const mode = streamedVolume.mode ?? 'undecided';
  gaps.sort((a, b) => b.missing - a.missing || a.symbol.localeCompare(b.symbol));
  const coveragePct = totalExpected === 0 ? 100 : Math.round(((totalExpected - missing) / totalExpected) * 100_000) / 1000;
  return { market, mode, snapshotKind: snapshot.kind, snapshotTakenMs: snapshot.takenMs, symbols: expectedVolumes.size, streamed, expected: totalExpected, missing, excess, coveragePct, gaps, unchecked: unchecked.size };
}

/** One line per market for the report and the logs. */
export function describeReconciliation(r: MarketReconciliation): string {
  const gapSymbols = r.gaps.filter((g) => g.missing > 0).length;
  return `${r.market}: coverage ${r.coveragePct.toFixed(3)}% (${r.streamed.toLocaleString('en')} of ${r.expected.toLocaleString('en')} shares streamed, ${r.missing.toLocaleString('en')} missing in ${gapSymbols} symbols${r.excess > 0 ? `, ${r.excess.toLocaleString('en')} unaccounted` : ''}; trdVol ${r.mode}, against the ${r.snapshotKind} snapshot${r.unchecked > 0 ? `; ${r.unchecked} symbols unchecked: bad snapshot elements` : ''})`;
}
