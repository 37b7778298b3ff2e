// Fault injection switches of the simulated exchange. The exchange reads them on every step and
// request, so tests and the CLI can change them while it runs.

export interface Faults {
  /** Drop every streaming WebSocket connection (Koscom and LS) every this many ms; 0 = never. */
  closeEveryMs: number;
  /** A streaming connection goes silent (no frames, no replies, socket kept open) this many ms after it opens; 0 = never. */
  staleAfterMs: number;
  /** Probability, per frame sent, of an extra truncated (invalid JSON) frame after it. */
  malformedRate: number;
  /** Probability, per frame sent, of an extra frame whose fields have the wrong types. */
  wrongTypeRate: number;
  /** Probability that a trade is left out of the /ws_ksp /ws_kdq stream (it still counts in REST volumes; truth marks it sent:false). */
  dropRate: number;
  /** Delay before every REST response, ms. */
  restDelayMs: number;
  /** The next this many REST requests are answered HTTP 429 (counts down). */
  rest429Burst: number;
  /** The next this many REST requests are answered HTTP 503 (counts down). */
  rest5xxBurst: number;
  /** Reject every credential (Koscom API key, LS app key/secret and tokens) as invalid. */
  rejectCredentials: boolean;
  /** Koscom REST paths containing this text answer HTTP 401 (an endpoint the key is not licensed for); '' = none. */
  restUnauthorizedPath: string;
  /** Send `trdVol` as the symbol's cumulative volume instead of the trade's quantity (block trades keep their own: the documents say nothing of theirs). */
  cumulativeTrdVol: boolean;
  /** Extra junk frames per /ws_ksp /ws_kdq trade frame (fractional part = probability of one more):
   * random bytes as binary frames, invalid UTF-8, random text, truncated or wrong-shaped JSON. */
  junkRate: number;
  /** Size in bytes of the oversize frames sent by `oversizeCount`. */
  oversizeBytes: number;
  /** The next this many trade frames are each followed by one oversize junk frame (counts down). */
  oversizeCount: number;
  /** Koscom sockets leave the client's `heartbeat` unanswered (the reply is undocumented); transport pings are still answered. */
  noHeartbeatReply: boolean;
  /** Koscom sockets accept `init` without a reply (the reply is undocumented); data still flows. */
  noInitReply: boolean;
  /** Koscom sockets send their own `heartbeat` request this often and close a connection that leaves three unanswered; 0 = never. */
  serverHeartbeatMs: number;
  /** LS sends each socket a PING control frame (`header.tr_id`, not the public client's exact bytes) this often and closes one that leaves three unanswered; 0 = never. */
  lsPingMs: number;
  /** LS revokes every token this often: each registered socket gets an authentication-error frame (rsp_cd/rsp_msg, in the header and the body by turns) and no more data; 0 = never. */
  lsAuthErrorEveryMs: number;
  /** In every multiquote snapshot the first this many symbols of the market have bad elements: `trdPrc` null in `lists` (a halted issue), `hgprc` an object in `ohlclists`. */
  badSnapshotElements: number;
  /** /ws refuses an `init` while another /ws session of the key is open (error 13004, then close). */
  wsSingleSession: boolean;
  /** Koscom REST moved to its v3 paths (koscom.md §12): the v2 paths answer 404 `no Route matched`. */
  restPathsMoved: boolean;
  /** Every `trdTm` signal code (koscom.md §4) on the trade streams: the 장전 block trade (51000000) at the open; the 장중 and 장후 block trades (61000000, 71000000) and the session signals at the close. */
  signalCodes: boolean;
  /** Each /ws_ksp /ws_kdq connection gets the same trades in the same order, cut into frames of 1–50 at its own
   * boundaries (a random split seeded per connection), not the same frames (the documents do not say they are). */
  batchPerConnection: boolean;
}

export const NO_FAULTS: Readonly<Faults> = {
  closeEveryMs: 0,
  staleAfterMs: 0,
  malformedRate: 0,
  wrongTypeRate: 0,
  dropRate: 0,
  restDelayMs: 0,
  rest429Burst: 0,
  rest5xxBurst: 0,
  rejectCredentials: false,
  restUnauthorizedPath: '',
  cumulativeTrdVol: false,
  junkRate: 0,
  oversizeBytes: 0,
  oversizeCount: 0,
  noHeartbeatReply: false,
  noInitReply: false,
  serverHeartbeatMs: 0,
  lsPingMs: 0,
  lsAuthErrorEveryMs: 0,
  badSnapshotElements: 0,
  wsSingleSession: false,
  restPathsMoved: false,
  signalCodes: false,
  batchPerConnection: false,
};

/** The switches that differ from NO_FAULTS, for the startup log line. */
export function activeFaults(f: Faults): Partial<Faults> {
  const out: Partial<Faults> = {};
  for (const k of Object.keys(NO_FAULTS) as (keyof Faults)[]) if (f[k] !== NO_FAULTS[k]) (out as Record<string, unknown>)[k] = f[k];
  return out;
}
