// BM_ sector investor flows (ls.md §5.1), kept consistent with the generated trades: every trade
// is bought by one investor group and sold by one, and adds its quantity and value to each
// sector (market code) its issue belongs to. So, per sector, the buy volumes of all elementary
// groups sum to the sector's traded volume, as do the sell volumes.

import { BM_CODES } from '../protocol/ls.js';
import type { SectorFlow } from '../protocol/market.js';
import { formatHhmmsscc } from '../protocol/time.js';
import type { Random } from './random.js';

/** Elementary investor groups (LS 4-digit tjjcode) and their share of trades. */
const GROUPS: readonly (readonly [string, number])[] = [
  ['0000', 0.02], ['0001', 0.06], ['0002', 0.01], ['0003', 0.03], ['0004', 0.005], ['0005', 0.005],
  ['0006', 0.03], ['0007', 0.03], ['0008', 0.55], ['0009', 0.2], ['0010', 0.03], ['0011', 0.03],
];
/** Aggregates pushed beside the elementary groups: 외국인 = 등록 + 미등록, 기관계 = 0000–0006. */
const AGGREGATES: readonly (readonly [string, readonly number[]])[] = [
  ['0017', [9, 10]],
  ['0018', [0, 1, 2, 3, 4, 5, 6]],
];
const G = GROUPS.length;
const PICK_BITS = 10;

/** Market codes whose flows come from the equity trades; the others get synthetic derivative activity. */
const EQUITY_SECTORS = { kospi: '001', kp200: '101', kosdaq: '301', etf: '560' } as const;

interface SectorMember {
  index: number;
  market: 'kospi' | 'kosdaq';
  etf: boolean;
  kp200: boolean;
}

export class SectorFlowBook {
  readonly codes: readonly string[] = BM_CODES;
  private readonly sectorA: Int8Array;
  private readonly sectorB: Int8Array;
  private readonly pick = new Uint8Array(1 << PICK_BITS);
  private readonly msVolume: Float64Array;
  private readonly mdVolume: Float64Array;
  private readonly msValue: Float64Array;
  private readonly mdValue: Float64Array;
  /** Last emitted (msvolume, mdvolume, msvol, msval) per (sector, published group). */
  private readonly emitted: Float64Array;
  private readonly synthetic: boolean[];

  constructor(issues: readonly SectorMember[], private readonly rng: Random) {
    const S = this.codes.length;
    const sector = (code: string) => this.codes.indexOf(code);
    this.sectorA = new Int8Array(issues.length).fill(-1);
    this.sectorB = new Int8Array(issues.length).fill(-1);
    for (const i of issues) {
      if (i.market === 'kosdaq') this.sectorA[i.index] = sector(EQUITY_SECTORS.kosdaq);
      else if (i.etf) this.sectorA[i.index] = sector(EQUITY_SECTORS.etf);
      else {
        this.sectorA[i.index] = sector(EQUITY_SECTORS.kospi);
        if (i.kp200) this.sectorB[i.index] = sector(EQUITY_SECTORS.kp200);
      }
    }
    const equity = new Set<string>(Object.values(EQUITY_SECTORS));
    this.synthetic = this.codes.map((c) => !equity.has(c));
    let k = 0;
    let acc = 0;
    const total = GROUPS.reduce((a, g) => a + g[1], 0);
    for (let g = 0; g < G; g++) {
      acc += GROUPS[g][1] / total;
      while (k < this.pick.length && (k + 0.5) / this.pick.length < acc) this.pick[k++] = g;
    }
    while (k < this.pick.length) this.pick[k++] = G - 1;
    this.msVolume = new Float64Array(S * G);
    this.mdVolume = new Float64Array(S * G);
    this.msValue = new Float64Array(S * G);
    this.mdValue = new Float64Array(S * G);
    this.emitted = new Float64Array(S * (G + AGGREGATES.length) * 4);
  }

  /** Books one trade; `u` is a uniform draw that picks the buying and the selling group. */
  onTrade(issue: number, price: number, qty: number, u: number): void {
    const bits = (u * 4294967296) >>> 0;
    const buyer = this.pick[bits & ((1 << PICK_BITS) - 1)];
    const seller = this.pick[(bits >>> PICK_BITS) & ((1 << PICK_BITS) - 1)];
    const value = price * qty;
    const a = this.sectorA[issue];
    if (a >= 0) this.book(a * G, buyer, seller, qty, value);
    const b = this.sectorB[issue];
    if (b >= 0) this.book(b * G, buyer, seller, qty, value);
  }

  private book(base: number, buyer: number, seller: number, qty: number, value: number): void {
    this.msVolume[base + buyer] += qty;
    this.msValue[base + buyer] += value;
    this.mdVolume[base + seller] += qty;
    this.mdValue[base + seller] += value;
  }

  /** Traded volume (shares or contracts) of a sector so far. */
  sectorVolume(code: string): number {
    const s = this.codes.indexOf(code);
    let v = 0;
    for (let g = 0; g < G; g++) v += this.msVolume[s * G + g];
    return v;
  }

  /** Net buying (volume, value in won) of an investor group code, elementary or aggregate, in a sector. */
  net(code: string, tjjcode: string): [volume: number, value: number] {
    const s = this.codes.indexOf(code);
    const e = GROUPS.findIndex((g) => g[0] === tjjcode);
    const members = e >= 0 ? [e] : (AGGREGATES.find((a) => a[0] === tjjcode)?.[1] ?? []);
    let vol = 0;
    let val = 0;
    for (const g of members) {
      vol += this.msVolume[s * G + g] - this.mdVolume[s * G + g];
      val += this.msValue[s * G + g] - this.mdValue[s * G + g];
    }
    return [vol, val];
  }

  /**
   * The flows changed since the last call, one per (sector, investor group), stamped `msOfDay`.
   * Derivative market codes, which have no issues in the universe, get a little synthetic activity
   * here so that every BM_ key has a live feed during the session.
   */
  emit(msOfDay: number): SectorFlow[] {
    for (let s = 0; s < this.codes.length; s++) {
      if (!this.synthetic[s]) continue;
      for (let n = this.rng.poisson(3); n > 0; n--) {
        const u = this.rng.next();
        const bits = (u * 4294967296) >>> 0;
        const qty = 1 + this.rng.int(50);
        this.book(s * G, this.pick[bits & 1023], this.pick[(bits >>> 10) & 1023], qty, qty * 250_000);
      }
    }
    const out: SectorFlow[] = [];
    const tjjtime = formatHhmmsscc(msOfDay);
    const P = G + AGGREGATES.length;
    for (let s = 0; s < this.codes.length; s++) {
      for (let p = 0; p < P; p++) {
        let ms = 0;
        let md = 0;
        let msv = 0;
        let mdv = 0;
        const members = p < G ? [p] : AGGREGATES[p - G][1];
        for (const g of members) {
          ms += this.msVolume[s * G + g];
          md += this.mdVolume[s * G + g];
          msv += this.msValue[s * G + g];
          mdv += this.mdValue[s * G + g];
        }
        const e = (s * P + p) * 4;
        if (ms === this.emitted[e] && md === this.emitted[e + 1]) continue;
        // Values in 백만원 (units are undocumented; LS's other value fields use millions of won).
        const msvalue = Math.round(msv / 1e6);
        const mdvalue = Math.round(mdv / 1e6);
        const msvol = ms - md;
        const msval = msvalue - mdvalue;
        out.push({
          upcode: this.codes[s], tjjcode: p < G ? GROUPS[p][0] : AGGREGATES[p - G][0], tjjtime,
          msvolume: ms, mdvolume: md, msvol, p_msvol: msvol - this.emitted[e + 2],
          msvalue, mdvalue, msval, p_msval: msval - this.emitted[e + 3],
        });
        this.emitted[e] = ms;
        this.emitted[e + 1] = md;
        this.emitted[e + 2] = msvol;
        this.emitted[e + 3] = msval;
      }
    }
    return out;
  }
}
