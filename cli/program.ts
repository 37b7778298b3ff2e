// The `ticktape` program: every command registered, not yet run (main.ts runs it; tests read its help).
import { Command, Option } from 'commander';
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
import { registerEnv } from './help.js';
import { LOG_FORMATS, setLogFormat, type LogFormat } from './log.js';

export function buildProgram(): Command {
  const program = new Command('ticktape')
    .description('Tick capture and historical storage for the Korean stock market (KOSPI, KOSDAQ). Times are KST.')
    .version('0.1.0')
    .addOption(new Option('--log-format <format>', 'logs on stderr: pretty (KST times) or json (default: pretty on a terminal, else json; env TICKTAPE_LOG_FORMAT)').choices(LOG_FORMATS))
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .hook('preAction', (cmd) => setLogFormat(cmd.opts<{ logFormat?: LogFormat }>().logFormat));

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
  registerEnv(program);
  return program;
}
