// An exclusive lock on a path, for one writer per data directory (the daemon) or per journal: the
// lock file is created exclusively and holds the owner's pid. A lock whose pid is no longer alive
// (its owner was killed) is stale and taken over. Advisory locks (flock) were the alternative;
// Node has no flock without a native addon, and a pid in a file also tells the refused process
// (and the operator) who holds it.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';

export class LockHeldError extends Error {
  /**
   * @param holder what the owner is, in words ("ticktape daemon", "ticktape writer of this journal")
   */
  constructor(readonly file: string, readonly pid: number, readonly holder: string) {
    super(`another ${holder} (pid ${pid}${pid === process.pid ? ', this process' : ''}) holds ${file}; stop it first, or remove the file if that pid is not a ${holder}`);
    this.name = 'LockHeldError';
  }
}

export interface FileLock {
  file: string;
  /** The pid of a dead process whose stale lock was taken over. */
  tookOverFrom?: number;
  release(): void;
}

/**
 * When this process started (wall clock, ms; process.uptime is the process's, in every thread). A
 * lock holding our own pid was taken by this process (another thread, say a capture worker) if the
 * file is younger, or left by an earlier process that had the same pid (pid 1 in a restarted
 * container) if it is older; the second is stale.
 */
const PROCESS_STARTED_MS = Date.now() - process.uptime() * 1000;
/** File times and the clock above disagree by a few ms (the file system's time granularity). */
const START_SLACK_MS = 1000;

/** Takes the lock `file`, or throws LockHeldError naming the live owner's pid. */
export function lockFile(file: string, holder: string): FileLock {
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
    if (pid !== undefined && (pid === process.pid ? takenSinceStart(file) : isAlive(pid))) throw new LockHeldError(file, pid, holder);
    tookOverFrom = pid;
    try {
      unlinkSync(file);
    } catch (e) {
      // Released by its owner meanwhile.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
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

function takenSinceStart(file: string): boolean {
  try {
    return statSync(file).mtimeMs >= PROCESS_STARTED_MS - START_SLACK_MS;
  } catch {
    return false;
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
