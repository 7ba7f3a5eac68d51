import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A server started for a test, stopped by its PID. */
export interface Started {
  readonly process: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Starts `command`; `env` is added to this process's environment. */
export function start(command: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return {
    process: child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.pid === undefined) return resolve();
        child.once('exit', () => resolve());
        process.kill(child.pid, 'SIGTERM');
      }),
  };
}

/** Polls `probe` until it returns a value, or fails with the server's output after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string, started?: Started): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${started?.output() ?? ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A Prometheus or Alertmanager started for a test, with the URL it answers on. */
export interface StartedServer {
  readonly server: Started;
  readonly base: string;
}

/** The real Prometheus (Debian's `prometheus`) on a free port of 127.0.0.1, its data in `dataDir`. */
export async function startPrometheus(configFile: string, dataDir: string, extraArgs: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<StartedServer> {
  const port = await freePort();
  const server = start('prometheus', [`--config.file=${configFile}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${dataDir}`, ...extraArgs], env);
  return { server, base: `http://127.0.0.1:${port}` };
}

/** The real Alertmanager (Debian's `prometheus-alertmanager`) on a free port of 127.0.0.1, without gossip, ready to take alerts. */
export async function startAlertmanager(configFile: string, dataDir: string): Promise<StartedServer> {
  const port = await freePort();
  const server = start('prometheus-alertmanager', [`--config.file=${configFile}`, `--storage.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=']);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 20_000, 'Alertmanager', server);
  return { server, base };
}
