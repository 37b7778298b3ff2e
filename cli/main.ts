// The `ticktape` command line. Each command lives in its own module and registers itself here.
import { Command } from 'commander';
import { registerSim } from './sim.js';

const program = new Command('ticktape')
  .description('Tick capture and historical storage for the Korean stock market (KOSPI, KOSDAQ).')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerSim(program);

await program.parseAsync(process.argv);
