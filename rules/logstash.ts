import { alert, type Environment, firesWhen, group, humanDuration, humanNumber, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
import { jobDown } from './common.js';

// Metric names of kuskoman/logstash-exporter (see the metric catalog); counters there carry no _total suffix.
const LS = 'job="logstash",instance="logstash-0:9198"';
const LL = { job: 'logstash', instance: 'logstash-0:9198' };
const PL = `${LS},pipeline="main"`;
const PLL = { ...LL, pipeline: 'main' };
// The pipeline that reads the dead letter queue (src/constructs/logging/logstash.ts).
const DL = `${LS},pipeline="dead-letters"`;
const DLL = { ...LL, pipeline: 'dead-letters' };

/** Logstash, from kuskoman/logstash-exporter (job `logstash`). */
export function logstashRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'logstash';
  return [
    group({
      name: 'obstack.logstash',
      rules: [
        jobDown(runbook, { alert: 'LogstashExporterDown', job: 'logstash', service, severity: 'P3', what: 'The Logstash exporter' }),
        alert({
          alert: 'LogstashDown',
          expr: 'logstash_info_up{job="logstash"} == 0',
          for: '5m',
          severity: 'P2',
          service,
          summary: 'Logstash {{ $labels.instance }} does not answer',
          description: 'The exporter cannot reach the Logstash monitoring API: logs are not shipped to Elasticsearch.',
          runbook: runbook('LogstashDown'),
          tests: [
            firesWhen('the API does not answer', { [`logstash_info_up{${LS}}`]: '0x20' }, '10m', LL),
            silentWhen('the API answers', { [`logstash_info_up{${LS}}`]: '1x20' }, '10m'),
          ],
        }),
        alert({
          alert: 'LogstashPipelineDown',
          expr: 'logstash_stats_pipeline_up{job="logstash"} == 0',
          for: '5m',
          severity: 'P2',
          service,
          summary: 'Logstash pipeline {{ $labels.pipeline }} is down',
          description: 'Pipeline {{ $labels.pipeline }} on {{ $labels.instance }} is not running; its logs are not processed.',
          runbook: runbook('LogstashPipelineDown'),
          tests: [
            firesWhen('the pipeline is down', { [`logstash_stats_pipeline_up{${PL}}`]: '0x20' }, '10m', PLL),
            silentWhen('the pipeline is up', { [`logstash_stats_pipeline_up{${PL}}`]: '1x20' }, '10m'),
          ],
        }),
        alert({
          alert: 'LogstashPipelineReloadFailures',
          expr: 'increase(logstash_stats_pipeline_reloads_failures{job="logstash"}[10m]) > 0',
          severity: 'P3',
          service,
          summary: 'Logstash pipeline {{ $labels.pipeline }} failed to reload',
          description: 'A new configuration of pipeline {{ $labels.pipeline }} was refused; the old one keeps running.',
          runbook: runbook('LogstashPipelineReloadFailures'),
          tests: [
            firesWhen('a reload fails', { [`logstash_stats_pipeline_reloads_failures{${PL}}`]: '0x5 1x15' }, '10m', PLL),
            silentWhen('reloads succeed', { [`logstash_stats_pipeline_reloads_failures{${PL}}`]: '0x20' }, '10m'),
          ],
        }),
        alert({
          alert: 'LogstashQueueBacklog',
          threshold: 10000,
          expr: (t) => `logstash_stats_pipeline_queue_events_count{job="logstash"} > ${t}`,
          for: '15m',
          severity: 'P3',
          service,
          summary: 'Logstash pipeline {{ $labels.pipeline }} has a backlog',
          description: '{{ $value }} events wait in the queue of {{ $labels.pipeline }}: the outputs (Elasticsearch) do not keep up.',
          runbook: runbook('LogstashQueueBacklog'),
          tests: [
            firesWhen('20000 events wait', { [`logstash_stats_pipeline_queue_events_count{${PL}}`]: '20000x30' }, '20m', PLL),
            silentWhen('the queue is short', { [`logstash_stats_pipeline_queue_events_count{${PL}}`]: '100x30' }, '20m'),
          ],
        }),
        alert({
          alert: 'LogstashPipelineStalled',
          expr: 'rate(logstash_stats_pipeline_events_in{job="logstash"}[5m]) > 0 and rate(logstash_stats_pipeline_events_out{job="logstash"}[5m]) == 0',
          for: '10m',
          severity: 'P2',
          service,
          summary: 'Logstash pipeline {{ $labels.pipeline }} takes events in but sends none out',
          description: ({ for: f }) => `Pipeline {{ $labels.pipeline }} on {{ $labels.instance }} has received events but sent none for ${humanDuration(f)}.`,
          runbook: runbook('LogstashPipelineStalled'),
          tests: [
            firesWhen('events come in and none go out', { [`logstash_stats_pipeline_events_in{${PL}}`]: '0+100x30', [`logstash_stats_pipeline_events_out{${PL}}`]: '500x30' }, '20m', PLL),
            silentWhen('events flow through', { [`logstash_stats_pipeline_events_in{${PL}}`]: '0+100x30', [`logstash_stats_pipeline_events_out{${PL}}`]: '0+100x30' }, '20m'),
          ],
        }),
        alert({
          alert: 'LogstashDeadLetters',
          expr: 'sum by (job, instance) (increase(logstash_stats_pipeline_events_in{job="logstash",pipeline="dead-letters"}[15m])) > 0',
          severity: 'P3',
          service,
          summary: 'Elasticsearch refused log documents on {{ $labels.instance }}',
          description:
            '{{ printf "%.0f" $value }} documents Elasticsearch refused (a mapping conflict or a value it cannot parse) reached the dead-letter stream in 15 minutes. Each is kept with the reason in Kibana\'s "Dead letters" data view.',
          runbook: runbook('LogstashDeadLetters'),
          tests: [
            firesWhen('dead letters arrive', { [`logstash_stats_pipeline_events_in{${DL}}`]: '0x10 1+1x20' }, '20m', LL),
            silentWhen('no document is refused', { [`logstash_stats_pipeline_events_in{${DL}}`]: '0x30' }, '25m'),
            silentWhen('only the main pipeline takes events in', { [`logstash_stats_pipeline_events_in{${PL}}`]: '0+100x30', [`logstash_stats_pipeline_events_in{${DL}}`]: '0x30' }, '25m'),
          ],
        }),
        alert({
          alert: 'LogstashDeadLetterQueueFull',
          expr: 'sum by (job, instance, pipeline) (increase(logstash_stats_pipeline_dead_letter_queue_dropped_events{job="logstash"}[15m])) > 0',
          severity: 'P3',
          service,
          summary: 'The dead letter queue of {{ $labels.pipeline }} is full',
          description: 'The dead letter queue reached its size cap and dropped {{ printf "%.0f" $value }} refused documents in 15 minutes: the dead-letters pipeline does not keep up, or cannot write.',
          runbook: runbook('LogstashDeadLetterQueueFull'),
          tests: [
            firesWhen('refused documents are dropped', { [`logstash_stats_pipeline_dead_letter_queue_dropped_events{${PL}}`]: '0x5 3+3x20' }, '20m', PLL),
            silentWhen('nothing is dropped', { [`logstash_stats_pipeline_dead_letter_queue_dropped_events{${PL}}`]: '2x30' }, '25m'),
          ],
        }),
        alert({
          alert: 'LogstashOutputFailures',
          // The main pipeline's refused documents go to the dead letter queue (LogstashDeadLetters); a refused dead letter is lost.
          expr: 'sum by (job, instance, pipeline) (increase(logstash_stats_pipeline_plugin_documents_non_retryable_failures{job="logstash",pipeline!="main"}[10m])) > 0',
          for: '10m',
          severity: 'P3',
          service,
          summary: 'Logstash pipeline {{ $labels.pipeline }} loses documents',
          description: '{{ printf "%.0f" $value }} documents failed without retry in 10 minutes in a pipeline without a dead letter queue behind it; they are lost.',
          runbook: runbook('LogstashOutputFailures'),
          tests: [
            firesWhen('dead letters are refused', { [`logstash_stats_pipeline_plugin_documents_non_retryable_failures{${DL},plugin_id="es"}`]: '0+2x30' }, '25m', DLL),
            silentWhen('only the main pipeline has failures, kept as dead letters', { [`logstash_stats_pipeline_plugin_documents_non_retryable_failures{${PL},plugin_id="es"}`]: '0+2x30' }, '25m'),
            silentWhen('no document fails', { [`logstash_stats_pipeline_plugin_documents_non_retryable_failures{${DL},plugin_id="es"}`]: '0x30' }, '25m'),
          ],
        }),
        alert({
          alert: 'LogstashHeapHigh',
          threshold: 90,
          expr: (t) => `logstash_stats_jvm_mem_heap_used_percent{job="logstash"} > ${t}`,
          for: '15m',
          severity: 'P3',
          service,
          summary: ({ threshold }) => `Logstash {{ $labels.instance }} heap is above ${humanNumber(threshold)}%`,
          description: '{{ $value }}% of the JVM heap of {{ $labels.instance }} is used.',
          runbook: runbook('LogstashHeapHigh'),
          tests: [
            firesWhen('95% of the heap is used', { [`logstash_stats_jvm_mem_heap_used_percent{${LS}}`]: '95x30' }, '20m', LL),
            silentWhen('half of the heap is used', { [`logstash_stats_jvm_mem_heap_used_percent{${LS}}`]: '50x30' }, '20m'),
          ],
        }),
      ],
    }),
  ];
}
