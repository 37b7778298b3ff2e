// `ticktape query "<SQL>"`: DuckDB over the whole store — history (Parquet) and live days (SQLite)
// behind the views trades, sector_flows, snapshots, quotes, order_books, signals, sessions,
// symbols, bars_1m and days (storage/query.ts).
import { Command, InvalidArgumentError, Option } from 'commander';
import { QUERY_VIEWS, queryStore, queryToParquet, type QueryResult } from '../storage/query.js';
import { calendarDayFilter } from './days.js';
import { withExamples } from './help.js';
import { dataDirOption } from './options.js';

const FORMATS = ['table', 'csv', 'json', 'parquet'] as const;
type Format = (typeof FORMATS)[number];

function parseParam(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(text);
  if (!m) throw new InvalidArgumentError(`"${text}" is not a parameter (expected name=value, used as $name in the SQL)`);
  return { ...previous, [m[1]]: m[2] };
}

const text = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function csvCell(v: unknown): string {
  const s = text(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function render(r: QueryResult, format: Exclude<Format, 'parquet'>): string {
  if (format === 'json') return r.rows.map((row) => JSON.stringify(Object.fromEntries(r.columns.map((c, i) => [c, row[i]])))).join('\n') + (r.rows.length ? '\n' : '');
  if (format === 'csv') return [r.columns.map(csvCell).join(','), ...r.rows.map((row) => row.map(csvCell).join(','))].join('\n') + '\n';
  const cells = [r.columns, ...r.rows.map((row) => row.map(text))];
  const widths = r.columns.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line), `(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
}

export function registerQuery(program: Command): void {
  withExamples(
    program
      .command('query')
      .description(`Run SQL (DuckDB) over the whole store: views ${QUERY_VIEWS.join(', ')} cover every day — compacted days from the Parquet history (WHERE day = … prunes files), the days not yet compacted from SQLite. Times are KST timestamps.`)
      .argument('<sql>', 'one SQL statement, e.g. "SELECT day, count(*) FROM trades GROUP BY day ORDER BY day"')
      .addOption(dataDirOption('data directory'))
      .addOption(new Option('--format <format>', 'output: an aligned table, CSV, JSON lines, or a Parquet file (with --out)').choices(FORMATS).default('table'))
      .option('--out <file>', 'write the result here (required for --format parquet)')
      .addOption(new Option('--param <name=value>', 'a $name parameter of the SQL (repeatable)').argParser(parseParam).default({}, 'none'))
      .action(async (sql: string, flags: { dataDir: string; format: Format; out?: string; param: Record<string, string> }) => {
        try {
          const opts = { isTradingDay: calendarDayFilter() };
          if (flags.format === 'parquet') {
            if (!flags.out) throw new Error('--format parquet writes a file: give --out <file>');
            const rows = await queryToParquet(flags.dataDir, sql, flags.out, flags.param, opts);
            process.stdout.write(`${rows} rows written to ${flags.out}\n`);
            return;
          }
          const out = render(await queryStore(flags.dataDir, sql, flags.param, opts), flags.format);
          if (flags.out) (await import('node:fs')).writeFileSync(flags.out, out);
          else process.stdout.write(out);
        } catch (e) {
          process.stderr.write(`ticktape query: ${(e as Error).message}\n`);
          process.exitCode = 1;
        }
      }),
    'ticktape query "SELECT day, count(*) AS trades FROM trades GROUP BY day ORDER BY day"',
    'ticktape query "SELECT * FROM bars_1m WHERE symbol = $s AND day >= \'2026-11-01\'" --param s=005930 --format csv',
    'ticktape query "SELECT * FROM trades WHERE day = \'2026-11-20\'" --format parquet --out trades.parquet',
  );
}
