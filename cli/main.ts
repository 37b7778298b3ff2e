// The `ticktape` command line. Each command lives in its own module and registers itself here.
// Only the module of the command being run is imported (all of them for the overall help): a
// collector restarted after a crash must reach its sockets quickly, and every import costs time.
import { Command } from 'commander';
import { LockHeldError } from '../storage/lock-file.js';

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  sim: async () => (await import('./sim.js')).registerSim,
  collect: async () => (await import('./collect.js')).registerCollect,
  daemon: async () => (await import('./daemon.js')).registerDaemon,
  demo: async () => (await import('./demo.js')).registerDemo,
  inspect: async () => (await import('./inspect.js')).registerInspect,
  replay: async () => (await import('./replay.js')).registerReplay,
  export: async () => (await import('./export.js')).registerExport,
  report: async () => (await import('./report.js')).registerReport,
  migrate: async () => (await import('./migrate.js')).registerMigrate,
  rebuild: async () => (await import('./rebuild.js')).registerRebuild,
};

const program = new Command('ticktape')
  .description('Tick capture and historical storage for the Korean stock market (KOSPI, KOSDAQ).')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

const named = process.argv.slice(2).find((a) => !a.startsWith('-'));
const wanted = named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
for (const register of await Promise.all(wanted.map((c) => COMMANDS[c]()))) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // A second writer of a journal (collect, daemon, rebuild): an operator's situation, not a crash.
  if (!(e instanceof LockHeldError)) throw e;
  process.stderr.write(`ticktape: ${e.message}\n`);
  process.exitCode = 1;
}
