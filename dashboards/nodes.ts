import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, labelVariable, promql, section, stackDashboard, statPanel, timeseriesPanel } from './common/index.js';

const N = 'job="node-exporter", instance=~"$instance"';
const FS = `${N}, fstype!~"tmpfs|overlay|squashfs|ramfs", mountpoint!~"/run.*"`;
const NIC = `${N}, device!~"lo|veth.*|cali.*|flannel.*|cni.*|docker.*"`;

/** CPU, memory, disk and network of every node, and the cluster's capacity against what pods request. */
export function nodes(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.nodes,
    title: 'Nodes and cluster resources',
    description: 'CPU, memory, disk and network of each node (node-exporter), and requested against allocatable capacity (kube-state-metrics).',
    tags: ['nodes', 'kubernetes'],
    datasources: ['prometheus'],
  }).withVariable(labelVariable({ name: 'instance', label: 'node', series: 'node_uname_info{job="node-exporter"}' }));

  section(d, 'Cluster', [
    statPanel({
      title: 'Nodes ready',
      description: 'Nodes whose Ready condition is true, out of all nodes.',
      sparkline: false,
      queries: [promql('sum(kube_node_status_condition{condition="Ready", status="true"})'), promql('count(kube_node_status_allocatable{resource="cpu"})')],
    }),
    statPanel({
      title: 'CPU requested',
      description: 'CPU requested by running pods, out of what the nodes can allocate. Above 100% new pods stay Pending.',
      unit: units.PercentUnit,
      thresholds: [[0.8, 'orange'], [0.95, 'red']],
      queries: [promql('sum(kube_pod_container_resource_requests{resource="cpu"}) / sum(kube_node_status_allocatable{resource="cpu"})')],
    }),
    statPanel({
      title: 'Memory requested',
      description: 'Memory requested by running pods, out of what the nodes can allocate.',
      unit: units.PercentUnit,
      thresholds: [[0.8, 'orange'], [0.95, 'red']],
      queries: [promql('sum(kube_pod_container_resource_requests{resource="memory"}) / sum(kube_node_status_allocatable{resource="memory"})')],
    }),
    statPanel({
      title: 'Pods not running',
      description: 'Pods Pending, Failed or Unknown across the cluster.',
      thresholds: [[1, 'orange'], [5, 'red']],
      queries: [promql('sum(kube_pod_status_phase{phase=~"Pending|Failed|Unknown"})')],
    }),
  ]);

  section(d, 'CPU', [
    timeseriesPanel({
      title: 'CPU utilisation',
      description: 'Share of CPU time not idle, by node. The alert on CPU fires above 90% for 15 minutes.',
      unit: units.PercentUnit,
      max: 1,
      thresholds: [[0.9, 'red']],
      // Recorded (rules/recording.ts): every mode of every CPU of every node is the heaviest read here.
      queries: [promql('instance:node_cpu_utilisation:rate5m{instance=~"$instance"}', '{{instance}}')],
    }),
    timeseriesPanel({
      title: 'Load per core',
      description: '1-minute load average divided by the number of cores; above 1 work is waiting for CPU.',
      unit: units.Short,
      queries: [promql(`node_load1{${N}} / on (instance) instance:node_num_cpu:sum{instance=~"$instance"}`, '{{instance}}')],
    }),
  ]);

  section(d, 'Memory', [
    timeseriesPanel({
      title: 'Memory utilisation',
      description: 'Memory not available to new programs, by node. The alert fires above 90%.',
      unit: units.PercentUnit,
      max: 1,
      thresholds: [[0.9, 'red']],
      queries: [promql(`1 - node_memory_MemAvailable_bytes{${N}} / node_memory_MemTotal_bytes{${N}}`, '{{instance}}')],
    }),
    timeseriesPanel({
      title: 'Major page faults',
      description: 'Pages read back from disk per second: memory pressure before the OOM killer acts.',
      unit: units.OpsPerSecond,
      queries: [promql(`rate(node_vmstat_pgmajfault{${N}}[$__rate_interval])`, '{{instance}}')],
    }),
  ]);

  section(d, 'Disk', [
    timeseriesPanel({
      title: 'Filesystem usage',
      description: 'Space used on each filesystem. The disk alert fires above 85%.',
      unit: units.PercentUnit,
      max: 1,
      thresholds: [[0.85, 'red']],
      queries: [promql(`1 - node_filesystem_avail_bytes{${FS}} / node_filesystem_size_bytes{${FS}}`, '{{instance}} {{mountpoint}}')],
    }),
    timeseriesPanel({
      title: 'Disk throughput',
      description: 'Bytes read (positive) and written (negative) per second, by node and device.',
      unit: units.BytesPerSecondIEC,
      queries: [
        promql(`sum by (instance, device) (rate(node_disk_read_bytes_total{${N}}[$__rate_interval]))`, 'read {{instance}} {{device}}'),
        promql(`-sum by (instance, device) (rate(node_disk_written_bytes_total{${N}}[$__rate_interval]))`, 'written {{instance}} {{device}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Disk busy',
      description: 'Share of time each device was busy with I/O; near 100% the device is saturated.',
      unit: units.PercentUnit,
      queries: [promql(`rate(node_disk_io_time_seconds_total{${N}}[$__rate_interval])`, '{{instance}} {{device}}')],
    }),
    timeseriesPanel({
      title: 'Inodes used',
      description: 'Share of inodes used on each filesystem: a disk can be full of small files with space left.',
      unit: units.PercentUnit,
      max: 1,
      queries: [promql(`1 - node_filesystem_files_free{${FS}} / node_filesystem_files{${FS}}`, '{{instance}} {{mountpoint}}')],
    }),
  ]);

  section(d, 'Network', [
    timeseriesPanel({
      title: 'Network traffic',
      description: 'Bytes received (positive) and transmitted (negative) per second, by node and interface.',
      unit: units.BytesPerSecondIEC,
      queries: [
        promql(`sum by (instance, device) (rate(node_network_receive_bytes_total{${NIC}}[$__rate_interval]))`, 'in {{instance}} {{device}}'),
        promql(`-sum by (instance, device) (rate(node_network_transmit_bytes_total{${NIC}}[$__rate_interval]))`, 'out {{instance}} {{device}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Network errors',
      description: 'Share of packets received or sent with errors, by node: above a fraction of a percent, look at the NIC or cable.',
      unit: units.PercentUnit,
      queries: [
        promql(
          `sum by (instance) (rate(node_network_receive_errs_total{${NIC}}[$__rate_interval]) + rate(node_network_transmit_errs_total{${NIC}}[$__rate_interval])) / sum by (instance) (rate(node_network_receive_packets_total{${NIC}}[$__rate_interval]) + rate(node_network_transmit_packets_total{${NIC}}[$__rate_interval]))`,
          '{{instance}}',
        ),
      ],
    }),
  ]);
  return d;
}
