import { alert, type Environment, firesWhen, group, humanDuration, percent, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
import { jobDown } from './common.js';

const I = 'job="obstack-ingest",instance="ingest-0:3000"';
const IL = { job: 'obstack-ingest', instance: 'ingest-0:3000' };

/** The ingest service (src/ingest), job `obstack-ingest`: errors, database writes, its queue. */
export function ingestRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'obstack-ingest';
  const requests = (errors: number, ok: number) => ({
    [`http_requests_total{${I},method="POST",route="/api/v1/events",status_code="500"}`]: `0+${errors}x30`,
    [`http_requests_total{${I},method="POST",route="/api/v1/events",status_code="202"}`]: `0+${ok}x30`,
  });
  return [
    group({
      name: 'obstack.ingest',
      rules: [
        jobDown(runbook, { alert: 'IngestDown', job: 'obstack-ingest', service, severity: 'P2', what: 'The ingest service' }),
        // The KPIs need Prometheus's key (components.ingest.prometheusKey): a missing or wrong key shows here, not as empty panels only.
        jobDown(runbook, { alert: 'IngestKpiScrapeFailing', job: 'obstack-ingest-business', service, severity: 'P4', what: "The ingest service's KPI endpoint" }),
        alert({
          alert: 'IngestHighErrorRate',
          threshold: 0.05,
          expr: (t) =>
            `sum by (job) (rate(http_requests_total{job="obstack-ingest",status_code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total{job="obstack-ingest"}[5m])) > ${t}`,
          for: '10m',
          severity: 'P2',
          service,
          summary: 'The ingest service fails {{ $value | humanizePercentage }} of its requests',
          description: ({ threshold, for: f }) =>
            `More than ${percent(threshold)} of the requests to the ingest service have answered 5xx for ${humanDuration(f)}; applications lose events and metrics.`,
          runbook: runbook('IngestHighErrorRate'),
          tests: [
            firesWhen('a tenth of the requests fail', requests(1, 9), '20m', { job: 'obstack-ingest' }),
            silentWhen('1% of the requests fail', requests(1, 99), '20m'),
          ],
        }),
        alert({
          alert: 'IngestDbWriteLatencyHigh',
          threshold: 0.5,
          expr: (t) => `histogram_quantile(0.95, sum by (job, le) (rate(ingest_db_write_duration_seconds_bucket{job="obstack-ingest"}[5m]))) > ${t}`,
          for: '10m',
          severity: 'P3',
          service,
          summary: 'Database writes of the ingest service are slow',
          description: 'The 95th percentile of a group commit takes {{ humanizeDuration $value }}; the write queue will fill up.',
          runbook: runbook('IngestDbWriteLatencyHigh'),
          tests: [
            firesWhen(
              'writes take about a second',
              {
                [`ingest_db_write_duration_seconds_bucket{${I},outcome="ok",le="0.5"}`]: '0x30',
                [`ingest_db_write_duration_seconds_bucket{${I},outcome="ok",le="1"}`]: '0+10x30',
                [`ingest_db_write_duration_seconds_bucket{${I},outcome="ok",le="+Inf"}`]: '0+10x30',
              },
              '20m',
              { job: 'obstack-ingest' },
            ),
            silentWhen(
              'writes are fast',
              {
                [`ingest_db_write_duration_seconds_bucket{${I},outcome="ok",le="0.5"}`]: '0+10x30',
                [`ingest_db_write_duration_seconds_bucket{${I},outcome="ok",le="1"}`]: '0+10x30',
                [`ingest_db_write_duration_seconds_bucket{${I},outcome="ok",le="+Inf"}`]: '0+10x30',
              },
              '20m',
            ),
          ],
        }),
        alert({
          alert: 'IngestDatabaseDown',
          expr: 'ingest_db_up{job="obstack-ingest"} == 0',
          for: '2m',
          severity: 'P1',
          service,
          summary: 'The ingest service cannot reach PostgreSQL',
          description: ({ for: f }) => `{{ $labels.instance }} has had no database for ${humanDuration(f)}: writes are refused with 503.`,
          runbook: runbook('IngestDatabaseDown'),
          tests: [
            firesWhen('the database is unreachable', { [`ingest_db_up{${I}}`]: '0x10' }, '5m', IL),
            silentWhen('the database answers', { [`ingest_db_up{${I}}`]: '1x10' }, '5m'),
          ],
        }),
        alert({
          alert: 'IngestQueueBacklog',
          threshold: 5000,
          expr: (t) => `ingest_queue_depth{job="obstack-ingest"} > ${t}`,
          for: '10m',
          severity: 'P3',
          service,
          summary: 'The ingest write queue has a backlog',
          description: '{{ $value }} rows accepted by {{ $labels.instance }} wait to be committed.',
          runbook: runbook('IngestQueueBacklog'),
          tests: [
            firesWhen('10000 rows wait', { [`ingest_queue_depth{${I}}`]: '10000x20' }, '15m', IL),
            silentWhen('the queue is short', { [`ingest_queue_depth{${I}}`]: '10x20' }, '15m'),
          ],
        }),
        alert({
          alert: 'IngestRefusingWrites',
          expr: 'sum by (job, reason) (rate(ingest_queue_refused_total{job="obstack-ingest"}[5m])) > 0',
          for: '5m',
          severity: 'P2',
          service,
          summary: 'The ingest service refuses writes ({{ $labels.reason }})',
          description: 'Writes are answered 503 because the queue is {{ $labels.reason }}; clients must retry or lose data.',
          runbook: runbook('IngestRefusingWrites'),
          tests: [
            firesWhen('writes are refused', { [`ingest_queue_refused_total{${I},reason="full"}`]: '0+5x20' }, '15m', { job: 'obstack-ingest', reason: 'full' }),
            silentWhen('no write is refused', { [`ingest_queue_refused_total{${I},reason="full"}`]: '3x20' }, '15m'),
          ],
        }),
      ],
    }),
  ];
}
