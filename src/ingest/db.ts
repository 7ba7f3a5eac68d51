import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { PGlite as PGliteType } from '@electric-sql/pglite';

/** What both drivers offer: parameterised queries returning plain rows. */
export interface Queryable {
  /**
   * `name` makes it a prepared statement, parsed and planned once per
   * connection: give it only to a statement whose text never changes for that name.
   */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], name?: string): Promise<{ rows: R[]; rowCount: number }>;
}

/** A PostgreSQL database, either a `pg` pool or an embedded PGlite. */
export interface Database extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** How many transactions may usefully run at once. */
  readonly maxConcurrency: number;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` on one connection held throughout (session-level advisory locks); PGlite has only one. */
  session<T>(fn: (conn: Queryable) => Promise<T>): Promise<T>;
  /** True when `SELECT 1` answers within `timeoutMs`. */
  ping(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The database did not answer or refused the work; callers answer 503. */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DB_UNAVAILABLE';
  constructor(cause: unknown) {
    super('database unavailable', { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * Errors that say the database is unreachable or unwilling (no SQLSTATE, or
 * classes 08 connection, 40 rollback, 53 resources, 57 operator intervention,
 * 58 system) become DatabaseUnavailableError; errors about the statement or
 * its data stay as they are.
 */
export function classifyDbError(err: unknown): unknown {
  if (err instanceof DatabaseUnavailableError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|40|53|57|58)/.test(code)) return err;
  return new DatabaseUnavailableError(err);
}

async function classified<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw classifyDbError(err);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface PgOptions {
  readonly connectionString: string;
  readonly poolSize: number;
  readonly timeoutMs: number;
  /** Called when an idle connection breaks (the server went away). */
  readonly onIdleError?: (err: Error) => void;
}

/** A `pg` pool. Broken idle connections are dropped and replaced on next use. */
export function openPg(opts: PgOptions): Database {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.poolSize,
    connectionTimeoutMillis: opts.timeoutMs,
    idleTimeoutMillis: 30_000,
    // statement_timeout is enforced by the server, query_timeout by the client when the server is gone.
    statement_timeout: opts.timeoutMs,
    query_timeout: opts.timeoutMs + 1_000,
    application_name: 'obstack-ingest',
  });
  pool.on('error', (err) => opts.onIdleError?.(err));
  const run = async <R>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[], name?: string) => {
    const res = await client.query({ name, text: sql, values: params as unknown[] | undefined });
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  };
  return {
    kind: 'pg',
    maxConcurrency: opts.poolSize,
    query: (sql, params, name) => classified(run(pool, sql, params, name)),
    async exec(sql) {
      await classified(pool.query(sql));
    },
    async transaction(fn) {
      const client = await classified(pool.connect());
      let broken = false;
      let inner = false;
      // A checked-out connection that the server drops emits 'error' on the client,
      // not the pool; unheard, it would end the process. The failing query reports it.
      const onError = (): void => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        inner = true;
        const result = await fn({ query: (sql, params, name) => classified(run(client, sql, params, name)) });
        inner = false;
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        // Errors of the caller's own code pass through; the driver's are classified.
        throw inner ? err : classifyDbError(err);
      } finally {
        // A connection whose ROLLBACK failed, or that broke, is not reused.
        client.off('error', onError);
        client.release(broken);
      }
    },
    async session(fn) {
      const client = await classified(pool.connect());
      // A break while held is reported by the failing query; unheard, 'error' would end the process.
      const onError = (): void => {};
      client.on('error', onError);
      try {
        return await fn({ query: (sql, params, name) => classified(run(client, sql, params, name)) });
      } finally {
        client.off('error', onError);
        // Discarded, so that session state (advisory locks, settings) never reaches the next user of the connection.
        client.release(true);
      }
    },
    async ping(timeoutMs) {
      try {
        await withTimeout(pool.query('SELECT 1'), timeoutMs);
        return true;
      } catch {
        return false;
      }
    },
    close: () => pool.end(),
  };
}

/** The embedded database is open in another live process; opening it too would corrupt it. */
export class EmbeddedDatabaseBusyError extends Error {
  readonly code = 'EMBEDDED_DB_BUSY';
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${holderPid} (see ${join(dataDir, LOCK_FILE)}); ` +
        'only one process may open it: stop that process first (the service runs rollup and retention itself in the embedded mode)',
    );
    this.name = 'EmbeddedDatabaseBusyError';
  }
}

/** The file in an embedded data folder naming the process that has it open. */
export const LOCK_FILE = 'obstack-ingest.lock';

/** Lock files this process holds, removed at exit however it exits (but by a signal it does not handle). */
const heldLocks = new Set<string>();

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Takes the data folder's lock file (created exclusively, holding our PID).
 * A lock whose process no longer exists, or that names our own PID without
 * this process holding it (a restarted container is PID 1 again), is stale
 * and taken over. Returns the function that releases it.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  if (heldLocks.has(path)) throw new EmbeddedDatabaseBusyError(dataDir, process.pid);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      let holder = NaN;
      try {
        holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch {
        // removed meanwhile: try again
      }
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
        throw new EmbeddedDatabaseBusyError(dataDir, holder);
      }
      unlinkSync(path);
    }
  }
  if (heldLocks.size === 0) process.once('exit', () => heldLocks.forEach((p) => unlinkQuietly(p)));
  heldLocks.add(path);
  return () => {
    if (heldLocks.delete(path)) unlinkQuietly(path);
  };
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * An embedded PGlite, in `dataDir` or in memory (`memory://`). On disk it
 * holds the folder's lock file until closed: a second process (the job, a
 * second server) is refused with EmbeddedDatabaseBusyError rather than
 * opening the same files.
 */
export async function openPglite(dataDir: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  const unlock = inMemory ? () => {} : lockDataDir(dataDir);
  let db: PGliteType;
  try {
    db = await PGlite.create(inMemory ? undefined : dataDir);
  } catch (err) {
    unlock();
    throw err;
  }
  let closed = false;
  const run = async <R>(q: Pick<PGliteType, 'query'>, sql: string, params?: readonly unknown[]) => {
    const res = await q.query<R>(sql, params as unknown[] | undefined);
    return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
  };
  return {
    kind: 'pglite',
    maxConcurrency: 1,
    query: (sql, params) => classified(run(db, sql, params)),
    async exec(sql) {
      await classified(db.exec(sql));
    },
    async transaction(fn) {
      let inner: { err: unknown } | undefined;
      try {
        return await db.transaction(async (tx) => {
          try {
            return await fn({ query: (sql, params) => classified(run(tx, sql, params)) });
          } catch (err) {
            inner = { err };
            throw err;
          }
        });
      } catch (err) {
        throw inner && inner.err === err ? err : classifyDbError(err);
      }
    },
    session: (fn) => fn({ query: (sql, params) => classified(run(db, sql, params)) }),
    async ping(timeoutMs) {
      if (closed) return false;
      try {
        await withTimeout(db.query('SELECT 1'), timeoutMs);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await db.close();
      } finally {
        unlock();
      }
    },
  };
}
