import { z } from 'zod';
import { DnsLabel, Image, Resources, SecretRef } from './primitives.js';
import { EgressRule, type ScrapeConfig, clusterNamespaceOf, declaredJobNames, parseTarget, urlAddress } from './scrape.js';

/*
 * The exporters the stack runs for databases and caches it does not own
 * (postgres_exporter, redis_exporter), and the blackbox exporter that probes
 * applications and URLs from outside. Credentials come from Secrets only.
 */

const CIDR = EgressRule.shape.cidr;
/** A value of the `service` label, as teams name their services. */
const SERVICE = /^[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const PATH = /^\/[^\s?#]*$/;

const Address = z.string().refine((t) => parseTarget(t) !== undefined, 'must be "host:port" (an IPv6 address in brackets)');

/** A name that becomes part of object names (`postgres-exporter-<name>`): short enough to stay a DNS label. */
const ExporterName = DnsLabel.max(40, 'must be at most 40 characters: it becomes part of the exporter\'s object names');

const egress = CIDR.array()
  .min(1)
  .optional()
  .describe("address blocks the host resolves to, when it is a name outside the cluster (a NetworkPolicy cannot name hosts); the port is the address's");

export const PostgresDatabase = z.strictObject({
  name: ExporterName.describe('names the exporter (postgres-exporter-<name>) and its scrape job (postgres-<name>)'),
  address: Address.describe('host:port of the PostgreSQL server'),
  database: z.string().min(1).default('postgres').describe('database the exporter connects to'),
  user: z.string().min(1).describe('the monitoring user; give it the pg_monitor role'),
  password: SecretRef.describe("Secret key holding the monitoring user's password"),
  sslMode: z.enum(['disable', 'require', 'verify-full']).default('require'),
  egress,
});
export type PostgresDatabase = z.output<typeof PostgresDatabase>;

export const PostgresExporterConfig = z.strictObject({
  ingest: z
    .boolean()
    .describe("watch the ingest service's own PostgreSQL when it runs in the cluster (exporter postgres-exporter-ingest, job postgres-ingest)"),
  resources: Resources,
  image: Image.optional().describe('overrides the pinned image of src/config/versions.ts'),
  databases: z.array(PostgresDatabase).default([]).describe('other PostgreSQL servers to watch, one exporter each'),
});

export const RedisInstance = z.strictObject({
  name: ExporterName.describe('names the exporter (redis-exporter-<name>) and its scrape job (redis-<name>)'),
  address: Address.describe('host:port of the Redis server'),
  tls: z.boolean().default(false).describe('connect with TLS (rediss://)'),
  user: z.string().min(1).optional().describe('ACL user; the default user when unset'),
  password: SecretRef.optional().describe('Secret key holding the Redis password (leave out for a server without one)'),
  egress,
});
export type RedisInstance = z.output<typeof RedisInstance>;

export const RedisExporterConfig = z.strictObject({
  resources: Resources,
  image: Image.optional().describe('overrides the pinned image of src/config/versions.ts'),
  instances: z.array(RedisInstance).default([]).describe('Redis servers to watch, one exporter each'),
});

export const ExportersConfig = z.strictObject({
  postgres: PostgresExporterConfig,
  redis: RedisExporterConfig,
});

const HttpProbeUrl = z.string().refine((u) => {
  try {
    const url = new URL(u);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}, 'must be an http(s) URL without user or password');

/** The `service` label of a listed target's probe series, which routes its alerts to the team that owns the service. */
const probeService = z
  .string()
  .regex(SERVICE, 'must be a service label value: letters, digits, "-", "_" and "."')
  .optional()
  .describe("the `service` label of its probe series (a team's services route its alerts); default: the host name");

export const HealthService = z.strictObject({
  service: z.string().regex(SERVICE, 'must be a service label value: letters, digits, "-", "_" and "."').describe('the `service` label of its probe series'),
  url: HttpProbeUrl.describe('base URL of the application, such as "http://api.shop.svc:8000"; the liveness and readiness paths are appended'),
  egress,
});

export const ProbesConfig = z.strictObject({
  enabled: z.boolean().describe('runs the blackbox exporter and the probe jobs'),
  resources: Resources,
  image: Image.optional().describe('overrides the pinned image of src/config/versions.ts'),
  health: z
    .strictObject({
      annotated: z
        .boolean()
        .default(true)
        .describe('probe every Service annotated prometheus.io/probe: "true" (prometheus.io/probe-port names one port, prometheus.io/probe-scheme may say https)'),
      livenessPath: z.string().regex(PATH, 'must be a path starting with "/"').default('/health/live'),
      readinessPath: z.string().regex(PATH, 'must be a path starting with "/"').default('/health/ready'),
      services: z.array(HealthService).default([]).describe('applications probed by URL, beside the annotated Services'),
    })
    .prefault({})
    .describe("the applications' liveness and readiness endpoints"),
  http: z.array(z.strictObject({ url: HttpProbeUrl, service: probeService, egress })).default([]).describe('URLs that must answer 2xx'),
  tcp: z.array(z.strictObject({ address: Address, service: probeService, egress })).default([]).describe('host:port that must accept a TCP connection'),
  tls: z.array(z.strictObject({ address: Address, service: probeService, egress })).default([]).describe('host:port whose TLS certificate is watched for expiry'),
});
export type ProbesConfig = z.output<typeof ProbesConfig>;

/** Where an address sits: in the cluster (a namespace), an IP, or a host outside that needs declared blocks. */
export function addressPlacement(host: string, ip: 0 | 4 | 6, ownNamespace: string, clusterDomain: string): { namespace: string } | { ip: 4 | 6 } | { outside: true } {
  if (ip !== 0) return { ip };
  const namespace = clusterNamespaceOf(host, ownNamespace, clusterDomain);
  return namespace !== undefined ? { namespace } : { outside: true };
}

/**
 * What the exporters and probes need of the rest of the environment: unique
 * names, and address blocks for every host outside the cluster (and none for
 * hosts the NetworkPolicy reaches without them).
 */
export function refineExportersAndProbes(
  env: { namespace: string; clusterDomain: string; exporters: z.output<typeof ExportersConfig>; probes: ProbesConfig; scrape: ScrapeConfig },
  ctx: z.RefinementCtx,
): void {
  const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
  const checkEgress = (path: (string | number)[], host: string, ip: 0 | 4 | 6, blocks: readonly string[] | undefined): void => {
    const outside = 'outside' in addressPlacement(host, ip, env.namespace, env.clusterDomain);
    if (outside && blocks === undefined) {
      issue([...path, 'egress'], `is required: "${host}" is outside the cluster and a NetworkPolicy cannot name hosts; list the address blocks it resolves to (for instance ["203.0.113.0/24"])`);
    }
    if (!outside && blocks !== undefined) issue([...path, 'egress'], `is only for a host name outside the cluster; "${host}" is reached without it`);
  };
  const unique = (path: (string | number)[], names: readonly string[]): void => {
    const seen = new Set<string>();
    names.forEach((n, i) => {
      if (seen.has(n)) issue([...path, i, 'name'], `"${n}" names two entries; names must be unique`);
      seen.add(n);
    });
  };
  const { postgres, redis } = env.exporters;
  unique(['exporters', 'postgres', 'databases'], postgres.databases.map((d) => d.name));
  unique(['exporters', 'redis', 'instances'], redis.instances.map((d) => d.name));
  if (postgres.ingest) {
    const i = postgres.databases.findIndex((d) => d.name === 'ingest');
    if (i >= 0) issue(['exporters', 'postgres', 'databases', i, 'name'], '"ingest" is the exporter of the ingest service\'s database (exporters.postgres.ingest); choose another name');
  }
  // postgres-ingest is one of STACK_JOB_NAMES, which refineScrape guards.
  const exporterJobs = new Map<string, (string | number)[]>([
    ...postgres.databases.map((d, i) => [`postgres-${d.name}`, ['exporters', 'postgres', 'databases', i, 'name']] as const),
    ...redis.instances.map((d, i) => [`redis-${d.name}`, ['exporters', 'redis', 'instances', i, 'name']] as const),
  ].map(([job, path]) => [job, [...path]]));
  for (const { name, path } of declaredJobNames(env.scrape)) {
    const owner = exporterJobs.get(name);
    const at = owner?.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? k : `${acc}.${k}`), '');
    if (owner) issue(['scrape', ...path], `job name "${name}" is the scrape job of the exporter of ${at}; choose another`);
  }
  postgres.databases.forEach((d, i) => {
    const a = parseTarget(d.address);
    if (a) checkEgress(['exporters', 'postgres', 'databases', i], a.host, a.ip, d.egress);
  });
  redis.instances.forEach((d, i) => {
    const a = parseTarget(d.address);
    if (a) checkEgress(['exporters', 'redis', 'instances', i], a.host, a.ip, d.egress);
  });
  const p = env.probes;
  p.health.services.forEach((s, i) => {
    if (HttpProbeUrl.safeParse(s.url).success) {
      const a = urlAddress(s.url);
      checkEgress(['probes', 'health', 'services', i], a.host, a.ip, s.egress);
    }
  });
  p.http.forEach((h, i) => {
    if (HttpProbeUrl.safeParse(h.url).success) {
      const a = urlAddress(h.url);
      checkEgress(['probes', 'http', i], a.host, a.ip, h.egress);
    }
  });
  for (const kind of ['tcp', 'tls'] as const) {
    p[kind].forEach((t, i) => {
      const a = parseTarget(t.address);
      if (a) checkEgress(['probes', kind, i], a.host, a.ip, t.egress);
    });
  }
}
