import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, promql, promqlInstant, quantile, section, stackDashboard, statPanel, sumRate, tablePanel, timeseriesPanel } from './common/index.js';

const J = 'job="obstack-ingest"';
/** The KPIs come from the key-protected /metrics/business, a job of their own. */
const KPI = 'job="obstack-ingest-business"';

/** The ingest/analytics service: what it accepts, how fast it commits, what it refuses, and the KPIs it exposes. */
export function ingest(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.ingest,
    title: 'Ingest service',
    description: 'Events, error reports and metrics accepted by the ingest service, its write queue and commits, refusals, and the business KPIs applications post to it.',
    tags: ['ingest'],
    datasources: ['prometheus'],
  });

  section(d, 'Now', [
    statPanel({ title: 'Events/s', description: 'Analytics events committed per second.', unit: units.EventsPerSecond, queries: [promql(sumRate('ingest_events_total', J))] }),
    statPanel({ title: 'Queue depth', description: 'Rows accepted and not yet committed.', thresholds: [[1000, 'orange'], [10000, 'red']], queries: [promql(`sum(ingest_queue_depth{${J}})`)] }),
    statPanel({
      title: 'p99 commit time',
      description: '99th percentile of the time to commit one group of rows.',
      unit: units.Seconds,
      thresholds: [[0.25, 'orange'], [1, 'red']],
      queries: [promql(quantile(0.99, 'ingest_db_write_duration_seconds', J))],
    }),
    statPanel({ title: 'Refused writes/s', description: 'Writes refused with 503 per second.', thresholds: [[0.01, 'red']], queries: [promql(`${sumRate('ingest_queue_refused_total', J)} or vector(0)`)] }),
  ]);

  section(d, 'Accepted', [
    timeseriesPanel({
      title: 'Accepted per second',
      description: 'Events and error reports committed per second.',
      unit: units.EventsPerSecond,
      queries: [promql(sumRate('ingest_events_total', J), 'events'), promql(sumRate('ingest_error_reports_total', J), 'error reports')],
    }),
    timeseriesPanel({
      title: 'Batch size',
      description: 'p50 and p95 of events per ingest request: clients that send one event per request cost more.',
      unit: units.Short,
      queries: [promql(quantile(0.5, 'ingest_batch_size', J), 'p50'), promql(quantile(0.95, 'ingest_batch_size', J), 'p95')],
    }),
    timeseriesPanel({
      title: 'Requests by route',
      description: 'Requests per second by route and status code.',
      unit: units.RequestsPerSecond,
      stacked: true,
      queries: [promql(sumRate('http_requests_total', J, ['route', 'status_code']), '{{route}} {{status_code}}')],
    }),
    timeseriesPanel({
      title: 'p95 latency by route',
      description: 'A write is answered once committed, so write latency includes the commit.',
      unit: units.Seconds,
      queries: [promql(quantile(0.95, 'http_request_duration_seconds', J, ['route']), '{{route}}')],
    }),
  ]);

  section(d, 'Queue and commits', [
    timeseriesPanel({ title: 'Queue depth', description: 'Rows waiting for the next commit, by pod.', unit: units.Short, queries: [promql(`sum by (pod) (ingest_queue_depth{${J}})`, '{{pod}}')] }),
    timeseriesPanel({
      title: 'Commit time by outcome',
      description: 'p50 and p99 of commit time, by outcome.',
      unit: units.Seconds,
      queries: [
        promql(quantile(0.5, 'ingest_db_write_duration_seconds', J, ['outcome']), 'p50 {{outcome}}'),
        promql(quantile(0.99, 'ingest_db_write_duration_seconds', J, ['outcome']), 'p99 {{outcome}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Refused writes by reason',
      description: 'Writes refused with 503 per second: queue full, closing, or database unavailable. Nothing refused is lost: the client retries.',
      unit: units.OpsPerSecond,
      queries: [promql(sumRate('ingest_queue_refused_total', J, ['reason']), '{{reason}}')],
    }),
    timeseriesPanel({
      title: 'Custom metrics refused',
      description: 'Custom and business metric samples refused per second (cardinality limit, type conflict, reserved name).',
      unit: units.OpsPerSecond,
      queries: [promql(sumRate('ingest_custom_metric_refused_total', J, ['reason']), '{{reason}}')],
    }),
  ]);

  section(d, 'Business KPIs posted', [
    tablePanel({
      title: 'KPIs against target',
      description:
        'The latest value of each KPI applications posted to /api/v1/monitoring/business-metrics, by project (of the key that posted it), its target and how much of it is reached.',
      w: 24,
      queries: [
        promqlInstant(`max by (project, kpi) (business_kpi_value{${KPI}})`),
        promqlInstant(`max by (project, kpi) (business_kpi_target{${KPI}})`),
        promqlInstant(`max by (project, kpi) (business_kpi_value{${KPI}}) / max by (project, kpi) (business_kpi_target{${KPI}})`),
      ],
      // One row per (project, kpi): the merge joins the three results on their labels.
      transformations: [
        { id: 'merge', options: {} },
        {
          id: 'organize',
          options: {
            excludeByName: { Time: true },
            indexByName: { project: 0, kpi: 1, 'Value #A': 2, 'Value #B': 3, 'Value #C': 4 },
            renameByName: { 'Value #A': 'value', 'Value #B': 'target', 'Value #C': 'achieved' },
          },
        },
      ],
    }),
  ]);
  return d;
}
