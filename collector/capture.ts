// What the sources need from the tape: register channels, hand over frames as received, note
// events. Narrow on purpose, so a source never reaches into storage.
import type { ChannelSpec } from '../storage/journal.js';

export interface CaptureTape {
  channel(spec: ChannelSpec): number;
  /** Journals the frame first, then decodes it; bad frames are quarantined by the tape. */
  append(channel: number, frame: string | Buffer, recvNs?: bigint): void;
  /** A frame we sent (init, registrations); the tape redacts credentials before journaling. */
  appendOutgoing(channel: number, frame: string): void;
  event(channel: number, obj: object): void;
}
