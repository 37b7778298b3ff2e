// Runs one benchmark phase in this process and prints its figures as JSON on the last line, with
// the phase's peak RSS — each phase gets a fresh process so memory figures do not bleed together.
import { peakRssMb, type Figure } from './figures.js';

const name = process.argv[2];
if (!name || !/^[a-z-]+$/.test(name)) {
  process.stderr.write('usage: node dist/bench/phase.js <phase>\n');
  process.exit(2);
}
const mod = (await import(`./${name}.js`)) as { run: () => Promise<Figure[]> };
const figures = await mod.run();
figures.push({ name: `peak RSS, ${name} phase`, value: peakRssMb(), unit: 'MB', higherIsBetter: false });
process.stdout.write(`\n${JSON.stringify(figures)}\n`);
