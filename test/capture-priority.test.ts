// The capture thread's priority: a nice value of its own thread (Linux), never the process's, and
// a refusal reported rather than thrown. Runs in real threads and a real unprivileged process.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { beforeAll, expect, it } from 'vitest';
import { ensureBuilt } from './faults-run.js';

const root = process.getuid?.() === 0;
const module = new URL('../dist/capture/thread-priority.js', import.meta.url).href;
/** A thread that asks for `nice` and reports what it got, while the process's other threads are read. */
const script = (nice: number) => `
  import('${module}').then(({ setThreadNice }) => {
    const { parentPort } = require('node:worker_threads');
    parentPort.postMessage(setThreadNice(${nice}));
  });`;

beforeAll(() => ensureBuilt(), 180_000);

it.runIf(process.platform === 'linux')('sets the nice value of the calling thread only', async () => {
  // Root may favour the thread; anyone may make it yield.
  const asked = root ? -10 : 5;
  const before = os.getPriority();
  const w = new Worker(script(asked), { eval: true });
  const [got] = (await new Promise((resolve) => w.once('message', (m) => resolve([m])))) as [{ asked: number; nice: number; refused?: string }];
  expect(got).toEqual({ asked, nice: asked });
  // This thread, and so the process's other threads, kept their own.
  expect(os.getPriority()).toBe(before);
  await w.terminate();
});

it.runIf(process.platform === 'linux')('reports a refused priority and runs on at the process\'s', () => {
  // An unprivileged process may not go below its own nice value: as root, run it as `nobody`.
  const code = `import('${module}').then(({ setThreadNice }) => console.log(JSON.stringify(setThreadNice(-10))))`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', ...(root && { uid: 65534, gid: 65534 }) });
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ asked: -10, nice: 0, refused: 'EACCES' });
});
