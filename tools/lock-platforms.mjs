#!/usr/bin/env node
// The npm registry reachable here serves only linux-x64 builds of DuckDB's and Polars' native
// packages, so `npm install` writes a lock without the other platforms' optional entries, and
// `npm ci` then refuses the lock as "out of sync". This adds those entries (os/cpu/libc, no
// integrity: npm skips them on a platform they do not match). `--check` only reports.
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORMS = {
  'android-arm64': { os: 'android', cpu: 'arm64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'darwin-x64': { os: 'darwin', cpu: 'x64' },
  'linux-arm64': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'linux-arm64-musl': { os: 'linux', cpu: 'arm64', libc: 'musl' },
  'linux-x64-musl': { os: 'linux', cpu: 'x64', libc: 'musl' },
  'win32-arm64': { os: 'win32', cpu: 'arm64' },
  'win32-x64': { os: 'win32', cpu: 'x64' },
  'win32-x64-msvc': { os: 'win32', cpu: 'x64' },
};

const check = process.argv.includes('--check');
const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const missing = [];
for (const [owner, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key]) continue;
    const suffix = Object.keys(PLATFORMS).filter((s) => name.endsWith(`-${s}`)).sort((a, b) => b.length - a.length)[0];
    if (!suffix) throw new Error(`${name} (optional dependency of ${owner || 'the root'}): no known platform suffix`);
    const { os, cpu, libc } = PLATFORMS[suffix];
    missing.push([key, { version, cpu: [cpu], ...(pkg.dev ? { dev: true } : {}), ...(libc ? { libc: [libc] } : {}), optional: true, os: [os] }]);
  }
}
if (check) {
  if (missing.length) {
    console.error(`package-lock.json lacks ${missing.length} optional platform entries (npm ci will refuse it); run node tools/lock-platforms.mjs`);
    process.exit(1);
  }
} else if (missing.length) {
  for (const [key, entry] of missing) lock.packages[key] = entry;
  const { '': root, ...rest } = lock.packages;
  lock.packages = { '': root, ...Object.fromEntries(Object.keys(rest).sort().map((k) => [k, rest[k]])) };
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`added ${missing.length} optional platform entries to package-lock.json`);
}
