// The database schema comes only from migrations/: numbered .sql files (`0001_initial.sql`, …),
// each applied once, in order, in its own transaction, and recorded in `schema_migrations` (and in
// `user_version`, which any SQLite tool can read). A database from a newer ticktape is refused
// rather than written with a schema this code does not know.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** migrations/ of this package, found from this module both in the source tree and in dist/. */
export function migrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'migrations');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('migrations/ folder not found next to the ticktape package');
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  const list = fs
    .readdirSync(dir)
    .filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
    .map((f) => ({ version: Number(f.slice(0, f.indexOf('_'))), name: f, sql: fs.readFileSync(path.join(dir, f), 'utf8') }))
    .sort((a, b) => a.version - b.version);
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 1, 2, 3… without gaps: found ${m.name} at position ${i + 1}`);
  });
  return list;
}

export class SchemaTooNewError extends Error {
  constructor(readonly dbVersion: number, readonly knownVersion: number, file: string) {
    super(`database ${file} has schema version ${dbVersion}, newer than the ${knownVersion} this ticktape knows: upgrade ticktape (the database was not changed)`);
    this.name = 'SchemaTooNewError';
  }
}

/** The schema version a database is at (0 = empty). */
export function schemaVersion(db: Database.Database): number {
  const uv = db.pragma('user_version', { simple: true }) as number;
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
  const recorded = hasTable ? ((db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0) : 0;
  return Math.max(uv, recorded);
}

/** Applies the migrations the database lacks; returns the versions applied. */
export function migrate(db: Database.Database, log?: Logger, migrations: Migration[] = loadMigrations()): number[] {
  const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  const current = schemaVersion(db);
  if (current > known) throw new SchemaTooNewError(current, known, db.name);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    const done = db.transaction(() => {
      // Another process may have applied it since `current` was read: the write lock is held now.
      if (schemaVersion(db) >= m.version) return false;
      db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ns INTEGER NOT NULL)');
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_ns) VALUES (?, ?, ?)').run(m.version, m.name, BigInt(Date.now()) * 1_000_000n);
      db.pragma(`user_version = ${m.version}`);
      return true;
    }).immediate();
    if (!done) continue;
    applied.push(m.version);
    log?.info({ db: db.name, migration: m.name }, `applied migration ${m.name}`);
  }
  return applied;
}
