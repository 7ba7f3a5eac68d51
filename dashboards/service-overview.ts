import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import {
  type DashboardContext,
  HTTP_METHOD_LABELS,
  HTTP_ROUTE_LABELS,
  HTTP_STATUS_LABELS,
  type HttpSelection,
  httpDurationCountRate,
  httpDurationSumRate,
  httpQuantile,
  httpRequestRate,
  legendOf,
  promql,
  promqlInstant,
  ratio,
  section,
  sel,
  spellingsVariable,
  stackDashboard,
  statPanel,
  tablePanel,
  timeseriesPanel,
} from './common/index.js';

/**
 * Every service that exports HTTP metrics under one of the usual spellings
 * (dashboards/common/http.ts): the stack's convention and prometheus_client
 * (`http_requests_total{route, status_code}`), prometheus-fastapi-instrumentator
 * (`handler`, `status` classes such as "5xx") and OpenTelemetry
 * (`http_server_request_duration_seconds{http_route, http_response_status_code}`).
 * Each query is the union of one selector per spelling; panels by route,
 * status or method group by every spelling of the label (all but one are
 * empty on a series). The `$route` variable lists the routes of all three,
 * and its "All" (`.*`) also matches series without a route label.
 */
const SERVICES = sel('namespace=~"$namespace"', 'job=~"$job"', 'service=~"$service"');
const S: HttpSelection = { matchers: SERVICES, route: '$route' };
const ERRORS: HttpSelection = { ...S, status: '5..' };
const OVER_RANGE: HttpSelection = { ...S, range: '$__range' };
const ROUTE = ['job', 'service', ...HTTP_ROUTE_LABELS];
const ROUTE_LEGEND = `{{service}} ${legendOf(HTTP_ROUTE_LABELS)}`;
/** The request counters of the spellings, for the variables. */
const COUNTERS = ['http_requests_total', 'http_server_request_duration_seconds_count'];

/** RED for any service that follows the HTTP conventions: rate, errors and duration by route and status. */
export function serviceOverview(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.serviceOverview,
    title: 'Service overview (RED)',
    description:
      'Request rate, error ratio and latency of every service that exposes http_requests_total and http_request_duration_seconds (prometheus_client, prometheus-fastapi-instrumentator) or OpenTelemetry\'s http_server_request_duration_seconds.',
    tags: ['red', 'http'],
    datasources: ['prometheus'],
  })
    .withVariable(spellingsVariable({ name: 'namespace', labels: ['namespace'], series: COUNTERS }))
    .withVariable(spellingsVariable({ name: 'job', labels: ['job'], series: COUNTERS.map((c) => `${c}{namespace=~"$namespace"}`) }))
    // Applications found by annotation all share one job (kubernetes-pods): the scrape gives each its `service`
    // (its app label, controller or Service), which tells them apart. "All" also matches series without it.
    .withVariable(spellingsVariable({ name: 'service', labels: ['service'], series: COUNTERS.map((c) => `${c}{namespace=~"$namespace", job=~"$job"}`) }))
    .withVariable(spellingsVariable({ name: 'route', labels: HTTP_ROUTE_LABELS, series: COUNTERS.map((c) => `${c}{${SERVICES}}`) }));

  section(d, 'Now', [
    statPanel({ title: 'Requests per second', description: 'Requests answered per second, all routes.', unit: units.RequestsPerSecond, queries: [promql(httpRequestRate(S))] }),
    statPanel({
      title: 'Error ratio (5xx)',
      description: 'Share of requests answered with a 5xx status. The error-rate alert fires above 5% for 10 minutes.',
      unit: units.PercentUnit,
      decimals: 2,
      thresholds: [[0.01, 'orange'], [0.05, 'red']],
      queries: [promql(`(${httpRequestRate(ERRORS)} or vector(0)) / ${httpRequestRate(S)}`)],
    }),
    statPanel({
      title: 'p95 latency',
      description: '95th percentile of request duration over all routes. The latency alert fires above 2 s.',
      unit: units.Seconds,
      thresholds: [[1, 'orange'], [2, 'red']],
      queries: [promql(httpQuantile(0.95, S))],
    }),
    statPanel({
      title: 'p99 latency',
      description: '99th percentile of request duration over all routes.',
      unit: units.Seconds,
      thresholds: [[2, 'orange'], [5, 'red']],
      queries: [promql(httpQuantile(0.99, S))],
    }),
  ]);

  section(d, 'Rate', [
    timeseriesPanel({
      title: 'Requests by route',
      description: 'Requests per second for each route template.',
      unit: units.RequestsPerSecond,
      stacked: true,
      queries: [promql(httpRequestRate(S, ROUTE), ROUTE_LEGEND)],
    }),
    timeseriesPanel({
      title: 'Requests by status code',
      description: 'Requests per second for each status code.',
      unit: units.RequestsPerSecond,
      stacked: true,
      queries: [promql(httpRequestRate(S, HTTP_STATUS_LABELS), legendOf(HTTP_STATUS_LABELS))],
    }),
  ]);

  section(d, 'Errors', [
    timeseriesPanel({
      title: 'Error ratio by route',
      description: 'Share of 5xx answers for each route; a route missing here had no 5xx.',
      unit: units.PercentUnit,
      thresholds: [[0.05, 'red']],
      queries: [promql(ratio(httpRequestRate(ERRORS, ROUTE), httpRequestRate(S, ROUTE)), ROUTE_LEGEND)],
    }),
    timeseriesPanel({
      title: 'Client and server errors',
      description: '4xx answers (the client sent something wrong, or was refused) and 5xx answers (the service failed), per second.',
      unit: units.RequestsPerSecond,
      queries: [
        promql(httpRequestRate({ ...S, status: '4..' }), '4xx'),
        promql(httpRequestRate(ERRORS), '5xx'),
      ],
    }),
  ]);

  section(d, 'Duration', [
    timeseriesPanel({
      title: 'Latency percentiles',
      description: 'p50, p95 and p99 of request duration over all selected routes.',
      unit: units.Seconds,
      queries: [
        promql(httpQuantile(0.5, S), 'p50'),
        promql(httpQuantile(0.95, S), 'p95'),
        promql(httpQuantile(0.99, S), 'p99'),
      ],
    }),
    timeseriesPanel({
      title: 'p95 latency by route',
      description: '95th percentile of request duration for each route template.',
      unit: units.Seconds,
      legendCalcs: ['mean', 'max'],
      queries: [promql(httpQuantile(0.95, S, ROUTE), ROUTE_LEGEND)],
    }),
    timeseriesPanel({
      title: 'p95 latency by status code',
      description: 'Failures that are fast (refusals) or slow (timeouts) show up here.',
      unit: units.Seconds,
      queries: [promql(httpQuantile(0.95, S, HTTP_STATUS_LABELS), legendOf(HTTP_STATUS_LABELS))],
    }),
    timeseriesPanel({
      title: 'Average latency by method',
      description: 'Mean request duration for each HTTP method.',
      unit: units.Seconds,
      queries: [promql(ratio(httpDurationSumRate(S, HTTP_METHOD_LABELS), httpDurationCountRate(S, HTTP_METHOD_LABELS)), legendOf(HTTP_METHOD_LABELS))],
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
        promqlInstant(httpRequestRate(OVER_RANGE, ROUTE)),
        promqlInstant(ratio(httpRequestRate({ ...OVER_RANGE, status: '5..' }, ROUTE), httpRequestRate(OVER_RANGE, ROUTE))),
        promqlInstant(httpQuantile(0.95, OVER_RANGE, ROUTE)),
      ],
      transformations: [
        { id: 'merge', options: {} },
        { id: 'organize', options: { excludeByName: { Time: true }, renameByName: { 'Value #A': 'req/s', 'Value #B': 'error ratio', 'Value #C': 'p95 (s)' } } },
      ],
    }),
  ]);
  return d;
}
