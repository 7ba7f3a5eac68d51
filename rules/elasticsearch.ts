import { alert, type Environment, firesWhen, group, humanDuration, humanNumber, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
import { jobDown } from './common.js';
import { snapshotRules } from './backups.js';

const E = 'job="elasticsearch",instance="es-exporter:9114",cluster="logs"';
const EL = { job: 'elasticsearch', instance: 'es-exporter:9114', cluster: 'logs' };
const NODE = `${E},name="es-0",host="10.0.0.1"`;
const NL = { ...EL, name: 'es-0', host: '10.0.0.1' };

/** Elasticsearch, from prometheus-community/elasticsearch_exporter (job `elasticsearch`). */
export function elasticsearchRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'elasticsearch';
  const diskUsed = (t: number) =>
    `100 * (1 - elasticsearch_filesystem_data_available_bytes{job="elasticsearch"} / elasticsearch_filesystem_data_size_bytes{job="elasticsearch"}) > ${t}`;
  const disk = (used: number) => ({ [`elasticsearch_filesystem_data_available_bytes{${NODE},mount="/data"}`]: `${100 - used}x40`, [`elasticsearch_filesystem_data_size_bytes{${NODE},mount="/data"}`]: '100x40' });
  return [
    group({
      name: 'obstack.elasticsearch',
      rules: [
        jobDown(runbook, { alert: 'ElasticsearchExporterDown', job: 'elasticsearch', service, severity: 'P3', what: 'The Elasticsearch exporter' }),
        alert({
          alert: 'ElasticsearchDown',
          expr: 'elasticsearch_cluster_health_up{job="elasticsearch"} == 0',
          for: '5m',
          severity: 'P2',
          service,
          summary: 'Elasticsearch cluster {{ $labels.cluster }} does not answer',
          description: 'The exporter cannot read the health of the cluster: Elasticsearch is down or refuses it; logs and traces are not stored.',
          runbook: runbook('ElasticsearchDown'),
          tests: [
            firesWhen('the health endpoint fails', { [`elasticsearch_cluster_health_up{${E}}`]: '0x20' }, '10m', EL),
            silentWhen('the health endpoint answers', { [`elasticsearch_cluster_health_up{${E}}`]: '1x20' }, '10m'),
          ],
        }),
        alert({
          alert: 'ElasticsearchClusterRed',
          expr: 'elasticsearch_cluster_health_status{job="elasticsearch",color="red"} == 1',
          for: '5m',
          severity: 'P1',
          service,
          summary: 'Elasticsearch cluster {{ $labels.cluster }} is red',
          description: 'Some primary shards are unassigned: their indices cannot be written or fully searched.',
          runbook: runbook('ElasticsearchClusterRed'),
          tests: [
            firesWhen('the cluster is red', { [`elasticsearch_cluster_health_status{${E},color="red"}`]: '1x20' }, '10m', { ...EL, color: 'red' }),
            silentWhen('the cluster is not red', { [`elasticsearch_cluster_health_status{${E},color="red"}`]: '0x20' }, '10m'),
          ],
        }),
        alert({
          alert: 'ElasticsearchClusterYellow',
          expr: 'elasticsearch_cluster_health_status{job="elasticsearch",color="yellow"} == 1',
          for: '30m',
          severity: 'P3',
          service,
          summary: 'Elasticsearch cluster {{ $labels.cluster }} is yellow',
          description: ({ for: f }) => `Some replica shards have been unassigned for ${humanDuration(f)}: one more node lost would lose data.`,
          runbook: runbook('ElasticsearchClusterYellow'),
          tests: [
            firesWhen('the cluster stays yellow', { [`elasticsearch_cluster_health_status{${E},color="yellow"}`]: '1x40' }, '35m', { ...EL, color: 'yellow' }),
            silentWhen('the cluster is green', { [`elasticsearch_cluster_health_status{${E},color="yellow"}`]: '0x40' }, '35m'),
          ],
        }),
        alert({
          alert: 'ElasticsearchUnassignedShards',
          expr: 'elasticsearch_cluster_health_unassigned_shards{job="elasticsearch"} > 0',
          for: '30m',
          severity: 'P3',
          service,
          summary: 'Elasticsearch cluster {{ $labels.cluster }} has unassigned shards',
          description: ({ for: f }) => `{{ $value }} shards have been unassigned for ${humanDuration(f)}.`,
          runbook: runbook('ElasticsearchUnassignedShards'),
          tests: [
            firesWhen('shards stay unassigned', { [`elasticsearch_cluster_health_unassigned_shards{${E}}`]: '2x40' }, '35m', EL),
            silentWhen('every shard is assigned', { [`elasticsearch_cluster_health_unassigned_shards{${E}}`]: '0x40' }, '35m'),
          ],
        }),
        alert({
          alert: 'ElasticsearchDiskWatermarkLow',
          threshold: 85,
          expr: diskUsed,
          for: '15m',
          severity: 'P3',
          service,
          summary: 'Elasticsearch node {{ $labels.name }} passed the low disk watermark',
          description: ({ threshold }) =>
            `{{ printf "%.0f" $value }}% of the data disk of {{ $labels.name }} is used (more than ${humanNumber(threshold)}%): past the low watermark Elasticsearch allocates no new shard to it.`,
          runbook: runbook('ElasticsearchDiskWatermarkLow'),
          tests: [
            firesWhen('87% of the disk is used', disk(87), '20m', { ...NL, mount: '/data' }),
            silentWhen('70% of the disk is used', disk(70), '20m'),
          ],
        }),
        alert({
          alert: 'ElasticsearchDiskWatermarkHigh',
          threshold: 90,
          expr: diskUsed,
          for: '5m',
          severity: 'P2',
          service,
          summary: 'Elasticsearch node {{ $labels.name }} passed the high disk watermark',
          description: ({ threshold }) =>
            `{{ printf "%.0f" $value }}% of the data disk of {{ $labels.name }} is used (more than ${humanNumber(threshold)}%): past the high watermark shards move away, and at the flood stage (95% by default) indices become read-only.`,
          runbook: runbook('ElasticsearchDiskWatermarkHigh'),
          tests: [
            firesWhen('92% of the disk is used', disk(92), '10m', { ...NL, mount: '/data' }),
            silentWhen('87% of the disk is used', disk(87), '10m'),
          ],
        }),
        alert({
          alert: 'ElasticsearchHeapHigh',
          threshold: 90,
          expr: (t) =>
            `100 * elasticsearch_jvm_memory_used_bytes{job="elasticsearch",area="heap"} / elasticsearch_jvm_memory_max_bytes{job="elasticsearch",area="heap"} > ${t}`,
          for: '15m',
          severity: 'P3',
          service,
          summary: ({ threshold }) => `Elasticsearch node {{ $labels.name }} heap is above ${humanNumber(threshold)}%`,
          description: '{{ printf "%.0f" $value }}% of the JVM heap of {{ $labels.name }} is used; expect long GC pauses and circuit-breaker errors.',
          runbook: runbook('ElasticsearchHeapHigh'),
          tests: [
            firesWhen('95% of the heap is used', { [`elasticsearch_jvm_memory_used_bytes{${NODE},area="heap"}`]: '95x30', [`elasticsearch_jvm_memory_max_bytes{${NODE},area="heap"}`]: '100x30' }, '20m', {
              ...NL,
              area: 'heap',
            }),
            silentWhen('half of the heap is used', { [`elasticsearch_jvm_memory_used_bytes{${NODE},area="heap"}`]: '50x30', [`elasticsearch_jvm_memory_max_bytes{${NODE},area="heap"}`]: '100x30' }, '20m'),
          ],
        }),
        alert({
          alert: 'ElasticsearchWriteRejections',
          expr: 'increase(elasticsearch_thread_pool_rejected_count{job="elasticsearch",type="write"}[5m]) > 0',
          for: '10m',
          severity: 'P3',
          service,
          summary: 'Elasticsearch node {{ $labels.name }} rejects writes',
          description: 'The write thread pool of {{ $labels.name }} rejected {{ printf "%.0f" $value }} requests in 5 minutes: Logstash and Jaeger retry or drop data.',
          runbook: runbook('ElasticsearchWriteRejections'),
          tests: [
            firesWhen('writes are rejected', { [`elasticsearch_thread_pool_rejected_count{${NODE},type="write"}`]: '0+5x30' }, '20m', { ...NL, type: 'write' }),
            silentWhen('no write is rejected', { [`elasticsearch_thread_pool_rejected_count{${NODE},type="write"}`]: '7x30' }, '20m'),
          ],
        }),
      ],
    }),
    snapshotRules(env),
  ];
}
