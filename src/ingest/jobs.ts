import { loadConfig, type IngestConfig } from './config.js';
import { openPg, openPglite, type Database } from './db.js';
import { migrate } from './migrations.js';
import { runRetention } from './retention.js';
import { runRollup } from './rollup.js';
import { createLogger } from './telemetry/logger.js';

/** Opens the configured database and applies migrations (jobs may run before the first pod). */
export async function openConfiguredDatabase(config: IngestConfig): Promise<Database> {
  const db = config.databaseUrl
    ? openPg({ connectionString: config.databaseUrl, poolSize: 2, timeoutMs: Math.max(config.dbTimeoutMs, 60_000) })
    : await openPglite(config.dataDir);
  await migrate(db);
  return db;
}

const USAGE = 'usage: jobs.ts rollup [--days N] | retention';

/** Runs one job; the CronJobs call `tsx src/ingest/jobs.ts rollup` and `… retention`. */
export async function runJob(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const [job, ...rest] = argv;
  if (job !== 'rollup' && job !== 'retention') throw new Error(USAGE);
  const config = loadConfig(env);
  const db = await openConfiguredDatabase(config);
  try {
    if (job === 'rollup') {
      const i = rest.indexOf('--days');
      const days = i >= 0 ? Number(rest[i + 1]) : 2;
      if (!Number.isInteger(days) || days < 1 || days > 400) throw new Error(`--days must be an integer from 1 to 400, got ${rest[i + 1]}`);
      return await runRollup(db, { days });
    }
    return await runRetention(db, config);
  } finally {
    await db.close();
  }
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
      logger.error({ 'event.action': `job.${job}`, 'event.outcome': 'failure', error: err }, `${job} failed`);
      process.exit(1);
    });
}
