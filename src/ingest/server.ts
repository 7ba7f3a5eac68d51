import { trace } from '@opentelemetry/api';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { EmbeddedDatabaseBusyError, openPglite } from './db.js';
import { startEmbeddedJobs, type EmbeddedJobs } from './jobs.js';
import { createLogger } from './telemetry/logger.js';
import { createTracing } from './telemetry/tracing.js';

/**
 * The service's entry point: validates the environment, builds the app,
 * listens, and on SIGTERM/SIGINT stops accepting, commits the queue, closes
 * the database and exits; a shutdown that overruns its timeout exits 1. On the
 * embedded database (no DATABASE_URL) it also runs rollup and retention on a
 * schedule, since no other process may open that database.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, serviceName: config.serviceName, serviceVersion: config.serviceVersion });
  const tracing = createTracing({
    serviceName: config.serviceName,
    serviceVersion: config.serviceVersion,
    sampleRatio: config.traceSampleRatio,
    otlpEndpoint: config.otlpEndpoint,
  });
  trace.setGlobalTracerProvider(tracing.provider);
  let embedded;
  try {
    embedded = config.databaseUrl ? undefined : await openPglite(config.dataDir);
  } catch (err) {
    if (err instanceof EmbeddedDatabaseBusyError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(75); // EX_TEMPFAIL
    }
    throw err;
  }
  // Given the database, the app does not close it: the server does, once the app and the schedule are done.
  const app = await buildApp({ config, logger, tracing, ...(embedded ? { db: embedded } : {}) });
  let jobs: EmbeddedJobs | undefined;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ 'event.action': 'shutdown', signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ 'event.action': 'shutdown' }, `shutdown took longer than ${config.shutdownTimeoutMs} ms`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    Promise.resolve(jobs?.stop())
      .then(() => app.close())
      .then(() => embedded?.close())
      .then(() => tracing.shutdown())
      .then(() => {
        logger.info({ 'event.action': 'shutdown' }, 'stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ error: err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  if (embedded && !stopping) jobs = startEmbeddedJobs(embedded, config, logger);
}

main().catch((err: unknown) => {
  process.stderr.write(`ingest service failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
