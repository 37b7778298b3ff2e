// What the daemon does with a day once it is sealed: compact it into the history tier, apply the
// retention policy, then the low-disk guard. One call, so the collector's schedule needs one line:
//   await afterSeal(cfg.dataDir, day, cfg.retention, log)   (after tape.sealDay(), before the next day)
import type { Logger } from 'pino';
import type { TradingDay } from '../protocol/time.js';
import { compactDay, type CompactResult } from './compact.js';
import type { DiskStatus } from './disk.js';
import { applyRetention, guardDisk, type RetentionPolicy, type RetentionResult } from './retain.js';

export interface AfterSeal {
  compacted: CompactResult;
  retained: RetentionResult;
  /** What the low-disk guard removed (null: the disk was above the floor). */
  guarded: RetentionResult | null;
  /** Free space after it all, against the floor (for metrics and healthz). */
  disk: DiskStatus;
}

export async function afterSeal(dataDir: string, day: TradingDay, policy: RetentionPolicy & { minFreeBytes: number }, log: Logger): Promise<AfterSeal> {
  const compacted = await compactDay(dataDir, day, log);
  const retained = await applyRetention(dataDir, policy, log);
  const { disk, result } = await guardDisk(dataDir, policy, policy.minFreeBytes, log);
  return { compacted, retained, guarded: result, disk };
}
