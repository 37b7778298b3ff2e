// Credentials never reach the journal: frames that may carry one (outgoing frames, events, LS
// control frames) pass through here first. A cheap test runs first so that the hot path (trade
// frames, which never carry a credential) pays one regex scan and no parse.

const SENSITIVE_KEYS = new Set([
  'key', 'apikey', 'appkey', 'appsecret', 'appsecretkey', 'secret', 'secretkey', 'servicekey', 'clientsecret',
  'token', 'accesstoken', 'refreshtoken', 'idtoken', 'authorization', 'password', 'passwd',
]);

export const REDACTED = '[redacted]';

function isSensitiveKey(k: string): boolean {
  const n = k.toLowerCase().replace(/[-_]/g, '');
  return SENSITIVE_KEYS.has(n) || n.endsWith('token') || n.endsWith('secret');
}

const MAYBE_SENSITIVE = /key|token|secret|authori|passw|bearer/i;
const BEARER = /\b(Bearer)\s+[^\s"',;&]+/gi;
// key=value pairs in form bodies and URLs (`?apikey=…&…`), also `key: value` header lines. Only
// names that could be sensitive are matched, so that a URL's scheme (`wss:`) cannot swallow one.
const PAIR = /(^|[?&\s"'{,;])([A-Za-z0-9_-]*(?:key|token|secret|authorization|passw(?:or)?d))(=|:\s*)([^&\s"',;]+)/gi;

function redactValue(v: unknown): { value: unknown; changed: boolean } {
  if (typeof v === 'string') {
    const s = redactText(v);
    return { value: s, changed: s !== v };
  }
  if (Array.isArray(v)) {
    let changed = false;
    const out = v.map((x) => {
      const r = redactValue(x);
      changed ||= r.changed;
      return r.value;
    });
    return { value: out, changed };
  }
  if (typeof v === 'object' && v !== null) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (isSensitiveKey(k) && x !== null && x !== '') {
        out[k] = REDACTED;
        changed = true;
      } else {
        const r = redactValue(x);
        changed ||= r.changed;
        out[k] = r.value;
      }
    }
    return { value: out, changed };
  }
  return { value: v, changed: false };
}

function redactText(s: string): string {
  if (!MAYBE_SENSITIVE.test(s)) return s;
  return s.replace(BEARER, `$1 ${REDACTED}`).replace(PAIR, (m, before: string, k: string, sep: string) => (isSensitiveKey(k) ? `${before}${k}${sep}${REDACTED}` : m));
}

/** A frame with every credential replaced by `[redacted]`; the same string when there was none. */
export function redactFrame(text: string): string {
  if (!MAYBE_SENSITIVE.test(text)) return text;
  const c = text.charCodeAt(0);
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
    try {
      const r = redactValue(JSON.parse(text));
      return r.changed ? JSON.stringify(r.value) : text;
    } catch {
      // Not JSON after all: fall through to the text rules.
    }
  }
  return redactText(text);
}

/** An object (an event) with its credentials redacted, as JSON. */
export function redactObject(obj: object): string {
  return JSON.stringify(redactValue(obj).value);
}
