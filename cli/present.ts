// How the command line shows times and counts: every time 24-hour KST with the zone named (the
// market's clock, whatever the machine's time zone), every count with thousands separators.
import { kstDay, kstMsOfDay } from '../protocol/time.js';

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** `HH:MM:SS.mmm` KST of an ns instant; `--:--:--.---` when there is none. */
export function kstClock(ns: bigint | null | undefined): string {
  if (ns === null || ns === undefined) return '--:--:--.---';
  const ms = kstMsOfDay(Number(ns / 1_000_000n));
  return `${pad(Math.floor(ms / 3_600_000), 2)}:${pad(Math.floor(ms / 60_000) % 60, 2)}:${pad(Math.floor(ms / 1000) % 60, 2)}.${pad(ms % 1000, 3)}`;
}

/** `YYYY-MM-DD HH:MM:SS.mmm KST` of an epoch-ms instant. */
export function kstStamp(epochMs: number): string {
  return `${kstDay(epochMs)} ${kstClock(BigInt(epochMs) * 1_000_000n)} KST`;
}

/** `HH:MM` of a KST minute of the day. */
export function kstMinute(minuteOfDay: number): string {
  return `${pad(Math.floor(minuteOfDay / 60), 2)}:${pad(minuteOfDay % 60, 2)}`;
}

/** The one number format of the CLI: 1,234,567. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 1.5 MiB, 12.0 KiB, 900 B: the collector's session report writes sizes the same way. */
export function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
