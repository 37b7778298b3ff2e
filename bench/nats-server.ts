// Debian's nats-server with JetStream in a directory of its own, on a loopback port (or three of them
// as one JetStream cluster): started by the bus tests (test/bus-nats.test.ts) and `make bench`
// (bench/bus.ts); installed by `make test`.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:net';

export const NATS_SERVER = '/usr/sbin/nats-server';

export function natsServerInstalled(): boolean {
  return existsSync(NATS_SERVER);
}

export interface NatsServer {
  url: string;
  /** Stops it (SIGTERM) and starts it again on the same port and store directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** Starts nats-server -js with its store in `dir`; resolves once it accepts clients. */
export async function startNatsServer(dir: string): Promise<NatsServer> {
  const port = await freePort();
  return launchNatsServer(['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], port);
}

async function launchNatsServer(args: string[], port: number): Promise<NatsServer> {
  let proc: ChildProcess;
  const launch = async () => {
    proc = spawn(NATS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not start in 20 s: ${log.slice(-2000)}`)), 20_000);
      proc.stderr!.on('data', (d) => {
        log = (log + d).slice(-100_000);
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${log.slice(-2000)}`)));
    });
  };
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  await launch();
  return { url: `nats://127.0.0.1:${port}`, restart: async () => (await stop(), await launch()), stop };
}

/** Three nats-servers routed into one JetStream cluster on loopback ports; `url` lists all three. */
export async function startNatsCluster(dir: string): Promise<{ url: string; servers: NatsServer[]; stop(): Promise<void> }> {
  const ports = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), route: await freePort() })));
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`).join(', ');
  const servers = await Promise.all(
    ports.map((p, i) => {
      const conf = path.join(dir, `n${i}.conf`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(conf, `server_name: n${i}\nlisten: 127.0.0.1:${p.client}\njetstream { store_dir: "${path.join(dir, `n${i}`)}" }\ncluster { name: ticktape, listen: 127.0.0.1:${p.route}, routes: [${routes}] }\n`);
      return launchNatsServer(['-c', conf], p.client);
    }),
  );
  return { url: servers.map((s) => s.url).join(','), servers, stop: async () => void (await Promise.all(servers.map((s) => s.stop()))) };
}
