// A real nats-server (when installed) for one test file: started before its tests in a temporary
// root of the file's own, stopped and removed after them.
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { natsServerInstalled, startNatsServer, type NatsServer } from '../bench/nats-server.js';
import { tempRoot } from './collector-capture.js';
import { ensureBuilt } from './faults-run.js';

export interface NatsFixture {
  /** The file's temporary root (the server's JetStream store is under it). */
  root: string;
  /** The running server; undefined where nats-server is not installed. */
  readonly server: NatsServer | undefined;
}

export function natsForFile(name: string): NatsFixture {
  const tmp = tempRoot(name);
  let server: NatsServer | undefined;
  beforeAll(async () => {
    ensureBuilt();
    if (natsServerInstalled()) server = await startNatsServer(join(tmp.root, 'jetstream'));
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    tmp.remove();
  });
  return {
    root: tmp.root,
    get server() {
      return server;
    },
  };
}
