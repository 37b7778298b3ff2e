// The simulator playing the pessimistic answer to each question the vendors' documents leave
// open (issue 11), one switch per test, each a real session over real sockets, each asserting what
// a user needs: every trade captured exactly against the simulator's truth.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureDay, storedBySymbol, tempRoot, truthBySymbol } from './collector-capture.js';

const tmp = tempRoot('worst-case');
afterAll(() => tmp.remove());

const tradeStreams = ['koscom.trades.kospi', 'koscom.trades.kosdaq'];

describe('Koscom liveness without assumptions', () => {
  it('keeps exactly one connection per trade socket through a silent pre-open 5× the stale timeout with neither init nor heartbeat answered', async () => {
    // Scaled: the 45 s pre-open against the 30 s default stale timeout becomes 4 s against 800 ms.
    const { exchange, result, db } = await captureDay(join(tmp.root, 'silent-pre-open'), { noHeartbeatReply: true, noInitReply: true }, {}, undefined, 50_000, { preOpenMs: 4_000, dayLengthMs: 3_000 });
    expect(result.status).toBe('complete');
    for (const name of tradeStreams) expect(result.streams.find((s) => s.name === name)).toMatchObject({ connects: 1, reconnects: 0 });
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(exchange.truth().filter((r) => r.ch === 'trade'), true));
    db.close();
  });

  it('answers the heartbeats the server sends, so a strict server never closes the session', async () => {
    const { exchange, result, db } = await captureDay(join(tmp.root, 'server-heartbeat'), { serverHeartbeatMs: 200, noHeartbeatReply: true }, {}, undefined, 50_000, { dayLengthMs: 3_000 });
    expect(result.status).toBe('complete');
    expect(exchange.stats.serverHeartbeats).toBeGreaterThan(10);
    expect(exchange.stats.serverHeartbeatReplies).toBeGreaterThanOrEqual(exchange.stats.serverHeartbeats - 2 * tradeStreams.length);
    expect(exchange.stats.heartbeatTimeouts).toBe(0);
    for (const name of tradeStreams) expect(result.streams.find((s) => s.name === name)).toMatchObject({ connects: 1, reconnects: 0 });
    expect(storedBySymbol(db, exchange.day)).toEqual(truthBySymbol(exchange.truth().filter((r) => r.ch === 'trade'), true));
    db.close();
  });
});
