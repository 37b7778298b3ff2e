// The LS access token (ls.md §2): client-credentials grant, cached, renewed before `expires_in`
// runs out (there is no refresh token). The token and the app secret never reach a log line or
// an error message.
import type { Logger } from 'pino';
import { TOKEN_CONTENT_TYPE, TOKEN_PATH, decodeTokenResponse, encodeTokenRequest } from '../protocol/ls-rest.js';
import type { LsPaths } from './endpoints.js';
import type { RestClient } from './rest.js';
import { RestError } from './rest.js';

/** Renew when this share of the lifetime has passed (and at least a minute before expiry). */
const RENEW_AT = 0.8;

export class LsToken {
  private token: string | undefined;
  private renewAtMs = 0;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly rest: RestClient,
    /** `paths.token` overrides the documented /oauth2/token. */
    private readonly creds: { appKey: string; appSecret: string; paths?: Partial<LsPaths> },
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid token, fetched or renewed as needed; concurrent callers share one request. */
  get(signal?: AbortSignal): Promise<string> {
    if (this.token !== undefined && this.now() < this.renewAtMs) return Promise.resolve(this.token);
    this.pending ??= this.fetch(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /**
   * The server refused `token` (an authentication error on the socket): forget it, so the next
   * get() asks for a new one. A token already replaced meanwhile is left alone.
   */
  invalidate(token: string): void {
    if (this.token !== token) return;
    this.token = undefined;
    this.renewAtMs = 0;
    this.log.warn('LS access token refused by the server: a new one will be requested');
  }

  private async fetch(signal?: AbortSignal): Promise<string> {
    const path = this.creds.paths?.token ?? TOKEN_PATH;
    const res = await this.rest.request({
      method: 'POST',
      path,
      headers: { 'content-type': TOKEN_CONTENT_TYPE },
      body: encodeTokenRequest({ appkey: this.creds.appKey, appsecretkey: this.creds.appSecret }),
      signal,
    });
    const t = decodeTokenResponse(res.text);
    if (!t.ok) throw new RestError('http', `LS POST ${path}: unreadable token response (${t.error.field}: ${t.error.reason})`, res.status);
    const lifetimeMs = t.value.expiresInSec * 1000;
    this.token = t.value.accessToken;
    this.renewAtMs = this.now() + Math.min(lifetimeMs * RENEW_AT, Math.max(lifetimeMs - 60_000, lifetimeMs / 2));
    this.log.info({ expiresInSec: t.value.expiresInSec, renewInSec: Math.round((this.renewAtMs - this.now()) / 1000) }, 'LS access token issued');
    return this.token;
  }
}
