import type { LabelSelector, MonitorEndpoint, PodMonitor, ScrapeConfig, SecretRef, ServiceMonitor, StaticScrapeJob } from '../../config/index.js';
import { clusterNamespaceOf, monitorJobName, parseTarget } from '../../config/index.js';
import type { Flow, PortSpec } from '../common/network.js';

/** Where the Secret keys that scrape jobs read (basic-auth passwords, CA certificates) are mounted. */
export const SCRAPE_SECRETS_DIR = '/etc/prometheus-secrets';

type Job = Record<string, unknown>;
type Relabel = Record<string, unknown>;

export interface DeclaredJobsContext {
  /** The environment's namespace: where monitors discover when they name no namespaces. */
  readonly namespace: string;
  readonly clusterDomain: string;
}

/** The in-pod file of a Secret key (see `scrapeSecretVolumes`). */
export const secretFile = (ref: SecretRef): string => `${SCRAPE_SECRETS_DIR}/${ref.secretName}/${ref.key}`;

/** Prometheus's form of a Kubernetes label name in meta labels: anything but [a-zA-Z0-9_] becomes "_". */
const metaName = (key: string): string => key.replace(/[^a-zA-Z0-9_]/g, '_');
const escapeRegex = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const copy = (source: string, target: string): Relabel => ({ source_labels: [source], target_label: target });

/** Relabelings that keep only the objects a Kubernetes label selector selects. */
export function selectorRelabelings(selector: LabelSelector, meta: '__meta_kubernetes_service' | '__meta_kubernetes_pod'): Relabel[] {
  const pair = (key: string): string[] => [`${meta}_label_${metaName(key)}`, `${meta}_labelpresent_${metaName(key)}`];
  const out: Relabel[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({
    source_labels: pair(key),
    regex: `(${escapeRegex(value)});true`,
    action: 'keep',
  }));
  for (const e of selector.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).map(escapeRegex).join('|')});true`;
    if (e.operator === 'In') out.push({ source_labels: pair(e.key), regex: values, action: 'keep' });
    if (e.operator === 'NotIn') out.push({ source_labels: pair(e.key), regex: values, action: 'drop' });
    if (e.operator === 'Exists') out.push({ source_labels: [`${meta}_labelpresent_${metaName(e.key)}`], regex: 'true', action: 'keep' });
    if (e.operator === 'DoesNotExist') out.push({ source_labels: [`${meta}_labelpresent_${metaName(e.key)}`], regex: 'true', action: 'drop' });
  }
  return out;
}

/** scheme, path, interval, timeout, TLS and basic auth of one job. */
function endpointFields(e: { path?: string | undefined; scheme?: string | undefined; tls?: StaticScrapeJob['tls']; basicAuth?: StaticScrapeJob['basicAuth'] }, interval: string, timeout: string | undefined): Job {
  const tls = e.tls;
  return {
    scheme: e.scheme ?? 'http',
    metrics_path: e.path ?? '/metrics',
    scrape_interval: interval,
    ...(timeout ? { scrape_timeout: timeout } : {}),
    ...(tls
      ? {
          tls_config: {
            ...(tls.ca ? { ca_file: secretFile(tls.ca) } : {}),
            ...(tls.serverName ? { server_name: tls.serverName } : {}),
            ...(tls.insecureSkipVerify ? { insecure_skip_verify: true } : {}),
          },
        }
      : {}),
    ...(e.basicAuth ? { basic_auth: { username: e.basicAuth.username, password_file: secretFile(e.basicAuth.password) } } : {}),
  };
}

function staticJob(j: StaticScrapeJob, defaultInterval: string): Job {
  return {
    job_name: j.job,
    ...endpointFields(j, j.interval ?? defaultInterval, j.timeout),
    static_configs: [{ targets: [...j.targets], ...(j.labels && Object.keys(j.labels).length > 0 ? { labels: { ...j.labels } } : {}) }],
    ...(j.metricRelabelings?.length ? { metric_relabel_configs: j.metricRelabelings } : {}),
  };
}

/**
 * One job per endpoint of a monitor, relabelled as the Prometheus Operator
 * does: keep the selected objects and the named port, drop finished pods,
 * then set `namespace`, `service` (ServiceMonitor), `pod`, `container`,
 * `endpoint` (the port) and `job`. The Operator's `job` is the Service's name
 * for a ServiceMonitor and `<namespace>/<name>` for a PodMonitor; a monitor
 * declared in the environment has no namespace of its own, so a PodMonitor's
 * job is its name. `jobLabel` takes the job from a label of the object.
 */
function monitorJob(kind: 'serviceMonitor' | 'podMonitor', m: ServiceMonitor | PodMonitor, e: MonitorEndpoint, index: number, ctx: DeclaredJobsContext, defaultInterval: string): Job {
  const service = kind === 'serviceMonitor';
  const meta = service ? '__meta_kubernetes_service' : '__meta_kubernetes_pod';
  const relabel: Relabel[] = [...selectorRelabelings(m.selector, meta)];
  if (e.port !== undefined) {
    relabel.push({ source_labels: [service ? '__meta_kubernetes_endpoint_port_name' : '__meta_kubernetes_pod_container_port_name'], regex: escapeRegex(e.port), action: 'keep' });
  } else if (typeof e.targetPort === 'number') {
    relabel.push({ source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: String(e.targetPort), action: 'keep' });
  } else if (e.targetPort !== undefined) {
    relabel.push({ source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: escapeRegex(e.targetPort), action: 'keep' });
  }
  // Finished pods have nothing to scrape (the Operator's filterRunning).
  relabel.push({ source_labels: ['__meta_kubernetes_pod_phase'], regex: '(Failed|Succeeded)', action: 'drop' });
  relabel.push(copy('__meta_kubernetes_namespace', 'namespace'));
  if (service) relabel.push(copy('__meta_kubernetes_service_name', 'service'));
  relabel.push(copy('__meta_kubernetes_pod_name', 'pod'), copy('__meta_kubernetes_pod_container_name', 'container'));
  relabel.push(
    service
      ? copy('__meta_kubernetes_service_name', 'job')
      : { target_label: 'job', replacement: m.name },
  );
  if (m.jobLabel) relabel.push({ source_labels: [`${meta}_label_${metaName(m.jobLabel)}`], regex: '(.+)', target_label: 'job' });
  relabel.push({ target_label: 'endpoint', replacement: String(e.port ?? e.targetPort) });
  relabel.push(...(e.relabelings ?? []));
  return {
    job_name: monitorJobName(kind, m.name, index),
    ...(e.honorLabels ? { honor_labels: true } : {}),
    ...endpointFields(e, e.interval ?? defaultInterval, e.scrapeTimeout),
    kubernetes_sd_configs: [{ role: service ? 'endpoints' : 'pod', namespaces: { names: [...(m.namespaces ?? [ctx.namespace])] } }],
    relabel_configs: relabel,
    ...(e.metricRelabelings?.length ? { metric_relabel_configs: e.metricRelabelings } : {}),
  };
}

/** Every scrape job the environment declares, in the order: static, ServiceMonitors, PodMonitors, raw. */
export function declaredJobs(scrape: ScrapeConfig, ctx: DeclaredJobsContext, defaultInterval: string): Job[] {
  return [
    ...scrape.static.map((j) => staticJob(j, defaultInterval)),
    ...scrape.serviceMonitors.flatMap((m) => m.endpoints.map((e, i) => monitorJob('serviceMonitor', m, e, i, ctx, defaultInterval))),
    ...scrape.podMonitors.flatMap((m) => m.podMetricsEndpoints.map((e, i) => monitorJob('podMonitor', m, e, i, ctx, defaultInterval))),
    ...scrape.additionalScrapeConfigs.map((c) => ({ ...c })),
  ];
}

/** The Secret keys the declared jobs read, grouped by Secret. */
export function scrapeSecrets(scrape: ScrapeConfig): Map<string, Set<string>> {
  const refs: SecretRef[] = [];
  const collect = (e: { tls?: StaticScrapeJob['tls']; basicAuth?: StaticScrapeJob['basicAuth'] }): void => {
    if (e.tls?.ca) refs.push(e.tls.ca);
    if (e.basicAuth) refs.push(e.basicAuth.password);
  };
  scrape.static.forEach(collect);
  scrape.serviceMonitors.forEach((m) => m.endpoints.forEach(collect));
  scrape.podMonitors.forEach((m) => m.podMetricsEndpoints.forEach(collect));
  const bySecret = new Map<string, Set<string>>();
  for (const r of refs) bySecret.set(r.secretName, (bySecret.get(r.secretName) ?? new Set()).add(r.key));
  return bySecret;
}

/**
 * NetworkPolicy flows for what the environment declares, and nothing wider:
 * an IP target gets its address and port, an in-cluster host its namespace
 * and port, a monitor its namespaces, and `scrape.egress` its blocks and
 * ports (hosts outside the cluster, raw scrape_configs).
 */
export function declaredEgress(scrape: ScrapeConfig, ctx: DeclaredJobsContext): Flow[] {
  const byPort = new Map<number, Map<string, Flow['peers'][number]>>();
  const add = (port: number, key: string, peer: Flow['peers'][number]): void => {
    byPort.set(port, (byPort.get(port) ?? new Map()).set(key, peer));
  };
  for (const j of scrape.static) {
    for (const t of j.targets) {
      const a = parseTarget(t);
      if (!a) continue;
      if (a.ip !== 0) {
        const cidr = `${a.host}/${a.ip === 4 ? 32 : 128}`;
        add(a.port, `cidr:${cidr}`, { cidr });
        continue;
      }
      const ns = clusterNamespaceOf(a.host, ctx.namespace, ctx.clusterDomain);
      if (ns !== undefined) add(a.port, `ns:${ns}`, { namespace: ns });
    }
  }
  const flows: Flow[] = [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, peers]) => ({ peers: [...peers.values()], ports: [{ port }] satisfies PortSpec[] }));
  // Monitors name ports, not numbers: their namespaces are opened on every port.
  const monitorNamespaces = new Set([...scrape.serviceMonitors, ...scrape.podMonitors].flatMap((m) => m.namespaces ?? [ctx.namespace]));
  if (monitorNamespaces.size > 0) flows.push({ peers: [...monitorNamespaces].sort().map((namespace) => ({ namespace })) });
  for (const r of scrape.egress) flows.push({ peers: [{ cidr: r.cidr }], ports: r.ports.map((port) => ({ port })) });
  return flows;
}
