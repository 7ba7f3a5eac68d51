import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

const CREDENTIAL_HEADERS = ['["x-api-key"]', '.authorization', '["x-sentry-auth"]', '.cookie'];
const REDACTED = ['headers', 'req.headers', 'request.headers'].flatMap((h) => CREDENTIAL_HEADERS.map((c) => `${h}${c}`));

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
    // Never log credentials, whatever a caller passes. No path starts with a wildcard: pino
    // would then run the redaction over the bindings of every per-request child logger.
    redact: { paths: REDACTED, censor: '[redacted]' },
  };
}

/** Buffered destinations, flushed when the process exits however it exits (but by a signal it does not handle). */
const buffered = new Set<{ flushSync(): void }>();

/**
 * Where the service writes its lines: stdout (or `dest`), buffered. Lines are
 * written 8 KiB at a time with a plain write(2), at least every `flushMs`,
 * and at exit: a write per line, or an asynchronous write through the thread
 * pool, would cost a busy service a fifth of its CPU. A SIGKILL loses at most
 * the last second of lines (the audit rows are in the database); a stdout
 * nobody reads blocks the service, as synchronous logging does.
 */
export function logDestination(dest: number | string = 1, flushMs = 1_000): DestinationStream {
  const stream = pino.destination({ dest, sync: true, minLength: 8_192 });
  setInterval(() => stream.flush(), flushMs).unref();
  if (buffered.size === 0) {
    process.once('exit', () => {
      for (const s of buffered) {
        try {
          s.flushSync();
        } catch {
          // nothing left to tell it to
        }
      }
    });
  }
  buffered.add(stream);
  return stream;
}

let stdout: DestinationStream | undefined;

/** The process's one buffered stdout destination. */
export function stdoutDestination(): DestinationStream {
  return (stdout ??= logDestination(1));
}

/** The service's logger; `destination` defaults to buffered stdout. */
export function createLogger(
  opts: { level: string; serviceName: string; serviceVersion: string },
  destination: DestinationStream = stdoutDestination(),
): Logger {
  return pino(ecsLoggerOptions(opts), destination);
}

/** False when the logger drops lines of `level`, so that callers skip building them. */
export function levelEnabled(log: FastifyBaseLogger, level: 'debug' | 'info'): boolean {
  return (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled?.(level) ?? true;
}
