import { isIP } from 'node:net';
import { z } from 'zod';
import { DURATION, DnsLabel, Duration, HOSTNAME, SecretRef } from './primitives.js';

/*
 * What an environment adds to the stack's own scraping and datasources:
 * static targets, ServiceMonitor/PodMonitor-shaped monitors (compiled into
 * plain scrape jobs, no CRDs), raw scrape_configs, and Grafana datasources.
 */

/**
 * Job names the stack's own components, the kubelet jobs and the annotation
 * jobs use, whether or not the component is enabled in this environment, so
 * that turning a component on never clashes with a declared job.
 */
export const STACK_JOB_NAMES = [
  'prometheus',
  'alertmanager',
  'grafana',
  'node-exporter',
  'kube-state-metrics',
  'kube-state-metrics-self',
  'obstack-ingest',
  'obstack-ingest-business',
  'elasticsearch',
  'logstash',
  'jaeger',
  'jaeger-collector',
  'jaeger-query',
  'kubelet',
  'cadvisor',
  'apiserver',
  'etcd',
  'kube-scheduler',
  'kube-controller-manager',
  'coredns',
  'kube-proxy',
  'kubernetes-pods',
  'kubernetes-service-endpoints',
  'postgres-ingest',
  'blackbox-exporter',
  'probe-liveness',
  'probe-readiness',
  'probe-http',
  'probe-tcp',
  'probe-tls',
] as const;

/** Uids and names of the datasources the stack provisions (DATASOURCE_UIDS in src/constructs/stack.ts). */
export const STACK_DATASOURCE_UIDS = ['prometheus', 'alertmanager', 'elasticsearch-logs', 'jaeger', 'analytics-postgres'] as const;
export const STACK_DATASOURCE_NAMES = ['Prometheus', 'Alertmanager', 'Logs', 'Traces', 'Analytics'] as const;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** A Kubernetes label key: an optional DNS-subdomain prefix and a name. */
const K8S_LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const K8S_LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Milliseconds of a Prometheus duration such as `1m30s`. */
export function durationMs(d: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3, y: 31536000e3 };
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 0);
  return total;
}

export interface TargetAddress {
  readonly host: string;
  readonly port: number;
  /** 4 or 6 for an IP literal, 0 for a host name. */
  readonly ip: 0 | 4 | 6;
}

/** Splits `host:port` (`[v6]:port` for IPv6); undefined when it is not one. */
export function parseTarget(target: string): TargetAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(target);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  if (m[1] !== undefined) return isIP(m[1]) === 6 ? { host: m[1], port, ip: 6 } : undefined;
  const host = m[2] ?? '';
  const ip = isIP(host);
  if (ip === 4) return { host, port, ip: 4 };
  return HOSTNAME.test(host) ? { host, port, ip: 0 } : undefined;
}

/**
 * The namespace a host name resolves into when it names a Service of the
 * cluster (`svc`, `svc.ns.svc`, `svc.ns.svc.<clusterDomain>`); undefined for
 * anything else, which is taken to be outside the cluster.
 */
export function clusterNamespaceOf(host: string, ownNamespace: string, clusterDomain: string): string | undefined {
  const labels = host.split('.');
  if (labels.length === 1) return ownNamespace;
  const rest = labels.slice(2).join('.');
  if (labels.length >= 3 && (rest === 'svc' || rest === `svc.${clusterDomain}`)) return labels[1];
  return undefined;
}

const CIDR = z.string().refine((s) => {
  const [addr, bits, extra] = s.split('/');
  if (extra !== undefined || addr === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const v = isIP(addr);
  return (v === 4 && Number(bits) <= 32) || (v === 6 && Number(bits) <= 128);
}, 'must be a CIDR block such as "203.0.113.0/24"');

const Port = z.number().int('must be a whole number').min(1).max(65535);

export const Scheme = z.enum(['http', 'https']);
const MetricsPath = z.string().regex(/^\/[^\s?#]*$/, 'must be a path starting with "/" (no query string)');

/** A Prometheus relabel_config, in Prometheus's own (snake_case) form. */
export const RelabelConfig = z.strictObject({
  source_labels: z.array(z.string().regex(LABEL_NAME, 'must be a label name')).optional(),
  separator: z.string().optional(),
  regex: z.string().optional(),
  modulus: z.number().int().min(1).optional(),
  target_label: z.string().min(1).optional(),
  replacement: z.string().optional(),
  action: z
    .enum(['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'])
    .optional(),
});
export type RelabelConfig = z.output<typeof RelabelConfig>;

/** TLS towards a target: the CA from a Secret, never inline. */
const TargetTls = z.strictObject({
  ca: SecretRef.optional().describe('CA certificate(s) in PEM that sign the target\'s certificate; the system roots when unset'),
  serverName: z.string().regex(HOSTNAME, 'must be a DNS host name').optional(),
  insecureSkipVerify: z.boolean().default(false).describe('skips certificate verification; avoid outside development'),
});

const BasicAuth = z.strictObject({
  username: z.string().min(1),
  password: SecretRef.describe('Secret key holding the password'),
});

/** What every way of declaring targets shares. */
const endpointOptions = {
  path: MetricsPath.optional().describe('@default "/metrics"'),
  scheme: Scheme.optional().describe('@default "http"'),
  interval: Duration.optional().describe("@default the environment's components.prometheus.scrapeInterval"),
  tls: TargetTls.optional(),
  basicAuth: BasicAuth.optional(),
};

export const StaticScrapeJob = z.strictObject({
  job: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_.-]*$/, 'must be a job name: letters, digits, "_", "." and "-"').describe('job_name and the job label'),
  targets: z.array(z.string().refine((t) => parseTarget(t) !== undefined, 'must be "host:port" (an IPv6 address in brackets)')).min(1),
  labels: z
    .record(
      z.string().regex(LABEL_NAME, 'must be a Prometheus label name').refine((k) => !k.startsWith('__'), 'must not start with "__" (reserved by Prometheus)'),
      z.string(),
    )
    .optional()
    .describe('added to every series of these targets'),
  ...endpointOptions,
  timeout: Duration.optional().describe('@default the smaller of the interval and 10s'),
  metricRelabelings: z.array(RelabelConfig).optional(),
});
export type StaticScrapeJob = z.output<typeof StaticScrapeJob>;

const LabelSelector = z
  .strictObject({
    matchLabels: z.record(z.string().regex(K8S_LABEL_KEY, 'must be a Kubernetes label key'), z.string().max(63).regex(K8S_LABEL_VALUE, 'must be a Kubernetes label value')).optional(),
    matchExpressions: z
      .array(
        z
          .strictObject({
            key: z.string().regex(K8S_LABEL_KEY, 'must be a Kubernetes label key'),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(z.string().max(63).regex(K8S_LABEL_VALUE, 'must be a Kubernetes label value')).optional(),
          })
          .superRefine((e, ctx) => {
            const withValues = e.operator === 'In' || e.operator === 'NotIn';
            if (withValues && (e.values ?? []).length === 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `must list at least one value for operator ${e.operator}` });
            if (!withValues && e.values !== undefined) ctx.addIssue({ code: 'custom', path: ['values'], message: `must be left out for operator ${e.operator}` });
          }),
      )
      .optional(),
  })
  .refine(
    (s) => Object.keys(s.matchLabels ?? {}).length + (s.matchExpressions ?? []).length > 0,
    'must select something (matchLabels or matchExpressions); an empty selector would scrape every object of the namespaces',
  );
export type LabelSelector = z.output<typeof LabelSelector>;

const MonitorEndpoint = z
  .strictObject({
    port: z.string().max(15).regex(IANA_SVC_NAME, 'must be a port name').optional().describe('name of the port to scrape'),
    targetPort: z.union([Port, z.string().max(15).regex(IANA_SVC_NAME, 'must be a port name')]).optional().describe("the container's port, by number or name"),
    ...endpointOptions,
    scrapeTimeout: Duration.optional().describe('@default the smaller of the interval and 10s'),
    honorLabels: z.boolean().default(false),
    relabelings: z.array(RelabelConfig).optional().describe('applied to the target after the generated relabelings'),
    metricRelabelings: z.array(RelabelConfig).optional(),
  })
  .refine((e) => (e.port === undefined) !== (e.targetPort === undefined), 'must name exactly one of port and targetPort');
export type MonitorEndpoint = z.output<typeof MonitorEndpoint>;

const monitorBase = {
  name: DnsLabel,
  namespaces: z.array(DnsLabel).min(1).optional().describe("namespaces to discover in; @default the environment's own namespace"),
  selector: LabelSelector,
  jobLabel: z.string().regex(K8S_LABEL_KEY, 'must be a Kubernetes label key').optional().describe('a label of the object whose value becomes the job label'),
};

export const ServiceMonitor = z.strictObject({ ...monitorBase, endpoints: z.array(MonitorEndpoint).min(1) });
export type ServiceMonitor = z.output<typeof ServiceMonitor>;
export const PodMonitor = z.strictObject({ ...monitorBase, podMetricsEndpoints: z.array(MonitorEndpoint).min(1) });
export type PodMonitor = z.output<typeof PodMonitor>;

/** A raw Prometheus scrape_config, passed through as written and checked by promtool with the rest. */
export const RawScrapeConfig = z.looseObject({
  job_name: z.string({ error: 'is required: every scrape_config needs a job_name' }).min(1),
});

export const EgressRule = z.strictObject({
  cidr: CIDR,
  ports: z.array(Port).min(1),
});

export const ScrapeConfig = z.strictObject({
  static: z.array(StaticScrapeJob).default([]),
  serviceMonitors: z.array(ServiceMonitor).default([]),
  podMonitors: z.array(PodMonitor).default([]),
  additionalScrapeConfigs: z.array(RawScrapeConfig).default([]).describe('raw scrape_configs, the escape hatch; they get no NetworkPolicy flow beyond the cluster and scrape.egress'),
  egress: z
    .array(EgressRule)
    .default([])
    .describe('address blocks outside the cluster Prometheus may reach, for static targets named by host name and raw scrape_configs'),
});
export type ScrapeConfig = z.output<typeof ScrapeConfig>;

/** The job_name each monitor endpoint compiles into. */
export const monitorJobName = (kind: 'serviceMonitor' | 'podMonitor', name: string, index: number): string => `${kind}/${name}/${index}`;

/** Every job_name the environment declares, with the dotted path that declares it. */
export function declaredJobNames(scrape: ScrapeConfig): Array<{ name: string; path: (string | number)[] }> {
  return [
    ...scrape.static.map((j, i) => ({ name: j.job, path: ['static', i, 'job'] })),
    ...scrape.serviceMonitors.flatMap((m, i) => m.endpoints.map((_, e) => ({ name: monitorJobName('serviceMonitor', m.name, e), path: ['serviceMonitors', i, 'name'] }))),
    ...scrape.podMonitors.flatMap((m, i) => m.podMetricsEndpoints.map((_, e) => ({ name: monitorJobName('podMonitor', m.name, e), path: ['podMonitors', i, 'name'] }))),
    ...scrape.additionalScrapeConfigs.map((c, i) => ({ name: c.job_name, path: ['additionalScrapeConfigs', i, 'job_name'] })),
  ];
}

const dotted = (path: readonly (string | number)[]): string =>
  path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? k : `${acc}.${k}`), '');

/**
 * What `scrape` needs of the rest of the environment: unique job names
 * (against each other and the stack's), timeouts within intervals, and a
 * NetworkPolicy flow for every target outside the cluster.
 */
export function refineScrape(
  env: { namespace: string; clusterDomain: string; scrape: ScrapeConfig; components: { prometheus: { scrapeInterval: string } } },
  ctx: z.RefinementCtx,
): void {
  const { scrape } = env;
  const issue = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path: ['scrape', ...path], message });
  };
  const seen = new Map<string, (string | number)[]>();
  for (const { name, path } of declaredJobNames(scrape)) {
    if ((STACK_JOB_NAMES as readonly string[]).includes(name)) {
      issue(path, `job name "${name}" is already a job of the stack; choose another`);
      continue;
    }
    const first = seen.get(name);
    if (first) issue(path, `job name "${name}" is also declared by scrape.${dotted(first)}; job names must be unique`);
    else seen.set(name, path);
  }
  for (const [kind, list] of [['serviceMonitors', scrape.serviceMonitors], ['podMonitors', scrape.podMonitors]] as const) {
    const names = new Set<string>();
    list.forEach((m, i) => {
      if (names.has(m.name)) issue([kind, i, 'name'], `"${m.name}" names two ${kind}; names must be unique`);
      names.add(m.name);
    });
  }

  const defaultInterval = env.components.prometheus.scrapeInterval;
  const checkTimeout = (path: (string | number)[], interval: string | undefined, timeout: string | undefined): void => {
    const i = interval ?? defaultInterval;
    if (timeout !== undefined && DURATION.test(timeout) && durationMs(timeout) > durationMs(i)) {
      issue(path, `must not be longer than the interval (${i}${interval === undefined ? ', the environment\'s scrape interval' : ''}); Prometheus refuses it`);
    }
  };
  scrape.static.forEach((j, i) => checkTimeout(['static', i, 'timeout'], j.interval, j.timeout));
  scrape.serviceMonitors.forEach((m, i) => m.endpoints.forEach((e, k) => checkTimeout(['serviceMonitors', i, 'endpoints', k, 'scrapeTimeout'], e.interval, e.scrapeTimeout)));
  scrape.podMonitors.forEach((m, i) => m.podMetricsEndpoints.forEach((e, k) => checkTimeout(['podMonitors', i, 'podMetricsEndpoints', k, 'scrapeTimeout'], e.interval, e.scrapeTimeout)));

  // A NetworkPolicy cannot name a host outside the cluster: its addresses must be declared.
  const egressPorts = new Set(scrape.egress.flatMap((r) => r.ports));
  scrape.static.forEach((j, i) =>
    j.targets.forEach((t, k) => {
      const a = parseTarget(t);
      if (!a || a.ip !== 0 || clusterNamespaceOf(a.host, env.namespace, env.clusterDomain) !== undefined) return;
      if (!egressPorts.has(a.port)) {
        issue(
          ['static', i, 'targets', k],
          `"${t}" is a host outside the cluster and a NetworkPolicy cannot name hosts: list the addresses it resolves to in scrape.egress (for instance { cidr: "203.0.113.0/24", ports: [${a.port}] }), or write the target as an IP address`,
        );
      }
    }),
  );
}

/** An extra Grafana datasource declared by the environment. Credentials only from Secrets. */
export const GrafanaDatasource = z
  .strictObject({
    name: z.string().min(1).max(190),
    uid: z.string().regex(/^[a-zA-Z0-9_-]{1,40}$/, 'must be at most 40 letters, digits, "-" or "_" (a Grafana uid)'),
    type: z.string().regex(/^[a-z0-9][-a-z0-9_]*$/, 'must be a Grafana datasource plugin id such as "prometheus" or "loki"'),
    url: z.string().refine((u) => {
      try {
        const url = new URL(u);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
      } catch {
        return false;
      }
    }, 'must be an http(s) URL without user or password; put credentials in basicAuth or secureJsonData'),
    access: z.literal('proxy', { error: 'must be "proxy": Grafana\'s server queries the datasource (browser access is deprecated)' }).default('proxy'),
    isDefault: z.boolean().default(false),
    jsonData: z.record(z.string(), z.unknown()).optional(),
    basicAuth: z.strictObject({ user: z.string().min(1), password: SecretRef.describe('Secret key holding the password of the datasource user') }).optional(),
    secureJsonData: z
      .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, 'must be a secureJsonData key such as "httpHeaderValue1"'), SecretRef.describe('Secret key holding the value of this secureJsonData field'))
      .optional(),
    egress: z
      .array(CIDR)
      .optional()
      .describe("address blocks the URL's host resolves to, when it is outside the cluster and not an IP address"),
  })
  .superRefine((d, ctx) => {
    if (d.basicAuth && d.secureJsonData?.basicAuthPassword) {
      ctx.addIssue({ code: 'custom', path: ['secureJsonData', 'basicAuthPassword'], message: 'is set by basicAuth.password; give it once' });
    }
  });
export type GrafanaDatasource = z.output<typeof GrafanaDatasource>;

/** Host and port of a datasource URL, the port defaulted by scheme. */
export function urlAddress(u: string): { host: string; port: number; ip: 0 | 4 | 6 } {
  const url = new URL(u);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const ip = isIP(host);
  return { host, port, ip: ip === 4 || ip === 6 ? ip : 0 };
}

/** Extra datasources: unique, not the stack's, one default at most, and reachable through the NetworkPolicy. */
export function refineDatasources(
  env: { namespace: string; clusterDomain: string; components: { grafana: { datasources: readonly GrafanaDatasource[] } } },
  ctx: z.RefinementCtx,
): void {
  const list = env.components.grafana.datasources;
  const issue = (i: number, field: string, message: string): void => {
    ctx.addIssue({ code: 'custom', path: ['components', 'grafana', 'datasources', i, field], message });
  };
  const uids = new Map<string, number>();
  const names = new Map<string, number>();
  let defaultAt: number | undefined;
  list.forEach((d, i) => {
    const normal = d.uid.toUpperCase().replace(/-/g, '_');
    if ((STACK_DATASOURCE_UIDS as readonly string[]).includes(d.uid)) issue(i, 'uid', `"${d.uid}" is the uid of a datasource the stack provisions; choose another`);
    else if (uids.has(normal)) issue(i, 'uid', `"${d.uid}" is also the uid of components.grafana.datasources[${uids.get(normal)}] (uids differing only in case, "-" or "_" share an environment variable)`);
    else uids.set(normal, i);
    if ((STACK_DATASOURCE_NAMES as readonly string[]).includes(d.name)) issue(i, 'name', `"${d.name}" is the name of a datasource the stack provisions; choose another`);
    else if (names.has(d.name)) issue(i, 'name', `"${d.name}" is also the name of components.grafana.datasources[${names.get(d.name)}]`);
    else names.set(d.name, i);
    if (d.isDefault) {
      if (defaultAt !== undefined) issue(i, 'isDefault', `only one datasource can be the default; components.grafana.datasources[${defaultAt}] already is`);
      else defaultAt = i;
    }
    const a = urlAddress(d.url);
    const outside = a.ip === 0 && clusterNamespaceOf(a.host, env.namespace, env.clusterDomain) === undefined;
    if (outside && (d.egress ?? []).length === 0) {
      issue(i, 'egress', `is required: "${a.host}" is outside the cluster and a NetworkPolicy cannot name hosts; list the address blocks it resolves to (for instance ["203.0.113.0/24"])`);
    }
    if (!outside && d.egress !== undefined) issue(i, 'egress', 'is only for a URL whose host is a name outside the cluster; this one is reached without it');
  });
}
