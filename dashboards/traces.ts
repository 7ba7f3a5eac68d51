import * as units from '@grafana/grafana-foundation-sdk/units';
import { type DashboardBuilder, PanelBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS, dashboardUrl } from '../src/authoring/index.js';
import {
  barsPanel,
  type DashboardContext,
  datasourceRef,
  jaegerSearch,
  jaegerTrace,
  promql,
  section,
  stackDashboard,
  sumRate,
  tablePanel,
  textVariable,
  timeseriesPanel,
} from './common/index.js';

const SELF_LINK = `${dashboardUrl('', DASHBOARD_UIDS.traces)}?var-trace_id=\${__value.raw}&var-service=\${service}&\${__url_time_range}`;

/** Trace search, latency by operation, one trace in full, and the collector's intake. */
export function traces(ctx: DashboardContext): DashboardBuilder {
  const metrics = ctx.datasources.has('prometheus');
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.traces,
    title: 'Traces',
    description: 'Search traces in Jaeger by service, operation and duration; compare operations by latency; open one trace (also from the logs dashboard).',
    tags: ['traces', 'jaeger'],
    datasources: metrics ? ['traces', 'prometheus'] : ['traces'],
    from: 'now-1h',
  })
    .withVariable(textVariable('service', 'service', 'obstack-ingest'))
    .withVariable(textVariable('operation', 'operation', ''))
    .withVariable(textVariable('min_duration', 'min duration', ''))
    .withVariable(textVariable('trace_id', 'trace id', ''));

  const search = () => jaegerSearch({ service: '$service', operation: '$operation', minDuration: '$min_duration', limit: 200 });

  section(d, 'Search', [
    tablePanel({
      title: 'Traces',
      description: 'The latest traces of the service (and operation), longest first; click a trace id to open it below.',
      datasource: 'traces',
      w: 14,
      h: 10,
      sortBy: { field: 'Duration', desc: true },
      queries: [search()],
      links: [{ title: 'Open trace', url: SELF_LINK }],
    }),
    barsPanel({
      title: 'Latency by operation',
      description: 'Mean and longest duration of the traces found, by root operation.',
      datasource: 'traces',
      unit: units.Milliseconds,
      w: 10,
      h: 10,
      queries: [search()],
      transformations: [
        {
          id: 'groupBy',
          options: {
            fields: {
              traceName: { aggregations: [], operation: 'groupby' },
              traceDuration: { aggregations: ['mean', 'max', 'count'], operation: 'aggregate' },
            },
          },
        },
      ],
    }),
  ]);

  // The SDK has no builder for the traces panel; the generic one takes its type.
  const tracePanel = new PanelBuilder()
    .type('traces')
    .title('Trace')
    .description('The trace whose id is in the "trace id" variable: spans, their timing and attributes.')
    .datasource(datasourceRef('traces'))
    .gridPos({ x: 0, y: 0, w: 24, h: 16 })
    .withTarget(jaegerTrace('$trace_id').refId('A'));
  section(d, 'Trace', [tracePanel]);

  if (metrics) {
    section(d, 'Collector', [
      timeseriesPanel({
        title: 'Spans received and lost',
        description: 'Spans Jaeger accepted, refused and failed to store, per second. Head sampling keeps a share of traces (10% by default): lost spans are in addition to that.',
        unit: units.OpsPerSecond,
        w: 24,
        queries: [
          promql(sumRate('otelcol_receiver_accepted_spans_total', 'job="jaeger"', ['receiver']), 'accepted {{receiver}}'),
          promql(sumRate('otelcol_receiver_refused_spans_total', 'job="jaeger"', ['receiver']), 'refused {{receiver}}'),
          promql(sumRate('otelcol_exporter_send_failed_spans_total', 'job="jaeger"', ['exporter']), 'failed {{exporter}}'),
        ],
      }),
    ]);
  }
  return d;
}
