// REST calls of one vendor: a p-queue caps calls in flight and per rolling second (strict sliding
// window, so a burst never exceeds the cap at a window edge); 429, 5xx and network errors are retried
// with exponential backoff and jitter, honouring Retry-After; the daily quota announced in the
// X-RateLimit-*-Day headers is tracked. URLs are never logged with their query (it carries the key).
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { RATE_LIMIT_LIMIT_HEADER, RATE_LIMIT_REMAINING_HEADER, decodeRestError } from '../protocol/koscom-rest.js';
import type { RestLimits } from './config.js';
import { nowNs } from '../capture/recv-clock.js';

export type Vendor = 'koscom' | 'ls';

export interface RestResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Receive time of the body, ns since the epoch. */
  recvNs: bigint;
}

export type RestFailure = 'auth' | 'quota' | 'http' | 'network';

/** A call that failed for good. The message names the vendor, the path (no query) and the cause. */
export class RestError extends Error {
  constructor(readonly kind: RestFailure, message: string, readonly status?: number) {
    super(message);
    this.name = 'RestError';
  }
}

export interface RestClientOptions {
  vendor: Vendor;
  baseUrl: string;
  limits: RestLimits;
  maxRetries: number;
  timeoutMs: number;
  log: Logger;
  /** First retry delay; doubles per attempt up to backoffMaxMs. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export interface RestRequest {
  method?: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface RestStats {
  calls: number;
  retries: number;
  failures: number;
  /** Daily quota from the last response's headers; undefined until a vendor announces it. */
  quotaLimit?: number;
  quotaRemaining?: number;
}

export class RestClient {
  readonly queue: PQueue;
  readonly stats: RestStats = { calls: 0, retries: 0, failures: 0 };
  private readonly log: Logger;
  private lastQuotaLogged = Infinity;
  /** The UTC day (YYYY-MM-DD) the last quota headers counted, per the response's Date header. */
  private quotaDay = '';

  constructor(private readonly opts: RestClientOptions) {
    this.queue = new PQueue({ concurrency: opts.limits.concurrency, intervalCap: opts.limits.perSecond, interval: 1000, strict: true });
    this.log = opts.log.child({ vendor: opts.vendor });
  }

  /** Performs the call, retrying transient failures; resolves with a 2xx response or throws RestError. */
  async request(req: RestRequest): Promise<RestResponse> {
    const url = new URL(req.path, this.opts.baseUrl);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const what = `${this.opts.vendor} ${req.method ?? 'GET'} ${req.path}`;
    const initial = this.opts.backoffInitialMs ?? 250;
    const max = this.opts.backoffMaxMs ?? 30_000;
    for (let attempt = 0; ; attempt++) {
      req.signal?.throwIfAborted();
      let res: RestResponse | undefined;
      let cause: string;
      let retryAfterMs: number | undefined;
      try {
        res = await this.queue.add(() => this.fetchOnce(url, req), { signal: req.signal });
        cause = `HTTP ${res.status}`;
      } catch (e) {
        if (req.signal?.aborted) throw e;
        cause = `network error (${networkCause(e)})`;
      }
      if (res !== undefined) {
        this.trackQuota(res.headers);
        if (res.status >= 200 && res.status < 300) return res;
        const message = vendorMessage(res.text);
        if (res.status === 401 || res.status === 403) {
          this.stats.failures++;
          throw new RestError('auth', `${what}: credentials rejected (HTTP ${res.status}${message ? `: ${message}` : ''})`, res.status);
        }
        if (res.status === 429 && this.stats.quotaRemaining === 0) {
          this.stats.failures++;
          throw new RestError('quota', `${what}: daily quota exhausted (HTTP 429, ${RATE_LIMIT_REMAINING_HEADER} 0; it resets at 00:00 UTC)`, 429);
        }
        if (res.status !== 429 && res.status < 500) {
          this.stats.failures++;
          throw new RestError('http', `${what}: HTTP ${res.status}${message ? ` (${message})` : ''}`, res.status);
        }
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
        cause += message ? ` (${message})` : '';
      }
      if (attempt >= this.opts.maxRetries) {
        this.stats.failures++;
        throw new RestError(res === undefined ? 'network' : res.status === 429 ? 'quota' : 'http', `${what}: ${cause}, gave up after ${attempt + 1} attempts`, res?.status);
      }
      const backoff = Math.min(max, initial * 2 ** attempt);
      const delay = retryAfterMs ?? backoff / 2 + Math.random() * (backoff / 2);
      this.stats.retries++;
      this.log.warn({ path: req.path, attempt: attempt + 1, delayMs: Math.round(delay) }, `${what}: ${cause}, retrying`);
      await sleep(delay, undefined, { signal: req.signal });
    }
  }

  private async fetchOnce(url: URL, req: RestRequest): Promise<RestResponse> {
    this.stats.calls++;
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    const r = await fetch(url, {
      method: req.method ?? 'GET',
      headers: req.headers,
      body: req.body,
      signal: req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]),
    });
    const text = await r.text();
    return { status: r.status, headers: r.headers, text, recvNs: nowNs() };
  }

  /**
   * Calls left at `nowMs`: the last announced remainder on the quota day it was announced, the
   * full limit once a new UTC day has begun (koscom.md §11: the quota resets at 00:00 UTC =
   * 09:00 KST). Undefined until the vendor announces a quota.
   */
  quotaLeft(nowMs: number): number | undefined {
    if (this.stats.quotaRemaining === undefined) return undefined;
    return utcDay(nowMs) > this.quotaDay && this.stats.quotaLimit !== undefined ? this.stats.quotaLimit : this.stats.quotaRemaining;
  }

  private trackQuota(h: Headers): void {
    const limit = intHeader(h.get(RATE_LIMIT_LIMIT_HEADER));
    const remaining = intHeader(h.get(RATE_LIMIT_REMAINING_HEADER));
    if (limit !== undefined) this.stats.quotaLimit = limit;
    if (remaining === undefined) return;
    this.stats.quotaRemaining = remaining;
    const served = Date.parse(h.get('date') ?? '');
    this.quotaDay = utcDay(Number.isNaN(served) ? Date.now() : served);
    // One line per 5% of the quota used, and every call in the last 5%.
    const step = Math.max(1, Math.floor((this.stats.quotaLimit ?? 50_000) / 20));
    if (remaining <= step || this.lastQuotaLogged - remaining >= step) {
      this.lastQuotaLogged = remaining;
      this.log[remaining <= step ? 'warn' : 'info']({ quotaRemaining: remaining, quotaLimit: this.stats.quotaLimit }, `${this.opts.vendor} REST daily quota: ${remaining} calls left`);
    }
  }
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The next 00:00 UTC (09:00 KST) after `nowMs`: when a per-day REST quota starts again. */
export function nextQuotaReset(nowMs: number): number {
  return (Math.floor(nowMs / 86_400_000) + 1) * 86_400_000;
}

export interface QuotaBudget {
  nowMs: number;
  /** The closing snapshot; one snapshot's worth of calls is kept for it. */
  closeAt: number;
  intervalMs: number;
  /** Calls left now (RestClient.quotaLeft); undefined = no quota announced. */
  remaining: number | undefined;
  /** The daily limit once the quota resets. */
  limit: number | undefined;
  callsPerSnapshot: number;
}

/**
 * The wait before the next periodic snapshot: the configured interval, stretched when the calls
 * left would not last until the close or the quota's reset at 09:00 KST; when nothing is left
 * before a reset that comes before the close, the wait ends just after the reset, so snapshots
 * resume with the new day's quota rather than stopping for the day.
 */
export function snapshotWait(b: QuotaBudget): number {
  if (b.remaining === undefined) return b.intervalMs;
  const reset = nextQuotaReset(b.nowMs);
  const resets = reset < b.closeAt && b.limit !== undefined;
  const until = resets ? reset : b.closeAt;
  // Keep one closing snapshot's worth of calls, unless the close falls on the next quota day.
  const affordable = Math.floor((b.remaining - (resets ? 0 : b.callsPerSnapshot)) / b.callsPerSnapshot);
  const wanted = Math.floor((until - b.nowMs) / b.intervalMs);
  if (affordable >= wanted) return b.intervalMs;
  if (affordable <= 0) return resets ? reset - b.nowMs + 1_000 : Infinity;
  return Math.ceil((until - b.nowMs) / affordable);
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
function parseRetryAfter(v: string | null): number | undefined {
  if (v === null) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function intHeader(v: string | null): number | undefined {
  return v !== null && /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;
}

/** The vendor's error text (gateway `{message}`, close-not-yet `{error}`), never the raw body. */
function vendorMessage(text: string): string {
  const e = decodeRestError(text);
  return e.ok ? e.value.message.slice(0, 200) : '';
}

function networkCause(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string } };
  if (err.name === 'TimeoutError') return 'timeout';
  return err.cause?.code ?? err.message ?? String(e);
}
