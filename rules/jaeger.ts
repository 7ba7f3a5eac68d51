import { alert, type Environment, firesWhen, group, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
import { jobDown } from './common.js';

// Jaeger v2 is an OpenTelemetry Collector: its own metrics are otelcol_*, counters with _total (see the metric catalog).
const J = 'job="jaeger",instance="jaeger-0:8888"';
const JL = { job: 'jaeger', instance: 'jaeger-0:8888' };

/** Jaeger (v2, OpenTelemetry Collector based): spans refused, dropped or not exported. */
export function jaegerRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'jaeger';
  const by = 'sum by (job, instance, receiver)';
  const byExporter = 'sum by (job, instance, exporter)';
  return [
    group({
      name: 'obstack.jaeger',
      rules: [
        jobDown(runbook, { alert: 'JaegerDown', job: 'jaeger', service, severity: 'P2', what: 'Jaeger' }),
        alert({
          alert: 'JaegerReceiverRefusingSpans',
          threshold: 0.01,
          expr: (t) =>
            `${by} (rate(otelcol_receiver_refused_spans_total{job="jaeger"}[5m])) / (${by} (rate(otelcol_receiver_accepted_spans_total{job="jaeger"}[5m])) + ${by} (rate(otelcol_receiver_refused_spans_total{job="jaeger"}[5m]))) > ${t}`,
          for: '10m',
          severity: 'P3',
          service,
          summary: 'Jaeger refuses spans on {{ $labels.receiver }}',
          description: '{{ $value | humanizePercentage }} of the spans sent to {{ $labels.receiver }} are refused (memory limiter or bad data); applications lose traces.',
          runbook: runbook('JaegerReceiverRefusingSpans'),
          tests: [
            firesWhen(
              'a tenth of the spans is refused',
              { [`otelcol_receiver_refused_spans_total{${J},receiver="otlp",transport="grpc"}`]: '0+10x30', [`otelcol_receiver_accepted_spans_total{${J},receiver="otlp",transport="grpc"}`]: '0+90x30' },
              '20m',
              { ...JL, receiver: 'otlp' },
            ),
            silentWhen(
              'every span is accepted',
              { [`otelcol_receiver_refused_spans_total{${J},receiver="otlp",transport="grpc"}`]: '0x30', [`otelcol_receiver_accepted_spans_total{${J},receiver="otlp",transport="grpc"}`]: '0+90x30' },
              '20m',
            ),
          ],
        }),
        alert({
          alert: 'JaegerExportFailures',
          threshold: 0.01,
          expr: (t) =>
            `${byExporter} (rate(otelcol_exporter_send_failed_spans_total{job="jaeger"}[5m])) / (${byExporter} (rate(otelcol_exporter_sent_spans_total{job="jaeger"}[5m])) + ${byExporter} (rate(otelcol_exporter_send_failed_spans_total{job="jaeger"}[5m]))) > ${t}`,
          for: '10m',
          severity: 'P2',
          service,
          summary: 'Jaeger fails to store spans through {{ $labels.exporter }}',
          description: '{{ $value | humanizePercentage }} of the spans sent to {{ $labels.exporter }} (the trace storage) fail.',
          runbook: runbook('JaegerExportFailures'),
          tests: [
            firesWhen(
              'half of the exports fail',
              { [`otelcol_exporter_send_failed_spans_total{${J},exporter="jaeger_storage_exporter"}`]: '0+50x30', [`otelcol_exporter_sent_spans_total{${J},exporter="jaeger_storage_exporter"}`]: '0+50x30' },
              '20m',
              { ...JL, exporter: 'jaeger_storage_exporter' },
            ),
            silentWhen(
              'every export succeeds',
              { [`otelcol_exporter_send_failed_spans_total{${J},exporter="jaeger_storage_exporter"}`]: '0x30', [`otelcol_exporter_sent_spans_total{${J},exporter="jaeger_storage_exporter"}`]: '0+50x30' },
              '20m',
            ),
          ],
        }),
        alert({
          alert: 'JaegerDroppingSpans',
          expr: 'sum by (job, instance, processor) (rate(otelcol_processor_dropped_spans_total{job="jaeger"}[5m])) > 0',
          for: '10m',
          severity: 'P3',
          service,
          summary: 'Jaeger drops spans in {{ $labels.processor }}',
          description: 'Processor {{ $labels.processor }} drops {{ printf "%.1f" $value }} spans a second: traces are incomplete.',
          runbook: runbook('JaegerDroppingSpans'),
          tests: [
            firesWhen('spans are dropped', { [`otelcol_processor_dropped_spans_total{${J},processor="memory_limiter"}`]: '0+60x30' }, '20m', { ...JL, processor: 'memory_limiter' }),
            silentWhen('no span is dropped', { [`otelcol_processor_dropped_spans_total{${J},processor="memory_limiter"}`]: '0x30' }, '20m'),
          ],
        }),
        alert({
          alert: 'JaegerExporterQueueFull',
          threshold: 0.8,
          expr: (t) => `max by (job, instance, exporter) (otelcol_exporter_queue_size{job="jaeger"}) / max by (job, instance, exporter) (otelcol_exporter_queue_capacity{job="jaeger"}) > ${t}`,
          for: '10m',
          severity: 'P3',
          service,
          summary: 'Jaeger export queue of {{ $labels.exporter }} is almost full',
          description: 'The sending queue of {{ $labels.exporter }} is {{ $value | humanizePercentage }} full; when full, spans are dropped.',
          runbook: runbook('JaegerExporterQueueFull'),
          tests: [
            firesWhen(
              'the queue is 90% full',
              { [`otelcol_exporter_queue_size{${J},exporter="jaeger_storage_exporter"}`]: '900x30', [`otelcol_exporter_queue_capacity{${J},exporter="jaeger_storage_exporter"}`]: '1000x30' },
              '20m',
              { ...JL, exporter: 'jaeger_storage_exporter' },
            ),
            silentWhen(
              'the queue is nearly empty',
              { [`otelcol_exporter_queue_size{${J},exporter="jaeger_storage_exporter"}`]: '10x30', [`otelcol_exporter_queue_capacity{${J},exporter="jaeger_storage_exporter"}`]: '1000x30' },
              '20m',
            ),
          ],
        }),
      ],
    }),
  ];
}
