import { sel } from './promql.js';

/**
 * The names and labels under which the usual instrumentation exports HTTP
 * requests, so that a panel about "any service" shows every one of them:
 * - the stack's convention and prometheus_client: `http_requests_total{route,
 *   method, status_code}` (or `status`) with full codes, and the histogram
 *   `http_request_duration_seconds`;
 * - prometheus-fastapi-instrumentator: the same names with `handler` and
 *   `status` as a class ("5xx", which `5..` matches, so a regex on full codes
 *   such as `401|403` cannot see it), its histogram without a status label, and
 *   `http_request_duration_highr_seconds` with finer buckets and no labels;
 * - OpenTelemetry's HTTP semantic conventions as exported to Prometheus:
 *   `http_server_request_duration_seconds{http_route, http_request_method,
 *   http_response_status_code}`, whose `_count` counts the requests.
 * A service uses one spelling, so a query is the union (`or`) of one selector
 * per spelling; `or` drops a series already matched, so none counts twice.
 */
interface HttpSpelling {
  readonly counter: string;
  readonly histogram: string;
  readonly route: string;
  readonly status: readonly string[];
}

const SPELLINGS: readonly HttpSpelling[] = [
  { counter: 'http_requests_total', histogram: 'http_request_duration_seconds', route: 'route', status: ['status_code', 'status'] },
  { counter: 'http_requests_total', histogram: 'http_request_duration_seconds', route: 'handler', status: ['status', 'status_code'] },
  { counter: 'http_server_request_duration_seconds_count', histogram: 'http_server_request_duration_seconds', route: 'http_route', status: ['http_response_status_code'] },
];
/** prometheus-fastapi-instrumentator's histogram with buckets up to 60 s; the other one's stop at 1 s. */
const FINE_HISTOGRAM = 'http_request_duration_highr_seconds';

/** The labels that carry the route, the status and the method, in every spelling: group and label legends by all of them (all but one are empty). */
export const HTTP_ROUTE_LABELS = ['route', 'handler', 'http_route'] as const;
export const HTTP_STATUS_LABELS = ['status_code', 'status', 'http_response_status_code'] as const;
export const HTTP_METHOD_LABELS = ['method', 'http_request_method'] as const;
/** A legend part showing whichever label of `labels` a series has: `{{route}}{{handler}}{{http_route}}`. */
export const legendOf = (labels: readonly string[]): string => labels.map((l) => `{{${l}}}`).join('');

/** Which HTTP requests a query reads. */
export interface HttpSelection {
  /** Matchers every series must meet, e.g. `namespace=~"$namespace"`. */
  readonly matchers?: string;
  /** A regex the route must match under the label that carries it, e.g. `$route`. @default - any route, and series without one */
  readonly route?: string;
  /** A regex the status must match under the label that carries it, e.g. `5..`. @default - any status */
  readonly status?: string;
  /** @default '$__rate_interval' */
  readonly range?: string;
  /** `increase` counts requests over the range instead of a rate per second. @default 'rate' */
  readonly fn?: 'rate' | 'increase';
}

/** `rate(a[r]) or rate(b[r]) or …` over the distinct selectors of a metric per spelling. */
function union(metricOf: (s: HttpSpelling) => string, s: HttpSelection, withStatus: boolean): string {
  const range = s.range ?? '$__rate_interval';
  const selectors = SPELLINGS.flatMap((sp) =>
    (withStatus && s.status !== undefined ? sp.status : [undefined]).map(
      (status) => `${metricOf(sp)}{${sel(s.matchers ?? '', s.route !== undefined ? `${sp.route}=~"${s.route}"` : '', status ? `${status}=~"${s.status}"` : '')}}`,
    ),
  );
  return [...new Set(selectors)].map((x) => `${s.fn ?? 'rate'}(${x}[${range}])`).join(' or ');
}

const grouping = (by: readonly string[]) => (by.length > 0 ? ` by (${by.join(', ')})` : '');

/** Requests per second (or requests, with `fn: 'increase'`), whichever spelling each service uses, summed `by` the given labels. */
export function httpRequestRate(s: HttpSelection, by: readonly string[] = []): string {
  return `sum${grouping(by)} (${union((sp) => sp.counter, s, true)})`;
}

/** Seconds spent answering per second (the histograms' `_sum`), to divide by `httpRequestRate`-like counts for a mean. */
export function httpDurationSumRate(s: HttpSelection, by: readonly string[] = []): string {
  return `sum${grouping(by)} (${union((sp) => `${sp.histogram}_sum`, s, false)})`;
}

/** Requests per second as the histograms count them (`_count`), the denominator of a mean duration. */
export function httpDurationCountRate(s: HttpSelection, by: readonly string[] = []): string {
  return `sum${grouping(by)} (${union((sp) => `${sp.histogram}_count`, s, false)})`;
}

/**
 * The q-quantile of the request duration from whichever histogram each
 * service exports. Grouped by nothing finer than a service (no route, status
 * or method in `by`), a FastAPI service's fine-bucket histogram replaces its
 * coarse one (whose quantiles never exceed 1 s); it has no route label, so a
 * chosen `route` other than "All" leaves it out.
 */
export function httpQuantile(q: number, s: HttpSelection, by: readonly string[] = []): string {
  const range = s.range ?? '$__rate_interval';
  const buckets = union((sp) => `${sp.histogram}_bucket`, s, false);
  const fineByLabel = by.some((l) => [...HTTP_ROUTE_LABELS, ...HTTP_STATUS_LABELS, ...HTTP_METHOD_LABELS].includes(l as never));
  if (fineByLabel) return `histogram_quantile(${q}, sum${grouping(['le', ...by])} (${buckets}))`;
  const fine = `${FINE_HISTOGRAM}_bucket{${sel(s.matchers ?? '', s.route !== undefined ? `handler=~"${s.route}"` : '')}}`;
  return `histogram_quantile(${q}, sum${grouping(['le', ...by])} (rate(${fine}[${range}]) or ((${buckets}) unless on (job, instance) ${fine})))`;
}
