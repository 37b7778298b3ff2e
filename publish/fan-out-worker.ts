// The live fan-out's own thread: a follower of the live journal (publish/fan-out.ts), like the
// stores' threads. Its sockets, encoding and slow subscribers never touch the capture thread.
import { parentPort, workerData } from 'node:worker_threads';
import { threadLogger } from '../capture/thread-log.js';
import { JournalProgress } from '../storage/journal-progress.js';
import { FanOut } from './fan-out.js';
import type { FanOutWorkerData, FromFanOut, ToFanOut } from './fan-out-thread.js';

const STATUS_MS = 250;
const data = workerData as FanOutWorkerData;
const port = parentPort!;
const post = (m: FromFanOut) => port.postMessage(m);
const log = threadLogger(port, data.logLevel, 'publish');
const fanOut = new FanOut({ ...data.fanOut, progress: new JournalProgress(data.progress), log });

try {
  post({ type: 'listening', port: await fanOut.start() });
} catch (e) {
  post({ type: 'failed', error: (e as Error).message });
  port.close();
  process.exit(0);
}
const status = setInterval(() => post({ type: 'status', status: fanOut.status() }), STATUS_MS);
port.on('message', (m: ToFanOut) => {
  void fanOut.finish(m.timeoutMs).then(() => {
    clearInterval(status);
    post({ type: 'finished', status: fanOut.status() });
    port.close();
  });
});
