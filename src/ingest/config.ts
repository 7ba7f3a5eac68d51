import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The scopes an API key may hold; `admin` implies the others. `metrics` reads `/metrics/business` only (Prometheus's key). */
export const SCOPES = ['ingest', 'read', 'admin', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];

/** A project's name: what every stored row and every read is scoped by. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** The project of a key that names none: every key and row from before projects existed is in it. */
export const DEFAULT_PROJECT = 'default';

const ApiKeySchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'name must be 1-64 characters of [a-zA-Z0-9_.-]'),
  /** The project the key writes to and reads from; a key sees no other project's data. */
  project: z
    .string()
    .regex(PROJECT_NAME, 'project must be 1-63 characters of [a-z0-9_-], starting with a letter or a digit, e.g. shop')
    .default(DEFAULT_PROJECT),
  /**
   * The numeric project id of the DSN a Sentry SDK is given with this key (SDKs refuse a DSN
   * whose project id is not a number); a Sentry route's path must name it or the project.
   */
  sentryProjectId: z.string().regex(/^\d{1,20}$/, 'sentryProjectId must be 1-20 digits (the project id of the Sentry DSN, e.g. "1"), as a string').optional(),
  /**
   * The services (the `service` label of Prometheus's series, the `service.name` of Jaeger's
   * spans) whose request metrics, bottlenecks and traces the key may read; `*` for all. Without
   * it, keys of the `default` project see all (a single-tenant install) and other projects none.
   */
  components: z
    .array(z.string().regex(/^(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/, 'components must be service names (1-64 characters of [A-Za-z0-9_.-]) or "*"'))
    .max(100)
    .optional(),
  // Short keys can be guessed; a Secret generated with `openssl rand -hex 32` is 64 characters.
  key: z.string().min(24, 'key must be at least 24 characters'),
  scopes: z.array(z.enum(SCOPES)).min(1),
  /** After this time the key is refused (401); the change is audited once. */
  expiresAt: z.iso.datetime({ offset: true, message: 'expiresAt must be an ISO 8601 time with a zone, e.g. 2026-07-01T00:00:00Z' }).optional(),
  /** A revoked key is refused (401) and stays listed so that its name is not reused by accident. */
  revoked: z.boolean().optional(),
});
export type ApiKey = z.output<typeof ApiKeySchema>;

export const ApiKeysSchema = z.array(ApiKeySchema).min(1, 'at least one API key is required').superRefine((keys, ctx) => {
  const names = new Set<string>();
  const values = new Set<string>();
  const sentryProjects = new Map<string, string>();
  for (const [i, k] of keys.entries()) {
    if (names.has(k.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate key name ${k.name}` });
    if (values.has(k.key)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: 'duplicate key value' });
    names.add(k.name);
    values.add(k.key);
    if (k.sentryProjectId === undefined) continue;
    // One DSN project id names one project, as in Sentry: a DSN copied between projects is then refused, not misfiled.
    const owner = sentryProjects.get(k.sentryProjectId);
    if (owner !== undefined && owner !== k.project) {
      ctx.addIssue({ code: 'custom', path: [i, 'sentryProjectId'], message: `sentryProjectId ${k.sentryProjectId} already belongs to project ${owner}, got project ${k.project}` });
    }
    sentryProjects.set(k.sentryProjectId, owner ?? k.project);
  }
});

const int = (def: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

/** The service's configuration, as the code reads it. Defaults live here only. */
export const IngestConfigSchema = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: int(8080, 0, 65535),
  /** postgres://… ; absent means an embedded PGlite in `dataDir`. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  /** Folder of the embedded database; `memory://` keeps it in memory (tests). */
  dataDir: z.string().default('.data/ingest'),
  dbPoolSize: int(10, 1, 200),
  apiKeys: ApiKeysSchema,
  /** The key file; when set, the service re-reads it whenever it changes (see keys.ts). */
  apiKeysFile: z.string().optional(),
  retentionDays: int(90, 1, 3650),
  auditRetentionDays: int(365, 1, 3650),
  alertRetentionDays: int(180, 1, 3650),
  bodyLimitBytes: int(1_048_576, 1024, 64 * 1_048_576),
  maxBatchEvents: int(1000, 1, 10_000),
  /** Rows waiting for a commit beyond which writes are refused with 503 and readiness fails. */
  queueMaxRows: int(50_000, 100),
  /** Rows committed in one transaction at most. */
  flushMaxRows: int(5_000, 1),
  flushConcurrency: int(4, 1, 64),
  dbTimeoutMs: int(5_000, 100),
  metricsMaxSeriesPerMetric: int(1_000, 1),
  metricsMaxMetrics: int(200, 1),
  /** Requests per second per API key; 0 turns the limit off. */
  rateLimitPerSecond: int(2_000, 0),
  rateLimitBurst: int(4_000, 1),
  /** Requests per second per client address that present no valid key (refused, or public routes); 0 turns the limit off. */
  sourceRateLimitPerSecond: int(20, 0),
  sourceRateLimitBurst: int(200, 1),
  /** Proxies in front of the service whose X-Forwarded-For is believed; 0 takes the socket's address as the client's. */
  trustProxyHops: int(0, 0, 10),
  traceSampleRatio: z.coerce.number().min(0).max(1).default(0.1),
  otlpEndpoint: z.url().optional(),
  serviceName: z.string().default('obstack-ingest'),
  serviceVersion: z.string().default('0.1.0'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  shutdownTimeoutMs: int(10_000, 100),
  requestTimeoutMs: int(30_000, 1_000),
  /** Alertmanager's base URL, where an acknowledgement creates its silences; absent, acknowledging answers 503. */
  alertmanagerUrl: z
    .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL, e.g. http://alertmanager:9093' })
    .optional(),
  /** How long one call to Alertmanager may take before the acknowledgement fails with 503. */
  alertmanagerTimeoutMs: int(3_000, 100, 30_000),
  /** Prometheus's base URL (http://prometheus:9090): the health score, system metrics and the analytics' trends, bottlenecks and recommendations; absent, those fields are null with `source.prometheus: not_configured`. */
  prometheusUrl: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL, e.g. http://prometheus:9090' }).optional(),
  /** How long one round of Prometheus queries may take. */
  prometheusTimeoutMs: int(3_000, 100, 30_000),
  /** Jaeger's query service (HTTP API v3, port 16686), where GET /api/v1/monitoring/traces/:trace_id reads traces; absent, that route answers 503. */
  jaegerQueryUrl: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL, e.g. http://jaeger-query:16686' }).optional(),
  /** How long one call to Jaeger may take, its answer included, before the route answers 502. */
  jaegerTimeoutMs: int(5_000, 100, 30_000),
  /**
   * The secret keying the digest an erasure keeps of a user id (HMAC-SHA256). Required with
   * DATABASE_URL or NODE_ENV=production (loadConfig); the embedded mode alone falls back to a
   * development key.
   */
  erasureKey: z.string().min(32, 'must be at least 32 characters (generate one with openssl rand -hex 32)').optional(),
  /** Embedded mode (PGlite) only: how often the service runs the rollup itself. */
  rollupIntervalSeconds: int(3_600, 1, 86_400),
  /** Embedded mode (PGlite) only: how often the service runs the retention itself. */
  retentionIntervalSeconds: int(86_400, 1, 7 * 86_400),
});
export type IngestConfig = z.output<typeof IngestConfigSchema>;
export type IngestConfigInput = z.input<typeof IngestConfigSchema>;

/** A configuration the service cannot start with; `details` lists every wrong setting. */
export class ConfigError extends Error {
  readonly code = 'INGEST_CONFIG_INVALID';
  constructor(readonly details: string[]) {
    super(`invalid ingest configuration:\n  ${details.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Environment variable for each setting (documented in src/ingest/README.md). */
export const ENV_VARS: Record<Exclude<keyof IngestConfig, 'apiKeys'>, string> = {
  host: 'HOST',
  port: 'PORT',
  databaseUrl: 'DATABASE_URL',
  dataDir: 'INGEST_DATA_DIR',
  dbPoolSize: 'INGEST_DB_POOL_SIZE',
  retentionDays: 'INGEST_RETENTION_DAYS',
  auditRetentionDays: 'INGEST_AUDIT_RETENTION_DAYS',
  alertRetentionDays: 'INGEST_ALERT_RETENTION_DAYS',
  bodyLimitBytes: 'INGEST_BODY_LIMIT_BYTES',
  maxBatchEvents: 'INGEST_MAX_BATCH_EVENTS',
  queueMaxRows: 'INGEST_QUEUE_MAX_ROWS',
  flushMaxRows: 'INGEST_FLUSH_MAX_ROWS',
  flushConcurrency: 'INGEST_FLUSH_CONCURRENCY',
  dbTimeoutMs: 'INGEST_DB_TIMEOUT_MS',
  metricsMaxSeriesPerMetric: 'INGEST_METRICS_MAX_SERIES',
  metricsMaxMetrics: 'INGEST_METRICS_MAX_METRICS',
  rateLimitPerSecond: 'INGEST_RATE_LIMIT_PER_SECOND',
  rateLimitBurst: 'INGEST_RATE_LIMIT_BURST',
  sourceRateLimitPerSecond: 'INGEST_SOURCE_RATE_LIMIT_PER_SECOND',
  sourceRateLimitBurst: 'INGEST_SOURCE_RATE_LIMIT_BURST',
  trustProxyHops: 'INGEST_TRUST_PROXY_HOPS',
  apiKeysFile: 'INGEST_API_KEYS_FILE',
  traceSampleRatio: 'OTEL_TRACES_SAMPLER_ARG',
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  serviceName: 'OTEL_SERVICE_NAME',
  serviceVersion: 'INGEST_SERVICE_VERSION',
  logLevel: 'LOG_LEVEL',
  shutdownTimeoutMs: 'INGEST_SHUTDOWN_TIMEOUT_MS',
  requestTimeoutMs: 'INGEST_REQUEST_TIMEOUT_MS',
  alertmanagerUrl: 'ALERTMANAGER_URL',
  alertmanagerTimeoutMs: 'INGEST_ALERTMANAGER_TIMEOUT_MS',
  prometheusUrl: 'INGEST_PROMETHEUS_URL',
  prometheusTimeoutMs: 'INGEST_PROMETHEUS_TIMEOUT_MS',
  jaegerQueryUrl: 'INGEST_JAEGER_QUERY_URL',
  jaegerTimeoutMs: 'INGEST_JAEGER_TIMEOUT_MS',
  erasureKey: 'INGEST_ERASURE_KEY',
  rollupIntervalSeconds: 'INGEST_ROLLUP_INTERVAL_SECONDS',
  retentionIntervalSeconds: 'INGEST_RETENTION_INTERVAL_SECONDS',
};

function formatIssues(error: z.ZodError, pathToName: (path: PropertyKey[]) => string): string[] {
  return error.issues.map((issue) => `${pathToName(issue.path)}: ${issue.message}`);
}

/** Validates a configuration given as an object (tests, embedding). */
export function parseConfig(input: IngestConfigInput): IngestConfig {
  const result = IngestConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatIssues(result.error, (p) => p.map(String).join('.')));
  return result.data;
}

/**
 * Reads the configuration from environment variables, as the Deployment sets
 * them. API keys come from `INGEST_API_KEYS_FILE` (a mounted Secret holding a
 * JSON array of `{name, key, scopes, project?}`) or, failing that, `INGEST_API_KEYS`
 * with the same JSON.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const errors: string[] = [];
  let apiKeys: unknown = undefined;
  const keysFile = env['INGEST_API_KEYS_FILE'];
  const keysRaw = keysFile ? readKeysFile(keysFile, errors) : env['INGEST_API_KEYS'];
  if (keysRaw === undefined || keysRaw.trim() === '') {
    if (errors.length === 0) errors.push('INGEST_API_KEYS_FILE or INGEST_API_KEYS: required (JSON array of {name, key, scopes})');
  } else {
    try {
      apiKeys = JSON.parse(keysRaw);
    } catch {
      errors.push(`${keysFile ? 'INGEST_API_KEYS_FILE' : 'INGEST_API_KEYS'}: not valid JSON`);
    }
  }
  const input: Record<string, unknown> = { apiKeys };
  for (const [field, name] of Object.entries(ENV_VARS)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[field] = value;
  }
  const result = IngestConfigSchema.safeParse(input);
  if (!result.success) {
    errors.push(
      ...formatIssues(result.error, (path) => {
        const [head, ...rest] = path;
        if (head === 'apiKeys') {
          // Never echo a key value in an error message.
          return ['INGEST_API_KEYS', ...rest.map(String)].join('.');
        }
        return ENV_VARS[head as keyof typeof ENV_VARS] ?? String(head);
      }),
    );
  }
  // Only the embedded database on a developer's machine may use the development erasure key.
  if (result.success && !result.data.erasureKey && (result.data.databaseUrl || env['NODE_ENV'] === 'production')) {
    errors.push(
      `INGEST_ERASURE_KEY: required when ${result.data.databaseUrl ? 'DATABASE_URL is set' : 'NODE_ENV is production'} (a secret of at least 32 characters that keys the digest of erased user ids; generate one with openssl rand -hex 32)`,
    );
  }
  if (errors.length > 0 || !result.success) throw new ConfigError(errors);
  return result.data;
}

function readKeysFile(path: string, errors: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    errors.push(`INGEST_API_KEYS_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}
