import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import {
  type DashboardContext,
  labelVariable,
  logCountBy,
  LOG_FIELDS,
  logsPanel,
  logLines,
  promql,
  quantile,
  ratio,
  section,
  sel,
  stackDashboard,
  statPanel,
  sumRate,
  timeseriesPanel,
} from './common/index.js';

const S = sel('namespace=~"$namespace"', 'job=~"$job"');
/** The slow-query threshold of the requirements (100 ms), a bucket boundary of the histogram. */
const SLOW = '0.1';

/** Query latency, slow queries and the connection pool of the applications' databases, and the ingest service's writes. */
export function database(ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.database,
    title: 'Database performance',
    description: 'Query latency, slow queries (over 100 ms) and connection pools of the applications, and the ingest service\'s group-committed writes.',
    tags: ['database', 'postgresql'],
    datasources: ctx.datasources.has('logs') ? ['prometheus', 'logs'] : ['prometheus'],
  })
    .withVariable(labelVariable({ name: 'namespace', series: 'database_query_duration_seconds_count' }))
    .withVariable(labelVariable({ name: 'job', label: 'service', series: 'database_query_duration_seconds_count{namespace=~"$namespace"}' }));

  section(d, 'Now', [
    statPanel({ title: 'Queries per second', description: 'Database queries per second.', unit: units.OpsPerSecond, queries: [promql(sumRate('database_query_duration_seconds_count', S))] }),
    statPanel({
      title: 'p95 query time',
      description: '95th percentile of query duration.',
      unit: units.Seconds,
      thresholds: [[0.1, 'orange'], [0.5, 'red']],
      queries: [promql(quantile(0.95, 'database_query_duration_seconds', S))],
    }),
    statPanel({
      title: 'Slow queries',
      description: 'Share of queries slower than 100 ms.',
      unit: units.PercentUnit,
      thresholds: [[0.01, 'orange'], [0.05, 'red']],
      queries: [promql(`1 - ${ratio(sumRate('database_query_duration_seconds_bucket', sel(S, `le="${SLOW}"`)), sumRate('database_query_duration_seconds_count', S))}`)],
    }),
    statPanel({
      title: 'Pool in use',
      description: 'Connections in use out of the pool maximum; at 100% queries wait for a connection (pool exhaustion alert).',
      unit: units.PercentUnit,
      thresholds: [[0.8, 'orange'], [0.95, 'red']],
      queries: [promql(`sum(database_connections_active{${S}}) / sum(database_connections_max{${S}})`)],
    }),
  ]);

  section(d, 'Queries', [
    timeseriesPanel({
      title: 'Query latency by operation',
      description: 'p50 and p99 of query duration by operation (select, insert, ...).',
      unit: units.Seconds,
      queries: [
        promql(quantile(0.5, 'database_query_duration_seconds', S, ['operation']), 'p50 {{operation}}'),
        promql(quantile(0.99, 'database_query_duration_seconds', S, ['operation']), 'p99 {{operation}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Slow queries per second',
      description: 'Queries slower than 100 ms per second, by service and operation.',
      unit: units.OpsPerSecond,
      queries: [
        promql(
          `${sumRate('database_query_duration_seconds_count', S, ['job', 'operation'])} - ${sumRate('database_query_duration_seconds_bucket', sel(S, `le="${SLOW}"`), ['job', 'operation'])}`,
          '{{job}} {{operation}}',
        ),
      ],
    }),
    timeseriesPanel({
      title: 'Queries by operation',
      description: 'Queries per second by operation.',
      unit: units.OpsPerSecond,
      stacked: true,
      queries: [promql(sumRate('database_queries_total', S, ['operation']), '{{operation}}')],
    }),
    timeseriesPanel({
      title: 'Connection pool',
      description: 'Connections in use and the pool maximum, by service.',
      unit: units.Short,
      queries: [
        promql(`sum by (job) (database_connections_active{${S}})`, 'active {{job}}'),
        promql(`sum by (job) (database_connections_max{${S}})`, 'max {{job}}'),
      ],
    }),
  ]);

  section(d, 'Ingest service writes', [
    timeseriesPanel({
      title: 'Commit time',
      description: 'p50 and p99 of the time to commit one group of queued rows, by outcome.',
      unit: units.Seconds,
      queries: [
        promql(quantile(0.5, 'ingest_db_write_duration_seconds', 'job="obstack-ingest"', ['outcome']), 'p50 {{outcome}}'),
        promql(quantile(0.99, 'ingest_db_write_duration_seconds', 'job="obstack-ingest"', ['outcome']), 'p99 {{outcome}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Rows per commit',
      description: 'Average rows committed per transaction (group commit size): it grows with load, which is what keeps commits cheap.',
      unit: units.Short,
      queries: [promql(ratio(sumRate('ingest_db_write_rows_sum', 'job="obstack-ingest"'), sumRate('ingest_db_write_rows_count', 'job="obstack-ingest"')), 'rows per commit')],
    }),
  ]);

  if (ctx.datasources.has('logs')) {
    section(d, 'Slow query log', [
      timeseriesPanel({
        title: 'Slow query log lines by service',
        description: 'Log lines about slow queries, by service.',
        datasource: 'logs',
        bars: true,
        queries: [logCountBy('message:slow_query', LOG_FIELDS.service)],
      }),
      logsPanel({ title: 'Slow queries', description: 'The latest slow-query log lines with their statement and duration.', queries: [logLines('message:slow_query', 100)] }),
    ]);
  }
  return d;
}
