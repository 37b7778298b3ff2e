// The vendors' endpoints: where each lives and how a URL is made of a base and a path. A module of
// its own, apart from the configuration's validation, so that the capture thread loads little.
import type { Market } from '../protocol/market.js';

/**
 * Where each endpoint lives, after the vendor's base URL: a path (appended to the base), a full
 * URL (used as is, for when the vendor moves a path, e.g. v2 → v3, koscom.md §12), or `:PORT/path`
 * (the base's host on that port, unless the base names a port itself). `{marketcode}` is kospi /
 * kosdaq, `{ws_marketcode}` ws_ksp / ws_kdq. Defaults are the documented paths, trailing slashes
 * and the /ws port (9887) as the docs write them (koscom.md §1, §5; ls.md §2, §4).
 */
export const KOSCOM_PATHS = {
  stockList: '/v2/market/stocks/{marketcode}/lists',
  lists: '/v2/market/multiquote/stocks/{marketcode}/lists',
  ohlcLists: '/v2/market/multiquote/stocks/{marketcode}/ohlclists',
  trades: '/{ws_marketcode}/',
  detail: ':9887/ws/',
};
export type KoscomPaths = typeof KOSCOM_PATHS;
export const LS_PATHS = { token: '/oauth2/token', websocket: '/websocket' };
export type LsPaths = typeof LS_PATHS;

/** The URL (or, for REST, the path the client resolves against its base) of an endpoint. */
export function endpointUrl(base: string, template: string, market?: Market): string {
  const filled = market === undefined ? template : template.replaceAll('{marketcode}', market).replaceAll('{ws_marketcode}', market === 'kospi' ? 'ws_ksp' : 'ws_kdq');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(filled)) return filled;
  const trimmed = base.replace(/\/+$/, '');
  const port = /^:(\d+)(\/.*)$/.exec(filled);
  if (port === null) return trimmed + filled;
  const u = new URL(trimmed);
  if (u.port === '') u.port = port[1];
  return u.origin + u.pathname.replace(/\/+$/, '') + port[2];
}

