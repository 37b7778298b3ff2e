// A trades history file's windows, decoded on a thread of their own a few windows ahead
// (history-windows-worker.ts): parquet-wasm's decoding, most of a read's time, runs beside the
// reader's own work on the other core instead of before it.
import { Worker } from 'node:worker_threads';
import { threadScript } from '../capture/thread-script.js';
import type { TradeWindow } from './history-trades.js';

type FromWorker = { window: TradeWindow } | { done: true } | { error: string };

/** The windows of `file` in order, `ahead` of them decoded before they are asked for. */
export async function* tradeWindowsAhead(file: string, windowRows: number | undefined, ahead = 2): AsyncGenerator<TradeWindow> {
  const worker = new Worker(threadScript(import.meta.url, 'history-windows-worker.js'), { workerData: { file, windowRows } });
  const queue: TradeWindow[] = [];
  let done = false;
  let error: Error | undefined;
  let wake: (() => void) | undefined;
  const woken = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (m: FromWorker) => {
    if ('window' in m) queue.push(m.window);
    else if ('done' in m) done = true;
    else error = new Error(`${file}: ${m.error}`);
    woken();
  });
  worker.on('error', (e) => {
    error = e;
    woken();
  });
  worker.on('exit', (code) => {
    if (!done && error === undefined) error = new Error(`${file}: the decoding thread exited (code ${code})`);
    woken();
  });
  worker.postMessage(ahead);
  try {
    for (;;) {
      const w = queue.shift();
      if (w !== undefined) {
        worker.postMessage(1);
        yield w;
        continue;
      }
      if (done) return;
      if (error !== undefined) throw error;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    done = true;
    await worker.terminate();
  }
}
