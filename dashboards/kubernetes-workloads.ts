import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, labelVariable, promql, promqlInstant, section, stackDashboard, statPanel, tablePanel, timeseriesPanel } from './common/index.js';

const NS = 'namespace=~"$namespace"';
// Per-container CPU and memory come recorded (rules/recording.ts): reading every cAdvisor series at each refresh is what makes this dashboard slow on a large cluster.
const CPU = `namespace_pod_container:container_cpu_usage_seconds_total:rate5m{${NS}}`;
const MEMORY = `namespace_pod_container:container_memory_working_set_bytes:sum{${NS}}`;

/** Pods of a namespace: resources against requests and limits, restarts, readiness and rollouts. */
export function kubernetesWorkloads(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.kubernetesWorkloads,
    title: 'Kubernetes workloads',
    description: 'Pods of the selected namespaces: CPU and memory against requests and limits, throttling, restarts, OOM kills, readiness and rollouts.',
    tags: ['kubernetes'],
    datasources: ['prometheus'],
  }).withVariable(labelVariable({ name: 'namespace', series: 'kube_pod_info' }));

  section(d, 'State', [
    statPanel({ title: 'Pods not ready', description: 'Pods whose Ready condition is false.', thresholds: [[1, 'orange']], queries: [promql(`sum(kube_pod_status_ready{${NS}, condition="false"})`)] }),
    statPanel({ title: 'Unavailable replicas', description: 'Replicas Deployments want but do not have available.', thresholds: [[1, 'red']], queries: [promql(`sum(kube_deployment_spec_replicas{${NS}}) - sum(kube_deployment_status_replicas_available{${NS}})`)] }),
    statPanel({ title: 'Restarts (1h)', description: 'Container restarts over the last hour.', thresholds: [[1, 'orange'], [5, 'red']], queries: [promql(`sum(increase(kube_pod_container_status_restarts_total{${NS}}[1h]))`)] }),
    statPanel({
      title: 'OOM-killed containers',
      description: 'Containers whose last termination was the OOM killer: their memory limit is too low.',
      thresholds: [[1, 'red']],
      queries: [promql(`sum(kube_pod_container_status_last_terminated_reason{${NS}, reason="OOMKilled"})`)],
    }),
  ]);

  section(d, 'CPU', [
    timeseriesPanel({ title: 'CPU by pod', description: 'CPU seconds used per second.', unit: units.Short, queries: [promql(`sum by (pod) (${CPU})`, '{{pod}}')] }),
    timeseriesPanel({
      title: 'CPU throttling by pod',
      description: 'Share of CPU periods in which the container hit its CPU limit; above 25% the limit slows the program.',
      unit: units.PercentUnit,
      thresholds: [[0.25, 'orange']],
      queries: [promql(`sum by (pod) (namespace_pod_container:container_cpu_cfs_throttled_periods_total:rate5m{${NS}}) / sum by (pod) (namespace_pod_container:container_cpu_cfs_periods_total:rate5m{${NS}})`, '{{pod}}')],
    }),
  ]);

  section(d, 'Memory', [
    timeseriesPanel({ title: 'Memory by pod', description: 'Working set (what the OOM killer counts).', unit: units.BytesIEC, queries: [promql(`sum by (pod) (${MEMORY})`, '{{pod}}')] }),
    timeseriesPanel({
      title: 'Memory against limit',
      description: 'Working set of each container as a share of its memory limit; at 100% it is OOM-killed.',
      unit: units.PercentUnit,
      thresholds: [[0.9, 'red']],
      queries: [
        promql(
          `sum by (pod, container) (${MEMORY}) / sum by (pod, container) (kube_pod_container_resource_limits{${NS}, resource="memory"})`,
          '{{pod}}/{{container}}',
        ),
      ],
    }),
  ]);

  section(d, 'Requests and limits', [
    tablePanel({
      title: 'Resources by pod',
      description: 'CPU and memory used now against what each pod requests: pods far below their requests waste capacity, pods above them risk eviction.',
      w: 24,
      queries: [
        promqlInstant(`sum by (pod) (${CPU})`),
        promqlInstant(`sum by (pod) (kube_pod_container_resource_requests{${NS}, resource="cpu"})`),
        promqlInstant(`sum by (pod) (${MEMORY})`),
        promqlInstant(`sum by (pod) (kube_pod_container_resource_requests{${NS}, resource="memory"})`),
      ],
      transformations: [
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: { excludeByName: { Time: true }, renameByName: { 'Value #A': 'CPU used', 'Value #B': 'CPU requested', 'Value #C': 'memory used', 'Value #D': 'memory requested' } },
        },
      ],
    }),
  ]);
  return d;
}
