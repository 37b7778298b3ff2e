// What the exchange's endpoints share: the market, its clock, the live fault switches, the
// credentials it accepts, and the traffic counters.

import type { Logger } from 'pino';
import type { Faults } from './faults.js';
import type { SyntheticMarket } from './market.js';
import type { Random } from './random.js';
import type { SessionClock } from './session.js';

/** Synthetic credentials the simulator accepts (safe to print: they open nothing but the simulator). */
export interface Credentials {
  koscomApiKey: string;
  koscomMember: string;
  lsAppKey: string;
  lsAppSecret: string;
}

export interface ExchangeStats {
  tradesGenerated: number;
  /** Trades put on the /ws_ksp /ws_kdq streams (generated minus dropped). */
  tradesStreamed: number;
  tradesDropped: number;
  tradeFrames: number;
  flowsGenerated: number;
  /** Frames sent on every WebSocket, all endpoints. */
  framesSent: number;
  /** Extra malformed or wrong-typed frames injected. */
  badFrames: number;
  restRequests: number;
  connections: number;
  /** Connections closed by the close-every fault. */
  forcedCloses: number;
  /** Heartbeat requests the Koscom sockets sent (server-heartbeat fault) and the replies they got. */
  serverHeartbeats: number;
  serverHeartbeatReplies: number;
  /** Connections closed for leaving server heartbeats unanswered. */
  heartbeatTimeouts: number;
  /** LS access tokens issued; PING frames sent and PONGs received; authentication-error frames sent (LS faults). */
  lsTokensIssued: number;
  lsPings: number;
  lsPongs: number;
  lsAuthErrors: number;
  /** /ws sessions refused because another was open (single-session fault). */
  refusedSessions: number;
}

export function emptyStats(): ExchangeStats {
  return { tradesGenerated: 0, tradesStreamed: 0, tradesDropped: 0, tradeFrames: 0, flowsGenerated: 0, framesSent: 0, badFrames: 0, restRequests: 0, connections: 0, forcedCloses: 0, serverHeartbeats: 0, serverHeartbeatReplies: 0, heartbeatTimeouts: 0, lsTokensIssued: 0, lsPings: 0, lsPongs: 0, lsAuthErrors: 0, refusedSessions: 0 };
}

export interface SimContext {
  market: SyntheticMarket;
  clock: SessionClock;
  faults: Faults;
  credentials: Credentials;
  stats: ExchangeStats;
  log: Logger;
  /** Draws for fault decisions, separate from the market's stream so faults never change the market. */
  faultRng: Random;
  /** /ws subscription limit: 200, or 20 in sandbox mode. */
  maxSubscriptions: number;
  /** REST calls allowed per UTC day before HTTP 429. */
  quotaPerDay: number;
  /** Send the simulator-only LS register/release ack frame. */
  lsAck: boolean;
}

/** A connection has gone stale (stale-socket fault): keep it open, send it nothing. */
export function isStale(ctx: SimContext, openedAt: number, now: number): boolean {
  return ctx.faults.staleAfterMs > 0 && now - openedAt >= ctx.faults.staleAfterMs;
}
