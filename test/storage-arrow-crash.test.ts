// The Arrow sink under SIGKILL: a child process writes a deterministic day through ArrowSink,
// resuming each time from resumeOffset() as the tape does, and is killed at random moments
// (mid-batch, mid-footer, between the renames of a generation). At the end every frame's rows
// are in the finished parts exactly once and no temporary file is left. Runs the compiled sink
// (`npm run build`, as `make test` does first).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { channelDir, listParts } from '../storage/arrow-format.js';

const DAY = '2026-11-20';
const FRAMES = 12_000;
const KILLS = 24;
const dist = fileURLToPath(new URL('../dist/storage/', import.meta.url));

// Frame `seq` holds 1 + seq % 4 trades, except every 7th frame, which holds one sector flow.
const WRITER = `
import { ArrowSink } from ${JSON.stringify(path.join(dist, 'arrow-sink.js'))};
import { TradeColumns } from ${JSON.stringify(path.join(dist, 'batch.js'))};
import { pino } from 'pino';
const [dataDir, frames] = process.argv.slice(1);
const sink = ArrowSink.open({ dataDir, day: '${DAY}', log: pino({ level: 'silent' }), partRows: 400 });
let seq = sink.resumeOffset('day.journal') / 100;
while (seq < Number(frames)) {
  const trades = new TradeColumns(200);
  const flows = [];
  const from = seq;
  for (let f = 0; f < 25 && seq < Number(frames); f++, seq++) {
    const recvNs = 1795132800000000000n + BigInt(seq) * 1000n;
    if (seq % 7 === 3) {
      flows.push({ upcode: '001', tjjcode: '0008', tjjtime: '09000000', msvolume: seq, mdvolume: 0, msvol: 0, p_msvol: 0, msvalue: 0, mdvalue: 0, msval: 0, p_msval: 0, recvNs, exchMs: 0, srcSeq: seq });
      continue;
    }
    for (let i = 0; i <= seq % 4; i++) trades.push(seq % 2, 'S' + (seq % 13), 1795132800000 + seq, 1000 + i, seq, recvNs, seq, i);
  }
  sink.write({ day: '${DAY}', trades, flows, snapshots: [], listings: [], signals: [], quarantine: [], journal: { file: 'day.journal', fromOffset: from * 100, toOffset: seq * 100, fromSeq: from, toSeq: seq } });
  process.stdout.write('.');
}
sink.close();
`;

let dir: string;

beforeAll(() => {
  if (!fs.existsSync(path.join(dist, 'arrow-sink.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-arrow-crash-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function coveredFrames(): number {
  return listParts(dir, DAY, 'trades').reduce((n, p) => Math.max(n, p.journal.toSeq), 0);
}

/** Runs the writer; with `killAfterBatches`, SIGKILLs it once it has written that many batches
 * (counted from its output, so the kill lands mid-work however fast or loaded the machine is). */
function runWriter(killAfterBatches: number | null): Promise<number | string | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, dir, String(FRAMES)], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let batches = 0;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      batches += d.length;
      if (killAfterBatches !== null && batches >= killAfterBatches) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`writer failed (${code}): ${err}`));
      else resolve(signal ?? code);
    });
  });
}

it('keeps every frame exactly once across random SIGKILLs', async () => {
  let rng = 7;
  let interrupted = 0;
  const progress: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
    const before = coveredFrames();
    if ((await runWriter(1 + (rng % 30))) === 'SIGKILL' && before < FRAMES) interrupted++;
    progress.push(coveredFrames());
  }
  expect(await runWriter(null)).toBe(0);
  // Most kills must land while there is still work to do, or the test proves little.
  expect(interrupted, `coverage after each kill: ${progress.join(' ')}`).toBeGreaterThan(KILLS / 2);

  for (const ch of ['trades', 'sector_flows'] as const) {
    expect(fs.readdirSync(channelDir(dir, DAY, ch)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }
  const parts = listParts(dir, DAY, 'trades');
  const covered = parts.map((p) => [p.journal.fromSeq, p.journal.toSeq]);
  for (let i = 1; i < covered.length; i++) expect(covered[i][0]).toBe(covered[i - 1][1]);
  expect(covered.at(-1)![1]).toBe(FRAMES);

  const seen = new Uint8Array(FRAMES * 4);
  let trades = 0;
  for (const p of parts) {
    const t = tableFromIPC(fs.readFileSync(p.path));
    const seq = t.getChild('src_seq')!.toArray() as BigInt64Array;
    const idx = t.getChild('src_idx')!.toArray() as Int32Array;
    for (let i = 0; i < t.numRows; i++) seen[Number(seq[i]) * 4 + idx[i]]++;
    trades += t.numRows;
  }
  let expected = 0;
  for (let s = 0; s < FRAMES; s++) {
    if (s % 7 === 3) continue;
    for (let i = 0; i <= s % 4; i++) {
      expected++;
      if (seen[s * 4 + i] !== 1) throw new Error(`trade (${s}, ${i}) stored ${seen[s * 4 + i]} times`);
    }
  }
  expect(trades).toBe(expected);

  const flowSeqs = listParts(dir, DAY, 'sector_flows').flatMap((p) => [...(tableFromIPC(fs.readFileSync(p.path)).getChild('src_seq')!.toArray() as BigInt64Array)].map(Number));
  expect(flowSeqs).toEqual(Array.from({ length: FRAMES }, (_, s) => s).filter((s) => s % 7 === 3));
}, 120_000);
