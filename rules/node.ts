import { alert, type Environment, firesWhen, group, humanDuration, humanNumber, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
import { jobDown } from './common.js';

const N = 'job="node-exporter",instance="node-a"';
const L = { job: 'node-exporter', instance: 'node-a' };
const FS = 'job="node-exporter",fstype!="",mountpoint!=""';
const F = `${N},device="/dev/sda1",fstype="ext4",mountpoint="/"`;
const FL = { ...L, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' };

/** The nodes, from node-exporter: CPU, memory, filesystems, network and clock. */
export function nodeRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'node';
  return [
    group({
      name: 'obstack.node',
      rules: [
        jobDown(runbook, { alert: 'NodeExporterDown', job: 'node-exporter', service, severity: 'P3', what: 'node-exporter' }),
        alert({
          alert: 'NodeHighCpuUsage',
          threshold: 90,
          expr: (t) => `100 * (1 - avg by (job, instance) (rate(node_cpu_seconds_total{job="node-exporter",mode="idle"}[5m]))) > ${t}`,
          for: '15m',
          severity: 'P3',
          service,
          summary: 'Node {{ $labels.instance }} is CPU-bound',
          description: ({ threshold, for: f }) =>
            `The CPUs of {{ $labels.instance }} have been more than ${humanNumber(threshold)}% busy for ${humanDuration(f)} ({{ printf "%.0f" $value }}% now).`,
          runbook: runbook('NodeHighCpuUsage'),
          tests: [
            firesWhen('the CPU idles 5% of the time', { [`node_cpu_seconds_total{${N},cpu="0",mode="idle"}`]: '0+3x40' }, '30m', L),
            silentWhen('the CPU idles 90% of the time', { [`node_cpu_seconds_total{${N},cpu="0",mode="idle"}`]: '0+54x40' }, '30m'),
          ],
        }),
        alert({
          alert: 'NodeMemoryHigh',
          threshold: 90,
          expr: (t) => `100 * (1 - node_memory_MemAvailable_bytes{job="node-exporter"} / node_memory_MemTotal_bytes{job="node-exporter"}) > ${t}`,
          for: '15m',
          severity: 'P2',
          service,
          summary: ({ threshold }) => `Node {{ $labels.instance }} memory is above ${humanNumber(threshold)}%`,
          description: '{{ printf "%.0f" $value }}% of the memory of {{ $labels.instance }} is in use; pods will be evicted or OOM-killed.',
          runbook: runbook('NodeMemoryHigh'),
          tests: [
            firesWhen('95% of the memory is used', { [`node_memory_MemAvailable_bytes{${N}}`]: '5x30', [`node_memory_MemTotal_bytes{${N}}`]: '100x30' }, '20m', L),
            silentWhen('half of the memory is used', { [`node_memory_MemAvailable_bytes{${N}}`]: '50x30', [`node_memory_MemTotal_bytes{${N}}`]: '100x30' }, '20m'),
          ],
        }),
        alert({
          alert: 'NodeFilesystemAlmostFull',
          threshold: 85,
          expr: (t) => `100 * (1 - node_filesystem_avail_bytes{${FS}} / node_filesystem_size_bytes{${FS}}) > ${t}`,
          for: '30m',
          severity: 'P3',
          service,
          summary: ({ threshold }) => `Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is above ${humanNumber(threshold)}%`,
          description: '{{ printf "%.0f" $value }}% of {{ $labels.device }} mounted at {{ $labels.mountpoint }} on {{ $labels.instance }} is used.',
          runbook: runbook('NodeFilesystemAlmostFull'),
          tests: [
            firesWhen('90% is used', { [`node_filesystem_avail_bytes{${F}}`]: '10x40', [`node_filesystem_size_bytes{${F}}`]: '100x40' }, '35m', FL),
            silentWhen('80% is used', { [`node_filesystem_avail_bytes{${F}}`]: '20x40', [`node_filesystem_size_bytes{${F}}`]: '100x40' }, '35m'),
          ],
        }),
        alert({
          alert: 'NodeFilesystemFillingUp',
          threshold: 4,
          expr: (t) =>
            `node_filesystem_avail_bytes{${FS}} / node_filesystem_size_bytes{${FS}} < 0.4 and predict_linear(node_filesystem_avail_bytes{${FS}}[6h], ${t} * 3600) < 0`,
          for: '1h',
          severity: 'P2',
          service,
          summary: 'Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} will be full within hours',
          description: ({ threshold }) =>
            `At the rate of the last 6 hours, {{ $labels.device }} mounted at {{ $labels.mountpoint }} on {{ $labels.instance }} fills up within ${humanDuration(threshold * 3600)}.`,
          runbook: runbook('NodeFilesystemFillingUp'),
          tests: [
            firesWhen(
              'free space falls by one unit a minute',
              { [`node_filesystem_avail_bytes{${F}}`]: '300-1x140', [`node_filesystem_size_bytes{${F}}`]: '1000x140' },
              '2h10m',
              FL,
            ),
            silentWhen('free space is steady', { [`node_filesystem_avail_bytes{${F}}`]: '300x140', [`node_filesystem_size_bytes{${F}}`]: '1000x140' }, '2h10m'),
          ],
        }),
        alert({
          alert: 'NodeFilesystemInodesAlmostFull',
          threshold: 90,
          expr: (t) => `100 * (1 - node_filesystem_files_free{${FS}} / node_filesystem_files{${FS}}) > ${t}`,
          for: '1h',
          severity: 'P3',
          service,
          summary: 'Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is running out of inodes',
          description: '{{ printf "%.0f" $value }}% of the inodes of {{ $labels.device }} on {{ $labels.instance }} are used.',
          runbook: runbook('NodeFilesystemInodesAlmostFull'),
          tests: [
            firesWhen('95% of inodes are used', { [`node_filesystem_files_free{${F}}`]: '5x80', [`node_filesystem_files{${F}}`]: '100x80' }, '70m', FL),
            silentWhen('half of the inodes are used', { [`node_filesystem_files_free{${F}}`]: '50x80', [`node_filesystem_files{${F}}`]: '100x80' }, '70m'),
          ],
        }),
        alert({
          alert: 'NodeNetworkReceiveErrors',
          threshold: 0.01,
          expr: (t) =>
            `rate(node_network_receive_errs_total{job="node-exporter"}[2m]) / rate(node_network_receive_packets_total{job="node-exporter"}[2m]) > ${t}`,
          for: '1h',
          severity: 'P4',
          service,
          summary: 'Network interface {{ $labels.device }} on {{ $labels.instance }} drops received packets',
          description: '{{ $value | humanizePercentage }} of the packets received on {{ $labels.device }} of {{ $labels.instance }} had errors in the last 2 minutes.',
          runbook: runbook('NodeNetworkReceiveErrors'),
          tests: [
            firesWhen(
              'one packet in ten has errors',
              { [`node_network_receive_errs_total{${N},device="eth0"}`]: '0+10x80', [`node_network_receive_packets_total{${N},device="eth0"}`]: '0+100x80' },
              '70m',
              { ...L, device: 'eth0' },
            ),
            silentWhen(
              'no packet has errors',
              { [`node_network_receive_errs_total{${N},device="eth0"}`]: '0x80', [`node_network_receive_packets_total{${N},device="eth0"}`]: '0+100x80' },
              '70m',
            ),
          ],
        }),
        alert({
          alert: 'NodeClockNotSynchronising',
          expr: 'min_over_time(node_timex_sync_status{job="node-exporter"}[5m]) == 0 and node_timex_maxerror_seconds{job="node-exporter"} >= 16',
          for: '10m',
          severity: 'P4',
          service,
          summary: 'Clock of {{ $labels.instance }} is not synchronising',
          description: 'NTP is not synchronising the clock of {{ $labels.instance }}; alerts and queries may be off in time.',
          runbook: runbook('NodeClockNotSynchronising'),
          tests: [
            firesWhen('NTP is not synchronised', { [`node_timex_sync_status{${N}}`]: '0x30', [`node_timex_maxerror_seconds{${N}}`]: '16x30' }, '20m', L),
            silentWhen('NTP is synchronised', { [`node_timex_sync_status{${N}}`]: '1x30', [`node_timex_maxerror_seconds{${N}}`]: '0.1x30' }, '20m'),
          ],
        }),
      ],
    }),
  ];
}
