// Migrations on real database files: from empty, from each earlier schema, and refusal of a newer one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, SchemaTooNewError, schemaVersion, type Migration } from '../storage/migrate.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticktape-migrate-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const PUBLIC_TABLES = ['trades_live', 'trades_sealed', 'snapshots', 'sector_flows', 'symbols', 'quarantine', 'signals', 'sessions', 'checkpoints'];

function objects(db: Database.Database): string[] {
  return db.prepare("SELECT type || ':' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1").pluck().all() as string[];
}

describe('migrations', () => {
  it('builds the public schema from an empty file, once', () => {
    const db = new Database(path.join(dir, 'a.db'));
    const all = loadMigrations();
    expect(migrate(db)).toEqual(all.map((m) => m.version));
    for (const t of PUBLIC_TABLES) expect(objects(db)).toContain(`table:${t}`);
    expect(objects(db)).toContain('view:trades');
    const cols = (db.prepare("SELECT name FROM pragma_table_info('trades')").pluck().all() as string[]).join(',');
    expect(cols).toBe('day,market,symbol,exch_ts,price,qty,recv_ns,src_seq,src_idx,trd_vol,kind');
    expect(schemaVersion(db)).toBe(all.length);
    expect(db.pragma('user_version', { simple: true })).toBe(all.length);
    const before = objects(db);
    expect(migrate(db)).toEqual([]);
    expect(objects(db)).toEqual(before);
    db.close();
  });

  it('upgrades a database at each earlier version, keeping its rows', () => {
    const extra: Migration = { version: 0, name: '', sql: 'ALTER TABLE trades_live ADD COLUMN venue TEXT;' };
    const real = loadMigrations();
    const chain = [...real, { ...extra, version: real.length + 1, name: `${String(real.length + 1).padStart(4, '0')}_venue.sql` }];
    for (let at = 0; at < chain.length; at++) {
      const db = new Database(path.join(dir, `v${at}.db`));
      migrate(db, undefined, chain.slice(0, at));
      if (at >= 1) db.prepare("INSERT INTO trades_live (day, market, symbol, price, qty, recv_ns, src_seq, src_idx) VALUES ('2026-11-20', 'kospi', '005930', 1, 1, 1, 0, 0)").run();
      expect(migrate(db, undefined, chain)).toEqual(chain.slice(at).map((m) => m.version));
      expect(schemaVersion(db)).toBe(chain.length);
      expect(db.prepare("SELECT name FROM pragma_table_info('trades_live')").pluck().all()).toContain('venue');
      expect(db.prepare('SELECT count(*) FROM trades').pluck().get()).toBe(at >= 1 ? 1 : 0);
      db.close();
    }
  });

  it('refuses a database from a newer ticktape and leaves it unchanged', () => {
    const file = path.join(dir, 'new.db');
    const db = new Database(file);
    migrate(db);
    db.pragma(`user_version = ${loadMigrations().length + 5}`);
    const before = objects(db);
    expect(() => migrate(db)).toThrow(SchemaTooNewError);
    expect(() => migrate(db)).toThrow(/newer than the \d+ this ticktape knows/);
    expect(objects(db)).toEqual(before);
    db.close();
  });

  it('rolls back a failing migration completely', () => {
    const db = new Database(path.join(dir, 'bad.db'));
    const bad: Migration[] = [{ version: 1, name: '0001_bad.sql', sql: 'CREATE TABLE t (a); INSERT INTO nowhere VALUES (1);' }];
    expect(() => migrate(db, undefined, bad)).toThrow(/nowhere/);
    expect(objects(db)).toEqual([]);
    expect(schemaVersion(db)).toBe(0);
    db.close();
  });
});
