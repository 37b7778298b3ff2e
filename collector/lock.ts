// One daemon per data directory: `<dataDir>/daemon.lock`, an exclusive lock holding the owner's
// pid (storage/lock-file.ts); a stale lock of a dead daemon is taken over.
import { join } from 'node:path';
import { type FileLock, lockFile } from '../storage/lock-file.js';

export { LockHeldError } from '../storage/lock-file.js';

export const LOCK_FILE = 'daemon.lock';

export type DataDirLock = FileLock;

export function acquireLock(dataDir: string): DataDirLock {
  return lockFile(join(dataDir, LOCK_FILE), 'ticktape daemon');
}
