// Where a thread's script is. Compiled, it sits beside the module that starts it; when the sources
// run as TypeScript (vitest), the thread runs the compiled copy in dist/ (`make test` builds first).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function threadScript(moduleUrl: string, file: string): URL {
  if (!moduleUrl.endsWith('.ts')) return new URL(`./${file}`, moduleUrl);
  const dir = path.basename(path.dirname(fileURLToPath(moduleUrl)));
  return new URL(`../dist/${dir}/${file}`, moduleUrl);
}
