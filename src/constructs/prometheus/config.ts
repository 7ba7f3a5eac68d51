import type { RemoteWriteEndpoint } from '../../config/index.js';
import type { ScrapeEndpoint } from './scrape.js';
import { secretFile } from './declared-jobs.js';
import { type Duration, durationSeconds } from '../../authoring/types.js';

/** The in-pod paths of what Prometheus reads from its service account. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const RULES_DIR = '/etc/prometheus/rules';

export interface PrometheusConfigInput {
  readonly scrapeInterval: string;
  readonly evaluationInterval: string;
  readonly externalLabels: Readonly<Record<string, string>>;
  /** Adds a `prometheus_replica` external label so replicas' series stay apart; dropped from alerts. */
  readonly replicaLabel: boolean;
  readonly alertmanagers: readonly string[];
  readonly endpoints: readonly ScrapeEndpoint[];
  /** Whether rule files are mounted. */
  readonly ruleFiles: boolean;
  /** Who owns which alerts: sets the `team` label of alerts sent to Alertmanager. @default - no teams */
  readonly teams?: readonly TeamOwnership[];
  /** Jobs the environment declares (`scrape`), after the stack's own. @default - none */
  readonly declaredJobs?: readonly Record<string, unknown>[];
  /** The blackbox exporter's probe jobs (`prometheus.probe(blackbox)`), after the stack's components. @default - none */
  readonly probeJobs?: readonly Record<string, unknown>[];
  /** Whether the kubelet and cAdvisor jobs are written (`controlPlane.kubelet`). @default true */
  readonly kubelet?: boolean;
  /** Jobs of the other control-plane parts (control-plane-jobs.ts), after the kubelet's. @default - none */
  readonly controlPlaneJobs?: readonly Record<string, unknown>[];
  /**
   * Which part of the targets this Prometheus scrapes: every job keeps only
   * the targets whose address hashes to `index` modulo `count`, and the
   * series carry the `prometheus_shard` external label.
   * @default - not sharded: every target
   */
  readonly shard?: { readonly index: number; readonly count: number };
  /** The `cluster` external label, unless externalLabels sets one. @default - none */
  readonly cluster?: string;
  /** Stores every sample is also sent to. @default - none */
  readonly remoteWrite?: readonly RemoteWriteEndpoint[];
}

type Relabel = Record<string, unknown>;

/** A team and the namespaces and services whose alerts are its own. */
export interface TeamOwnership {
  readonly team: string;
  readonly namespaces: readonly string[];
  readonly services: readonly string[];
}

const copy = (source: string, target: string): Relabel => ({ source_labels: [source], target_label: target });

function endpointJob(e: ScrapeEndpoint): Record<string, unknown> {
  const relabel: Relabel[] = [
    { source_labels: ['__meta_kubernetes_service_name'], regex: e.serviceName, action: 'keep' },
    { source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: e.portName, action: 'keep' },
    ...(e.honorLabels
      ? []
      : [
          copy('__meta_kubernetes_namespace', 'namespace'),
          copy('__meta_kubernetes_pod_name', 'pod'),
          copy('__meta_kubernetes_service_name', 'service'),
          copy('__meta_kubernetes_pod_node_name', 'node'),
        ]),
  ];
  if (e.instanceFromNode) relabel.push(copy('__meta_kubernetes_pod_node_name', 'instance'));
  return {
    job_name: e.jobName,
    ...(e.honorLabels ? { honor_labels: true } : {}),
    metrics_path: e.path ?? '/metrics',
    // Read at every scrape, so a rotated key in the mounted Secret is used without a reload.
    ...(e.bearerToken ? { authorization: { type: 'Bearer', credentials_file: secretFile(e.bearerToken) } } : {}),
    kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: [e.namespace] } }],
    relabel_configs: relabel,
  };
}

/**
 * Jobs for applications that ask to be scraped with `prometheus.io/scrape|port|path` annotations.
 * Every target gets the `service` and `team` labels the application alerts and
 * dashboards group and route by. A pod's `service` is its
 * `app.kubernetes.io/name` label, else its `app` label, else the name of its
 * controller (a Deployment's, without the ReplicaSet hash), else the pod's name;
 * its `team` is its `team` label, else the owner the environment's `teams` name.
 */
function annotationJob(role: 'pod' | 'service', teams: readonly TeamOwnership[]): Record<string, unknown> {
  const meta = role === 'pod' ? '__meta_kubernetes_pod' : '__meta_kubernetes_service';
  const sdRole = role === 'pod' ? 'pod' : 'endpoints';
  const relabel: Relabel[] = [
    { source_labels: [`${meta}_annotation_prometheus_io_scrape`], regex: 'true', action: 'keep' },
    // The stack's own components have jobs of their own above; scraping them twice would double every series.
    { source_labels: [`${meta}_label_app_kubernetes_io_managed_by`], regex: 'obstack', action: 'drop' },
    { source_labels: [`${meta}_annotation_prometheus_io_scheme`], regex: '(https?)', target_label: '__scheme__' },
    { source_labels: [`${meta}_annotation_prometheus_io_path`], regex: '(.+)', target_label: '__metrics_path__' },
    {
      source_labels: ['__address__', `${meta}_annotation_prometheus_io_port`],
      regex: '([^:]+)(?::\\d+)?;(\\d+)',
      replacement: '$1:$2',
      target_label: '__address__',
    },
    copy('__meta_kubernetes_namespace', 'namespace'),
    copy('__meta_kubernetes_pod_name', 'pod'),
    copy('__meta_kubernetes_pod_node_name', 'node'),
  ];
  if (role === 'pod') {
    // Finished or not-yet-started pods have nothing to scrape.
    relabel.splice(1, 0, { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed|Completed', action: 'drop' });
    // From the weakest name to the strongest: each later rule overwrites when its source is set.
    const controller = ['__meta_kubernetes_pod_controller_kind', '__meta_kubernetes_pod_controller_name'];
    relabel.push(
      copy('__meta_kubernetes_pod_name', 'service'),
      { source_labels: controller, regex: '[^;]+;(.+)', target_label: 'service' },
      { source_labels: controller, regex: 'ReplicaSet;(.+)-[a-z0-9]+', target_label: 'service' },
      { source_labels: ['__meta_kubernetes_pod_label_app'], regex: '(.+)', target_label: 'service' },
      { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: '(.+)', target_label: 'service' },
    );
  } else {
    relabel.push(copy('__meta_kubernetes_service_name', 'service'));
  }
  relabel.push({ source_labels: [`${meta}_label_app_kubernetes_io_name`], regex: '(.+)', target_label: 'app' });
  relabel.push({ source_labels: [`${meta}_label_team`], regex: '(.+)', target_label: 'team' }, ...teamRelabelConfigs(teams));
  return {
    job_name: role === 'pod' ? 'kubernetes-pods' : 'kubernetes-service-endpoints',
    kubernetes_sd_configs: [{ role: sdRole }],
    relabel_configs: relabel,
  };
}

/** The kubelet's own metrics and its cAdvisor container metrics, scraped on each node's port 10250. */
function kubeletJob(name: 'kubelet' | 'cadvisor'): Record<string, unknown> {
  return {
    job_name: name,
    scheme: 'https',
    metrics_path: name === 'kubelet' ? '/metrics' : '/metrics/cadvisor',
    // Kubelet serving certificates are usually self-signed by the node, not by the cluster CA.
    tls_config: { ca_file: `${SERVICE_ACCOUNT_DIR}/ca.crt`, insecure_skip_verify: true },
    authorization: { credentials_file: `${SERVICE_ACCOUNT_DIR}/token` },
    kubernetes_sd_configs: [{ role: 'node' }],
    relabel_configs: [
      { regex: '__meta_kubernetes_node_label_(.+)', action: 'labelmap', replacement: 'node_label_$1' },
      copy('__meta_kubernetes_node_name', 'node'),
      copy('__meta_kubernetes_node_name', 'instance'),
    ],
    ...(name === 'cadvisor'
      ? {
          metric_relabel_configs: [
            // Series of the pause container and of the pod cgroup carry no container name and only add cardinality.
            { source_labels: ['container'], regex: 'POD', action: 'drop' },
          ],
        }
      : {}),
  };
}

const escapeRegex = (s: string): string => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/**
 * Sets the `team` label of an alert (or of an application target) from its `service` label, then from its
 * `namespace` label, only when the alert has no `team` yet (a team's own rule
 * may set it). A service is the more precise owner, so it is tried first.
 */
export function teamRelabelConfigs(owners: readonly TeamOwnership[]): Relabel[] {
  const rules: Relabel[] = [];
  for (const label of ['service', 'namespace'] as const) {
    for (const o of owners) {
      const values = label === 'service' ? o.services : o.namespaces;
      if (values.length === 0) continue;
      rules.push({
        source_labels: ['team', label],
        separator: ';',
        // Anchored by Prometheus: an empty team, then one of the owned values.
        regex: `;(?:${values.map(escapeRegex).join('|')})`,
        target_label: 'team',
        replacement: o.team,
        action: 'replace',
      });
    }
  }
  return rules;
}

/**
 * The last relabelling of every job of shard `index` of `count`: keep the
 * targets whose final address hashes to it. Last, not first, because jobs
 * rewrite `__address__` (an annotated port, a control-plane pod's metrics
 * port): a pod discovered once per container port becomes one target only
 * after that rewrite, and hashing earlier could send its copies to two shards.
 */
export function shardRelabelConfigs(index: number, count: number): Relabel[] {
  return [
    { source_labels: ['__address__'], modulus: count, target_label: '__tmp_hash', action: 'hashmod' },
    { source_labels: ['__tmp_hash'], regex: String(index), action: 'keep' },
  ];
}

function onShard(job: Record<string, unknown>, shard: { readonly index: number; readonly count: number }): Record<string, unknown> {
  const own = Array.isArray(job.relabel_configs) ? (job.relabel_configs as Relabel[]) : [];
  return { ...job, relabel_configs: [...own, ...shardRelabelConfigs(shard.index, shard.count)] };
}

/** One `remote_write` entry; credentials are files of mounted Secret keys, read at every request. */
function remoteWriteEntry(e: RemoteWriteEndpoint): Record<string, unknown> {
  const q = e.queue;
  const queue: Record<string, unknown> = {
    ...(q?.capacity !== undefined ? { capacity: q.capacity } : {}),
    ...(q?.maxShards !== undefined ? { max_shards: q.maxShards } : {}),
    ...(q?.minShards !== undefined ? { min_shards: q.minShards } : {}),
    ...(q?.maxSamplesPerSend !== undefined ? { max_samples_per_send: q.maxSamplesPerSend } : {}),
    ...(q?.batchSendDeadline !== undefined ? { batch_send_deadline: q.batchSendDeadline } : {}),
  };
  const w = e.writeRelabel;
  const relabel: Relabel[] = [
    ...(w?.keep !== undefined ? [{ source_labels: ['__name__'], regex: w.keep, action: 'keep' }] : []),
    ...(w?.drop !== undefined ? [{ source_labels: ['__name__'], regex: w.drop, action: 'drop' }] : []),
    ...(w?.configs ?? []),
  ];
  const tls = e.tls;
  return {
    name: e.name,
    url: e.url,
    ...(e.remoteTimeout ? { remote_timeout: e.remoteTimeout } : {}),
    ...(e.headers && Object.keys(e.headers).length > 0 ? { headers: { ...e.headers } } : {}),
    ...(e.bearerToken ? { authorization: { type: 'Bearer', credentials_file: secretFile(e.bearerToken) } } : {}),
    ...(e.basicAuth ? { basic_auth: { username: e.basicAuth.username, password_file: secretFile(e.basicAuth.password) } } : {}),
    ...(tls
      ? {
          tls_config: {
            ...(tls.ca ? { ca_file: secretFile(tls.ca) } : {}),
            ...(tls.serverName ? { server_name: tls.serverName } : {}),
            ...(tls.insecureSkipVerify ? { insecure_skip_verify: true } : {}),
          },
        }
      : {}),
    ...(Object.keys(queue).length > 0 ? { queue_config: queue } : {}),
    ...(relabel.length > 0 ? { write_relabel_configs: relabel } : {}),
  };
}

/** The exact prometheus.yml of one environment, as a plain object for the YAML serializer. */
export function buildPrometheusConfig(input: PrometheusConfigInput): Record<string, unknown> {
  const shard = input.shard && input.shard.count > 1 ? input.shard : undefined;
  const externalLabels: Record<string, string> = { ...input.externalLabels };
  if (input.cluster !== undefined && externalLabels.cluster === undefined) externalLabels.cluster = input.cluster;
  if (shard) externalLabels.prometheus_shard = String(shard.index);
  if (input.replicaLabel) externalLabels.prometheus_replica = '${POD_NAME}';
  // Every replica receives every alert and deduplicates; the replica label would defeat that, and the shard is
  // no property of what an alert is about.
  const dropped = [...(shard ? ['prometheus_shard'] : []), ...(input.replicaLabel ? ['prometheus_replica'] : [])];
  const alertRelabel: Relabel[] = [
    ...teamRelabelConfigs(input.teams ?? []),
    ...(dropped.length > 0 ? [{ regex: dropped.join('|'), action: 'labeldrop' }] : []),
  ];
  const jobs: Record<string, unknown>[] = [
    ...input.endpoints.map(endpointJob),
    ...(input.probeJobs ?? []),
    ...(input.kubelet ?? true ? [kubeletJob('kubelet'), kubeletJob('cadvisor')] : []),
    ...(input.controlPlaneJobs ?? []),
    annotationJob('pod', input.teams ?? []),
    annotationJob('service', input.teams ?? []),
    ...(input.declaredJobs ?? []),
  ];
  const remoteWrite = input.remoteWrite ?? [];
  return {
    global: {
      scrape_interval: input.scrapeInterval,
      evaluation_interval: input.evaluationInterval,
      // Prometheus refuses a global timeout longer than the global interval.
      scrape_timeout: durationSeconds(input.scrapeInterval as Duration) < 10 ? input.scrapeInterval : '10s',
      ...(Object.keys(externalLabels).length > 0 ? { external_labels: externalLabels } : {}),
    },
    ...(input.ruleFiles ? { rule_files: [`${RULES_DIR}/*.yaml`] } : {}),
    ...(input.alertmanagers.length > 0
      ? {
          alerting: {
            ...(alertRelabel.length > 0 ? { alert_relabel_configs: alertRelabel } : {}),
            alertmanagers: [{ api_version: 'v2', static_configs: [{ targets: [...input.alertmanagers] }] }],
          },
        }
      : {}),
    ...(remoteWrite.length > 0 ? { remote_write: remoteWrite.map(remoteWriteEntry) } : {}),
    scrape_configs: shard ? jobs.map((j) => onShard(j, shard)) : jobs,
  };
}
