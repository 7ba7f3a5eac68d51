import type { Logger } from 'pino';
import type { FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { IngestConfig } from './config.js';
import type { Database } from './db.js';
import type { ApiKeyStore, RateLimiter } from './http/auth.js';
import type { ZodTypeProvider } from './http/zod-provider.js';
import type { BusinessKpis, CustomMetrics } from './telemetry/custom-metrics.js';
import type { ServiceMetrics } from './telemetry/service-metrics.js';
import type { PrometheusQuerier } from './prometheus-client.js';
import type { WriteQueue } from './write-queue.js';

/** What the routes share: configuration, storage and telemetry of one app. */
export interface IngestContext {
  readonly config: IngestConfig;
  readonly db: Database;
  readonly queue: WriteQueue;
  readonly metrics: ServiceMetrics;
  readonly customMetrics: CustomMetrics;
  readonly kpis: BusinessKpis;
  readonly keys: ApiKeyStore;
  readonly limiter: RateLimiter;
  /** Prometheus's query API, when the service has one (INGEST_PROMETHEUS_URL). */
  readonly prometheus: PrometheusQuerier | undefined;
  /** True from the start of shutdown: readiness fails and writes are refused. */
  readonly state: { closing: boolean };
}

/** The app type routes are registered on. */
export type IngestApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  Logger,
  ZodTypeProvider
>;
