// Malformed input on the trade streams, captured by the real `ticktape collect`: thousands of junk
// frames (random binary, invalid UTF-8, random text, truncated and wrong-shaped JSON) and frames
// over the soft cap are all quarantined with a reason while the connection stays up and the good
// frames around them are stored exactly once; memory stays flat. Only a frame over the hard cap
// resets the connection, and that is journaled as a disconnect with its reason.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExchange } from '../sim/exchange.js';
import { FLAG, journalPath, readChannels, readJournal } from '../storage/journal.js';
import type { TruthTrade } from '../sim/truth.js';
import { tempRoot } from './collector-capture.js';
import { ensureBuilt, expectExactlyOnce, journalEvents, reconciledMissing, rssBytes, sessionRows, sized, sleep, spawnCollect } from './faults-run.js';

const tmp = tempRoot('faults-malformed');
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => tmp.remove());

const JUNK = sized(2_000, 10_000);
const DAY_MS = sized(12_000, 40_000);
const SOFT_CAP = 4_096;
const HARD_CAP = 65_536;
const STEP_MS = 100;

describe('collector under malformed input', () => {
  it(`quarantines ${JUNK} junk frames and soft-cap frames, resets only on a hard-cap frame`, { timeout: DAY_MS + 60_000 }, async () => {
    const dataDir = join(tmp.root, 'data');
    // One trade frame per market per step: spread the junk over them.
    const junkRate = JUNK / (2 * (DAY_MS / STEP_MS));
    const exchange = await startExchange({ dayLengthMs: DAY_MS, preOpenMs: 2_000, kospiSymbols: 25, kosdaqSymbols: 35, tradesPerDay: 12_000, seed: 3, stepMs: STEP_MS, faults: { junkRate, oversizeBytes: 16_384, oversizeCount: 4 } });
    const rss: { at: number; bytes: number }[] = [];
    let child;
    try {
      child = spawnCollect(exchange, dataDir, exchange.closeAt + 1_500 - Date.now(), { TICKTAPE_WS_SOFT_CAP: String(SOFT_CAP), TICKTAPE_WS_HARD_CAP: String(HARD_CAP) });
      const sampler = setInterval(() => rss.push({ at: Date.now(), bytes: rssBytes(child!.pid) }), 200);
      await sleep(exchange.openAt + DAY_MS * 0.5 - Date.now());
      exchange.faults.oversizeBytes = 2 * HARD_CAP;
      exchange.faults.oversizeCount = 1;
      const code = await child.exited;
      clearInterval(sampler);
      expect(code, child.err().slice(-3000)).toBe(0);
      expect(child.out()).toMatch(/ticktape session .*: complete/);
    } finally {
      if (child?.proc.exitCode === null) child.proc.kill('SIGKILL');
      await exchange.close();
    }
    const day = exchange.day;
    const truth = exchange.truth().filter((r): r is TruthTrade => r.ch === 'trade');
    const { missingQty } = await expectExactlyOnce(dataDir, day, truth);

    // Every junk and soft-cap frame the collector received is quarantined, with a reason.
    const db = new Database(join(dataDir, 'ticktape.db'), { readonly: true });
    const quarantine = db.prepare("SELECT source, src_seq, reason FROM quarantine WHERE day = ? AND source LIKE 'koscom.trades.%'").all(day) as { source: string; src_seq: number; reason: string }[];
    db.close();
    expect(quarantine.length).toBeGreaterThanOrEqual(JUNK * 0.7);
    expect(quarantine.length).toBeLessThanOrEqual(exchange.stats.badFrames);
    // Only the few frames in flight when the hard-cap frame reset the connection can be missing.
    expect(quarantine.length).toBeGreaterThanOrEqual(exchange.stats.badFrames - 200);
    expect(quarantine.filter((q) => q.reason.trim() === '')).toEqual([]);
    const quarantined = new Set(quarantine.map((q) => `${q.source}/${q.src_seq}`));
    const file = journalPath(dataDir, day);
    const channels = readChannels(file);
    const oversize = [...readJournal(file)].filter((r) => r.flags === FLAG.incoming && channels[r.channel].kind === 'trades' && r.bytes.length > SOFT_CAP);
    expect(oversize.length).toBe(4);
    for (const r of oversize) expect(quarantined.has(`${channels[r.channel].name}/${r.frame}`)).toBe(true);

    // One reset, by the hard cap, journaled with its reason; the soft-cap frames dropped nothing.
    const disconnects = journalEvents(dataDir, day).filter((e) => e.type === 'disconnected');
    expect(disconnects.map((e) => e.reason)).toEqual(['frame above the hard cap (maxPayload)']);
    const [session] = sessionRows(dataDir, day);
    expect(session.reconnects).toBe(1);
    expect(reconciledMissing(session)).toEqual(missingQty);

    // Memory flat: the second half of the day (after warm-up) grows by less than 10 %.
    const mid = exchange.openAt + DAY_MS / 2;
    const warm = rss.filter((s) => s.bytes > 0 && s.at >= exchange.openAt + DAY_MS * 0.25 && s.at < mid).map((s) => s.bytes);
    const late = rss.filter((s) => s.bytes > 0 && s.at >= exchange.closeAt - DAY_MS * 0.25 && s.at < exchange.closeAt).map((s) => s.bytes);
    expect(warm.length).toBeGreaterThan(3);
    expect(late.length).toBeGreaterThan(3);
    expect(median(late)).toBeLessThan(median(warm) * 1.1);
  });
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
