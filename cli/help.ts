// Help shared by every command: examples after the options, and `ticktape env`, the one list of
// the environment variables (instead of ~40 lines inline in collect's and daemon's help).
import type { Command } from 'commander';
import { CONFIG_VARIABLES } from '../collector/config.js';
import { CLI_VARIABLES } from './log.js';

/** The "Examples:" section of a command's --help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}

/** Appends an "Examples:" section to a command's --help. */
export function withExamples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', examples(...lines));
}

/** The line collect's and daemon's help show instead of the variables themselves. */
export const ENV_HINT = '\nEnvironment: credentials, endpoints, schedule and limits come from TICKTAPE_* variables; `ticktape env` lists them.\nWith no credentials and no URLs set, the built-in simulator is used.';

export function registerEnv(program: Command): void {
  withExamples(
    program
      .command('env')
      .description('List the environment variables ticktape reads, with their defaults (a JSON file given with --config may set the collector\u2019s instead).')
      .action(() => {
        const width = Math.max(...[...CONFIG_VARIABLES, ...CLI_VARIABLES].map((v) => v.env.length)) + 2;
        const lines = ['Collector (collect, daemon, demo; store reads the data, batch, store, retention and NATS ones):', ...CONFIG_VARIABLES.map((v) => `  ${v.env.padEnd(width)}${v.help}`), '', 'Every command:', ...CLI_VARIABLES.map((v) => `  ${v.env.padEnd(width)}${v.help}`)];
        process.stdout.write(lines.join('\n') + '\n');
      }),
    'ticktape env',
    'ticktape env | grep KOSCOM',
  );
}
