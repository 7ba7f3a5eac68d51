import type { Logger } from 'pino';
import { loadConfig, type IngestConfig } from './config.js';
import { EmbeddedDatabaseBusyError, openPg, openPglite, type Database } from './db.js';
import { migrate } from './migrations.js';
import { runRetention } from './retention.js';
import { runRollup } from './rollup.js';
import { createLogger } from './telemetry/logger.js';

/** Opens the configured database and applies migrations (jobs may run before the first pod). */
export async function openConfiguredDatabase(config: IngestConfig): Promise<Database> {
  const db = config.databaseUrl
    ? openPg({ connectionString: config.databaseUrl, poolSize: 2, timeoutMs: Math.max(config.dbTimeoutMs, 60_000) })
    : await openPglite(config.dataDir);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}

const USAGE = 'usage: jobs.ts rollup [--days N] | retention';

/** Session-level advisory locks, one per job: the same job never runs twice at once on one PostgreSQL. */
export const JOB_LOCKS = { rollup: 727_276, retention: 727_277 } as const;
export type JobName = keyof typeof JOB_LOCKS;

/** Exit code of a job that refused to run because another process holds what it needs (EX_TEMPFAIL). */
export const EXIT_BUSY = 75;

/** The job is already running elsewhere (another job process holds its advisory lock). */
export class JobBusyError extends Error {
  readonly code = 'JOB_BUSY';
  constructor(readonly job: JobName) {
    super(`the ${job} job is already running against this database (advisory lock ${JOB_LOCKS[job]} is held); try again when it has finished`);
    this.name = 'JobBusyError';
  }
}

/** The projects of the configured keys: each gets its rollup rows even on a day it sent nothing. */
export const keyProjects = (config: Pick<IngestConfig, 'apiKeys'>): string[] => [...new Set(config.apiKeys.map((k) => k.project))].sort();

/** Runs one job on an open database; the embedded database's lock file already keeps everyone else out. */
async function runOn(db: Database, job: JobName, config: IngestConfig, days: number): Promise<Record<string, unknown>> {
  return job === 'rollup' ? runRollup(db, { days, projects: keyProjects(config) }) : runRetention(db, config);
}

/**
 * Runs one job; the CronJobs call `tsx src/ingest/jobs.ts rollup` and `… retention`.
 * On PostgreSQL it holds the job's advisory lock for the whole run (JobBusyError when
 * another run holds it); on the embedded database it refuses with
 * EmbeddedDatabaseBusyError while the service (or another job) has the database open.
 */
export async function runJob(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const [job, ...rest] = argv;
  if (job !== 'rollup' && job !== 'retention') throw new Error(USAGE);
  let days = 2;
  if (job === 'rollup') {
    const i = rest.indexOf('--days');
    days = i >= 0 ? Number(rest[i + 1]) : 2;
    if (!Number.isInteger(days) || days < 1 || days > 400) throw new Error(`--days must be an integer from 1 to 400, got ${rest[i + 1]}`);
  }
  const config = loadConfig(env);
  const db = await openConfiguredDatabase(config);
  try {
    if (db.kind === 'pglite') return await runOn(db, job, config, days);
    return await db.session(async (conn) => {
      const { rows } = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [JOB_LOCKS[job]]);
      if (rows[0]?.ok !== true) throw new JobBusyError(job);
      try {
        return await runOn(db, job, config, days);
      } finally {
        await conn.query('SELECT pg_advisory_unlock($1)', [JOB_LOCKS[job]]).catch(() => {});
      }
    });
  } finally {
    await db.close();
  }
}

/** The in-service schedule of the embedded mode. */
export interface EmbeddedJobs {
  /** Resolves once the run under way (if any) has finished; no run starts after. */
  stop(): Promise<void>;
}

/**
 * Runs rollup (today and yesterday) and retention inside the service, for
 * the embedded database that no other process may open: both once at start,
 * then every `rollupIntervalSeconds` and `retentionIntervalSeconds`. Runs
 * never overlap: a tick that comes while a run is under way is skipped.
 * A failed run is logged and tried again at the next tick.
 */
export function startEmbeddedJobs(db: Database, config: IngestConfig, logger: Logger): EmbeddedJobs {
  let running: Promise<void> | undefined;
  let stopped = false;
  const run = (job: JobName): void => {
    if (stopped || running) {
      if (running) logger.debug({ 'event.action': `job.${job}` }, `${job} skipped: a run is under way`);
      return;
    }
    const started = Date.now();
    running = runOn(db, job, config, 2)
      .then(
        (result) =>
          logger.info({ 'event.action': `job.${job}`, 'event.outcome': 'success', 'event.duration': (Date.now() - started) * 1e6, job: result }, `${job} done`),
        (err: unknown) => logger.error({ 'event.action': `job.${job}`, 'event.outcome': 'failure', error: err }, `${job} failed`),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timers = [
    setInterval(() => run('rollup'), config.rollupIntervalSeconds * 1_000),
    setInterval(() => run('retention'), config.retentionIntervalSeconds * 1_000),
  ];
  for (const t of timers) t.unref();
  // Retention first, so that the first rollup does not count what retention is about to delete.
  running = runOn(db, 'retention', config, 2)
    .then(() => runOn(db, 'rollup', config, 2))
    .then(
      () => logger.info({ 'event.action': 'job.embedded', 'event.outcome': 'success' }, 'rollup and retention run in the service (embedded database)'),
      (err: unknown) => logger.error({ 'event.action': 'job.embedded', 'event.outcome': 'failure', error: err }, 'first rollup or retention failed'),
    )
    .finally(() => {
      running = undefined;
    });
  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await running;
    },
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const config = (() => {
    try {
      return loadConfig(process.env);
    } catch {
      return undefined;
    }
  })();
  const logger = createLogger({ level: config?.logLevel ?? 'info', serviceName: config?.serviceName ?? 'obstack-ingest', serviceVersion: config?.serviceVersion ?? '0.1.0' });
  const job = process.argv[2] ?? '';
  runJob(process.argv.slice(2))
    .then((result) => {
      logger.info({ 'event.action': `job.${job}`, 'event.outcome': 'success', job: result }, `${job} done`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      const busy = err instanceof EmbeddedDatabaseBusyError || err instanceof JobBusyError;
      logger.error({ 'event.action': `job.${job}`, 'event.outcome': 'failure', 'event.reason': busy ? 'busy' : undefined, error: err }, `${job} failed`);
      // Said on stderr too: whoever runs the job by hand reads that, not the JSON lines.
      process.stderr.write(`${job || 'job'}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(busy ? EXIT_BUSY : 1);
    });
}
