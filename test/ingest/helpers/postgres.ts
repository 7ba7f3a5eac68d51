import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian puts the server binaries; override with PG_BIN. */
export const PG_BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** Why the real-PostgreSQL suites cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'postgres'))) {
    return `PostgreSQL binaries not found in ${PG_BIN} (install Debian's postgresql package or set PG_BIN)`;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL binary as the postgres user when we are root (initdb refuses root). */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/**
 * A throw-away PostgreSQL server: its own data folder in /tmp, listening on
 * 127.0.0.1 on a free port, stopped and started by PID. `fsync` stays on so
 * that what the tests and the bench measure is a durable commit.
 */
export class TestPostgres {
  readonly dir: string;
  readonly port: number;
  private proc: ChildProcess | undefined;

  private constructor(
    dir: string,
    port: number,
    private readonly settings: Readonly<Record<string, string>>,
  ) {
    this.dir = dir;
    this.port = port;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** A new server; `settings` are passed to it as `-c name=value` after the helper's own. */
  static async create(settings: Readonly<Record<string, string>> = {}): Promise<TestPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-pg-'));
    chmodSync(dir, 0o777);
    const data = join(dir, 'data');
    const [cmd, args] = asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
    execFileSync(cmd, args, { stdio: 'pipe' });
    const pg = new TestPostgres(dir, await freePort(), settings);
    await pg.start();
    return pg;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const [cmd, args] = asPostgres(join(PG_BIN, 'postgres'), [
      '-D', join(this.dir, 'data'),
      '-p', String(this.port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${this.dir}`,
      '-c', 'max_connections=100',
      '-c', 'shared_buffers=64MB',
      ...Object.entries(this.settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ]);
    const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4_000);
    });
    this.proc = proc;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (!this.running) throw new Error(`postgres exited at start: ${log}`);
      if (log.includes('database system is ready to accept connections')) return;
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The postmaster's PID, from its lock file (runuser does not pass signals on). */
  postmasterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops the server by PID: SIGINT is PostgreSQL's "fast" shutdown, SIGQUIT its immediate one. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const pid = this.postmasterPid();
    const alive = (p: number) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (pid !== undefined && alive(pid)) {
      process.kill(pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      const deadline = Date.now() + 15_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    const proc = this.proc;
    if (proc && this.running) await new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    this.proc = undefined;
    // An immediate stop leaves the lock file; the next start would refuse it.
    if (mode === 'immediate') rmSync(join(this.dir, 'data', 'postmaster.pid'), { force: true });
  }

  async destroy(): Promise<void> {
    await this.stop('fast');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
