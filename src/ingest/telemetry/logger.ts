import { hostname } from 'node:os';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * pino options writing Elastic Common Schema field names (`@timestamp`,
 * `log.level`, `message`, `service.name`, `error.*`), so that Filebeat and the
 * stack's index template take the lines without a pipeline.
 */
export function ecsLoggerOptions(opts: { level: string; serviceName: string; serviceVersion: string }): LoggerOptions {
  return {
    level: opts.level,
    messageKey: 'message',
    errorKey: 'error',
    timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
    base: {
      'ecs.version': '8.11.0',
      'service.name': opts.serviceName,
      'service.version': opts.serviceVersion,
      'process.pid': process.pid,
      'host.hostname': hostname(),
    },
    formatters: {
      level: (label) => ({ 'log.level': label }),
    },
    serializers: {
      error: (err: unknown) =>
        err instanceof Error
          ? { type: err.name, message: err.message, stack_trace: err.stack, code: (err as { code?: unknown }).code }
          : err,
    },
    // Never log credentials, whatever a caller passes.
    redact: { paths: ['headers["x-api-key"]', 'headers.authorization', '*.headers["x-api-key"]', '*.headers.authorization'], censor: '[redacted]' },
  };
}

/** The service's logger; `destination` defaults to stdout. */
export function createLogger(
  opts: { level: string; serviceName: string; serviceVersion: string },
  destination?: DestinationStream,
): Logger {
  return destination ? pino(ecsLoggerOptions(opts), destination) : pino(ecsLoggerOptions(opts));
}
