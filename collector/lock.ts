// One daemon per data directory: a lock file holding the owner's pid, created exclusively. A lock
// whose pid is no longer alive (the daemon was killed) is stale and taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'daemon.lock';

export class LockHeldError extends Error {
  constructor(readonly file: string, readonly pid: number) {
    super(`another ticktape daemon (pid ${pid}) holds ${file}; stop it first, or remove the file if that pid is not a ticktape daemon`);
    this.name = 'LockHeldError';
  }
}

export interface DataDirLock {
  file: string;
  /** True when a stale lock of a dead process was taken over. */
  tookOverFrom?: number;
  release(): void;
}

export function acquireLock(dataDir: string): DataDirLock {
  const file = join(dataDir, LOCK_FILE);
  let tookOverFrom: number | undefined;
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        file,
        tookOverFrom,
        release() {
          if (released) return;
          released = true;
          if (readPid(file) === process.pid) unlinkSync(file);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = readPid(file);
    if (pid !== undefined && pid !== process.pid && isAlive(pid)) throw new LockHeldError(file, pid);
    tookOverFrom = pid;
    unlinkSync(file);
  }
  throw new Error(`could not create ${file}: another process keeps recreating it`);
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
