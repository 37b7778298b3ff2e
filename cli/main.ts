// The `ticktape` command line. Each command lives in its own module and registers itself here.
import { Command } from 'commander';
import { LockHeldError } from '../storage/lock-file.js';
import { registerSim } from './sim.js';
import { registerCollect } from './collect.js';
import { registerDaemon } from './daemon.js';
import { registerDemo } from './demo.js';
import { registerInspect } from './inspect.js';
import { registerReplay } from './replay.js';
import { registerExport } from './export.js';
import { registerReport } from './report.js';
import { registerMigrate } from './migrate.js';
import { registerRebuild } from './rebuild.js';

const program = new Command('ticktape')
  .description('Tick capture and historical storage for the Korean stock market (KOSPI, KOSDAQ).')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerSim(program);
registerCollect(program);
registerDaemon(program);
registerDemo(program);
registerInspect(program);
registerReplay(program);
registerExport(program);
registerReport(program);
registerMigrate(program);
registerRebuild(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // A second writer of a journal (collect, daemon, rebuild): an operator's situation, not a crash.
  if (!(e instanceof LockHeldError)) throw e;
  process.stderr.write(`ticktape: ${e.message}\n`);
  process.exitCode = 1;
}
