// A full disk during capture: the journal write fails (ENOSPC, or EDQUOT on a quota). The frame
// cannot be kept, but the process must not die with the streams: it says so clearly once, counts
// what it could not journal, and resumes journaling by itself when a write succeeds again. The
// journal's writes are positional, so a failed write leaves nothing a later record trusts, and a
// torn tail is cut on the next open.
import type { Logger } from 'pino';
import type { ChannelSpec } from '../storage/journal.js';
import type { CaptureTape } from './capture.js';

export interface DiskFullEpisode {
  startedMs: number;
  endedMs?: number;
  /** Frames, sent frames and events that could not be journaled. */
  lost: number;
  error: string;
}

export class DiskFullGuard implements CaptureTape {
  readonly episodes: DiskFullEpisode[] = [];
  private current: DiskFullEpisode | undefined;

  constructor(
    private readonly tape: CaptureTape,
    private readonly log: Logger,
  ) {}

  get full(): boolean {
    return this.current !== undefined;
  }

  channel(spec: ChannelSpec): number {
    return this.tape.channel(spec);
  }

  append(channel: number, frame: string | Buffer, recvNs?: bigint): void {
    this.guard(() => this.tape.append(channel, frame, recvNs));
  }

  appendOutgoing(channel: number, frame: string): void {
    this.guard(() => this.tape.appendOutgoing(channel, frame));
  }

  event(channel: number, obj: object): void {
    this.guard(() => this.tape.event(channel, obj));
  }

  /** One line per episode, for the session's problems. */
  describe(): string[] {
    return this.episodes.map((e) => `disk full from ${new Date(e.startedMs).toISOString()} for ${((e.endedMs ?? Date.now()) - e.startedMs) / 1000} s${e.endedMs === undefined ? ' (still full at the end)' : ''}: ${e.lost} frames could not be journaled (${e.error})`);
  }

  private guard(write: () => void): void {
    try {
      write();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
      if (this.current === undefined) {
        this.current = { startedMs: Date.now(), lost: 0, error: `${code}: ${(e as Error).message}` };
        this.episodes.push(this.current);
        this.log.error({ code }, `disk full: the journal cannot be written (${code}); frames received from now on are lost until space returns; what is already on disk is intact`);
      }
      this.current.lost++;
      return;
    }
    const ended = this.current;
    if (ended !== undefined) {
      ended.endedMs = Date.now();
      this.current = undefined;
      this.log.warn({ lost: ended.lost, ms: ended.endedMs - ended.startedMs }, `disk space is back: journaling resumed after ${ended.endedMs - ended.startedMs} ms; ${ended.lost} frames were lost`);
    }
  }
}
