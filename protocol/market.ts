// Normalized market records: what every vendor's messages become, and what storage keeps.
// Times: `exchMs` = the feed's own time stamp as an absolute instant (ms since the epoch; the
// feeds carry hundredths of a second at best, so ms is exact); 0 = the feed gave no time.

export type Market = 'kospi' | 'kosdaq';
export const MARKETS: readonly Market[] = ['kospi', 'kosdaq'];

/** One trade of the market-wide stream (Koscom /ws_ksp, /ws_kdq). */
export interface Trade {
  market: Market;
  symbol: string;
  exchMs: number;
  price: number;
  qty: number;
}

/** One BM_ push: a sector's (market code's) cumulative buy/sell by one investor group. */
export interface SectorFlow {
  upcode: string;
  tjjcode: string;
  /** Raw `tjjtime` (HHMMSScc, KST), kept as sent. */
  tjjtime: string;
  msvolume: number;
  mdvolume: number;
  msvol: number;
  p_msvol: number;
  msvalue: number;
  mdvalue: number;
  msval: number;
  p_msval: number;
}

export type SnapshotKind = 'seed' | 'periodic' | 'close';

/** One symbol's state in a full-market REST snapshot (multiquote `lists` + `ohlclists`). */
export interface SnapshotRow {
  market: Market;
  symbol: string;
  price: number;
  open: number;
  high: number;
  low: number;
  accVolume: number;
  accValue: number;
}

/** One listed issue of the symbol universe (`/v2/market/stocks/{mkt}/lists`). */
export interface Listing {
  market: Market;
  symbol: string;
  isin: string;
  name: string;
  abbr: string;
}
