// The `ticktape` command line: the program (program.ts), run; a command that found nothing exits 1.
import { NothingFound } from './found.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  if (!(e instanceof NothingFound)) throw e;
  process.stderr.write(`ticktape: ${e.message}\n`);
  process.exitCode = 1;
}
