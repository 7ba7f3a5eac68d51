import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, promql, section, stackDashboard, statPanel, timeseriesPanel } from './common/index.js';

/** The jobs of the control plane's scrape configs (src/constructs/prometheus/control-plane-jobs.ts and the kubelet's). */
const JOBS = 'apiserver|etcd|kube-scheduler|kube-controller-manager|coredns|kube-proxy|kubelet';
const q99 = 'quantile="0.99"';

/**
 * The Kubernetes control plane: API server, etcd, scheduler,
 * controller-manager, CoreDNS, kubelets and kube-proxy. The histogram and
 * rate panels read the series of rules/recording.ts, so a refresh reads a few
 * series per part rather than every bucket of every target. A part an
 * environment does not scrape (`controlPlane`) shows no data.
 */
export function controlPlane(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.controlPlane,
    title: 'Kubernetes control plane',
    description: 'API server, etcd, scheduler, controller-manager, CoreDNS, kubelets and kube-proxy: availability, errors, latency and backlog.',
    tags: ['kubernetes', 'control-plane'],
    datasources: ['prometheus'],
  });

  section(d, 'Overview', [
    statPanel({
      title: 'Targets up by part',
      description: 'Scrape targets answering, per control-plane job. A part missing here is switched off or not discovered.',
      w: 12,
      sparkline: false,
      queries: [promql(`sum by (job) (up{job=~"${JOBS}"})`, '{{job}}')],
    }),
    statPanel({
      title: 'API errors',
      description: 'Share of API server requests answered with a 5xx over the last 5 minutes.',
      unit: units.PercentUnit,
      thresholds: [[0.01, 'orange'], [0.05, 'red']],
      queries: [promql('sum(code_verb:apiserver_request_total:rate5m{code=~"5.."}) / sum(code_verb:apiserver_request_total:rate5m)')],
    }),
    statPanel({
      title: 'etcd members without a leader',
      description: 'etcd members that see no leader; anything above 0 means writes fail on them.',
      thresholds: [[1, 'red']],
      queries: [promql('count(etcd_server_has_leader{job="etcd"} == 0) or vector(0)')],
    }),
  ]);

  section(d, 'API server', [
    timeseriesPanel({
      title: 'Requests by code',
      description: 'API requests per second by HTTP code; 5xx are failures, 429 are priority and fairness rejections.',
      unit: units.RequestsPerSecond,
      stacked: true,
      queries: [promql('sum by (code) (code_verb:apiserver_request_total:rate5m)', '{{code}}')],
    }),
    timeseriesPanel({
      title: 'Latency by verb (p99)',
      description: '99th percentile of request duration by verb, without time spent queued by priority and fairness or in webhooks. The alert fires above a second.',
      unit: units.Seconds,
      thresholds: [[1, 'red']],
      queries: [promql(`verb:apiserver_request_sli_duration_seconds:histogram_quantile{${q99}}`, '{{verb}}')],
    }),
    timeseriesPanel({
      title: 'Requests in flight',
      description: 'Requests being served now, mutating and read-only; a plateau at the limit means requests queue.',
      unit: units.Short,
      queries: [promql('sum by (request_kind) (apiserver_current_inflight_requests{job="apiserver"})', '{{request_kind}}')],
    }),
    timeseriesPanel({
      title: 'Rejected and terminated requests',
      description: 'Requests refused by priority and fairness, by priority level, and requests the server terminated before serving them.',
      unit: units.RequestsPerSecond,
      queries: [
        promql('sum by (priority_level) (rate(apiserver_flowcontrol_rejected_requests_total{job="apiserver"}[$__rate_interval]))', 'rejected {{priority_level}}'),
        promql('sum(rate(apiserver_request_terminations_total{job="apiserver"}[$__rate_interval]))', 'terminated'),
      ],
    }),
  ]);

  section(d, 'etcd', [
    timeseriesPanel({
      title: 'Disk latency (p99)',
      description: 'WAL fsync and backend commit time by member; fsyncs above 500 ms and commits above 250 ms cause leader elections.',
      unit: units.Seconds,
      queries: [
        promql(`instance:etcd_disk_wal_fsync_duration_seconds:histogram_quantile{${q99}}`, 'fsync {{instance}}'),
        promql(`instance:etcd_disk_backend_commit_duration_seconds:histogram_quantile{${q99}}`, 'commit {{instance}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Peer round trip (p99)',
      description: 'Round trip between members; it bounds how fast the cluster agrees on a write.',
      unit: units.Seconds,
      queries: [promql(`instance:etcd_network_peer_round_trip_time_seconds:histogram_quantile{${q99}}`, '{{instance}}')],
    }),
    timeseriesPanel({
      title: 'Database size against quota',
      description: 'Size of each member\'s database and the quota at which etcd refuses writes; in use is what a defragmentation would keep.',
      unit: units.BytesIEC,
      queries: [
        promql('etcd_mvcc_db_total_size_in_bytes{job="etcd"}', 'size {{instance}}'),
        promql('etcd_mvcc_db_total_size_in_use_in_bytes{job="etcd"}', 'in use {{instance}}'),
        promql('max(etcd_server_quota_backend_bytes{job="etcd"})', 'quota'),
      ],
    }),
    timeseriesPanel({
      title: 'Proposals',
      description: 'Proposals committed and failed per second, and pending; failures come with leader changes.',
      unit: units.OpsPerSecond,
      queries: [
        promql('sum(rate(etcd_server_proposals_committed_total{job="etcd"}[$__rate_interval]))', 'committed'),
        promql('sum(rate(etcd_server_proposals_failed_total{job="etcd"}[$__rate_interval]))', 'failed'),
        promql('sum(etcd_server_proposals_pending{job="etcd"})', 'pending'),
        promql('sum(increase(etcd_server_leader_changes_seen_total{job="etcd"}[1h]))', 'leader changes (1h)'),
      ],
    }),
  ]);

  section(d, 'Scheduler and controller-manager', [
    timeseriesPanel({
      title: 'Scheduling attempts by result',
      description: 'Pods placed, found no node for (unschedulable), or failed with an error, per second.',
      unit: units.OpsPerSecond,
      stacked: true,
      queries: [promql('result:scheduler_schedule_attempts_total:rate5m', '{{result}}')],
    }),
    timeseriesPanel({
      title: 'Scheduling latency (p99) and pending pods',
      description: 'Time of one scheduling attempt, and pods waiting by queue; pods in "unschedulable" fit no node.',
      unit: units.Short,
      queries: [
        promql(`job:scheduler_scheduling_attempt_duration_seconds:histogram_quantile{${q99}}`, 'p99 seconds'),
        promql('sum by (queue) (scheduler_pending_pods{job="kube-scheduler"})', 'pending {{queue}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Controller work queue adds',
      description: 'Items added per second to each controller-manager work queue: what each controller has to reconcile.',
      unit: units.OpsPerSecond,
      queries: [promql('topk(10, name:workqueue_adds_total:rate5m)', '{{name}}')],
    }),
    timeseriesPanel({
      title: 'Controller queue wait (p99) and depth',
      description: 'How long items wait before a controller takes them, and how many wait now, by queue; a growing wait means the controller falls behind.',
      unit: units.Short,
      queries: [
        promql(`topk(10, name:workqueue_queue_duration_seconds:histogram_quantile{${q99}})`, 'wait {{name}}'),
        promql('topk(10, sum by (name) (workqueue_depth{job="kube-controller-manager"}))', 'depth {{name}}'),
      ],
    }),
  ]);

  section(d, 'CoreDNS and kube-proxy', [
    timeseriesPanel({
      title: 'DNS responses by code',
      description: 'Answers per second by response code; SERVFAIL is a failure, NXDOMAIN a name that does not exist.',
      unit: units.OpsPerSecond,
      stacked: true,
      queries: [promql('rcode:coredns_dns_responses_total:rate5m', '{{rcode}}')],
    }),
    timeseriesPanel({
      title: 'DNS latency (p99) and cache hits',
      description: '99th percentile of lookup time by zone, and the share of lookups answered from the cache.',
      unit: units.Short,
      queries: [
        promql(`zone:coredns_dns_request_duration_seconds:histogram_quantile{${q99}}`, 'p99 seconds {{zone}}'),
        promql('sum(rate(coredns_cache_hits_total{job="coredns"}[$__rate_interval])) / (sum(rate(coredns_cache_hits_total{job="coredns"}[$__rate_interval])) + sum(rate(coredns_cache_misses_total{job="coredns"}[$__rate_interval])))', 'cache hit ratio'),
      ],
    }),
    timeseriesPanel({
      title: 'kube-proxy rule sync (p99)',
      description: 'Time to rewrite the Service rules on each node; while it runs, new endpoints are not reachable from that node.',
      unit: units.Seconds,
      queries: [promql(`instance:kubeproxy_sync_proxy_rules_duration_seconds:histogram_quantile{${q99}}`, '{{instance}}')],
    }),
    timeseriesPanel({
      title: 'Since last kube-proxy sync',
      description: 'Seconds since each kube-proxy last synced its rules.',
      unit: units.Seconds,
      queries: [promql('time() - max by (instance) (kubeproxy_sync_proxy_rules_last_timestamp_seconds{job="kube-proxy"})', '{{instance}}')],
    }),
  ]);

  section(d, 'Kubelets', [
    timeseriesPanel({
      title: 'Running pods and containers by node',
      description: 'What each kubelet runs; compare with the node\'s pod capacity (110 by default).',
      unit: units.Short,
      queries: [promql('sum by (node) (kubelet_running_pods{job="kubelet"})', 'pods {{node}}'), promql('sum by (node) (kubelet_running_containers{job="kubelet", container_state="running"})', 'containers {{node}}')],
    }),
    timeseriesPanel({
      title: 'PLEG relist and pod sync (p99)',
      description: 'Pod lifecycle event generator relist time (above 10 s the node may turn NotReady) and pod worker sync time, by node.',
      unit: units.Seconds,
      queries: [
        promql(`node:kubelet_pleg_relist_duration_seconds:histogram_quantile{${q99}}`, 'PLEG {{node}}'),
        promql(`node:kubelet_pod_worker_duration_seconds:histogram_quantile{${q99}}`, 'pod sync {{node}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Container runtime errors',
      description: 'Failed calls from the kubelets to the container runtime per second, by operation.',
      unit: units.OpsPerSecond,
      queries: [promql('sum by (operation_type) (rate(kubelet_runtime_operations_errors_total{job="kubelet"}[$__rate_interval]))', '{{operation_type}}')],
    }),
    timeseriesPanel({
      title: 'Kubelet certificates',
      description: 'Time left on each kubelet\'s client and serving certificates; the alerts fire below a week.',
      unit: units.Seconds,
      queries: [
        promql('min by (node) (kubelet_certificate_manager_client_ttl_seconds{job="kubelet"})', 'client {{node}}'),
        promql('min by (node) (kubelet_certificate_manager_server_ttl_seconds{job="kubelet"})', 'server {{node}}'),
      ],
    }),
  ]);
  return d;
}
