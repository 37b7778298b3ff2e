// Ground truth: every trade and sector flow the exchange generated, so that tests can compare what
// a client captured with what was sent. Written as NDJSON (one object per line) and/or kept in
// memory.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { Market, SectorFlow } from '../protocol/market.js';

export interface TruthTrade {
  ch: 'trade';
  market: Market;
  symbol: string;
  price: number;
  /** The trade's own quantity (also in cumulative-`trdVol` mode). */
  qty: number;
  /** `trdTm` as sent: HHMMSScc, KST. */
  trdTm: string;
  /** false when a drop fault withheld the trade from the /ws_ksp /ws_kdq stream. */
  sent: boolean;
}

export interface TruthFlow extends SectorFlow {
  ch: 'flow';
}

/** A `trdTm` signal element sent on a trade stream (signal-codes fault): a session signal or a block trade (51/61/71000000). */
export interface TruthSignal {
  ch: 'signal';
  market: Market;
  symbol: string;
  code: number;
  price: number;
  qty: number;
  /** Whether a client of the market's stream was there to receive it. */
  sent: boolean;
}

export type TruthRecord = TruthTrade | TruthFlow | TruthSignal;

/** Bytes buffered before a write to the file: large writes keep the stream's overhead per trade small. */
const FLUSH_BYTES = 1 << 16;

export class TruthLog {
  private readonly kept: TruthRecord[] | undefined;
  private readonly out: WriteStream | undefined;
  private pending = '';

  constructor(opts: { file?: string; keep: boolean; onRecord?: (r: TruthRecord) => void }) {
    this.kept = opts.keep ? [] : undefined;
    this.out = opts.file ? createWriteStream(opts.file, { flags: 'w' }) : undefined;
    this.onRecord = opts.onRecord;
  }

  private readonly onRecord: ((r: TruthRecord) => void) | undefined;

  /** True when someone consumes the records (skip building them otherwise). */
  get active(): boolean {
    return this.kept !== undefined || this.out !== undefined || this.onRecord !== undefined;
  }

  add(r: TruthRecord): void {
    this.kept?.push(r);
    this.onRecord?.(r);
    if (this.out) {
      this.pending += JSON.stringify(r) + '\n';
      if (this.pending.length >= FLUSH_BYTES) this.flush();
    }
  }

  /** Records kept in memory ([] when the exchange was started with keepTruth off). */
  records(): readonly TruthRecord[] {
    return this.kept ?? [];
  }

  flush(): void {
    if (this.out && this.pending) {
      this.out.write(this.pending);
      this.pending = '';
    }
  }

  /** Flushes and closes the file; resolves once the data is on disk. */
  async close(): Promise<void> {
    this.flush();
    const out = this.out;
    if (!out || out.closed) return;
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });
  }
}
