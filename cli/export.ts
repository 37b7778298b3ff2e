// `ticktape export`: a day of stored data as a Hive-style Parquet, Arrow or CSV dataset for
// DuckDB, Polars, pandas/pyarrow, Spark (see docs/cookbook.md). Progress on a terminal.
import { Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { ARROW_CHANNELS, type ArrowChannel } from '../storage/arrow-format.js';
import { DEFAULT_ROW_GROUP_ROWS } from '../storage/export-parquet.js';
import { EXPORT_FORMATS, exportDay, type ExportFormat } from '../storage/export-dataset.js';
import type { StoreKind } from '../storage/reader.js';
import { requireDay } from './found.js';
import { withExamples } from './help.js';
import { createLogger } from './log.js';
import { dataDirOption, parseIntegerIn, parseDay } from './options.js';
import { count, size } from './present.js';


function parseChannels(text: string): ArrowChannel[] {
  const list = text.split(',').map((c) => c.trim()).filter((c) => c.length > 0);
  const bad = list.filter((c) => !(ARROW_CHANNELS as readonly string[]).includes(c));
  if (list.length === 0 || bad.length > 0) throw new InvalidArgumentError(`"${text}" is not a list of channels (expected a comma-separated subset of ${ARROW_CHANNELS.join(', ')})`);
  return list as ArrowChannel[];
}

interface ExportFlags {
  day: string;
  channels?: ArrowChannel[];
  format: ExportFormat;
  out: string;
  dataDir: string;
  source?: StoreKind;
  rowGroupRows: number;
  progress: boolean;
}

export function registerExport(program: Command): void {
  withExamples(
    program
      .command('export')
      .description('Export a stored day as a Hive-style dataset (<out>/day=…/channel=…/part[.<collector>].<ext>) for DuckDB, Polars, pandas/pyarrow, Spark. Parts of every collector in the data directory are merged into one dataset. Every format has the same columns; each time as <name>_ts (timestamp[ns], KST) beside <name>_ns (integer ns since the epoch, exact in every reader).')
      .requiredOption('--day <YYYY-MM-DD>', 'trading day to export', parseDay)
      .option('--channels <list>', `comma-separated channels (default: every channel with rows): ${ARROW_CHANNELS.join(', ')}`, parseChannels)
      .addOption(new Option('--format <format>', 'Parquet (zstd), Arrow IPC file (plain strings), or CSV (*_ts as ISO 8601 KST with ns)').choices(EXPORT_FORMATS).default('parquet'))
      .requiredOption('--out <dir>', 'output directory (created; files of the same day and channel are replaced)')
      .addOption(dataDirOption('data directory'))
      .addOption(new Option('--source <store>', 'read from the Arrow parts or from SQLite (default: arrow when the day has parts)').choices(['arrow', 'sqlite']))
      .option('--row-group-rows <n>', 'Parquet rows per row group', parseIntegerIn(1024, 16_777_216), DEFAULT_ROW_GROUP_ROWS)
      .option('--no-progress', 'no progress bar (it is shown only when stderr is a terminal)')
      .action(async (flags: ExportFlags) => {
        const log = createLogger();
        const bar = flags.progress && process.stderr.isTTY ? new SingleBar({ format: 'export {channel} [{bar}] {percentage}% {value}/{total} rows, eta {eta_formatted}', hideCursor: true }) : null;
        try {
          requireDay(flags.dataDir, flags.day);
          const result = await exportDay({
            dataDir: flags.dataDir,
            day: flags.day,
            outDir: flags.out,
            format: flags.format,
            channels: flags.channels,
            source: flags.source,
            rowGroupRows: flags.rowGroupRows,
            log,
            onProgress: bar
              ? (p) => {
                  if (!bar.isActive) bar.start(p.rowsTotal, 0, { channel: p.channel });
                  bar.update(p.rowsDone, { channel: p.channel });
                }
              : undefined,
          });
          bar?.stop();
          // The result, once: one line per file and the total.
          const lines = result.files.map((f) => `${f.channel.padEnd(13)} ${count(f.rows).padStart(13)} rows ${size(f.bytes).padStart(10)}  ${f.path}`);
          lines.push(`${'total'.padEnd(13)} ${count(result.rows).padStart(13)} rows ${size(result.bytes).padStart(10)}  ${result.day} from ${result.source} as ${result.format}`);
          process.stdout.write(lines.join('\n') + '\n');
        } catch (e) {
          bar?.stop();
          process.stderr.write(`ticktape export: ${(e as Error).message}\n`);
          process.exitCode = 1;
        }
      }),
    'ticktape export --day 2026-11-20 --out export',
    'ticktape export --day 2026-11-20 --channels trades --format csv --out export-csv',
  );
}
