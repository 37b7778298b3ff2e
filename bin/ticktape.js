#!/usr/bin/env node
// The `ticktape` command. The TypeScript is compiled into dist/ by `npm ci` / `npm install`
// (the `prepare` script); this shim only points at it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('ticktape: dist/ is missing — run `npm ci` (or `npm run build`) in the ticktape folder first.\n');
  process.exit(1);
}
await import(main.href);
