import { trace } from '@opentelemetry/api';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './telemetry/logger.js';
import { createTracing } from './telemetry/tracing.js';

/**
 * The service's entry point: validates the environment, builds the app,
 * listens, and on SIGTERM/SIGINT stops accepting, commits the queue, closes
 * the database and exits; a shutdown that overruns its timeout exits 1.
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
  const app = await buildApp({ config, logger, tracing });

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
    app
      .close()
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
}

main().catch((err: unknown) => {
  process.stderr.write(`ingest service failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
