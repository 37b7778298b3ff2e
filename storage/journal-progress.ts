// How far a journal has been written, shared between the thread that appends to it and the
// threads that follow it (the stores), without a message per frame: a few integers in shared
// memory, each written by the appending thread alone and read with Atomics.
const SIZE = 0;
/** What followers may read: the size the last fdatasync made durable (the size itself, fsync off). */
const READABLE = 1;
const SEQ = 2;
const LAST_RECV_NS = 3;
const CLOSED = 4;
const FIELDS = 5;

export class JournalProgress {
  private readonly v: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(FIELDS * 8)) {
    this.v = new BigInt64Array(buffer);
  }

  /** The writer: a record was appended. */
  appended(size: number, seq: number, recvNs: bigint, durable: boolean): void {
    Atomics.store(this.v, SIZE, BigInt(size));
    Atomics.store(this.v, SEQ, BigInt(seq));
    Atomics.store(this.v, LAST_RECV_NS, recvNs);
    if (durable) Atomics.store(this.v, READABLE, BigInt(size));
  }

  /** The writer: everything up to `size` is durable. */
  synced(size: number): void {
    if (BigInt(size) > Atomics.load(this.v, READABLE)) Atomics.store(this.v, READABLE, BigInt(size));
  }

  /** The writer closed the journal: followers read to `size` and are done. */
  close(): void {
    Atomics.store(this.v, READABLE, Atomics.load(this.v, SIZE));
    Atomics.store(this.v, CLOSED, 1n);
  }

  get size(): number {
    return Number(Atomics.load(this.v, SIZE));
  }

  get readable(): number {
    return Number(Atomics.load(this.v, READABLE));
  }

  get seq(): number {
    return Number(Atomics.load(this.v, SEQ));
  }

  get lastRecvNs(): bigint {
    return Atomics.load(this.v, LAST_RECV_NS);
  }

  get closed(): boolean {
    return Atomics.load(this.v, CLOSED) === 1n;
  }
}
