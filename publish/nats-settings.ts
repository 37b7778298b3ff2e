// The NATS bus's settings (TICKTAPE_NATS_*, see collector/config.ts): a module of its own, so that
// loading the configuration does not load the NATS client.

export interface NatsSettings {
  /** Server URLs, comma-separated (several: a cluster's seeds); undefined = no publishing. */
  url?: string;
  stream: string;
  subjectPrefix: string;
  /** Messages older than this leave the stream (0 = kept until max bytes or for ever). */
  maxAgeMs: number;
  /** Copies of the stream in a JetStream cluster (1 on a single server). */
  replicas: number;
  /** `limits`: kept until max age; `interest`: removed once every consumer acknowledged it. */
  retention: 'limits' | 'interest';
  /** How long JetStream remembers message ids to drop a republished record. */
  duplicateWindowMs: number;
  /** Publishes awaiting JetStream's acknowledgement at most (the journal holds the rest). */
  backlog: number;
}

export const NATS_DEFAULTS: Omit<NatsSettings, 'url'> = {
  stream: 'TICKTAPE',
  subjectPrefix: 'ticktape',
  maxAgeMs: 7 * 24 * 3_600_000,
  replicas: 1,
  retention: 'limits',
  duplicateWindowMs: 120_000,
  backlog: 1_000,
};

/** The URL with any password or token removed, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/g, '//[redacted]@');
}
