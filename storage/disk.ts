// Free space where the data lives, against the low-disk floor (TICKTAPE_MIN_FREE_BYTES). A module of
// its own: the session reads it for /metrics and /healthz without loading the retention code.
import fs from 'node:fs';

export interface DiskStatus {
  freeBytes: number;
  totalBytes: number;
  /** Free space is under the configured floor. */
  low: boolean;
}

/** Free space of the file system holding `dataDir`, against a floor (the low-disk guard's test). */
export function diskStatus(dataDir: string, minFreeBytes: number): DiskStatus {
  const s = fs.statfsSync(dataDir);
  const freeBytes = s.bavail * s.bsize;
  return { freeBytes, totalBytes: s.blocks * s.bsize, low: freeBytes < minFreeBytes };
}
