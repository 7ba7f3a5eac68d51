import type { ControlPlaneConfig, ControlPlanePodPart, ControlPlanePods } from '../../config/index.js';
import type { Flow } from '../common/network.js';

/** The in-pod paths of what Prometheus reads from its service account (the same as config.ts's). */
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type Job = Record<string, unknown>;
type Relabel = Record<string, unknown>;

/** The job name of each control-plane part scraped as pods; the alerts and dashboards select on these. */
export const CONTROL_PLANE_JOBS: Readonly<Record<ControlPlanePodPart | 'apiServer', string>> = {
  apiServer: 'apiserver',
  etcd: 'etcd',
  scheduler: 'kube-scheduler',
  controllerManager: 'kube-controller-manager',
  coreDns: 'coredns',
  kubeProxy: 'kube-proxy',
};

/**
 * How each part serves its metrics. The scheduler and the controller-manager
 * serve HTTPS only and authorize `/metrics` against the API server
 * (SubjectAccessReview), so Prometheus presents its token; their serving
 * certificates are self-signed by default, hence no verification (as the
 * kubelet jobs). etcd's `--listen-metrics-urls`, CoreDNS and kube-proxy serve
 * plain HTTP with no authorization.
 */
const HTTPS: ReadonlySet<ControlPlanePodPart> = new Set(['scheduler', 'controllerManager']);

/**
 * Parts that run on the host network (static pods and kube-proxy): their pod
 * address is the node's, which a namespace selector in a NetworkPolicy does
 * not match, so Prometheus's egress names their ports instead.
 */
const HOST_NETWORK: ReadonlySet<ControlPlanePodPart> = new Set(['etcd', 'scheduler', 'controllerManager', 'kubeProxy']);

const copy = (source: string, target: string): Relabel => ({ source_labels: [source], target_label: target });

/**
 * The API servers, through the endpoints of the `kubernetes` Service: every
 * API server registers itself there on managed and self-managed clusters alike.
 * Its certificate is signed by the cluster CA for the name `kubernetes`.
 */
function apiServerJob(): Job {
  return {
    job_name: CONTROL_PLANE_JOBS.apiServer,
    scheme: 'https',
    tls_config: { ca_file: `${SA_DIR}/ca.crt`, server_name: 'kubernetes' },
    authorization: { credentials_file: `${SA_DIR}/token` },
    kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: ['default'] } }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_service_name'], regex: 'kubernetes', action: 'keep' },
      { source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: 'https', action: 'keep' },
    ],
    metric_relabel_configs: [
      // Per-resource size and watch histograms are the largest families the API server has; nothing here reads them.
      {
        source_labels: ['__name__'],
        regex: '(apiserver_request_body_size_bytes|apiserver_response_sizes|apiserver_watch_events_sizes|apiserver_watch_list_duration_seconds|apiserver_storage_list_.*)_bucket',
        action: 'drop',
      },
    ],
  };
}

/**
 * One part found as pods in its namespace by its labels (the selector goes to
 * discovery itself, so Prometheus watches only those pods) and scraped on the
 * pod's address at the configured port. A pod yields one target per declared
 * container port; rewritten to one address with the same labels they become
 * one target, which Prometheus deduplicates.
 */
function podJob(part: ControlPlanePodPart, c: ControlPlanePods): Job {
  const https = HTTPS.has(part);
  return {
    job_name: CONTROL_PLANE_JOBS[part],
    scheme: https ? 'https' : 'http',
    ...(https
      ? {
          tls_config: { ca_file: `${SA_DIR}/ca.crt`, insecure_skip_verify: true },
          authorization: { credentials_file: `${SA_DIR}/token` },
        }
      : {}),
    kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [c.namespace] }, selectors: [{ role: 'pod', label: c.selector }] }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed|Unknown', action: 'drop' },
      { source_labels: ['__meta_kubernetes_pod_ip'], regex: '(.+)', replacement: `$1:${c.port}`, target_label: '__address__' },
      copy('__meta_kubernetes_namespace', 'namespace'),
      copy('__meta_kubernetes_pod_name', 'pod'),
      copy('__meta_kubernetes_pod_node_name', 'node'),
    ],
  };
}

const PARTS: readonly ControlPlanePodPart[] = ['etcd', 'scheduler', 'controllerManager', 'coreDns', 'kubeProxy'];

/** The scrape jobs of the enabled control-plane parts besides the kubelet's (config.ts writes those): API server first. */
export function controlPlaneJobs(c: ControlPlaneConfig): Job[] {
  return [...(c.apiServer.enabled ? [apiServerJob()] : []), ...PARTS.filter((p) => c[p].enabled).map((p) => podJob(p, c[p]))];
}

/** Egress to the host-network parts on their ports; the API server and pod-network parts are covered by Prometheus's other flows. */
export function controlPlaneEgress(c: ControlPlaneConfig): Flow[] {
  const ports = [...new Set(PARTS.filter((p) => c[p].enabled && HOST_NETWORK.has(p)).map((p) => c[p].port))].sort((a, b) => a - b);
  return ports.length > 0 ? [{ peers: [{ cidr: '0.0.0.0/0' }], ports: ports.map((port) => ({ port })) }] : [];
}

/** Whether any enabled part authorizes Prometheus's `GET /metrics` as a non-resource URL (the API server, scheduler, controller-manager). */
export function needsMetricsUrl(c: ControlPlaneConfig): boolean {
  return c.apiServer.enabled || c.scheduler.enabled || c.controllerManager.enabled;
}
