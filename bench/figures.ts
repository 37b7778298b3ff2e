// What every benchmark reports: an absolute figure, the baseline measured in the same run, and the
// ratio between them — so a result means something on any machine.
import { spawnSync } from 'node:child_process';

export interface Figure {
  /** What was measured, e.g. "decode /ws_ksp frames". */
  name: string;
  value: number;
  unit: string;
  /** The same work done the plain way in the same run, when there is one. */
  baseline?: { name: string; value: number };
  /** Higher is better (rates) unless false (latencies, bytes, memory). */
  higherIsBetter?: boolean;
  note?: string;
}

/** Runs `fn` repeatedly for at least `minMs` after one warm-up call; returns calls per second. */
export function ratePerSecond(fn: () => number, minMs = 1500): number {
  fn();
  let units = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    units += fn();
    elapsed = performance.now() - start;
  }
  return (units * 1000) / elapsed;
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  if (a >= 100) return v.toFixed(0);
  return v.toFixed(2);
}

export function ratio(f: Figure): string {
  if (!f.baseline || f.baseline.value === 0) return '';
  return `${(f.value / f.baseline.value).toFixed(2)}×`;
}

/** A Markdown table of figures (printed to the terminal and kept in bench/RESULTS.md). */
export function table(figures: readonly Figure[]): string {
  const rows = [
    '| figure | value | baseline (same run) | ratio |',
    '| --- | ---: | --- | ---: |',
    ...figures.map((f) => {
      const base = f.baseline ? `${f.baseline.name}: ${formatNumber(f.baseline.value)} ${f.unit}` : '';
      const name = f.note ? `${f.name} (${f.note})` : f.name;
      return `| ${name} | ${formatNumber(f.value)} ${f.unit} | ${base} | ${ratio(f)} |`;
    }),
  ];
  return rows.join('\n');
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Peak RSS (MB) of a fresh Node process running `script` (an ES module body), measured as it ends. */
export function childPeakRssMb(script: string, what: string): number {
  const body = `${script}\nprocess.stdout.write(JSON.stringify({ rssMb: process.resourceUsage().maxRSS / 1024 }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', body], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what}: child failed: ${r.stderr.slice(-500)}`);
  return (JSON.parse(r.stdout) as { rssMb: number }).rssMb;
}

/** A positive integer setting of a benchmark from the environment (e.g. a day's size). */
export function envCount(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer`);
  return v;
}
