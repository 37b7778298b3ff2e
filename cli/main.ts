// The `ticktape` command line: the program (program.ts) with only the command being run imported,
// run; a command that found nothing, or a second writer of a journal, exits 1 with one line.
import { LockHeldError } from '../storage/lock-file.js';
import { NothingFound } from './found.js';
import { buildProgram } from './program.js';

const named = process.argv.slice(2).find((a) => !a.startsWith('-'));
const program = await buildProgram(named);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Operators' situations, not crashes: what was looked for and what exists; who holds the journal.
  if (!(e instanceof NothingFound) && !(e instanceof LockHeldError)) throw e;
  process.stderr.write(`ticktape: ${e.message}\n`);
  process.exitCode = 1;
}
