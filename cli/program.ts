// The `ticktape` program: its commands registered, not yet run (main.ts runs it; tests read its help).
import { Command, Option } from 'commander';
import { LOG_FORMATS, setLogFormat, type LogFormat } from './log.js';

type Register = (program: Command) => void;

// Only the module of the command being run is imported (all of them for the overall help): a
// collector restarted after a crash must reach its sockets quickly, and every import costs time.
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
  merge: async () => (await import('./merge.js')).registerMerge,
  compact: async () => (await import('./compact.js')).registerCompact,
  query: async () => (await import('./query.js')).registerQuery,
  retain: async () => (await import('./retain.js')).registerRetain,
  store: async () => (await import('./store.js')).registerStore,
  env: async () => (await import('./help.js')).registerEnv,
};

/** The program with `command` registered, or every command when it is not one of them. */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('ticktape')
    .description('Tick capture and historical storage for the Korean stock market (KOSPI, KOSDAQ). Times are KST.')
    .version('0.1.0')
    .addOption(new Option('--log-format <format>', 'logs on stderr: pretty (KST times) or json (default: pretty on a terminal, else json; env TICKTAPE_LOG_FORMAT)').choices(LOG_FORMATS))
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .hook('preAction', (cmd) => setLogFormat(cmd.opts<{ logFormat?: LogFormat }>().logFormat));
  const wanted = command !== undefined && command in COMMANDS ? [command] : Object.keys(COMMANDS);
  for (const register of await Promise.all(wanted.map((c) => COMMANDS[c]()))) register(program);
  return program;
}
