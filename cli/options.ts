// Parsers for command-line values, with errors that name what was wrong.
import { InvalidArgumentError, Option } from 'commander';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "60s", "5m", "6.5h" → milliseconds. Throws a message naming the value on bad input. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`"${text}" is not a duration (examples: 500ms, 60s, 5m, 6.5h)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]]);
}

/** A whole number within [min, max]. */
export function parseIntegerIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || n < min || n > max) throw new InvalidArgumentError(`"${text}" is not a whole number from ${min} to ${max}`);
    return n;
  };
}

/** A calendar date `YYYY-MM-DD` that exists (2026-02-30 does not). */
export function parseDay(text: string): string {
  const t = Date.parse(`${text}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== text) {
    throw new InvalidArgumentError(`"${text}" is not a date (expected YYYY-MM-DD)`);
  }
  return text;
}

/** `--data-dir`, the same on every command that reads one. */
export function dataDirOption(what = 'data directory the collector wrote'): Option {
  return new Option('--data-dir <dir>', `${what} (env TICKTAPE_DATA_DIR)`).default(process.env.TICKTAPE_DATA_DIR ?? './data');
}

/** Human text, or one JSON document (`--format json`), for commands that print a summary. */
export type SummaryFormat = 'text' | 'json';

export function summaryFormatOption(): Option {
  return new Option('--format <format>', 'text, or json (one JSON document; ns instants as strings)').choices(['text', 'json']).default('text');
}

/** The old spelling of `--format json`, still accepted. */
export function jsonFlag(): Option {
  return new Option('--json', 'same as --format json').hideHelp();
}
