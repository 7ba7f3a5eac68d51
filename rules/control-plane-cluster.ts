import {
  alert,
  type AlertRule,
  type Environment,
  firesWhen,
  group,
  humanDuration,
  humanNumber,
  percent,
  type RuleGroup,
  runbooks,
  silentWhen,
} from '../src/authoring/index.js';
import { JOBS, type Runbook, series } from './control-plane-common.js';

const KSM = `job="${JOBS.kubeStateMetrics}"`;
const KUBELET = `job="${JOBS.kubelet}"`;
const ksm = (metric: string, labels: Readonly<Record<string, string>>) => series(metric, { job: JOBS.kubeStateMetrics, ...labels });
const kubelet = (metric: string, labels: Readonly<Record<string, string>>) => series(metric, { job: JOBS.kubelet, instance: 'n1', node: 'n1', ...labels });

/** The kubelets: pods per node, PLEG and pod start latency, certificates, evictions. */
function kubeletRules(runbook: Runbook, scraped: boolean): RuleGroup {
  const service = 'kubelet';
  const pleg = (le: string) => kubelet('kubelet_pleg_relist_duration_seconds_bucket', { le });
  const worker = (le: string) => kubelet('kubelet_pod_worker_duration_seconds_bucket', { operation_type: 'create', le });
  const certificate = (kind: 'client' | 'server'): AlertRule => {
    const name = `Kubelet${kind === 'client' ? 'Client' : 'Server'}CertificateExpiration`;
    const metric = `kubelet_certificate_manager_${kind}_ttl_seconds`;
    return alert({
      alert: name,
      threshold: 604800,
      expr: (t) => `min by (node) (${metric}{${KUBELET}}) < ${t}`,
      severity: 'P3',
      service,
      summary: `The kubelet ${kind} certificate of node {{ $labels.node }} expires soon`,
      description: ({ threshold }) =>
        `The ${kind === 'client' ? 'certificate the kubelet presents to the API server' : "kubelet's serving certificate"} on {{ $labels.node }} expires in less than ${humanDuration(threshold)} and has not been renewed.`,
      runbook: runbook(name),
      tests: [
        firesWhen('it expires in a day', { [kubelet(metric, {})]: '86400x20' }, '10m', { node: 'n1' }),
        silentWhen('it is valid for a month', { [kubelet(metric, {})]: '2592000x20' }, '10m'),
      ],
    });
  };
  const renewal = (kind: 'client' | 'server'): AlertRule => {
    const name = `Kubelet${kind === 'client' ? 'Client' : 'Server'}CertificateRenewalErrors`;
    const metric = kind === 'client' ? 'kubelet_certificate_manager_client_expiration_renew_errors' : 'kubelet_server_expiration_renew_errors';
    return alert({
      alert: name,
      expr: `increase(${metric}{${KUBELET}}[5m]) > 0`,
      for: '15m',
      severity: 'P3',
      service,
      summary: `The kubelet on {{ $labels.node }} fails to renew its ${kind} certificate`,
      description: ({ for: f }) => `Renewals of the kubelet's ${kind} certificate on {{ $labels.node }} have failed for ${humanDuration(f)}; when it expires the node drops out of the cluster.`,
      runbook: runbook(name),
      tests: [
        firesWhen('renewals keep failing', { [kubelet(metric, {})]: '0+1x30' }, '25m', { job: JOBS.kubelet, instance: 'n1', node: 'n1' }),
        silentWhen('renewals succeed', { [kubelet(metric, {})]: '2x30' }, '25m'),
      ],
    });
  };
  return group({
    name: 'obstack.control-plane.kubelet',
    rules: [
      alert({
        alert: 'KubeletTooManyPods',
        threshold: 0.95,
        expr: (t) => `max by (node) (kubelet_running_pods{${KUBELET}}) / max by (node) (kube_node_status_capacity{${KSM},resource="pods"}) > ${t}`,
        for: '15m',
        severity: 'P4',
        service,
        summary: 'Node {{ $labels.node }} runs {{ $value | humanizePercentage }} of the pods it can hold',
        description: ({ threshold }) => `{{ $labels.node }} runs more than ${percent(threshold)} of its pod capacity: pods scheduled to it next will fail.`,
        runbook: runbook('KubeletTooManyPods'),
        tests: [
          firesWhen('109 of 110 pods run', { [kubelet('kubelet_running_pods', {})]: '109x30', [ksm('kube_node_status_capacity', { node: 'n1', resource: 'pods', unit: 'integer' })]: '110x30' }, '20m', { node: 'n1' }),
          silentWhen('half the pods run', { [kubelet('kubelet_running_pods', {})]: '55x30', [ksm('kube_node_status_capacity', { node: 'n1', resource: 'pods', unit: 'integer' })]: '110x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeletsMissing',
        // Without kubelet jobs there is nothing to count, and the alert must not say every kubelet is missing.
        expr: scraped ? `count(kube_node_info{${KSM}}) > (count(up{${KUBELET}} == 1) or vector(0))` : `count(kube_node_info{${KSM}}) > count(up{${KUBELET}} == 1)`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'Some nodes have no kubelet Prometheus can scrape',
        description: ({ for: f }) =>
          `For ${humanDuration(f)}, fewer kubelets have answered Prometheus than the cluster has nodes: those nodes' containers, volumes and pods are not watched (a kubelet down, or port 10250 blocked).`,
        runbook: runbook('KubeletsMissing'),
        tests: [
          firesWhen(
            'one of two nodes has no kubelet answering',
            { [ksm('kube_node_info', { node: 'n1' })]: '1x30', [ksm('kube_node_info', { node: 'n2' })]: '1x30', [series('up', { job: JOBS.kubelet, instance: 'n1' })]: '1x30' },
            '20m',
            {},
          ),
          scraped
            ? firesWhen('no kubelet is scraped at all', { [ksm('kube_node_info', { node: 'n1' })]: '1x30' }, '20m', {})
            : silentWhen('the kubelets are not scraped', { [ksm('kube_node_info', { node: 'n1' })]: '1x30' }, '20m'),
          silentWhen(
            'every node has its kubelet',
            { [ksm('kube_node_info', { node: 'n1' })]: '1x30', [ksm('kube_node_info', { node: 'n2' })]: '1x30', [series('up', { job: JOBS.kubelet, instance: 'n1' })]: '1x30', [series('up', { job: JOBS.kubelet, instance: 'n2' })]: '1x30' },
            '20m',
          ),
        ],
      }),
      alert({
        alert: 'KubeletPlegDurationHigh',
        threshold: 10,
        expr: (t) => `histogram_quantile(0.99, sum by (node, le) (rate(kubelet_pleg_relist_duration_seconds_bucket{${KUBELET}}[5m]))) >= ${t}`,
        for: '5m',
        severity: 'P3',
        service,
        summary: 'The kubelet on {{ $labels.node }} relists its pods slowly',
        description: ({ threshold, for: f }) =>
          `The kubelet's pod lifecycle event generator on {{ $labels.node }} has needed ${humanDuration(threshold)} or more to relist (99th percentile) for ${humanDuration(f)}: the container runtime is overloaded, and the node may turn NotReady.`,
        runbook: runbook('KubeletPlegDurationHigh'),
        tests: [
          firesWhen('relists take half a minute', { [pleg('1')]: '0x30', [pleg('60')]: '0+10x30', [pleg('+Inf')]: '0+10x30' }, '20m', { node: 'n1' }),
          silentWhen('relists take under a second', { [pleg('1')]: '0+10x30', [pleg('60')]: '0+10x30', [pleg('+Inf')]: '0+10x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeletPodStartUpLatencyHigh',
        threshold: 60,
        expr: (t) => `histogram_quantile(0.99, sum by (node, le) (rate(kubelet_pod_worker_duration_seconds_bucket{${KUBELET}}[5m]))) > ${t}`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'Pods start slowly on {{ $labels.node }}',
        description: ({ threshold, for: f }) => `The kubelet on {{ $labels.node }} has taken more than ${humanNumber(threshold)} seconds to sync pods (99th percentile) for ${humanDuration(f)}: image pulls, volume mounts or the runtime are slow.`,
        runbook: runbook('KubeletPodStartUpLatencyHigh'),
        tests: [
          firesWhen('pod syncs take minutes', { [worker('10')]: '0x30', [worker('600')]: '0+10x30', [worker('+Inf')]: '0+10x30' }, '25m', { node: 'n1' }),
          silentWhen('pod syncs take seconds', { [worker('10')]: '0+10x30', [worker('600')]: '0+10x30', [worker('+Inf')]: '0+10x30' }, '25m'),
        ],
      }),
      certificate('client'),
      certificate('server'),
      renewal('client'),
      renewal('server'),
      alert({
        alert: 'KubeNodeEviction',
        expr: `sum by (node, eviction_signal) (rate(kubelet_evictions{${KUBELET}}[15m])) > 0`,
        severity: 'P4',
        service,
        summary: 'The kubelet on {{ $labels.node }} evicts pods ({{ $labels.eviction_signal }})',
        description: 'The node ran short of what {{ $labels.eviction_signal }} measures and the kubelet evicted pods to recover: requests are too low for what the pods use.',
        runbook: runbook('KubeNodeEviction'),
        tests: [
          firesWhen('it evicts on memory', { [kubelet('kubelet_evictions', { eviction_signal: 'memory.available' })]: '0x10 1x20' }, '15m', { node: 'n1', eviction_signal: 'memory.available' }),
          silentWhen('it evicts nothing', { [kubelet('kubelet_evictions', { eviction_signal: 'memory.available' })]: '1x30' }, '15m'),
        ],
      }),
    ],
  });
}

/** Persistent volumes as the kubelets measure them: inodes and a fill-up forecast (read-only volumes cannot fill). */
function volumeRules(runbook: Runbook): RuleGroup {
  const service = 'kubernetes';
  const readOnly = `unless on (namespace, persistentvolumeclaim) kube_persistentvolumeclaim_access_mode{${KSM},access_mode="ReadOnlyMany"} == 1`;
  const pvc = { namespace: 'shop', persistentvolumeclaim: 'data-db-0' };
  const v = (metric: string) => kubelet(metric, pvc);
  const L = { job: JOBS.kubelet, instance: 'n1', node: 'n1', ...pvc };
  return group({
    name: 'obstack.control-plane.volumes',
    rules: [
      alert({
        alert: 'KubePersistentVolumeInodesFillingUp',
        threshold: 0.03,
        expr: (t) => `kubelet_volume_stats_inodes_free{${KUBELET}} / kubelet_volume_stats_inodes{${KUBELET}} < ${t} and kubelet_volume_stats_inodes_used{${KUBELET}} > 0 ${readOnly}`,
        for: '1m',
        severity: 'P2',
        service,
        summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} runs out of inodes',
        description: ({ threshold }) => `Less than ${percent(threshold)} of the inodes of {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} are free: new files fail even with space left.`,
        runbook: runbook('KubePersistentVolumeInodesFillingUp'),
        tests: [
          firesWhen('1% of the inodes are free', { [v('kubelet_volume_stats_inodes_free')]: '10x10', [v('kubelet_volume_stats_inodes')]: '1000x10', [v('kubelet_volume_stats_inodes_used')]: '990x10' }, '5m', L),
          silentWhen('half the inodes are free', { [v('kubelet_volume_stats_inodes_free')]: '500x10', [v('kubelet_volume_stats_inodes')]: '1000x10', [v('kubelet_volume_stats_inodes_used')]: '500x10' }, '5m'),
          silentWhen(
            'the volume is mounted read-only',
            { [v('kubelet_volume_stats_inodes_free')]: '10x10', [v('kubelet_volume_stats_inodes')]: '1000x10', [v('kubelet_volume_stats_inodes_used')]: '990x10', [ksm('kube_persistentvolumeclaim_access_mode', { ...pvc, access_mode: 'ReadOnlyMany' })]: '1x10' },
            '5m',
          ),
        ],
      }),
      alert({
        alert: 'KubePersistentVolumeFullInFourDays',
        threshold: 0.15,
        expr: (t) =>
          `kubelet_volume_stats_available_bytes{${KUBELET}} / kubelet_volume_stats_capacity_bytes{${KUBELET}} < ${t} and kubelet_volume_stats_used_bytes{${KUBELET}} > 0 and predict_linear(kubelet_volume_stats_available_bytes{${KUBELET}}[6h], 4 * 24 * 3600) < 0 ${readOnly}`,
        for: '1h',
        severity: 'P3',
        service,
        summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} will be full within four days',
        description: ({ threshold }) => `Less than ${percent(threshold)} of {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is free, and at its current rate of growth it fills up within four days.`,
        runbook: runbook('KubePersistentVolumeFullInFourDays'),
        tests: [
          firesWhen(
            'it loses 1% a quarter of an hour with 10% left',
            { [v('kubelet_volume_stats_available_bytes')]: '1000-1x120', [v('kubelet_volume_stats_capacity_bytes')]: '10000x120', [v('kubelet_volume_stats_used_bytes')]: '9000+1x120' },
            '110m',
            L,
            { interval: '1m' },
          ),
          silentWhen(
            'it is 10% free but stopped growing',
            { [v('kubelet_volume_stats_available_bytes')]: '1000x120', [v('kubelet_volume_stats_capacity_bytes')]: '10000x120', [v('kubelet_volume_stats_used_bytes')]: '9000x120' },
            '110m',
          ),
        ],
      }),
    ],
  });
}

/** Nodes as kube-state-metrics reports them: Ready, unreachable, pressure, flapping, and room for losing the largest node. */
function nodeRules(runbook: Runbook): RuleGroup {
  const service = 'kubernetes';
  const cond = (condition: string, status: string, node = 'n1') => ksm('kube_node_status_condition', { node, condition, status });
  const unschedulable = (node = 'n1') => ksm('kube_node_spec_unschedulable', { node });
  const schedulable = `kube_node_spec_unschedulable{${KSM}} == 0`;
  const overcommit = (resource: 'cpu' | 'memory'): AlertRule => {
    const name = resource === 'cpu' ? 'KubeCPUOvercommit' : 'KubeMemoryOvercommit';
    const alloc = `kube_node_status_allocatable{${KSM},resource="${resource}"}`;
    const spare = `(sum(${alloc}) - max(${alloc}))`;
    const requests = `sum(kube_pod_container_resource_requests{${KSM},resource="${resource}"} * on (namespace, pod) group_left () max by (namespace, pod) (kube_pod_status_phase{${KSM},phase=~"Pending|Running"} == 1))`;
    const nodes = ['n1', 'n2', 'n3'];
    const inputs = (requested: string) => ({
      ...Object.fromEntries(nodes.map((n) => [ksm('kube_node_status_allocatable', { node: n, resource, unit: resource === 'cpu' ? 'core' : 'byte' }), '4x20'])),
      [ksm('kube_pod_container_resource_requests', { namespace: 'shop', pod: 'api-0', container: 'api', node: 'n1', resource, unit: resource === 'cpu' ? 'core' : 'byte' })]: `${requested}x20`,
      [ksm('kube_pod_status_phase', { namespace: 'shop', pod: 'api-0', phase: 'Running' })]: '1x20',
      [ksm('kube_pod_container_resource_requests', { namespace: 'shop', pod: 'done-0', container: 'job', node: 'n2', resource, unit: resource === 'cpu' ? 'core' : 'byte' })]: '4x20',
      [ksm('kube_pod_status_phase', { namespace: 'shop', pod: 'done-0', phase: 'Succeeded' })]: '1x20',
      [ksm('kube_pod_status_phase', { namespace: 'shop', pod: 'done-0', phase: 'Running' })]: '0x20',
    });
    return alert({
      alert: name,
      expr: `${requests} - ${spare} > 0 and ${spare} > 0`,
      for: '10m',
      severity: 'P3',
      service,
      summary: `Pods request more ${resource === 'cpu' ? 'CPU' : 'memory'} than the cluster has without its largest node`,
      description: `If the largest node failed, the others could not hold what running and pending pods request in ${resource === 'cpu' ? 'CPU' : 'memory'}: some would stay Pending. Add a node or lower requests.`,
      runbook: runbook(name),
      tests: [
        firesWhen('running pods request more than two of three nodes hold', inputs('10'), '15m', {}),
        silentWhen('running pods fit on two nodes (a finished pod does not count)', inputs('6'), '15m'),
      ],
    });
  };
  return group({
    name: 'obstack.control-plane.nodes',
    rules: [
      alert({
        alert: 'KubeNodeNotReady',
        expr: `kube_node_status_condition{${KSM},condition="Ready",status="true"} == 0 and on (node) ${schedulable}`,
        for: '15m',
        severity: 'P2',
        service,
        summary: 'Node {{ $labels.node }} is not ready',
        description: ({ for: f }) => `{{ $labels.node }} has not been Ready for ${humanDuration(f)} while schedulable: its pods are being evicted or are unreachable.`,
        runbook: runbook('KubeNodeNotReady'),
        tests: [
          firesWhen('the node is not ready', { [cond('Ready', 'true')]: '0x30', [unschedulable()]: '0x30' }, '20m', { job: JOBS.kubeStateMetrics, node: 'n1', condition: 'Ready', status: 'true' }),
          silentWhen('the node is ready', { [cond('Ready', 'true')]: '1x30', [unschedulable()]: '0x30' }, '20m'),
          silentWhen('the node is cordoned for maintenance', { [cond('Ready', 'true')]: '0x30', [unschedulable()]: '1x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeNodeUnreachable',
        expr: `kube_node_spec_taint{${KSM},key="node.kubernetes.io/unreachable",effect="NoSchedule"} == 1`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'Node {{ $labels.node }} is unreachable',
        description: ({ for: f }) => `The node controller has marked {{ $labels.node }} unreachable for ${humanDuration(f)}: its kubelet stopped reporting, and its pods are rescheduled elsewhere.`,
        runbook: runbook('KubeNodeUnreachable'),
        tests: [
          firesWhen('the node carries the unreachable taint', { [ksm('kube_node_spec_taint', { node: 'n1', key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' })]: '1x30' }, '20m', {
            job: JOBS.kubeStateMetrics,
            node: 'n1',
            key: 'node.kubernetes.io/unreachable',
            effect: 'NoSchedule',
          }),
          silentWhen('the node carries only its own taints', { [ksm('kube_node_spec_taint', { node: 'n1', key: 'dedicated', effect: 'NoSchedule', value: 'db' })]: '1x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeNodePressure',
        expr: `kube_node_status_condition{${KSM},condition=~"MemoryPressure|DiskPressure|PIDPressure",status="true"} == 1 and on (node) ${schedulable}`,
        for: '10m',
        severity: 'P4',
        service,
        summary: 'Node {{ $labels.node }} has {{ $labels.condition }}',
        description: 'The kubelet on {{ $labels.node }} reports {{ $labels.condition }}: it admits no new pods of that kind and may evict some.',
        runbook: runbook('KubeNodePressure'),
        tests: [
          firesWhen('the node reports disk pressure', { [cond('DiskPressure', 'true')]: '1x20', [unschedulable()]: '0x20' }, '15m', { job: JOBS.kubeStateMetrics, node: 'n1', condition: 'DiskPressure', status: 'true' }),
          silentWhen('the node reports no pressure', { [cond('DiskPressure', 'true')]: '0x20', [unschedulable()]: '0x20' }, '15m'),
        ],
      }),
      alert({
        alert: 'KubeNodeReadinessFlapping',
        threshold: 2,
        expr: (t) => `sum by (node) (changes(kube_node_status_condition{${KSM},condition="Ready",status="true"}[15m])) > ${t} and on (node) ${schedulable}`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'Node {{ $labels.node }} keeps changing between Ready and NotReady',
        description: ({ threshold }) => `{{ $labels.node }} changed its Ready condition more than ${humanNumber(threshold)} times in 15 minutes: an unstable kubelet, runtime or network.`,
        runbook: runbook('KubeNodeReadinessFlapping'),
        tests: [
          firesWhen('the node flips every two minutes', { [cond('Ready', 'true')]: '1 1 0 0 1 1 0 0 1 1 0 0 1 1 0 0 1 1 0 0 1 1 0 0 1 1 0 0 1 1 0 0 1 1 0 0 1 1 0 0', [unschedulable()]: '0x40' }, '35m', { node: 'n1' }),
          silentWhen('the node stays ready', { [cond('Ready', 'true')]: '1x40', [unschedulable()]: '0x40' }, '35m'),
        ],
      }),
      overcommit('cpu'),
      overcommit('memory'),
    ],
  });
}

/** What the controllers do with the objects, as kube-state-metrics reports them (available on managed clusters too). */
function controllerRules(runbook: Runbook): RuleGroup {
  const service = 'kubernetes';
  const ns = { namespace: 'shop' };
  const mismatch = (kind: 'deployment' | 'statefulset'): AlertRule => {
    const name = kind === 'deployment' ? 'KubeDeploymentGenerationMismatch' : 'KubeStatefulSetGenerationMismatch';
    const o = { ...ns, [kind]: 'api' };
    return alert({
      alert: name,
      expr: `kube_${kind}_status_observed_generation{${KSM}} != kube_${kind}_metadata_generation{${KSM}}`,
      for: '15m',
      severity: 'P3',
      service,
      summary: `${kind === 'deployment' ? 'Deployment' : 'StatefulSet'} {{ $labels.namespace }}/{{ $labels.${kind} }} does not take its latest spec`,
      description: ({ for: f }) => `The controller has not observed the latest generation of {{ $labels.namespace }}/{{ $labels.${kind} }} for ${humanDuration(f)}: its last change is not being rolled out.`,
      runbook: runbook(name),
      tests: [
        firesWhen('the latest generation is not observed', { [ksm(`kube_${kind}_status_observed_generation`, o)]: '3x30', [ksm(`kube_${kind}_metadata_generation`, o)]: '4x30' }, '20m', { job: JOBS.kubeStateMetrics, ...o }),
        silentWhen('the latest generation is observed', { [ksm(`kube_${kind}_status_observed_generation`, o)]: '4x30', [ksm(`kube_${kind}_metadata_generation`, o)]: '4x30' }, '20m'),
      ],
    });
  };
  const ds = { ...ns, daemonset: 'agent' };
  const dsInputs = (updated: string, available: string, changing = false) => ({
    [ksm('kube_daemonset_status_desired_number_scheduled', ds)]: '3x30',
    [ksm('kube_daemonset_status_current_number_scheduled', ds)]: '3x30',
    [ksm('kube_daemonset_status_number_misscheduled', ds)]: '0x30',
    [ksm('kube_daemonset_status_updated_number_scheduled', ds)]: changing ? '0+1x30' : `${updated}x30`,
    [ksm('kube_daemonset_status_number_available', ds)]: `${available}x30`,
  });
  const sts = { ...ns, statefulset: 'db' };
  const stsInputs = (current: string, update: string) => ({
    [ksm('kube_statefulset_status_current_revision', { ...sts, revision: current })]: '1x30',
    [ksm('kube_statefulset_status_update_revision', { ...sts, revision: update })]: '1x30',
    [ksm('kube_statefulset_replicas', sts)]: '3x30',
    [ksm('kube_statefulset_status_replicas_updated', sts)]: '1x30',
  });
  const hpa = { ...ns, horizontalpodautoscaler: 'api' };
  const hpaInputs = (desired: string, current: string) => ({
    [ksm('kube_horizontalpodautoscaler_spec_min_replicas', hpa)]: '2x30',
    [ksm('kube_horizontalpodautoscaler_spec_max_replicas', hpa)]: '10x30',
    [ksm('kube_horizontalpodautoscaler_status_desired_replicas', hpa)]: `${desired}x30`,
    [ksm('kube_horizontalpodautoscaler_status_current_replicas', hpa)]: `${current}x30`,
  });
  const quota = (type: string) => ksm('kube_resourcequota', { ...ns, resourcequota: 'compute', resource: 'requests.cpu', type });
  const quotaLabels = { job: JOBS.kubeStateMetrics, ...ns, resourcequota: 'compute', resource: 'requests.cpu' };
  const pod = { ...ns, pod: 'api-0' };
  const ksmErrors = (name: string, metric: string): AlertRule =>
    alert({
      alert: name,
      threshold: 0.01,
      expr: (t) => `sum by (job) (rate(${metric}{job="${JOBS.kubeStateMetricsSelf}",result="error"}[5m])) / sum by (job) (rate(${metric}{job="${JOBS.kubeStateMetricsSelf}"}[5m])) > ${t}`,
      for: '15m',
      severity: 'P3',
      service,
      summary: `kube-state-metrics fails to ${metric.includes('list') ? 'list' : 'watch'} objects`,
      description: ({ threshold, for: f }) =>
        `More than ${percent(threshold)} of kube-state-metrics' ${metric.includes('list') ? 'list' : 'watch'} calls to the API server have failed for ${humanDuration(f)}: its metrics, and every alert on them, are stale or missing.`,
      runbook: runbook(name),
      tests: [
        firesWhen('a tenth of the calls fail', { [series(metric, { job: JOBS.kubeStateMetricsSelf, resource: '*v1.Pod', result: 'error' })]: '0+1x30', [series(metric, { job: JOBS.kubeStateMetricsSelf, resource: '*v1.Pod', result: 'success' })]: '0+9x30' }, '25m', {
          job: JOBS.kubeStateMetricsSelf,
        }),
        silentWhen('every call succeeds', { [series(metric, { job: JOBS.kubeStateMetricsSelf, resource: '*v1.Pod', result: 'error' })]: '0x30', [series(metric, { job: JOBS.kubeStateMetricsSelf, resource: '*v1.Pod', result: 'success' })]: '0+9x30' }, '25m'),
      ],
    });
  return group({
    name: 'obstack.control-plane.controllers',
    rules: [
      alert({
        alert: 'KubePersistentVolumeErrors',
        expr: `kube_persistentvolume_status_phase{${KSM},phase=~"Failed|Pending"} > 0`,
        for: '5m',
        severity: 'P2',
        service,
        summary: 'PersistentVolume {{ $labels.persistentvolume }} is {{ $labels.phase }}',
        description: 'The volume is Failed or stays Pending: the pods that claim it cannot start, and its data may be unreachable.',
        runbook: runbook('KubePersistentVolumeErrors'),
        tests: [
          firesWhen('the volume failed', { [ksm('kube_persistentvolume_status_phase', { persistentvolume: 'pv-1', phase: 'Failed' })]: '1x20' }, '10m', { job: JOBS.kubeStateMetrics, persistentvolume: 'pv-1', phase: 'Failed' }),
          silentWhen('the volume is bound', { [ksm('kube_persistentvolume_status_phase', { persistentvolume: 'pv-1', phase: 'Failed' })]: '0x20', [ksm('kube_persistentvolume_status_phase', { persistentvolume: 'pv-1', phase: 'Bound' })]: '1x20' }, '10m'),
        ],
      }),
      mismatch('deployment'),
      alert({
        alert: 'KubeDeploymentRolloutStuck',
        expr: `kube_deployment_status_condition{${KSM},condition="Progressing",status="false"} != 0`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'The rollout of Deployment {{ $labels.namespace }}/{{ $labels.deployment }} is stuck',
        description: ({ for: f }) => `{{ $labels.namespace }}/{{ $labels.deployment }} has not progressed for ${humanDuration(f)} (its progress deadline passed): new pods do not become ready.`,
        runbook: runbook('KubeDeploymentRolloutStuck'),
        tests: [
          firesWhen('it stopped progressing', { [ksm('kube_deployment_status_condition', { ...ns, deployment: 'api', condition: 'Progressing', status: 'false' })]: '1x30' }, '20m', {
            job: JOBS.kubeStateMetrics,
            ...ns,
            deployment: 'api',
            condition: 'Progressing',
            status: 'false',
          }),
          silentWhen('it progresses', { [ksm('kube_deployment_status_condition', { ...ns, deployment: 'api', condition: 'Progressing', status: 'false' })]: '0x30' }, '20m'),
        ],
      }),
      mismatch('statefulset'),
      alert({
        alert: 'KubeStatefulSetUpdateNotRolledOut',
        expr:
          `(max by (namespace, statefulset) (kube_statefulset_status_current_revision{${KSM}} unless kube_statefulset_status_update_revision{${KSM}}) ` +
          `* on (namespace, statefulset) (kube_statefulset_replicas{${KSM}} != kube_statefulset_status_replicas_updated{${KSM}})) ` +
          `and on (namespace, statefulset) (changes(kube_statefulset_status_replicas_updated{${KSM}}[5m]) == 0)`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'The update of StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} is not rolled out',
        description: ({ for: f }) => `{{ $labels.namespace }}/{{ $labels.statefulset }} has had pods on an old revision, with no progress, for ${humanDuration(f)}.`,
        runbook: runbook('KubeStatefulSetUpdateNotRolledOut'),
        tests: [
          firesWhen('one of three pods is updated and nothing moves', stsInputs('db-1', 'db-2'), '25m', sts),
          silentWhen('every pod runs the update revision', stsInputs('db-2', 'db-2'), '25m'),
        ],
      }),
      alert({
        alert: 'KubeDaemonSetRolloutStuck',
        expr:
          `((kube_daemonset_status_updated_number_scheduled{${KSM}} != kube_daemonset_status_desired_number_scheduled{${KSM}}) ` +
          `or (kube_daemonset_status_number_available{${KSM}} != kube_daemonset_status_desired_number_scheduled{${KSM}})) ` +
          `and on (namespace, daemonset) (changes(kube_daemonset_status_updated_number_scheduled{${KSM}}[5m]) == 0)`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'The rollout of DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} is stuck',
        description: ({ for: f }) => `Pods of {{ $labels.namespace }}/{{ $labels.daemonset }} have been out of date or unavailable, without progress, for ${humanDuration(f)}.`,
        runbook: runbook('KubeDaemonSetRolloutStuck'),
        tests: [
          firesWhen('one pod stays on the old version', dsInputs('2', '3'), '25m', { job: JOBS.kubeStateMetrics, ...ds }),
          silentWhen('every pod is updated and available', dsInputs('3', '3'), '25m'),
          silentWhen('the rollout is progressing', dsInputs('0', '3', true), '25m'),
        ],
      }),
      alert({
        alert: 'KubeDaemonSetMisScheduled',
        expr: `kube_daemonset_status_number_misscheduled{${KSM}} > 0`,
        for: '15m',
        severity: 'P4',
        service,
        summary: 'DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} runs pods where it should not',
        description: '{{ $value }} pods of {{ $labels.namespace }}/{{ $labels.daemonset }} run on nodes its selector or tolerations no longer allow.',
        runbook: runbook('KubeDaemonSetMisScheduled'),
        tests: [
          firesWhen('a pod runs on an excluded node', { [ksm('kube_daemonset_status_number_misscheduled', ds)]: '1x30' }, '20m', { job: JOBS.kubeStateMetrics, ...ds }),
          silentWhen('every pod runs where it should', { [ksm('kube_daemonset_status_number_misscheduled', ds)]: '0x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeJobNotCompleted',
        threshold: 43200,
        expr: (t) => `time() - max by (namespace, job_name) (kube_job_status_start_time{${KSM}} and kube_job_status_active{${KSM}} > 0) > ${t}`,
        severity: 'P4',
        service,
        summary: 'Job {{ $labels.namespace }}/{{ $labels.job_name }} runs for too long',
        description: ({ threshold }) => `{{ $labels.namespace }}/{{ $labels.job_name }} has been running for more than ${humanDuration(threshold)} without completing.`,
        runbook: runbook('KubeJobNotCompleted'),
        tests: [
          firesWhen('it has run for 13 hours', { [ksm('kube_job_status_start_time', { ...ns, job_name: 'backfill' })]: '0x80', [ksm('kube_job_status_active', { ...ns, job_name: 'backfill' })]: '1x80' }, '13h', { ...ns, job_name: 'backfill' }, { interval: '10m', evaluationInterval: '10m' }),
          silentWhen('it finished', { [ksm('kube_job_status_start_time', { ...ns, job_name: 'backfill' })]: '0x80', [ksm('kube_job_status_active', { ...ns, job_name: 'backfill' })]: '0x80' }, '13h', { interval: '10m', evaluationInterval: '10m' }),
        ],
      }),
      alert({
        alert: 'KubeContainerWaiting',
        expr: `sum by (namespace, pod, container) (kube_pod_container_status_waiting_reason{${KSM},reason!="CrashLoopBackOff"}) > 0`,
        for: '1h',
        severity: 'P4',
        service,
        summary: 'Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is waiting',
        description: ({ for: f }) => `{{ $labels.container }} has been waiting to start for ${humanDuration(f)} (an image that cannot be pulled, a missing ConfigMap or Secret).`,
        runbook: runbook('KubeContainerWaiting'),
        tests: [
          firesWhen('the image cannot be pulled', { [ksm('kube_pod_container_status_waiting_reason', { ...pod, container: 'api', reason: 'ImagePullBackOff' })]: '1x80' }, '70m', { ...pod, container: 'api' }),
          silentWhen('the container runs', { [ksm('kube_pod_container_status_waiting_reason', { ...pod, container: 'api', reason: 'ImagePullBackOff' })]: '0x80' }, '70m'),
        ],
      }),
      alert({
        alert: 'KubePodRunningNotReady',
        expr:
          `(kube_pod_status_phase{${KSM},phase="Running"} == 1 and on (namespace, pod) kube_pod_status_ready{${KSM},condition="true"} == 0) ` +
          `unless on (namespace, pod) kube_pod_owner{${KSM},owner_kind="Job"}`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} runs but is not ready',
        description: ({ for: f }) => `{{ $labels.namespace }}/{{ $labels.pod }} has been running without passing its readiness probe for ${humanDuration(f)}: its Service sends it no traffic.`,
        runbook: runbook('KubePodRunningNotReady'),
        tests: [
          firesWhen('the pod fails its readiness probe', { [ksm('kube_pod_status_phase', { ...pod, phase: 'Running' })]: '1x30', [ksm('kube_pod_status_ready', { ...pod, condition: 'true' })]: '0x30', [ksm('kube_pod_owner', { ...pod, owner_kind: 'ReplicaSet', owner_name: 'api-5d8' })]: '1x30' }, '20m', {
            job: JOBS.kubeStateMetrics,
            ...pod,
            phase: 'Running',
          }),
          silentWhen('the pod is ready', { [ksm('kube_pod_status_phase', { ...pod, phase: 'Running' })]: '1x30', [ksm('kube_pod_status_ready', { ...pod, condition: 'true' })]: '1x30' }, '20m'),
          silentWhen('the pod belongs to a Job', { [ksm('kube_pod_status_phase', { ...pod, phase: 'Running' })]: '1x30', [ksm('kube_pod_status_ready', { ...pod, condition: 'true' })]: '0x30', [ksm('kube_pod_owner', { ...pod, owner_kind: 'Job', owner_name: 'migrate' })]: '1x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubePodEvicted',
        expr: `sum by (namespace, pod) (kube_pod_status_reason{${KSM},reason="Evicted"}) > 0`,
        for: '5m',
        severity: 'P4',
        service,
        summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} was evicted',
        description: 'The kubelet evicted the pod under node pressure; it stays listed until deleted. Its requests are probably below what it uses.',
        runbook: runbook('KubePodEvicted'),
        tests: [
          firesWhen('the pod was evicted', { [ksm('kube_pod_status_reason', { ...pod, reason: 'Evicted' })]: '1x20' }, '10m', pod),
          silentWhen('the pod was not evicted', { [ksm('kube_pod_status_reason', { ...pod, reason: 'Evicted' })]: '0x20' }, '10m'),
        ],
      }),
      alert({
        alert: 'KubeHpaReplicasMismatch',
        expr:
          `(kube_horizontalpodautoscaler_status_desired_replicas{${KSM}} != kube_horizontalpodautoscaler_status_current_replicas{${KSM}}) ` +
          `and on (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{${KSM}} > kube_horizontalpodautoscaler_spec_min_replicas{${KSM}}) ` +
          `and on (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{${KSM}} > kube_horizontalpodautoscaler_spec_min_replicas{${KSM}}) ` +
          `and on (namespace, horizontalpodautoscaler) changes(kube_horizontalpodautoscaler_status_current_replicas{${KSM}}[15m]) == 0`,
        for: '15m',
        severity: 'P4',
        service,
        summary: 'HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} does not reach its desired replicas',
        description: ({ for: f }) => `The autoscaler has wanted a different number of replicas than it has for ${humanDuration(f)}: pods cannot be scheduled or the target does not scale.`,
        runbook: runbook('KubeHpaReplicasMismatch'),
        tests: [
          firesWhen('it wants 6 and has 4', hpaInputs('6', '4'), '25m', { job: JOBS.kubeStateMetrics, ...hpa }),
          silentWhen('it has what it wants', hpaInputs('4', '4'), '25m'),
        ],
      }),
      alert({
        alert: 'KubeHpaMaxedOut',
        expr: `kube_horizontalpodautoscaler_status_current_replicas{${KSM}} == kube_horizontalpodautoscaler_spec_max_replicas{${KSM}} and on (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{${KSM}} != kube_horizontalpodautoscaler_spec_min_replicas{${KSM}})`,
        for: '15m',
        severity: 'P4',
        service,
        summary: 'HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} runs at its maximum',
        description: ({ for: f }) => `The autoscaler has run at its maximum replicas for ${humanDuration(f)}: raise the maximum or the load is not served.`,
        runbook: runbook('KubeHpaMaxedOut'),
        tests: [
          firesWhen('it runs 10 of at most 10', hpaInputs('10', '10'), '25m', { job: JOBS.kubeStateMetrics, ...hpa }),
          silentWhen('it runs below its maximum', hpaInputs('4', '4'), '25m'),
        ],
      }),
      alert({
        alert: 'KubePdbNotEnoughHealthyPods',
        expr: `kube_poddisruptionbudget_status_current_healthy{${KSM}} < kube_poddisruptionbudget_status_desired_healthy{${KSM}}`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'PodDisruptionBudget {{ $labels.namespace }}/{{ $labels.poddisruptionbudget }} has too few healthy pods',
        description: ({ for: f }) => `Fewer pods are healthy than {{ $labels.namespace }}/{{ $labels.poddisruptionbudget }} requires, for ${humanDuration(f)}: node drains block and one more failure breaks the budget.`,
        runbook: runbook('KubePdbNotEnoughHealthyPods'),
        tests: [
          firesWhen('one of two required pods is healthy', { [ksm('kube_poddisruptionbudget_status_current_healthy', { ...ns, poddisruptionbudget: 'api' })]: '1x30', [ksm('kube_poddisruptionbudget_status_desired_healthy', { ...ns, poddisruptionbudget: 'api' })]: '2x30' }, '20m', {
            job: JOBS.kubeStateMetrics,
            ...ns,
            poddisruptionbudget: 'api',
          }),
          silentWhen('enough pods are healthy', { [ksm('kube_poddisruptionbudget_status_current_healthy', { ...ns, poddisruptionbudget: 'api' })]: '2x30', [ksm('kube_poddisruptionbudget_status_desired_healthy', { ...ns, poddisruptionbudget: 'api' })]: '2x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeQuotaAlmostFull',
        threshold: 0.9,
        expr: (t) => `kube_resourcequota{${KSM},type="used"} / ignoring (type) (kube_resourcequota{${KSM},type="hard"} > 0) > ${t} <= 1`,
        for: '15m',
        severity: 'P4',
        service,
        summary: 'Namespace {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its {{ $labels.resource }} quota',
        description: ({ threshold }) => `More than ${percent(threshold)} of the {{ $labels.resource }} quota of {{ $labels.namespace }} is used: new pods will soon be refused.`,
        runbook: runbook('KubeQuotaAlmostFull'),
        tests: [
          firesWhen('95% is used', { [quota('used')]: '95x30', [quota('hard')]: '100x30' }, '20m', quotaLabels),
          silentWhen('half is used', { [quota('used')]: '50x30', [quota('hard')]: '100x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeQuotaExceeded',
        expr: `kube_resourcequota{${KSM},type="used"} / ignoring (type) (kube_resourcequota{${KSM},type="hard"} > 0) > 1`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'Namespace {{ $labels.namespace }} exceeds its {{ $labels.resource }} quota',
        description: 'More of {{ $labels.resource }} is used in {{ $labels.namespace }} than its quota allows (the quota was lowered): nothing new starts there.',
        runbook: runbook('KubeQuotaExceeded'),
        tests: [
          firesWhen('more than the quota is used', { [quota('used')]: '120x30', [quota('hard')]: '100x30' }, '20m', quotaLabels),
          silentWhen('the quota is respected', { [quota('used')]: '100x30', [quota('hard')]: '100x30' }, '20m'),
        ],
      }),
      ksmErrors('KubeStateMetricsListErrors', 'kube_state_metrics_list_total'),
      ksmErrors('KubeStateMetricsWatchErrors', 'kube_state_metrics_watch_total'),
    ],
  });
}

/**
 * What the kubelets and kube-state-metrics report about nodes, volumes and the
 * controllers' objects. Shipped in every environment, as every area is; without
 * the series they read (kubelets not scraped, kube-state-metrics off) they stay silent.
 */
export function clusterRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  return [kubeletRules(runbook, env.controlPlane.kubelet.enabled), volumeRules(runbook), nodeRules(runbook), controllerRules(runbook)];
}
