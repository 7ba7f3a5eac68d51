import { randomUUID } from 'node:crypto';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { RefusalAudit, auditRow, logAudit, type AuditEntry } from './audit.js';
import type { IngestConfig, Scope } from './config.js';
import type { IngestApp, IngestContext } from './context.js';
import { DatabaseUnavailableError, openPg, openPglite, type Database } from './db.js';
import { ApiKeyStore, RateLimiter, authorize, presentedKey, type Principal } from './http/auth.js';
import { JaegerClient } from './jaeger-client.js';
import { KeyFileWatcher } from './keys.js';
import { PrometheusClient, type PrometheusQuerier } from './prometheus-client.js';
import { HttpError } from './http/errors.js';
import { zodSerializerCompiler, zodValidatorCompiler, type ZodTypeProvider } from './http/zod-provider.js';
import { migrate } from './migrations.js';
import { registerAlertInstanceRoutes } from './routes/alert-instances.js';
import { registerAlertRoutes } from './routes/alerts.js';
import { registerAnalyticsRoutes } from './routes/analytics.js';
import { registerErrorRoutes } from './routes/errors.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMetricRoutes } from './routes/metrics.js';
import { registerSentryRoutes } from './routes/sentry.js';
import { registerTraceRoutes } from './routes/traces.js';
import { registerUserRoutes } from './routes/users.js';
import { BusinessKpis, CustomMetrics } from './telemetry/custom-metrics.js';
import { createLogger, levelEnabled, loggablePath } from './telemetry/logger.js';
import { ServiceMetrics } from './telemetry/service-metrics.js';
import { createTracing, parseTraceparent, type Tracing } from './telemetry/tracing.js';
import { QueueRefusedError, WriteQueue } from './write-queue.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope an API key needs for this route; routes without one are public (health, metrics). */
    scope?: Scope;
    /** Where else this route's callers may present their key (Sentry SDKs: `X-Sentry-Auth`, `?sentry_key=`); headers and query only, never the body. */
    otherKey?: (request: FastifyRequest) => string | undefined;
  }
  interface FastifyRequest {
    principal: Principal | null;
    span: Span | null;
    /** The trace the request belongs to: its caller's, or its own span's; null when neither. */
    traceId: string | null;
    /** Why the request was refused, for the audit entry. */
    refusal: string | null;
  }
}

export interface BuildAppOptions {
  readonly config: IngestConfig;
  /** A database to use instead of opening one from the config; the app does not close it. */
  readonly db?: Database;
  /** A pino logger; default: ECS JSON on stdout (or on `logStream`). */
  readonly logger?: Logger;
  readonly logStream?: DestinationStream;
  readonly tracing?: Tracing;
  /** Check every reply against its declared schema (tests). @default false */
  readonly checkReplies?: boolean;
  /** Expose the process and Node.js default metrics. @default true */
  readonly defaultMetrics?: boolean;
  /** Clients of Jaeger's and Prometheus's query APIs to use instead of those the config names (tests). */
  readonly jaeger?: JaegerClient;
  readonly prometheus?: PrometheusQuerier;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Correlation id: the caller's trace id, else its x-request-id, else a new one. */
function correlationId(headers: Record<string, string | string[] | undefined>): string {
  const tp = headers['traceparent'];
  const parent = typeof tp === 'string' ? parseTraceparent(tp) : undefined;
  if (parent) return parent.traceId;
  const rid = headers['x-request-id'];
  if (typeof rid === 'string' && REQUEST_ID.test(rid)) return rid;
  return randomUUID();
}

const FRAMEWORK_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

/**
 * Builds the ingest/analytics service as a Fastify app: opens (or takes) the
 * database and applies the migrations, but does not listen; `server.ts` does.
 * Closing the app commits what is queued and closes what it opened.
 */
export async function buildApp(opts: BuildAppOptions): Promise<IngestApp> {
  const { config } = opts;
  const logger =
    opts.logger ??
    createLogger({ level: config.logLevel, serviceName: config.serviceName, serviceVersion: config.serviceVersion }, opts.logStream);
  const ownsDb = !opts.db;
  const db: Database =
    opts.db ??
    (config.databaseUrl
      ? openPg({
          connectionString: config.databaseUrl,
          poolSize: config.dbPoolSize,
          timeoutMs: config.dbTimeoutMs,
          onIdleError: (err) => logger.warn({ error: err }, 'database connection lost'),
        })
      : await openPglite(config.dataDir));
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ 'migrations.applied': applied }, 'database migrated');
  } catch (err) {
    if (ownsDb) await db.close().catch(() => {});
    throw err;
  }
  const ownsTracing = !opts.tracing;
  const tracing =
    opts.tracing ??
    createTracing({
      serviceName: config.serviceName,
      serviceVersion: config.serviceVersion,
      sampleRatio: config.traceSampleRatio,
      otlpEndpoint: config.otlpEndpoint,
    });

  let queue: WriteQueue | undefined;
  const metrics = new ServiceMetrics({
    defaultMetrics: opts.defaultMetrics ?? true,
    queueDepth: () => queue?.depth ?? 0,
    databaseUp: () => db.ping(1_000),
  });
  queue = new WriteQueue(db, {
    maxRows: config.queueMaxRows,
    flushMaxRows: config.flushMaxRows,
    concurrency: config.flushConcurrency,
    onFlush: ({ rows, seconds, ok }) => {
      metrics.dbWriteDuration.observe({ outcome: ok ? 'success' : 'failure' }, seconds);
      if (ok) metrics.dbWriteRows.observe(rows);
    },
    onError: (err) => logger.error({ error: err }, 'database write failed'),
  });
  const ctx: IngestContext = {
    config,
    db,
    queue,
    metrics,
    customMetrics: new CustomMetrics({ maxSeries: config.metricsMaxSeriesPerMetric, maxMetrics: config.metricsMaxMetrics }, (reason) =>
      metrics.customMetricRefused.inc({ reason }),
    ),
    kpis: new BusinessKpis(config.metricsMaxSeriesPerMetric, (reason) => metrics.customMetricRefused.inc({ reason })),
    keys: new ApiKeyStore(config.apiKeys),
    limiter: new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst),
    prometheus: opts.prometheus ?? (config.prometheusUrl ? new PrometheusClient(config.prometheusUrl, { timeoutMs: config.prometheusTimeoutMs }) : undefined),
    state: { closing: false },
  };

  /** Audit rows outside a write's own transaction (refusals, key changes): best effort, only a log line while storage refuses writes. */
  const writeAudit = (entries: AuditEntry[]): void => {
    if (entries.length > 0 && !ctx.queue.isFull) ctx.queue.enqueue({ audit_log: entries.map(auditRow) }).catch(() => {});
  };
  const sourceLimiter = new RateLimiter(config.sourceRateLimitPerSecond, config.sourceRateLimitBurst);
  const refusals = new RefusalAudit(writeAudit, logger);
  const keyWatcher = config.apiKeysFile
    ? new KeyFileWatcher({
        file: config.apiKeysFile,
        store: ctx.keys,
        log: logger,
        audit: (entries) => {
          for (const e of entries) logAudit(logger, e);
          writeAudit(entries);
        },
        onReload: (outcome) => metrics.keyReloads.inc({ outcome }),
      })
    : undefined;
  await keyWatcher?.start();

  const app = Fastify({
    loggerInstance: logger,
    logController: new Fastify.LogController({ disableRequestLogging: true, requestIdLogLabel: 'http.request.id' }),
    genReqId: (req) => correlationId(req.headers),
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.requestTimeoutMs,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // The nearest `trustProxyHops` addresses of X-Forwarded-For are proxies; the next one is the client's.
    trustProxy: config.trustProxyHops > 0 ? (_address: string, hop: number) => hop < config.trustProxyHops : false,
    routerOptions: { maxParamLength: 256 },
  }).withTypeProvider<ZodTypeProvider>();

  // The API speaks JSON only; a text/plain body is refused with 415 rather than validated as a string.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(zodSerializerCompiler(opts.checkReplies ?? false));
  app.decorateRequest('principal', null);
  app.decorateRequest('span', null);
  app.decorateRequest('traceId', null);
  app.decorateRequest('refusal', null);

  /** Correlation id, server span, and the key, scope and rate checks of routes that have a scope. */
  const startRequest = (request: FastifyRequest, reply: FastifyReply): void => {
    reply.header('x-request-id', request.id);
    const tp = request.headers['traceparent'];
    const parent = typeof tp === 'string' ? parseTraceparent(tp) : undefined;
    const { url: route, config: routeConfig } = request.routeOptions;
    request.span =
      tracing.startServerSpan(
        `${request.method} ${route ?? 'unmatched'}`,
        { 'http.request.method': request.method, 'http.route': route ?? '', 'url.path': loggablePath(request.url, route) },
        parent,
      ) ?? null;
    request.traceId = parent?.traceId ?? request.span?.spanContext().traceId ?? null;
    // Headers and query only: nothing of the body is read, parsed or decompressed before the key is known.
    const { scope, otherKey } = routeConfig;
    const presented = presentedKey(request.headers) ?? otherKey?.(request);
    const principal = presented === undefined ? undefined : ctx.keys.authenticate(presented);
    // A caller without a valid key (public routes, unknown paths, wrong keys) spends its address's budget; a valid key never does.
    if (!principal) {
      const wait = sourceLimiter.take(request.ip);
      if (wait > 0) {
        metrics.sourceRateLimited.inc();
        reply.header('retry-after', String(wait));
        throw new HttpError(429, 'source_rate_limited', 'too many requests without a valid API key from this address');
      }
    }
    if (!scope) return;
    authorize(ctx, request, reply, scope, principal);
  };
  // Hooks in callback style: no promise per hook and request.
  app.addHook('onRequest', (request, reply, done) => {
    try {
      startRequest(request, reply);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  });

  app.setErrorHandler((err: unknown, request, reply) => {
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (err instanceof HttpError) {
      request.refusal = err.code;
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...(err.issues ? { issues: [...err.issues] } : {}) });
    }
    if (err instanceof DatabaseUnavailableError || err instanceof QueueRefusedError) {
      const reason = err instanceof QueueRefusedError ? err.reason : 'database';
      metrics.queueRefused.inc({ reason });
      request.refusal = `unavailable_${reason}`;
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: 'unavailable', message: 'the service cannot store data right now; retry later' });
    }
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      const code = FRAMEWORK_CODES[e.code ?? ''] ?? 'bad_request';
      const message =
        code === 'body_too_large'
          ? `request body is larger than the limit of ${config.bodyLimitBytes} bytes`
          : code === 'unsupported_media_type'
            ? `content-type ${String(request.headers['content-type'] ?? '(none)').slice(0, 100)} is not supported: send application/json`
            : (e.message ?? 'bad request');
      request.refusal = code;
      return reply.code(e.statusCode).send({ error: code, message });
    }
    request.log.error({ error: err }, 'request failed');
    request.span?.recordException(err as Error);
    return reply.code(500).send({ error: 'internal', message: 'internal error', request_id: request.id });
  });

  app.setNotFoundHandler((request, reply) => {
    request.refusal = 'not_found';
    return reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  /** Metrics, span end, access line, and the audit of a refused API request. */
  const finishRequest = (request: FastifyRequest, reply: FastifyReply): void => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const labels = { method: request.method, route, status_code: String(status) };
    const seconds = reply.elapsedTime / 1000;
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    const span = request.span;
    if (span) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    // Refusals are counted, and audited in sums: a flood of them costs a counter increment each, no row or line.
    let firstOfKind = false;
    if (status >= 400) {
      const reason = request.refusal ?? `status_${status}`;
      metrics.refused.inc({ reason, route });
      if (status === 403) sourceLimiter.take(request.ip);
      if (request.url.startsWith('/api/') || status === 401 || status === 403 || status === 404 || status === 429) {
        firstOfKind = refusals.record({
          actor: request.principal?.name ?? null,
          project: request.principal?.project ?? null,
          resource: `${request.method} ${route}`,
          status,
          reason,
          ip: request.ip,
          userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : null,
          requestId: request.id,
        });
      } else {
        firstOfKind = true;
      }
    }
    // Successful requests are counted in http_requests_total and each write has its audit line, so
    // their access line is debug; so is a refusal like one already logged this minute (same source,
    // key, route and reason). The first of each kind and failures are logged at info.
    const level = status >= 500 || firstOfKind ? 'info' : 'debug';
    if (levelEnabled(request.log, level)) {
      request.log[level](
        {
          'event.dataset': 'obstack_ingest.access',
          'http.request.method': request.method,
          'url.path': loggablePath(request.url, request.routeOptions.url),
          'http.route': route,
          'http.response.status_code': status,
          'event.duration': Math.round(reply.elapsedTime * 1e6),
          'user.name': request.principal?.name,
          'labels.project': request.principal?.project,
          'trace.id': request.traceId ?? undefined,
        },
        'request completed',
      );
    }
  };
  app.addHook('onResponse', (request, reply, done) => {
    // The answer is sent: a failure here is logged, never thrown out of the hook.
    try {
      finishRequest(request, reply);
    } catch (err) {
      request.log.error({ error: err }, 'request bookkeeping failed');
    }
    done();
  });

  registerHealthRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerMetricRoutes(app, ctx);
  registerErrorRoutes(app, ctx);
  registerSentryRoutes(app, ctx);
  registerAlertRoutes(app, ctx);
  registerAlertInstanceRoutes(app, ctx);
  registerAnalyticsRoutes(app, ctx);
  registerUserRoutes(app, ctx);
  registerTraceRoutes(app, ctx, opts.jaeger ?? (config.jaegerQueryUrl ? new JaegerClient(config.jaegerQueryUrl, config.jaegerTimeoutMs) : undefined));

  app.addHook('preClose', async () => {
    ctx.state.closing = true;
    keyWatcher?.close();
  });
  app.addHook('onClose', async () => {
    // The refusals summed so far are queued, then every write already answered or in flight is committed before the database closes.
    refusals.close();
    await ctx.queue.close();
    if (ownsTracing) await tracing.shutdown().catch(() => {});
    if (ownsDb) await db.close();
  });

  return app;
}
