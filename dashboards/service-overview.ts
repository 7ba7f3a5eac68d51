import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import {
  type DashboardContext,
  labelVariable,
  promql,
  promqlInstant,
  quantile,
  ratio,
  section,
  sel,
  stackDashboard,
  statPanel,
  sumRate,
  tablePanel,
  timeseriesPanel,
} from './common/index.js';

/**
 * The labels of the HTTP conventions: `http_requests_total` and the histogram
 * `http_request_duration_seconds`, with `method`, `route` and `status_code`
 * (the ingest service, prometheus_client) or `handler` and `status` classes
 * such as "5xx" (prometheus-fastapi-instrumentator). Panels by route or status
 * group by both spellings (one of them is empty on a series) and count a class
 * under either label, so they show both kinds of service. The `$route`
 * variable's "All" (`.*`) also matches series without a `route`.
 */
const S = sel('namespace=~"$namespace"', 'job=~"$job"', 'route=~"$route"');
const ERRORS = sel(S, 'status_code=~"5.."');
const ROUTE = ['route', 'handler'];
const STATUS = ['status_code', 'status'];
/** Requests per second answered with a status of `cls` ("5", "4"), whichever label carries it. */
const classRate = (cls: string, by: readonly string[] = []): string =>
  `(${sumRate('http_requests_total', sel(S, `status_code=~"${cls}.."`), by)} or ${sumRate('http_requests_total', sel(S, `status=~"${cls}.."`), by)})`;

/** RED for any service that follows the HTTP conventions: rate, errors and duration by route and status. */
export function serviceOverview(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.serviceOverview,
    title: 'Service overview (RED)',
    description: 'Request rate, error ratio and latency of every service that exposes http_requests_total and http_request_duration_seconds.',
    tags: ['red', 'http'],
    datasources: ['prometheus'],
  })
    .withVariable(labelVariable({ name: 'namespace', series: 'http_requests_total' }))
    .withVariable(labelVariable({ name: 'job', label: 'service', series: 'http_requests_total{namespace=~"$namespace"}' }))
    .withVariable(labelVariable({ name: 'route', series: 'http_requests_total{namespace=~"$namespace", job=~"$job"}' }));

  section(d, 'Now', [
    statPanel({ title: 'Requests per second', description: 'Requests answered per second, all routes.', unit: units.RequestsPerSecond, queries: [promql(sumRate('http_requests_total', S))] }),
    statPanel({
      title: 'Error ratio (5xx)',
      description: 'Share of requests answered with a 5xx status. The error-rate alert fires above 5% for 10 minutes.',
      unit: units.PercentUnit,
      decimals: 2,
      thresholds: [[0.01, 'orange'], [0.05, 'red']],
      queries: [promql(`(${classRate('5')} or vector(0)) / ${sumRate('http_requests_total', S)}`)],
    }),
    statPanel({
      title: 'p95 latency',
      description: '95th percentile of request duration over all routes. The latency alert fires above 2 s.',
      unit: units.Seconds,
      thresholds: [[1, 'orange'], [2, 'red']],
      queries: [promql(quantile(0.95, 'http_request_duration_seconds', S))],
    }),
    statPanel({
      title: 'p99 latency',
      description: '99th percentile of request duration over all routes.',
      unit: units.Seconds,
      thresholds: [[2, 'orange'], [5, 'red']],
      queries: [promql(quantile(0.99, 'http_request_duration_seconds', S))],
    }),
  ]);

  section(d, 'Rate', [
    timeseriesPanel({
      title: 'Requests by route',
      description: 'Requests per second for each route template.',
      unit: units.RequestsPerSecond,
      stacked: true,
      queries: [promql(sumRate('http_requests_total', S, ['job', ...ROUTE]), '{{job}} {{route}}{{handler}}')],
    }),
    timeseriesPanel({
      title: 'Requests by status code',
      description: 'Requests per second for each status code.',
      unit: units.RequestsPerSecond,
      stacked: true,
      queries: [promql(sumRate('http_requests_total', S, STATUS), '{{status_code}}{{status}}')],
    }),
  ]);

  section(d, 'Errors', [
    timeseriesPanel({
      title: 'Error ratio by route',
      description: 'Share of 5xx answers for each route; a route missing here had no 5xx.',
      unit: units.PercentUnit,
      thresholds: [[0.05, 'red']],
      queries: [promql(ratio(classRate('5', ['job', ...ROUTE]), sumRate('http_requests_total', S, ['job', ...ROUTE])), '{{job}} {{route}}{{handler}}')],
    }),
    timeseriesPanel({
      title: 'Client and server errors',
      description: '4xx answers (the client sent something wrong, or was refused) and 5xx answers (the service failed), per second.',
      unit: units.RequestsPerSecond,
      queries: [
        promql(classRate('4'), '4xx'),
        promql(classRate('5'), '5xx'),
      ],
    }),
  ]);

  section(d, 'Duration', [
    timeseriesPanel({
      title: 'Latency percentiles',
      description: 'p50, p95 and p99 of request duration over all selected routes.',
      unit: units.Seconds,
      queries: [
        promql(quantile(0.5, 'http_request_duration_seconds', S), 'p50'),
        promql(quantile(0.95, 'http_request_duration_seconds', S), 'p95'),
        promql(quantile(0.99, 'http_request_duration_seconds', S), 'p99'),
      ],
    }),
    timeseriesPanel({
      title: 'p95 latency by route',
      description: '95th percentile of request duration for each route template.',
      unit: units.Seconds,
      legendCalcs: ['mean', 'max'],
      queries: [promql(quantile(0.95, 'http_request_duration_seconds', S, ['job', ...ROUTE]), '{{job}} {{route}}{{handler}}')],
    }),
    timeseriesPanel({
      title: 'p95 latency by status code',
      description: 'Failures that are fast (refusals) or slow (timeouts) show up here.',
      unit: units.Seconds,
      queries: [promql(quantile(0.95, 'http_request_duration_seconds', S, ['status_code']), '{{status_code}}')],
    }),
    timeseriesPanel({
      title: 'Average latency by method',
      description: 'Mean request duration for each HTTP method.',
      unit: units.Seconds,
      queries: [promql(ratio(sumRate('http_request_duration_seconds_sum', S, ['method']), sumRate('http_request_duration_seconds_count', S, ['method'])), '{{method}}')],
    }),
  ]);

  section(d, 'Routes', [
    tablePanel({
      title: 'Routes over the time range',
      description: 'Requests per second, error ratio and p95 latency of each route over the selected time range, busiest first.',
      w: 24,
      h: 10,
      sortBy: { field: 'req/s', desc: true },
      queries: [
        promqlInstant('sum by (job, route, handler) (rate(http_requests_total{' + S + '}[$__range]))'),
        promqlInstant(
          '(sum by (job, route, handler) (rate(http_requests_total{' + ERRORS + '}[$__range])) or sum by (job, route, handler) (rate(http_requests_total{' + sel(S, 'status=~"5.."') + '}[$__range])))' +
            ' / sum by (job, route, handler) (rate(http_requests_total{' + S + '}[$__range]))',
        ),
        promqlInstant('histogram_quantile(0.95, sum by (le, job, route, handler) (rate(http_request_duration_seconds_bucket{' + S + '}[$__range])))'),
      ],
      transformations: [
        { id: 'merge', options: {} },
        { id: 'organize', options: { excludeByName: { Time: true }, renameByName: { 'Value #A': 'req/s', 'Value #B': 'error ratio', 'Value #C': 'p95 (s)' } } },
      ],
    }),
  ]);
  return d;
}
