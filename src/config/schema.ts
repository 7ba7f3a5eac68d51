import { z } from 'zod';
import { AlertOverrides } from './rule-overrides.js';
import { BYTE_SIZE, DnsLabel, Duration, EMAIL, HOSTNAME, Image, Ingress, Resources, SecretRef, Storage } from './primitives.js';
import { IngestConfig } from './ingest.js';
import { AlertRoutes, extraReceiversSchema, refineTeams, teamsSchema } from './teams.js';
import { GrafanaDatasource, ScrapeConfig, refineDatasources, refineScrape } from './scrape.js';
import { ObjectPatches } from './patches.js';
import { GitOpsConfig } from './gitops.js';
import { withRunbookBaseUrl } from './runbook-base.js';
import { ExportersConfig, ProbesConfig, refineExportersAndProbes } from './exporters.js';
import { ControlPlaneConfig } from './control-plane.js';
import { RemoteWriteList, refinePrometheusScale } from './remote-write.js';
import { ThanosConfig, refineThanos } from './thanos.js';
import { ElasticsearchConfig, ElasticsearchTiers, FilebeatConfig, JaegerConfig, KibanaConfig, LogsConfig, LogstashConfig, TracesConfig, IlmAge, ilmAgeHours } from './logs-traces.js';

export * from './primitives.js';
export * from './logs-traces.js';
export * from './exporters.js';
export * from './control-plane.js';
export * from './remote-write.js';
export * from './thanos.js';


/**
 * Where people open a component (its ingress or a proxy in front of it): an
 * http(s) URL without credentials, query or fragment; a trailing "/" is dropped.
 * A path is allowed, and the proxy must strip it: the component still serves at "/".
 */
export const ExternalUrl = z
  .string()
  .overwrite((url) => url.replace(/\/+$/, ''))
  .superRefine((url, ctx) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be an absolute http(s) URL such as "https://alerts.example.com", got "${url}"` });
      return;
    }
    const problem =
      u.protocol !== 'http:' && u.protocol !== 'https:'
        ? `must use http or https, got "${u.protocol.replace(/:$/, '')}"`
        : u.username !== '' || u.password !== ''
          ? 'must not carry a user or password'
          : u.search !== '' || u.hash !== '' || url.includes('?') || url.includes('#')
            ? 'must not have a query or fragment'
            : /\/\/|\/\.\.?(\/|$)/.test(url.replace(/^[a-z]+:\/\/[^/]*/i, ''))
              ? 'must not have empty, "." or ".." path segments'
              : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const componentBase = {
  enabled: z.boolean(),
  replicas: z.number().int('must be a whole number').min(1, 'must be at least 1').max(20),
  resources: Resources,
  image: Image.optional().describe('overrides the pinned image of src/config/versions.ts'),
};

export const PrometheusConfig = z.strictObject({
  ...componentBase,
  storage: Storage,
  retention: z.strictObject({
    time: Duration,
    size: z.string().regex(BYTE_SIZE, 'must be a size such as "40GB" (units B, KB, MB, GB, TB)').optional(),
  }),
  scrapeInterval: Duration,
  evaluationInterval: Duration,
  ingress: Ingress,
  externalUrl: ExternalUrl.optional().describe('where people open Prometheus (its --web.external-url, used in alert links); default: the ingress, else the in-cluster Service'),
  externalLabels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string()).default({}),
  shards: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(32)
    .default(1)
    .describe('Prometheus shards, each scraping its part of the targets (hashmod of the address), each with `replicas` replicas; more than 1 needs components.thanos (the global query layer and rule evaluation)'),
  remoteWrite: RemoteWriteList.default([]).describe('long-term stores every sample is also sent to (Thanos Receive, Mimir, VictoriaMetrics, Cortex, a managed endpoint)'),
});

export const AlertmanagerConfig = z.strictObject({
  ...componentBase,
  storage: Storage,
  retention: Duration.describe('how long silences and notification state are kept'),
  ingress: Ingress,
  externalUrl: ExternalUrl.optional().describe("where people open Alertmanager (its --web.external-url, the notifications' silence links); default: the ingress, else the in-cluster Service"),
});

export const GrafanaDatabase = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sqlite') }),
  z.strictObject({
    type: z.literal('postgres'),
    host: z.string().regex(/^[a-z0-9.-]+:\d+$/, 'must be "host:port"'),
    name: z.string().min(1),
    user: z.string().min(1),
    password: SecretRef.describe("Secret key with the password of Grafana's database user"),
    sslMode: z.enum(['disable', 'require', 'verify-full']).default('require'),
  }),
]);

export const GrafanaConfig = z.strictObject({
  ...componentBase,
  storage: Storage,
  ingress: Ingress,
  externalUrl: ExternalUrl.optional().describe("where people open Grafana (its root_url, the alerts' dashboard links); default: the ingress, else the in-cluster Service"),
  admin: z.strictObject({
    secretName: DnsLabel.describe('Secret holding the admin user and password'),
    userKey: z.string().min(1).describe("key holding the admin's user name"),
    passwordKey: z.string().min(1).describe("key holding the admin's password"),
  }),
  database: GrafanaDatabase,
  datasources: z.array(GrafanaDatasource).default([]).describe('extra datasources, beside those the stack provisions'),
});

export const NodeExporterConfig = z.strictObject({
  enabled: z.boolean(),
  resources: Resources,
  image: Image.optional(),
});

export const KubeStateMetricsConfig = z.strictObject({
  ...componentBase,
  replicas: z
    .number()
    .int()
    .min(1, 'must be 1')
    .max(1, 'must be 1: every replica of kube-state-metrics reports every object, so two would double every count'),
});

export const Components = z.strictObject({
  prometheus: PrometheusConfig,
  alertmanager: AlertmanagerConfig,
  grafana: GrafanaConfig,
  nodeExporter: NodeExporterConfig,
  kubeStateMetrics: KubeStateMetricsConfig,
  ingest: IngestConfig,
  elasticsearch: ElasticsearchConfig,
  logstash: LogstashConfig,
  kibana: KibanaConfig,
  filebeat: FilebeatConfig,
  jaeger: JaegerConfig,
  thanos: ThanosConfig.describe('Thanos: long-term storage in a bucket, a global query view with HA deduplication, multi-cluster'),
});

const noCredentialsInUrl = (url: string): boolean => {
  try {
    const u = new URL(url);
    return u.username === '' && u.password === '';
  } catch {
    return false;
  }
};

export const Receivers = z
  .strictObject({
    pagerduty: z
      .strictObject({
        routingKey: SecretRef.describe('Events API v2 integration key'),
      })
      .optional(),
    email: z
      .strictObject({
        to: z.array(z.string().regex(EMAIL, 'must be an e-mail address')).min(1),
        from: z.string().regex(EMAIL, 'must be an e-mail address'),
        smarthost: z.string().regex(/^[a-z0-9.-]+:\d+$/, 'must be "host:port"'),
        authUsername: z.string().optional(),
        authPassword: SecretRef.optional().describe('Secret key holding the password of authUsername at the smarthost'),
        requireTls: z.boolean().default(true),
      })
      .optional(),
    slack: z
      .strictObject({
        channel: z.string().regex(/^[#@][-_a-z0-9]+$/, 'must be a channel such as "#alerts"'),
        apiUrl: SecretRef.describe('Secret key holding the incoming-webhook URL'),
      })
      .optional(),
    webhook: z
      .strictObject({
        url: z
          .string()
          .refine(noCredentialsInUrl, 'must be an http(s) URL without user or password; put a token in bearerToken'),
        bearerToken: SecretRef.optional().describe('Secret key holding the bearer token sent to the webhook'),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (!r.pagerduty) {
      ctx.addIssue({
        code: 'custom',
        path: ['pagerduty'],
        message: 'is required: P1 and P2 alerts page, and without a paging receiver they would route nowhere',
      });
    }
    if (!r.email && !r.slack) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'needs email or slack: P1 to P3 alerts notify the team and P4 alerts go to a daily digest',
      });
    }
  });
export type Receivers = z.output<typeof Receivers>;

export const Alerting = z.strictObject({
  receivers: Receivers,
  groupBy: z.array(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)).min(1),
  digestInterval: Duration.describe('how often P4 alerts are summarised'),
  timing: z
    .strictObject({
      groupWait: Duration.describe('how long a new group of alerts waits for more before its first notification'),
      groupInterval: Duration.describe('how long a group waits before notifying of alerts added to it'),
      repeatInterval: Duration.describe('how long before a notification of a still-firing group is sent again'),
      digestWait: Duration.describe('how long a new P4 alert waits before its digest group is first sent'),
    })
    .describe("Alertmanager's route timing; the pager route keeps its own shorter wait and hourly repeat"),
  escalateAfter: Duration.describe('how long a firing P1 may stay unacknowledged before AlertNotAcknowledged escalates it'),
  escalateTo: z
    .string()
    .min(1)
    .optional()
    .describe('the alerting.extraReceivers entry that takes escalations; default: the "escalation" receiver (PagerDuty as critical, and the team channels)'),
  runbookBaseUrl: z
    .string()
    .min(1)
    .optional()
    .describe(
      "where the runbook pages obstack writes to dist/<env>.files/runbooks/ are read; an alert's runbook_url is this plus /<alert-name-in-kebab-case>.md. @default the pages in the git repository when gitops.argocd.repoURL is an https URL (<repoURL without .git>/blob/<targetRevision>/<path>.files/runbooks), otherwise \"runbooks\", relative to dist/<env>.files/",
    ),
  overrides: AlertOverrides.default({}),
  routes: AlertRoutes,
  extraReceivers: extraReceiversSchema(Receivers.shape),
});

export const Tier = z.enum(['development', 'staging', 'production']);

/** One environment: what a user writes in examples/environments/<name>.yaml, merged over the defaults. */
export const EnvironmentConfig = z
  .strictObject({
    $schema: z.string().optional(),
    name: DnsLabel.describe('environment name; the output folder is dist/<name>'),
    tier: Tier.describe('production adds the high-availability requirements'),
    namespace: DnsLabel,
    clusterDomain: z.string().regex(HOSTNAME).default('cluster.local'),
    components: Components,
    alerting: Alerting,
    teams: teamsSchema(Receivers.shape),
    logs: LogsConfig,
    traces: TracesConfig,
    controlPlane: ControlPlaneConfig.describe('which parts of the Kubernetes control plane Prometheus scrapes, alerts on and shows'),
    exporters: ExportersConfig.describe('exporters for the PostgreSQL and Redis servers the platform runs'),
    probes: ProbesConfig.describe("the blackbox exporter: applications' liveness and readiness endpoints, URLs, TCP ports and TLS certificates probed from outside"),
    scrape: ScrapeConfig.prefault({}).describe('scrape targets beside the stack and annotated pods: static targets, monitors, raw scrape_configs'),
    dashboards: z
      .strictObject({
        drop: z.array(z.string().min(1)).default([]).describe('uids of shipped dashboards this environment does not provision'),
      })
      .default({ drop: [] }),
    patches: ObjectPatches.default([]),
    gitops: GitOpsConfig.prefault({}).describe('how the output is deployed: an Argo CD Application per environment'),
  })
  .superRefine((env, ctx) => {
    refineLogsAndTraces(env, ctx);
    refineTeams(env, ctx);
    refineScrape(env, ctx);
    refineDatasources(env, ctx);
    refineExportersAndProbes(env, ctx);
    refinePrometheusScale(env, ctx);
    refineThanos(env, ctx);
    const escalateTo = env.alerting.escalateTo;
    if (escalateTo !== undefined && !(escalateTo in env.alerting.extraReceivers)) {
      const known = Object.keys(env.alerting.extraReceivers);
      ctx.addIssue({
        code: 'custom',
        path: ['alerting', 'escalateTo'],
        message: `must name an entry of alerting.extraReceivers, got "${escalateTo}" (${known.length > 0 ? `known: ${known.join(', ')}` : 'there are none'})`,
      });
    }
    const g = env.components.grafana;
    if (g.enabled && g.replicas > 1 && g.database.type === 'sqlite') {
      ctx.addIssue({
        code: 'custom',
        path: ['components', 'grafana', 'database'],
        message: 'must be postgres when grafana.replicas > 1: replicas cannot share a SQLite file',
      });
    }
    if (env.tier !== 'production') return;
    for (const name of ['prometheus', 'alertmanager'] as const) {
      const c = env.components[name];
      if (!c.enabled) continue;
      if (c.replicas < 2) {
        ctx.addIssue({
          code: 'custom',
          path: ['components', name, 'replicas'],
          message: `must be at least 2 in a production environment, got ${c.replicas}`,
        });
      }
      if (c.storage.type !== 'persistent') {
        ctx.addIssue({
          code: 'custom',
          path: ['components', name, 'storage', 'type'],
          message: 'must be "persistent" in a production environment',
        });
      }
    }
    for (const name of ['prometheus', 'alertmanager', 'grafana'] as const) {
      const ing = env.components[name].ingress;
      if (ing.enabled && !ing.tlsSecret) {
        ctx.addIssue({
          code: 'custom',
          path: ['components', name, 'ingress', 'tlsSecret'],
          message: 'is required for an ingress in a production environment',
        });
      }
    }
  })
  // The runbook base defaults to the pages in the repository Argo CD reads, which other fields name.
  .transform(withRunbookBaseUrl);

/** What the logs and traces components need of each other and of a production environment. */
function refineLogsAndTraces(
  env: { tier: string; components: z.output<typeof Components>; logs: z.output<typeof LogsConfig> },
  ctx: z.RefinementCtx,
): void {
  const { elasticsearch: es, logstash, kibana, jaeger, filebeat } = env.components;
  const issue = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path: ['components', ...path], message });
  };
  if (es.enabled && es.replicas > 1 && !es.transportTls) {
    issue(['elasticsearch', 'transportTls'], `is required when elasticsearch.replicas > 1 (got ${es.replicas}): Elasticsearch 8 with security on refuses to form a cluster without transport TLS`);
  } else if (es.enabled && es.tiers && !es.transportTls) {
    issue(['elasticsearch', 'transportTls'], 'is required when elasticsearch.tiers is set: the warm nodes make a cluster of several nodes, which Elasticsearch 8 with security on refuses to form without transport TLS');
  }
  if (es.enabled && es.tiers) refineTiers(es.tiers, es.replicas, env.logs, issue);
  if (!es.enabled) {
    for (const [name, on] of [['logstash', logstash.enabled], ['kibana', kibana.enabled]] as const) {
      if (on) issue([name, 'enabled'], 'needs components.elasticsearch.enabled: it reads or writes Elasticsearch');
    }
    if (jaeger.enabled && jaeger.storage === 'elasticsearch') issue(['jaeger', 'storage'], 'is "elasticsearch" but components.elasticsearch is disabled');
  }
  if (filebeat.enabled && !logstash.enabled) issue(['filebeat', 'enabled'], 'needs components.logstash.enabled: Filebeat ships to Logstash');
  if (env.tier !== 'production') return;
  if (es.enabled) {
    if (es.replicas < 3) issue(['elasticsearch', 'replicas'], `must be at least 3 in a production environment (a quorum of master-eligible nodes), got ${es.replicas}`);
    if (es.storage.type !== 'persistent') issue(['elasticsearch', 'storage', 'type'], 'must be "persistent" in a production environment');
    if (es.tiers && es.tiers.warm.storage.type !== 'persistent') issue(['elasticsearch', 'tiers', 'warm', 'storage', 'type'], 'must be "persistent" in a production environment');
  }
  if (logstash.enabled && logstash.queue.type !== 'persisted') issue(['logstash', 'queue', 'type'], 'must be "persisted" in a production environment, so that a restart loses no event');
  if (kibana.enabled && kibana.ingress.enabled && !kibana.ingress.tlsSecret) issue(['kibana', 'ingress', 'tlsSecret'], 'is required for an ingress in a production environment');
  if (jaeger.enabled && jaeger.mode !== 'distributed') issue(['jaeger', 'mode'], 'must be "distributed" in a production environment');
}

/**
 * What ILM and shard allocation need of the warm tier: an index reaches the warm
 * phase before its delete phase, and the warm nodes can hold every copy of a shard.
 */
function refineTiers(
  tiers: z.output<typeof ElasticsearchTiers>,
  hotReplicas: number,
  logs: z.output<typeof LogsConfig>,
  issue: (path: (string | number)[], message: string) => void,
): void {
  // An unreadable age is reported by IlmAge itself.
  const hours = IlmAge.safeParse(tiers.warmAfter).success ? ilmAgeHours(tiers.warmAfter) : Number.NaN;
  for (const [field, days] of [['retentionDays', logs.retentionDays], ['auditRetentionDays', logs.auditRetentionDays]] as const) {
    if (hours >= days * 24) {
      issue(['elasticsearch', 'tiers', 'warmAfter'], `must be below logs.${field} (${days}d), got ${tiers.warmAfter}: the index would be deleted before it reaches the warm nodes`);
    }
  }
  // Indices carry one replica when there are several hot nodes (Elasticsearch.shardReplicas), and a replica never shares a node with its primary.
  if (hotReplicas > 1 && tiers.warm.replicas < 2) {
    issue(['elasticsearch', 'tiers', 'warm', 'replicas'], `must be at least 2 when elasticsearch.replicas > 1 (got ${tiers.warm.replicas}): every index keeps a replica, which cannot share a node with its primary, so ILM's migration to one warm node would wait for ever`);
  }
}

export type EnvironmentInput = z.input<typeof EnvironmentConfig>;
export type Environment = z.output<typeof EnvironmentConfig>;
export type ComponentName = keyof Environment['components'];
