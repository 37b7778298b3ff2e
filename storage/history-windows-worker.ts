// The thread that decodes a trades history file's windows (parquet-wasm, then receive order) ahead
// of the reader, so decoding the next window overlaps with using this one. Windows go out with
// their buffers transferred, as many ahead as the reader has asked for.
import { parentPort, workerData } from 'node:worker_threads';
import { readTradeWindows, type TradeWindow } from './history-trades.js';

const { file, windowRows } = workerData as { file: string; windowRows: number | undefined };
const port = parentPort!;
let credits = 0;
let wake: (() => void) | undefined;
port.on('message', (n: number) => {
  credits += n;
  wake?.();
});

/** Every buffer of a window once (trd_vol may be the qty column itself). */
function buffers(w: TradeWindow): ArrayBuffer[] {
  const arrays = [w.market.codes, w.symbol.codes, w.exch, w.exchNull, w.price, w.qty, w.trdVol, w.kind?.codes, w.recv, w.seq, w.idx, w.order];
  return [...new Set(arrays.flatMap((a) => (a ? [a.buffer as ArrayBuffer] : [])))];
}

try {
  for await (const w of readTradeWindows(file, windowRows)) {
    while (credits === 0) await new Promise<void>((r) => (wake = r));
    credits--;
    port.postMessage({ window: w }, buffers(w));
  }
  port.postMessage({ done: true });
} catch (e) {
  port.postMessage({ error: (e as Error).message ?? String(e) });
}
