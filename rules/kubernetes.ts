import { alert, type Environment, firesWhen, group, humanDuration, percent, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
import { jobDown } from './common.js';

const KSM = 'job="kube-state-metrics"';
const POD = `${KSM},namespace="shop",pod="api-0"`;
const POD_L = { job: 'kube-state-metrics', namespace: 'shop', pod: 'api-0' };
const C = `${POD},container="api"`;
const C_L = { ...POD_L, container: 'api' };
const CAD = 'job="cadvisor",namespace="shop",pod="api-0",container="api"';
const W = { namespace: 'shop', pod: 'api-0', container: 'api' };

/** Kubernetes workloads, from kube-state-metrics, the kubelet and cAdvisor. */
export function kubernetesRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'kubernetes';
  return [
    group({
      name: 'obstack.kubernetes',
      rules: [
        alert({
          alert: 'KubePodCrashLooping',
          expr: `max_over_time(kube_pod_container_status_waiting_reason{${KSM},reason="CrashLoopBackOff"}[5m]) >= 1`,
          for: '15m',
          severity: 'P3',
          service,
          summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} is crash looping',
          description: ({ for: f }) => `Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for ${humanDuration(f)}.`,
          runbook: runbook('KubePodCrashLooping'),
          tests: [
            firesWhen('the container waits in CrashLoopBackOff', { [`kube_pod_container_status_waiting_reason{${C},reason="CrashLoopBackOff"}`]: '1x30' }, '25m', {
              ...C_L,
              reason: 'CrashLoopBackOff',
            }),
            silentWhen('the container runs', { [`kube_pod_container_status_waiting_reason{${C},reason="CrashLoopBackOff"}`]: '0x30' }, '25m'),
          ],
        }),
        alert({
          alert: 'KubePodNotReady',
          expr: `sum by (namespace, pod) (kube_pod_status_phase{${KSM},phase=~"Pending|Unknown|Failed"}) > 0`,
          for: '15m',
          severity: 'P3',
          service,
          summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} is not running',
          description: ({ for: f }) => `{{ $labels.namespace }}/{{ $labels.pod }} has been Pending, Unknown or Failed for ${humanDuration(f)}.`,
          runbook: runbook('KubePodNotReady'),
          tests: [
            firesWhen('the pod stays Pending', { [`kube_pod_status_phase{${POD},phase="Pending"}`]: '1x30', [`kube_pod_status_phase{${POD},phase="Running"}`]: '0x30' }, '25m', {
              namespace: 'shop',
              pod: 'api-0',
            }),
            silentWhen('the pod runs', { [`kube_pod_status_phase{${POD},phase="Pending"}`]: '0x30', [`kube_pod_status_phase{${POD},phase="Running"}`]: '1x30' }, '25m'),
          ],
        }),
        alert({
          alert: 'KubeDeploymentReplicasMismatch',
          expr: `kube_deployment_spec_replicas{${KSM}} > kube_deployment_status_replicas_available{${KSM}}`,
          for: '15m',
          severity: 'P3',
          service,
          summary: 'Deployment {{ $labels.namespace }}/{{ $labels.deployment }} lacks replicas',
          description: ({ for: f }) => `{{ $labels.namespace }}/{{ $labels.deployment }} has had fewer available replicas than it wants for ${humanDuration(f)}.`,
          runbook: runbook('KubeDeploymentReplicasMismatch'),
          tests: [
            firesWhen(
              'one of three replicas is unavailable',
              { [`kube_deployment_spec_replicas{${KSM},namespace="shop",deployment="api"}`]: '3x30', [`kube_deployment_status_replicas_available{${KSM},namespace="shop",deployment="api"}`]: '2x30' },
              '25m',
              { job: 'kube-state-metrics', namespace: 'shop', deployment: 'api' },
            ),
            silentWhen(
              'every replica is available',
              { [`kube_deployment_spec_replicas{${KSM},namespace="shop",deployment="api"}`]: '3x30', [`kube_deployment_status_replicas_available{${KSM},namespace="shop",deployment="api"}`]: '3x30' },
              '25m',
            ),
          ],
        }),
        alert({
          alert: 'KubeStatefulSetReplicasMismatch',
          expr: `kube_statefulset_status_replicas_ready{${KSM}} != kube_statefulset_replicas{${KSM}}`,
          for: '15m',
          severity: 'P3',
          service,
          summary: 'StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} lacks ready replicas',
          description: ({ for: f }) => `{{ $labels.namespace }}/{{ $labels.statefulset }} has had {{ $value }} ready replicas, not the number it wants, for ${humanDuration(f)}.`,
          runbook: runbook('KubeStatefulSetReplicasMismatch'),
          tests: [
            firesWhen(
              'one of two replicas is not ready',
              { [`kube_statefulset_status_replicas_ready{${KSM},namespace="monitoring",statefulset="prometheus"}`]: '1x30', [`kube_statefulset_replicas{${KSM},namespace="monitoring",statefulset="prometheus"}`]: '2x30' },
              '25m',
              { job: 'kube-state-metrics', namespace: 'monitoring', statefulset: 'prometheus' },
            ),
            silentWhen(
              'both replicas are ready',
              { [`kube_statefulset_status_replicas_ready{${KSM},namespace="monitoring",statefulset="prometheus"}`]: '2x30', [`kube_statefulset_replicas{${KSM},namespace="monitoring",statefulset="prometheus"}`]: '2x30' },
              '25m',
            ),
          ],
        }),
        alert({
          alert: 'KubeDaemonSetNotScheduled',
          expr: `kube_daemonset_status_desired_number_scheduled{${KSM}} - kube_daemonset_status_current_number_scheduled{${KSM}} > 0`,
          for: '10m',
          severity: 'P3',
          service,
          summary: 'DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} is missing pods',
          description: '{{ $value }} pods of {{ $labels.namespace }}/{{ $labels.daemonset }} are not scheduled.',
          runbook: runbook('KubeDaemonSetNotScheduled'),
          tests: [
            firesWhen(
              'one node has no pod',
              { [`kube_daemonset_status_desired_number_scheduled{${KSM},namespace="monitoring",daemonset="node-exporter"}`]: '3x30', [`kube_daemonset_status_current_number_scheduled{${KSM},namespace="monitoring",daemonset="node-exporter"}`]: '2x30' },
              '20m',
              { job: 'kube-state-metrics', namespace: 'monitoring', daemonset: 'node-exporter' },
            ),
            silentWhen(
              'every node has its pod',
              { [`kube_daemonset_status_desired_number_scheduled{${KSM},namespace="monitoring",daemonset="node-exporter"}`]: '3x30', [`kube_daemonset_status_current_number_scheduled{${KSM},namespace="monitoring",daemonset="node-exporter"}`]: '3x30' },
              '20m',
            ),
          ],
        }),
        alert({
          alert: 'KubePersistentVolumeFillingUp',
          threshold: 0.1,
          expr: (t) => `kubelet_volume_stats_available_bytes{job="kubelet"} / kubelet_volume_stats_capacity_bytes{job="kubelet"} < ${t}`,
          for: '5m',
          severity: 'P2',
          service,
          summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is almost full',
          description: 'Only {{ $value | humanizePercentage }} of {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is free.',
          runbook: runbook('KubePersistentVolumeFillingUp'),
          tests: [
            firesWhen(
              '5% is free',
              { 'kubelet_volume_stats_available_bytes{job="kubelet",namespace="monitoring",persistentvolumeclaim="data-prometheus-0"}': '5x20', 'kubelet_volume_stats_capacity_bytes{job="kubelet",namespace="monitoring",persistentvolumeclaim="data-prometheus-0"}': '100x20' },
              '10m',
              { job: 'kubelet', namespace: 'monitoring', persistentvolumeclaim: 'data-prometheus-0' },
            ),
            silentWhen(
              'half is free',
              { 'kubelet_volume_stats_available_bytes{job="kubelet",namespace="monitoring",persistentvolumeclaim="data-prometheus-0"}': '50x20', 'kubelet_volume_stats_capacity_bytes{job="kubelet",namespace="monitoring",persistentvolumeclaim="data-prometheus-0"}': '100x20' },
              '10m',
            ),
          ],
        }),
        alert({
          alert: 'KubeContainerOOMKilled',
          expr: `increase(kube_pod_container_status_restarts_total{${KSM}}[10m]) >= 1 and ignoring (reason) min_over_time(kube_pod_container_status_last_terminated_reason{${KSM},reason="OOMKilled"}[10m]) == 1`,
          severity: 'P3',
          service,
          summary: 'Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} was OOM-killed',
          description: '{{ $labels.container }} in {{ $labels.namespace }}/{{ $labels.pod }} restarted after running out of memory; raise its memory limit or fix the leak.',
          runbook: runbook('KubeContainerOOMKilled'),
          tests: [
            firesWhen(
              'the container restarts after an OOM kill',
              { [`kube_pod_container_status_restarts_total{${C}}`]: '0+1x20', [`kube_pod_container_status_last_terminated_reason{${C},reason="OOMKilled"}`]: '1x20' },
              '15m',
              C_L,
            ),
            silentWhen(
              'the container does not restart',
              { [`kube_pod_container_status_restarts_total{${C}}`]: '3x20', [`kube_pod_container_status_last_terminated_reason{${C},reason="OOMKilled"}`]: '1x20' },
              '15m',
            ),
          ],
        }),
        alert({
          alert: 'KubeJobFailed',
          expr: `kube_job_failed{${KSM}} > 0`,
          for: '15m',
          severity: 'P4',
          service,
          summary: 'Job {{ $labels.namespace }}/{{ $labels.job_name }} failed',
          description: 'Job {{ $labels.namespace }}/{{ $labels.job_name }} failed; remove it to clear the alert.',
          runbook: runbook('KubeJobFailed'),
          tests: [
            firesWhen('the job failed', { [`kube_job_failed{${KSM},namespace="shop",job_name="migrate",condition="true"}`]: '1x30' }, '20m', {
              job: 'kube-state-metrics',
              namespace: 'shop',
              job_name: 'migrate',
              condition: 'true',
            }),
            silentWhen('the job succeeded', { [`kube_job_failed{${KSM},namespace="shop",job_name="migrate",condition="true"}`]: '0x30' }, '20m'),
          ],
        }),
        jobDown(runbook, { alert: 'KubeStateMetricsDown', job: 'kube-state-metrics', service, severity: 'P2', what: 'kube-state-metrics' }),
        jobDown(runbook, { alert: 'KubeletDown', job: 'kubelet', service, severity: 'P2', for: '5m', what: 'The kubelet' }),
        alert({
          alert: 'KubeContainerCpuThrottled',
          threshold: 0.25,
          expr: (t) =>
            `sum by (namespace, pod, container) (increase(container_cpu_cfs_throttled_periods_total{job="cadvisor",container!=""}[5m])) / sum by (namespace, pod, container) (increase(container_cpu_cfs_periods_total{job="cadvisor",container!=""}[5m])) > ${t}`,
          for: '15m',
          severity: 'P4',
          service,
          summary: 'Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is CPU-throttled',
          description: '{{ $value | humanizePercentage }} of the CPU periods of {{ $labels.container }} are throttled: its CPU limit is too low.',
          runbook: runbook('KubeContainerCpuThrottled'),
          tests: [
            firesWhen(
              'half of the periods are throttled',
              { [`container_cpu_cfs_throttled_periods_total{${CAD}}`]: '0+50x30', [`container_cpu_cfs_periods_total{${CAD}}`]: '0+100x30' },
              '25m',
              W,
            ),
            silentWhen('no period is throttled', { [`container_cpu_cfs_throttled_periods_total{${CAD}}`]: '0x30', [`container_cpu_cfs_periods_total{${CAD}}`]: '0+100x30' }, '25m'),
          ],
        }),
        alert({
          alert: 'KubeContainerMemoryNearLimit',
          threshold: 0.9,
          expr: (t) =>
            `sum by (namespace, pod, container) (container_memory_working_set_bytes{job="cadvisor",container!=""}) / sum by (namespace, pod, container) (kube_pod_container_resource_limits{${KSM},resource="memory"}) > ${t}`,
          for: '15m',
          severity: 'P3',
          service,
          summary: ({ threshold }) => `Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} uses over ${percent(threshold)} of its memory limit`,
          description: '{{ $labels.container }} uses {{ $value | humanizePercentage }} of its memory limit and will be OOM-killed when it reaches it.',
          runbook: runbook('KubeContainerMemoryNearLimit'),
          tests: [
            firesWhen(
              '95% of the limit is used',
              { [`container_memory_working_set_bytes{${CAD}}`]: '95x30', [`kube_pod_container_resource_limits{${C},resource="memory",unit="byte"}`]: '100x30' },
              '20m',
              W,
            ),
            silentWhen(
              'half of the limit is used',
              { [`container_memory_working_set_bytes{${CAD}}`]: '50x30', [`kube_pod_container_resource_limits{${C},resource="memory",unit="byte"}`]: '100x30' },
              '20m',
            ),
          ],
        }),
      ],
    }),
  ];
}
