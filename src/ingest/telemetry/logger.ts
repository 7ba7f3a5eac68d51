import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

const CREDENTIAL_HEADERS = ['["x-api-key"]', '.authorization', '["x-sentry-auth"]', '.cookie'];
const REDACTED = ['headers', 'req.headers', 'request.headers'].flatMap((h) => CREDENTIAL_HEADERS.map((c) => `${h}${c}`));

/** Path segments that name a person: the segment after them is replaced by `:id` in logs and spans. */
const PERSONAL_SEGMENT = /(\/users\/)[^/?#]+/gi;

/**
 * A request path fit for logs: the route template when the request matched
 * one (`/api/v1/users/:id/data`), else the raw path with what follows
 * `/users/` replaced by `:id`; never the query string.
 */
export function loggablePath(url: string, route?: string): string {
  if (route) return route;
  const path = url.split('?')[0] ?? '';
  return path.replace(PERSONAL_SEGMENT, '$1:id');
}

/** Addresses cut lately: a busy service sees the same few clients on every line. */
const truncated = new Map<string, string>();

/** A client address cut to its network: IPv4 to its /24 (`203.0.113.0`), IPv6 to its /48 (`2001:db8:85a3::`). */
export function truncateIp(ip: string): string {
  let net = truncated.get(ip);
  if (net === undefined) {
    // Bounded whatever the clients: emptied when full.
    if (truncated.size >= 1_024) truncated.clear();
    net = cutIp(ip);
    truncated.set(ip, net);
  }
  return net;
}

function cutIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped?.[1] ?? (/^\d+\.\d+\.\d+\.\d+$/.test(ip) ? ip : undefined);
  if (v4) return `${v4.split('.').slice(0, 3).join('.')}.0`;
  if (!ip.includes(':')) return '[redacted]';
  const [head = '', tail] = ip.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  const net = groups.slice(0, 3).map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
  while (net.length < 3) net.push('0');
  return `${net.join(':')}::`;
}

let isoMs = Number.NaN;
let isoText = '';

/** The current time in ISO 8601 (`2024-01-15T14:30:00.123Z`): formatted once per millisecond, however many lines and events share it. */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** Fields of a log line that may carry personal data, and how each is made safe. */
const PERSONAL_FIELDS: Readonly<Record<string, (v: string) => string>> = {
  'source.ip': truncateIp,
  'client.ip': truncateIp,
  'url.path': (v) => loggablePath(v),
  // A user id has no place in a line: whoever needs one reads the database.
  'user.id': () => '[redacted]',
};

/** The line with its personal fields made safe; the same object when it has none. */
export function withoutPersonalData(obj: Record<string, unknown>): Record<string, unknown> {
  let out = obj;
  for (const field in PERSONAL_FIELDS) {
    const v = obj[field];
    if (typeof v !== 'string') continue;
    const safe = PERSONAL_FIELDS[field]!(v);
    // A value already made safe (an audit line's address) costs no copy of the line.
    if (safe === v) continue;
    if (out === obj) out = { ...obj };
    out[field] = safe;
  }
  return out;
}

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
    timestamp: () => `,"@timestamp":"${isoNow()}"`,
    base: {
      'ecs.version': '8.11.0',
      'service.name': opts.serviceName,
      'service.version': opts.serviceVersion,
      'process.pid': process.pid,
      'host.hostname': hostname(),
    },
    formatters: {
      level: (label) => ({ 'log.level': label }),
      // Every line, whoever writes it: addresses cut to their network, ids out of paths.
      log: withoutPersonalData,
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

/** The size of a write: lines wait until they fill it, or until the next flush. */
const WRITE_CHARS = 8_192;

/**
 * Lines kept as they come and handed on joined, 8 KiB at a time. Appending
 * each line to one growing string (as the writer underneath does when it
 * buffers itself) measures that string's UTF-8 length on every line: a cost
 * that grows with the buffer, about as much as writing the line.
 */
class LineBuffer implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;

  constructor(private readonly out: ReturnType<typeof pino.destination>) {}

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= WRITE_CHARS) this.drain();
  }

  flush(cb?: (err?: Error) => void): void {
    this.drain();
    this.out.flush(cb);
  }

  flushSync(): void {
    this.drain();
    this.out.flushSync();
  }

  private drain(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.out.write(text);
  }
}

/**
 * Where the service writes its lines: stdout (or `dest`), buffered. Lines are
 * written 8 KiB at a time with a plain write(2), at least every `flushMs`,
 * and at exit: a write per line, or an asynchronous write through the thread
 * pool, would cost a busy service a fifth of its CPU. A SIGKILL loses at most
 * the last second of lines (the audit rows are in the database); a stdout
 * nobody reads blocks the service, as synchronous logging does.
 */
export function logDestination(dest: number | string = 1, flushMs = 1_000): DestinationStream {
  // The writer underneath writes what it is given at once, synchronously; LineBuffer gathers the lines.
  const stream = new LineBuffer(pino.destination({ dest, sync: true, minLength: 0 }));
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
