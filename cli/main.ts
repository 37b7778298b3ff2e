// The `ticktape` command line. Each command lives in its own module and registers itself here.
import { Command } from 'commander';
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
import { registerCompact } from './compact.js';
import { registerQuery } from './query.js';
import { registerRetain } from './retain.js';

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
registerCompact(program);
registerQuery(program);
registerRetain(program);

await program.parseAsync(process.argv);
