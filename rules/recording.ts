import { type Environment, group, record, type RecordingRule, type RuleGroup } from '../src/authoring/index.js';
import { JOBS } from './control-plane-common.js';

/*
 * Recording rules for the dashboards' heaviest queries: the ones that read
 * every container (cAdvisor), every CPU of every node, or a histogram of every
 * API server, etcd member, kubelet or CoreDNS pod at each refresh. Prometheus
 * computes them once per evaluation; the panels read the few series they
 * keep. Names follow `level:metric:operations`. They ship whether or not an
 * environment scrapes the part they read (a rule over nothing records
 * nothing), so that every dashboard finds the series it reads in every
 * environment.
 */

/** A recorded quantile of a histogram: `<by>:<histogram>:histogram_quantile` with a `quantile` label, as kube-prometheus names them. */
function quantile(q: number, histogram: string, selector: string, by: readonly string[]): RecordingRule {
  const level = by.filter((l) => l !== 'job').join('_') || 'job';
  return record({
    record: `${level}:${histogram}:histogram_quantile`,
    expr: `histogram_quantile(${q}, sum by (${[...by, 'le'].join(', ')}) (rate(${histogram}_bucket{${selector}}[5m])))`,
    labels: { quantile: String(q) },
  });
}

/** `sum by (<by>) (rate(<counter>{<selector>}[5m]))`, recorded as `<by>:<counter>:rate5m`. */
function rate5m(counter: string, selector: string, by: readonly string[]): RecordingRule {
  return record({ record: `${by.join('_')}:${counter}:rate5m`, expr: `sum by (${by.join(', ')}) (rate(${counter}{${selector}}[5m]))` });
}

const CONTAINERS = `job="cadvisor", container!="", container!="POD"`;
const NODES = `job="node-exporter"`;

/** Containers and nodes: what the workloads and nodes dashboards read for every pod and CPU. */
function workloadRecords(): RuleGroup {
  const perContainer = ['namespace', 'pod', 'container'];
  return group({
    name: 'obstack.recording.workloads',
    rules: [
      rate5m('container_cpu_usage_seconds_total', CONTAINERS, perContainer),
      rate5m('container_cpu_cfs_throttled_periods_total', CONTAINERS, perContainer),
      rate5m('container_cpu_cfs_periods_total', CONTAINERS, perContainer),
      record({ record: 'namespace_pod_container:container_memory_working_set_bytes:sum', expr: `sum by (namespace, pod, container) (container_memory_working_set_bytes{${CONTAINERS}})` }),
      record({ record: 'instance:node_cpu_utilisation:rate5m', expr: `1 - avg by (instance) (rate(node_cpu_seconds_total{${NODES}, mode="idle"}[5m]))` }),
      record({ record: 'instance:node_num_cpu:sum', expr: `count by (instance) (node_cpu_seconds_total{${NODES}, mode="idle"})` }),
    ],
  });
}

/** The control plane: request rates by outcome and latency percentiles, per part. */
function controlPlaneRecords(): RuleGroup {
  const j = (job: string) => `job="${job}"`;
  const q99 = (histogram: string, job: string, by: readonly string[]) => quantile(0.99, histogram, j(job), by);
  return group({
    name: 'obstack.recording.control-plane',
    rules: [
      rate5m('apiserver_request_total', j(JOBS.apiServer), ['code', 'verb']),
      quantile(0.99, 'apiserver_request_sli_duration_seconds', `${j(JOBS.apiServer)}, verb!~"WATCH|CONNECT"`, ['verb']),
      quantile(0.5, 'apiserver_request_sli_duration_seconds', `${j(JOBS.apiServer)}, verb!~"WATCH|CONNECT"`, ['verb']),
      q99('etcd_disk_wal_fsync_duration_seconds', JOBS.etcd, ['instance']),
      q99('etcd_disk_backend_commit_duration_seconds', JOBS.etcd, ['instance']),
      q99('etcd_network_peer_round_trip_time_seconds', JOBS.etcd, ['instance']),
      rate5m('scheduler_schedule_attempts_total', j(JOBS.scheduler), ['result']),
      q99('scheduler_scheduling_attempt_duration_seconds', JOBS.scheduler, ['job']),
      rate5m('workqueue_adds_total', j(JOBS.controllerManager), ['name']),
      q99('workqueue_queue_duration_seconds', JOBS.controllerManager, ['name']),
      rate5m('coredns_dns_responses_total', j(JOBS.coreDns), ['rcode']),
      q99('coredns_dns_request_duration_seconds', JOBS.coreDns, ['zone']),
      q99('kubelet_pleg_relist_duration_seconds', JOBS.kubelet, ['node']),
      q99('kubelet_pod_worker_duration_seconds', JOBS.kubelet, ['node']),
      q99('kubeproxy_sync_proxy_rules_duration_seconds', JOBS.kubeProxy, ['instance']),
    ],
  });
}

/** The recording rules the shipped dashboards read. */
export function recordingRules(_env: Environment): RuleGroup[] {
  return [workloadRecords(), controlPlaneRecords()];
}
