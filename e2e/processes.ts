import { type ChildProcess, spawn } from 'node:child_process';

/** A program the run started, stopped by its PID. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** The last 20 kB of its stdout and stderr, for a failure message. */
  output(): string;
  /** Whether it has exited. */
  readonly exited: boolean;
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Everything to stop when the run ends, however it ends: children and other resources (PostgreSQL, servers). */
const cleanups: { name: string; stop: () => Promise<void> }[] = [];

/** Registers something to stop at the end of the run, last registered stopped first. */
export function onCleanup(name: string, stop: () => Promise<void>): void {
  cleanups.push({ name, stop });
}

/** Stops everything registered, each by its own stop (children by PID), in reverse order; never throws. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const c = cleanups.pop()!;
    try {
      await c.stop();
    } catch (e) {
      process.stderr.write(`e2e: could not stop ${c.name}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
}

/** Starts a program with its output captured, registered for cleanup. */
export function startChild(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Child {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env, ...(cwd ? { cwd } : {}) });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
    child.once('error', (e) => {
      exited = true;
      output += `\n${e.message}`;
      resolve({ code: null, signal: null });
    });
  });
  const stop = async (graceMs = 10_000): Promise<void> => {
    if (exited || child.pid === undefined) return;
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, graceMs);
    await exit;
    clearTimeout(timer);
  };
  const handle: Child = {
    name,
    process: child,
    output: () => output,
    get exited() {
      return exited;
    },
    exit,
    stop,
  };
  onCleanup(name, () => stop());
  return handle;
}

/**
 * Stops everything on Ctrl-C, SIGTERM or an uncaught error, then exits: the
 * run never leaves a PostgreSQL, Prometheus, Alertmanager or ingest service
 * behind.
 */
export function installSignalHandlers(): void {
  let stopping = false;
  const bail = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\ne2e: ${why}; stopping everything it started\n`);
    void cleanupAll().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => bail('interrupted', 130));
  process.on('SIGTERM', () => bail('terminated', 143));
  process.on('uncaughtException', (e) => bail(`uncaught error: ${e.stack ?? e.message}`, 1));
  process.on('unhandledRejection', (e) => bail(`unhandled rejection: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 1));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `probe` every `everyMs` until it returns a value other than
 * undefined; throws with `what` (and `detail()`, when given) after `timeoutMs`.
 */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, opts: { everyMs?: number; detail?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const cause = last instanceof Error ? ` (last error: ${last.message})` : '';
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${cause}${opts.detail ? `\n${opts.detail()}` : ''}`);
    }
    await sleep(opts.everyMs ?? 500);
  }
}
