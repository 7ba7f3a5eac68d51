import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Distinct `service_name` values the error metrics keep; the services seen
 * after them are counted as `other`, so clients cannot grow the label set.
 */
export const MAX_ERROR_SERVICES = 50;

/** The service's own metrics, on a registry per app so that tests can build many apps. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly eventsIngested: Counter;
  readonly batchSize: Histogram;
  readonly dbWriteDuration: Histogram<'outcome'>;
  readonly dbWriteRows: Histogram;
  readonly queueRefused: Counter<'reason'>;
  readonly customMetricRefused: Counter<'reason'>;
  readonly authFailures: Counter<'reason'>;
  readonly rateLimited: Counter;
  readonly refused: Counter<'reason' | 'route'>;
  readonly sourceRateLimited: Counter;
  readonly keyReloads: Counter<'outcome'>;
  readonly errorsIngested: Counter<'service_name' | 'level'>;
  readonly newErrorGroups: Counter<'service_name'>;
  private readonly errorServices = new Set<string>();
  readonly sentryItems: Counter<'type' | 'outcome'>;
  readonly alertsReceived: Counter<'status'>;

  constructor(opts: { defaultMetrics: boolean; queueDepth: () => number; databaseUp?: () => Promise<boolean> }) {
    const registers = [this.registry];
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.eventsIngested = new Counter({
      name: 'ingest_events_total',
      help: 'Analytics events committed to the database.',
      registers,
    });
    this.batchSize = new Histogram({
      name: 'ingest_batch_size',
      help: 'Events per accepted ingest request.',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    });
    this.dbWriteDuration = new Histogram({
      name: 'ingest_db_write_duration_seconds',
      help: 'Time to commit one group of queued rows.',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    });
    this.dbWriteRows = new Histogram({
      name: 'ingest_db_write_rows',
      help: 'Rows committed per transaction by the write queue (group commit size).',
      buckets: [1, 5, 10, 50, 100, 500, 1000, 2500, 5000, 10000],
      registers,
    });
    new Gauge({
      name: 'ingest_queue_depth',
      help: 'Rows accepted by the write queue and not yet committed.',
      registers,
      collect() {
        this.set(opts.queueDepth());
      },
    });
    const databaseUp = opts.databaseUp;
    new Gauge({
      name: 'ingest_db_up',
      help: '1 when the database answered a ping at scrape time, 0 when it did not.',
      registers,
      // Asked at scrape time, so the alert on it sees an outage even when no write comes in.
      async collect() {
        this.set(databaseUp === undefined || (await databaseUp()) ? 1 : 0);
      },
    });
    this.queueRefused = new Counter({
      name: 'ingest_queue_refused_total',
      help: 'Writes refused with 503 because the queue was full, closing, or the database unavailable.',
      labelNames: ['reason'],
      registers,
    });
    this.customMetricRefused = new Counter({
      name: 'ingest_custom_metric_refused_total',
      help: 'Custom or business metric samples refused, by reason (cardinality, conflict, reserved name).',
      labelNames: ['reason'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'ingest_auth_failures_total',
      help: 'Requests refused by authentication (401) or authorization (403).',
      labelNames: ['reason'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'ingest_rate_limited_total',
      help: 'Requests refused with 429 by the per-key rate limit.',
      registers,
    });
    this.refused = new Counter({
      name: 'ingest_requests_refused_total',
      help: 'Requests answered 4xx, or 5xx without a stored write, by reason and route template; the audit log keeps one row per source, reason and minute.',
      labelNames: ['reason', 'route'],
      registers,
    });
    this.sourceRateLimited = new Counter({
      name: 'ingest_source_rate_limited_total',
      help: 'Requests without a valid key refused with 429 by the per-address rate limit.',
      registers,
    });
    this.keyReloads = new Counter({
      name: 'ingest_api_key_reloads_total',
      help: 'Reads of the API key file after a change, by outcome (a failed read keeps the keys in use).',
      labelNames: ['outcome'],
      registers,
    });
    // `service_name`, not `service`: the scrape job sets `service` (the ingest service's own) on every series.
    this.errorsIngested = new Counter({
      name: 'ingest_error_reports_total',
      help: 'Error reports committed to the database, by reporting service and level.',
      labelNames: ['service_name', 'level'],
      registers,
    });
    this.newErrorGroups = new Counter({
      name: 'ingest_new_error_groups_total',
      help: 'Error groups (fingerprints) seen for the first time, by the service of their first report.',
      labelNames: ['service_name'],
      registers,
    });
    this.sentryItems = new Counter({
      name: 'ingest_sentry_items_total',
      help: 'Items of Sentry envelopes accepted, by item type and outcome (stored as an error report, or ignored).',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.alertsReceived = new Counter({
      name: 'ingest_alert_notifications_total',
      help: 'Alerts received on the Alertmanager webhook, by status.',
      labelNames: ['status'],
      registers,
    });
  }

  /** The `service_name` label of an error metric: the service itself while fewer than MAX_ERROR_SERVICES are known, else `other`. */
  errorServiceLabel(service: string): string {
    if (this.errorServices.has(service)) return service;
    if (this.errorServices.size >= MAX_ERROR_SERVICES) return 'other';
    this.errorServices.add(service);
    return service;
  }
}
