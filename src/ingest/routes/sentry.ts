import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IngestApp, IngestContext } from '../context.js';
import { commitErrorReports, errorService } from '../error-groups.js';
import { customFingerprint, fingerprint } from '../fingerprint.js';
import { PROJECT_NAME } from '../config.js';
import { HttpError } from '../http/errors.js';
import { ErrorReply } from '../http/schemas.js';
import { decodeBody, headerValue, itemJson, parseEnvelope, sentryKey, type Envelope } from '../http/sentry-envelope.js';
import { QueueRefusedError } from '../write-queue.js';

// Sentry events come in many shapes across SDKs and versions: a field of an
// unexpected type is ignored (`catch`), never a reason to refuse the event.
const str = z.string().optional().catch(undefined);
const int = z.number().int().optional().catch(undefined);

const Frame = z.looseObject({ function: str, filename: str, abs_path: str, module: str, lineno: int, colno: int });
type Frame = z.output<typeof Frame>;

const Exception = z.looseObject({
  type: str,
  value: str,
  stacktrace: z.looseObject({ frames: z.array(Frame).catch([]) }).optional().catch(undefined),
  mechanism: z.looseObject({ synthetic: z.boolean().optional().catch(undefined) }).optional().catch(undefined),
});
type Exception = z.output<typeof Exception>;

const LogEntry = z.looseObject({ formatted: str, message: str });

/** The fields of a Sentry event (https://develop.sentry.dev/sdk/data-model/event-payloads/) that an error report keeps. */
const SentryEvent = z.looseObject({
  event_id: str,
  timestamp: z.union([z.number(), z.string()]).optional().catch(undefined),
  level: str,
  release: str,
  environment: str,
  message: z.union([z.string(), LogEntry]).optional().catch(undefined),
  logentry: LogEntry.optional().catch(undefined),
  // Old SDKs send the list itself rather than `{ values }`.
  exception: z
    .union([z.looseObject({ values: z.array(Exception).catch([]) }), z.array(Exception).transform((values) => ({ values }))])
    .optional()
    .catch(undefined),
  user: z.looseObject({ id: z.union([z.string(), z.number()]).optional().catch(undefined) }).optional().catch(undefined),
  tags: z
    .union([z.record(z.string(), z.unknown()), z.array(z.tuple([z.string(), z.unknown()]))])
    .optional()
    .catch(undefined),
  fingerprint: z.array(z.union([z.string(), z.number()])).optional().catch(undefined),
});
export type SentryEvent = z.output<typeof SentryEvent>;

const Params = z.strictObject({
  projectId: z.string().regex(PROJECT_NAME, "must be the project id of the DSN (the key's sentryProjectId) or the key's project"),
});
const Reply = z.strictObject({ id: z.string().optional() });

/** Item types counted by name in `ingest_sentry_items_total`; any other is counted as `other`, so clients cannot grow the label set. */
const ITEM_TYPES = new Set([
  'event', 'transaction', 'session', 'sessions', 'client_report', 'attachment', 'check_in', 'user_report', 'feedback',
  'profile', 'profile_chunk', 'replay_event', 'replay_recording', 'span', 'log', 'otel_log', 'statsd', 'metric_buckets', 'trace_metric', 'raw_security',
]);
const MAX_FRAMES = 50;
const MAX_TAGS = 100;
const LEVELS: Record<string, string> = { fatal: 'fatal', critical: 'fatal', error: 'error', warning: 'warning', warn: 'warning', info: 'info', log: 'info', debug: 'debug' };

/** NUL and lone surrogates (a high one without its low one, or a low one alone). */
const NOT_STORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A string PostgreSQL text and jsonb store exactly, at most `max` characters:
 * SDK data is cleaned and trimmed, not refused (an SDK drops what is refused).
 * NUL and lone surrogates become U+FFFD; a cut never leaves half a pair.
 */
function clean(s: string, max: number): string {
  return s.slice(0, max).replace(NOT_STORABLE, '\ufffd');
}

/** Sentry's event id (32 hex digits, or a UUID with dashes) as a uuid; anything else is not an id. */
function eventUuid(id: string | undefined): string | null {
  const hex = id?.replaceAll('-', '').toLowerCase();
  return hex !== undefined && /^[0-9a-f]{32}$/.test(hex) ? hex : null;
}

const opt = (s: string | undefined, max: number) => (s === undefined || s === '' ? null : clean(s, max));

/** Sentry sends seconds since the epoch (a float) or an RFC 3339 string, which it reads as UTC when it has no zone. */
function eventTime(ts: number | string | undefined, received: Date): string {
  let ms = Number.NaN;
  if (typeof ts === 'number') ms = ts * 1000;
  else if (typeof ts === 'string') ms = /^\d+(\.\d+)?$/.test(ts) ? Number(ts) * 1000 : Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(ts) ? ts : `${ts}Z`);
  // A clock far ahead (or garbage) would put the report out of every time window: take the receive time, as Relay does.
  if (!Number.isFinite(ms) || ms < 0 || ms > received.getTime() + 60_000) return received.toISOString();
  return new Date(ms).toISOString();
}

/** One frame as V8 prints it, so that topFrames() reads a Sentry stack as it reads `err.stack`. */
function frameLine(f: Frame): string {
  const file = f.filename ?? f.abs_path ?? f.module ?? '<unknown>';
  const at = f.lineno !== undefined ? `${file}:${f.lineno}${f.colno !== undefined ? `:${f.colno}` : ''}` : file;
  // Sentry's parser turns V8's `<anonymous>` method name into `?`.
  const fn = f.function === undefined || f.function === '?' ? undefined : f.function.replace(/\.\?$/, '.<anonymous>');
  return fn ? `    at ${fn} (${at})` : `    at ${at}`;
}

/** An exception as V8 prints it: `Type: value`, then its frames innermost first (Sentry lists them oldest first). */
function exceptionText(ex: Exception): string {
  const type = ex.type ?? 'Error';
  const frames = (ex.stacktrace?.frames ?? []).slice(-MAX_FRAMES).reverse();
  return [ex.value ? `${type}: ${ex.value}` : type, ...frames.map(frameLine)].join('\n');
}

function messageText(e: SentryEvent): string | undefined {
  const m = e.message;
  return e.logentry?.formatted ?? e.logentry?.message ?? (typeof m === 'string' ? m : (m?.formatted ?? m?.message));
}

function tagsOf(tags: SentryEvent['tags']): Record<string, string> {
  const entries = Array.isArray(tags) ? tags : Object.entries(tags ?? {});
  const kept: [string, string][] = [];
  for (const [k, v] of entries) {
    if (kept.length >= MAX_TAGS) break;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') kept.push([clean(k, 64), clean(String(v), 256)]);
  }
  // fromEntries defines own properties, so a tag named __proto__ is kept as data.
  return Object.fromEntries(kept);
}

/**
 * A Sentry event as a row of `error_events` (TABLES column order). The
 * exception is the last of `exception.values` (the earlier ones are its
 * causes, kept in the stack text as `Caused by:`); its frames are rendered
 * as a V8 stack, innermost first, so the fingerprint is the one
 * `POST /api/v1/errors` gives the same error's `err.stack`. An event without
 * an exception (captureMessage, whose exception is only `synthetic`) is
 * stored with type `message` and grouped by its text.
 */
export function sentryRow(e: SentryEvent, actor: string, project: string, received: Date): unknown[] {
  const values = e.exception?.values ?? [];
  const primary = values.at(-1);
  const isMessage = primary === undefined || (primary.mechanism?.synthetic === true && primary.type === undefined);
  const type = isMessage ? 'message' : clean(primary.type ?? 'Error', 256);
  const message = clean((isMessage ? (messageText(e) ?? primary?.value) : (primary.value ?? messageText(e))) ?? '', 8_192);
  let stack: string | null = null;
  let fp: string;
  if (isMessage) {
    fp = fingerprint(type, message);
  } else {
    const own = clean(exceptionText(primary), 65_536);
    fp = fingerprint(type, message, own);
    const causes = values.slice(0, -1).reverse().map((c) => `Caused by: ${exceptionText(c)}`);
    stack = clean([own, ...causes].join('\n'), 65_536);
  }
  if (e.fingerprint && e.fingerprint.length > 0) fp = customFingerprint(e.fingerprint.map((p) => clean(String(p), 256)), fp);
  const userId = e.user?.id;
  return [
    fp,
    type,
    message,
    stack,
    opt(e.release, 128),
    opt(e.environment, 64),
    LEVELS[e.level ?? ''] ?? (isMessage ? 'info' : 'error'),
    userId === undefined ? null : opt(String(userId), 256),
    tagsOf(e.tags),
    eventTime(e.timestamp, received),
    actor,
    eventUuid(e.event_id),
    project,
  ];
}

const rawBody = (body: unknown) => (Buffer.isBuffer(body) ? body : Buffer.alloc(0));

/**
 * Refuses with 403 a Sentry request whose path names a project other than the
 * key's: its `sentryProjectId` or its project name. It runs once the key is
 * known and before the body is read, so a refused envelope is neither stored
 * nor decompressed. The answer names only what the key itself holds.
 */
export function checkSentryProject(request: FastifyRequest<{ Params: { projectId?: string } }>): void {
  const principal = request.principal;
  if (!principal) return;
  const asked = String(request.params.projectId ?? '');
  if (asked === principal.project || (principal.sentryProjectId !== undefined && asked === principal.sentryProjectId)) return;
  const shown = JSON.stringify(asked.slice(0, 64));
  const message =
    principal.sentryProjectId === undefined
      ? `params.projectId: this key belongs to project ${principal.project} and has no sentryProjectId, got ${shown}: post to /api/${principal.project}/envelope/, or give the key a sentryProjectId (Sentry SDKs need a numeric project id in the DSN)`
      : `params.projectId: this key belongs to project ${principal.project}: the DSN's project id must be ${principal.sentryProjectId} (or the project's name), got ${shown}`;
  throw new HttpError(403, 'wrong_project', message, [{ path: 'params.projectId', message: message.slice('params.projectId: '.length) }]);
}

/**
 * Sentry SDK ingestion: `POST /api/:projectId/envelope/` (what every current
 * SDK posts to, built from the DSN `http://<key>@host/<projectId>`) and the
 * older `POST /api/:projectId/store/` (one JSON event). The DSN public key is
 * an API key with the `ingest` scope; the project id must be the key's
 * `sentryProjectId` (or its project's name), and the events are stored in the
 * key's project. Events become rows of `error_events`; every other item type
 * is accepted and counted, never refused, so SDKs neither retry nor drop.
 */
export function registerSentryRoutes(app: IngestApp, ctx: IngestContext): void {
  const store = async (request: FastifyRequest, events: readonly SentryEvent[], items: readonly string[], id: string | undefined) => {
    if (ctx.state.closing) throw new QueueRefusedError('closed');
    const { name: actor, project } = request.principal!;
    const received = new Date();
    const reports = events.map((e) => {
      const row = sentryRow(e, actor, project, received);
      return { row, service: errorService(row[8] as Record<string, string>, actor) };
    });
    if (reports.length > 0) {
      await commitErrorReports(ctx, request, reports, { action: 'errors.report', resourceType: 'error_events', metadata: { count: reports.length, source: 'sentry' } });
    }
    for (const type of items) {
      ctx.metrics.sentryItems.inc({ type: ITEM_TYPES.has(type) ? type : 'other', outcome: type === 'event' ? 'stored' : 'ignored' });
    }
    const eventId = id ?? events[0]?.event_id ?? (events.length > 0 ? randomUUID().replaceAll('-', '') : undefined);
    return eventId === undefined ? {} : { id: clean(eventId, 64) };
  };

  void app.register(async (child) => {
    // SDKs send envelopes with no content type, application/x-sentry-envelope or text/plain, some gzipped:
    // here every body is read as bytes (within the body limit); the other routes stay JSON only.
    child.removeAllContentTypeParsers();
    child.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    const schema = { params: Params, response: { 200: Reply, '4xx': ErrorReply, '5xx': ErrorReply } };
    const otherKey = (request: FastifyRequest) => sentryKey(request.headers, request.query);
    // After the app's own onRequest hook, which has recognised the key (or refused the request).
    const sentryProject = (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
      try {
        checkSentryProject(request as FastifyRequest<{ Params: { projectId?: string } }>);
      } catch (err) {
        done(err as Error);
        return;
      }
      done();
    };

    const envelope = async (request: FastifyRequest, reply: FastifyReply) => {
      let parsed: Envelope | undefined;
      let problem: unknown;
      try {
        parsed = parseEnvelope(await decodeBody(rawBody(request.body), headerValue(request.headers['content-encoding']), ctx.config.bodyLimitBytes));
      } catch (err) {
        problem = err;
      }
      // The key was checked on the headers and query before the body was read; a key only in the envelope's `dsn` is not enough.
      if (problem !== undefined || parsed === undefined) throw problem;
      const events = parsed.items.flatMap((item, i) => (item.type === 'event' ? [SentryEvent.parse(itemJson(item, i))] : []));
      const id = parsed.header['event_id'];
      return store(request, events, parsed.items.map((item) => item.type), typeof id === 'string' ? id : undefined);
    };
    for (const url of ['/api/:projectId/envelope/', '/api/:projectId/envelope']) {
      child.post(url, { config: { scope: 'ingest', otherKey }, schema, onRequest: sentryProject }, envelope);
    }

    const legacy = async (request: FastifyRequest) => {
      const body = await decodeBody(rawBody(request.body), headerValue(request.headers['content-encoding']), ctx.config.bodyLimitBytes);
      let value: unknown;
      try {
        value = JSON.parse(body.toString('utf8'));
      } catch {
        throw new HttpError(400, 'invalid_json', 'the body is not a valid JSON event');
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'invalid_json', 'the body must be a JSON object (one event)');
      return store(request, [SentryEvent.parse(value)], ['event'], undefined);
    };
    for (const url of ['/api/:projectId/store/', '/api/:projectId/store']) {
      child.post(url, { config: { scope: 'ingest', otherKey }, schema, onRequest: sentryProject }, legacy);
    }
  });
}
