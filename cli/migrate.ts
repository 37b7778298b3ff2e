// `ticktape migrate`: brings the database of a data directory to the schema of this version.
// Every command that opens the database does the same; this one only migrates and reports.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import Database from 'better-sqlite3';
import { migrate, schemaVersion } from '../storage/migrate.js';
import { databaseFile } from '../storage/sqlite-sink.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { dataDirOption } from './options.js';

export function registerMigrate(program: Command): void {
  const cmd = program
    .command('migrate')
    .description('Apply the schema migrations the database lacks (<data-dir>/ticktape.db; created if missing).')
    .addOption(dataDirOption('data directory'))
    .action((flags: { dataDir: string }) => {
      const log = createLogger();
      const file = databaseFile(flags.dataDir);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const db = new Database(file);
      try {
        db.pragma('journal_mode = WAL');
        const applied = migrate(db, log);
        process.stdout.write(`${file}: schema version ${schemaVersion(db)}${applied.length > 0 ? ` (applied ${applied.join(', ')})` : ' (up to date)'}\n`);
      } catch (e) {
        process.stderr.write(`ticktape migrate: ${(e as Error).message}\n`);
        process.exitCode = 1;
      } finally {
        db.close();
      }
    });
  withExamples(cmd, 'ticktape migrate', 'ticktape migrate --data-dir /srv/ticktape');
}
