// No credential reaches the journal, its sidecar, SQLite or Arrow, whichever way it comes in.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeSubscribe } from '../protocol/ls.js';
import { readJournal } from '../storage/journal.js';
import { redactFrame } from '../storage/redact.js';
import { Tape } from '../followers/tape.js';

const APIKEY = 'l7xxSECRETapikey0123456789';
const TOKEN = 'eyJSECRETtoken.eyJzdWIiOiJ4In0.sig456';
const APPSECRET = 'SECRETappsecret789xyz';
const SECRETS = [APIKEY, TOKEN, APPSECRET];

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-secrets-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function allFiles(d: string): string[] {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(d, e.name)) : [path.join(d, e.name)]));
}

describe('credentials', () => {
  it('are redacted from outgoing frames, events and incoming frames before anything is written', async () => {
    const tape = await Tape.open({ dataDir: dir, day: '2026-11-20', log: pino({ level: 'silent' }) });
    const koscom = tape.channel({ name: 'koscom.trades.kospi', vendor: 'koscom', endpoint: '/ws_ksp', kind: 'trades', market: 'kospi' });
    const ls = tape.channel({ name: 'ls.ws', vendor: 'ls', endpoint: '/websocket', kind: 'ls.ws' });
    const rest = tape.channel({ name: 'koscom.rest', vendor: 'koscom', endpoint: '/v2/market', kind: 'events' });
    tape.appendOutgoing(koscom, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'init', params: { apikey: APIKEY } }));
    tape.appendOutgoing(ls, encodeSubscribe(TOKEN, 'BM_', '001'));
    tape.appendOutgoing(ls, `grant_type=client_credentials&appkey=${APIKEY}&appsecretkey=${APPSECRET}&scope=oob`);
    tape.appendOutgoing(rest, Buffer.from(`GET /v2/market/stocks/kospi/lists?apikey=${APIKEY} HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\n`));
    tape.event(rest, { type: 'connect', url: `wss://example/ws_ksp?apikey=${APIKEY}`, headers: { Authorization: `Bearer ${TOKEN}` }, nested: [{ appSecret: APPSECRET }] });
    tape.event(ls, { type: 'error', message: `401 for token=${TOKEN}` });
    // Incoming frames too: an LS control frame echoing the token, and a bad frame that carries a key.
    tape.append(ls, JSON.stringify({ header: { token: TOKEN, tr_cd: 'BM_', tr_key: '001', rsp_cd: '00000' }, body: null }));
    tape.append(koscom, `error: invalid apikey=${APIKEY}`);
    tape.append(koscom, JSON.stringify({ error: { message: `bad key`, access_token: TOKEN } }));
    await tape.close();

    for (const f of allFiles(dir)) {
      const bytes = fs.readFileSync(f);
      for (const s of SECRETS) expect(bytes.includes(s), `${s} in ${f}`).toBe(false);
    }
    // What is not a credential survives, and the records are all there.
    const journal = allFiles(dir).find((f) => f.endsWith('.journal'))!;
    const texts = [...readJournal(journal)].map((r) => r.bytes.toString());
    expect(texts.length).toBe(9);
    expect(texts[1]).toBe(JSON.stringify({ header: { token: '[redacted]', tr_type: '3' }, body: { tr_cd: 'BM_', tr_key: '001' } }));
    expect(texts[2]).toBe('grant_type=client_credentials&appkey=[redacted]&appsecretkey=[redacted]&scope=oob');
  });

  it('leaves frames without credentials byte for byte', () => {
    for (const f of ['[{"isuSrtCd":"005930","trdPrc":"70000","trdVol":"1","trdTm":"9000000"}]', '{"header":{"tr_cd":"BM_","tr_key":"001"},"body":{"upcode":"001"}}', 'keyboard tokenizer']) {
      expect(redactFrame(f)).toBe(f);
    }
  });
});
