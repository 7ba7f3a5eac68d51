import { alert, type Environment, firesWhen, group, humanDuration, humanNumber, percent, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';

/**
 * The applications the stack watches (scraped through `prometheus.io/scrape`
 * annotations), with the metric names of the service conventions in the
 * metric catalog. Alerts are per Kubernetes service: their `service` label is
 * the scraped one, so inhibition and routing work per application.
 */
export const APP_JOBS = 'job=~"kubernetes-pods|kubernetes-service-endpoints"';
const S = 'job="kubernetes-pods",namespace="chat",service="chat-api",pod="chat-api-0"';
const SL = { namespace: 'chat', service: 'chat-api' };
const PER_SERVICE = 'sum by (namespace, service)';
const BY_SERVICE_LE = 'sum by (namespace, service, le)';
/**
 * The HTTP series under the names and labels the usual instrumentation
 * exports, so the HTTP alerts hold for any of them:
 * - the stack's own convention and prometheus_client defaults:
 *   `http_requests_total{route, method, status_code}` (or `status`) with full
 *   codes, and the histogram `http_request_duration_seconds`;
 * - prometheus-fastapi-instrumentator: `http_requests_total{handler, method,
 *   status}` with classes ("5xx", which `=~"5.."` matches), the histogram
 *   `http_request_duration_seconds{handler, method}` with only the buckets
 *   0.1, 0.5 and 1 s, and `http_request_duration_highr_seconds` without labels
 *   but with buckets up to 60 s. A quantile of the former never exceeds 1 s,
 *   so the latter is read first where it exists;
 * - OpenTelemetry's HTTP semantic conventions as exported to Prometheus:
 *   `http_server_request_duration_seconds{http_route, http_request_method,
 *   http_response_status_code}`, whose `_count` counts the requests.
 * Route and method labels are summed away (`by (namespace, service)`), so their
 * spelling does not matter; `or` keeps, per service, the first name it exports.
 */
export const HTTP_COUNTERS = [
  { name: 'http_requests_total', errors: ['status=~"5.."', 'status_code=~"5.."'] },
  { name: 'http_server_request_duration_seconds_count', errors: ['http_response_status_code=~"5.."'] },
] as const;
const HTTP_HISTOGRAMS = ['http_request_duration_highr_seconds', 'http_request_duration_seconds', 'http_server_request_duration_seconds'] as const;
/** A factor in words: 2 → "twice", 3 → "3 times". */
const times = (factor: number) => (factor === 2 ? 'twice' : `${humanNumber(factor)} times`);
/** A share in words: 0.5 → "half", 0.25 → "25%". */
const share = (ratio: number) => (ratio === 0.5 ? 'half' : percent(ratio));

export function applicationRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = '{{ $labels.service }}';
  const sel = (extra = '') => `{${APP_JOBS}${extra}}`;
  const counter = (name: string, labels: string, perMinute: number, samples = 30) => ({ [`${name}{${S}${labels}}`]: `0+${perMinute}x${samples}` });
  /** Requests per second of each service, 5xx answers only when `errors`, under whichever name it exports. */
  const httpRate = (range: string, errors: boolean) =>
    `(${HTTP_COUNTERS.flatMap((c) => (errors ? c.errors.map((e) => `,${e}`) : ['']).map((m) => `${PER_SERVICE} (rate(${c.name}${sel(m)}[${range}]))`)).join(' or ')})`;
  /** The 95th percentile request duration of each service, from the first histogram it exports. */
  const httpP95 = (range: string, offset = '') =>
    `(${HTTP_HISTOGRAMS.map((h) => `histogram_quantile(0.95, ${BY_SERVICE_LE} (rate(${h}_bucket${sel()}[${range}]${offset})))`).join(' or ')})`;
  const histogram = (name: string, fastShare: number, samples = 30) => ({
    [`${name}_bucket{${S},le="0.1"}`]: `0+${10 * fastShare}x${samples}`,
    [`${name}_bucket{${S},le="5"}`]: `0+10x${samples}`,
    [`${name}_bucket{${S},le="+Inf"}`]: `0+10x${samples}`,
  });
  return [
    group({
      name: 'obstack.application',
      rules: [
        alert({
          alert: 'HighErrorRate',
          threshold: 0.05,
          expr: (t) => `${httpRate('5m', true)} / ${httpRate('5m', false)} > ${t}`,
          for: '10m',
          severity: 'P2',
          service,
          summary: '{{ $labels.service }} fails {{ $value | humanizePercentage }} of its requests',
          description: ({ threshold, for: f }) =>
            `More than ${percent(threshold)} of the HTTP requests to {{ $labels.namespace }}/{{ $labels.service }} have failed with a 5xx for ${humanDuration(f)}.`,
          runbook: runbook('HighErrorRate'),
          tests: [
            firesWhen('a tenth of the requests fail', { ...counter('http_requests_total', ',status="5xx"', 1), ...counter('http_requests_total', ',status="2xx"', 9) }, '20m', SL),
            silentWhen('1% of the requests fail', { ...counter('http_requests_total', ',status="5xx"', 1), ...counter('http_requests_total', ',status="2xx"', 99) }, '20m'),
          ],
        }),
        alert({
          alert: 'HighLatencyP95',
          threshold: 2,
          expr: (t) => `${httpP95('5m')} > ${t}`,
          for: '5m',
          severity: 'P2',
          service,
          summary: '{{ $labels.service }} answers slowly (p95 {{ humanizeDuration $value }})',
          description: ({ threshold, for: f }) =>
            `The 95th percentile of the request duration of {{ $labels.namespace }}/{{ $labels.service }} has been above ${humanDuration(threshold)} for ${humanDuration(f)}.`,
          runbook: runbook('HighLatencyP95'),
          tests: [
            firesWhen('most requests take seconds', histogram('http_request_duration_seconds', 0), '15m', SL),
            silentWhen('requests are fast', histogram('http_request_duration_seconds', 1), '15m'),
          ],
        }),
        alert({
          alert: 'LatencyDoubled',
          threshold: 2,
          expr: (t) =>
            `${httpP95('10m')} > ${t} * ${httpP95('10m', ' offset 1w')}`,
          for: '10m',
          severity: 'P3',
          service,
          summary: ({ threshold }) => `{{ $labels.service }} is ${times(threshold)} as slow as a week ago`,
          description: ({ threshold, for: f }) =>
            `The 95th percentile latency of {{ $labels.namespace }}/{{ $labels.service }} has been more than ${times(threshold)} what it was at the same time a week ago for ${humanDuration(f)}.`,
          runbook: runbook('LatencyDoubled'),
          tests: [
            firesWhen(
              'requests moved from the fast bucket to the slow one since last week',
              {
                [`http_request_duration_seconds_bucket{${S},le="0.1"}`]: '0+10x2016 20160x14',
                [`http_request_duration_seconds_bucket{${S},le="1"}`]: '0+10x2030',
                [`http_request_duration_seconds_bucket{${S},le="+Inf"}`]: '0+10x2030',
              },
              '1w1h',
              SL,
              { interval: '5m', evaluationInterval: '30m' },
            ),
            silentWhen(
              'latency is what it was a week ago',
              {
                [`http_request_duration_seconds_bucket{${S},le="0.1"}`]: '0+10x2030',
                [`http_request_duration_seconds_bucket{${S},le="1"}`]: '0+10x2030',
                [`http_request_duration_seconds_bucket{${S},le="+Inf"}`]: '0+10x2030',
              },
              '1w1h',
              { interval: '5m', evaluationInterval: '30m' },
            ),
          ],
        }),
        alert({
          alert: 'AICostOverBudget',
          threshold: 0.5,
          expr: (t) => `${PER_SERVICE} (increase(ai_cost_dollars_total${sel()}[1d])) > (1 + ${t}) * max by (namespace, service) (ai_daily_budget_dollars${sel()})`,
          for: '15m',
          severity: 'P3',
          service,
          summary: ({ threshold }) => `{{ $labels.service }} spends more than ${percent(threshold)} over its daily AI budget`,
          description: ({ threshold }) =>
            `{{ $labels.namespace }}/{{ $labels.service }} spent {{ printf "%.2f" $value }} dollars on AI/LLM calls in the last 24 hours, more than ${percent(threshold)} over its daily budget.`,
          runbook: runbook('AICostOverBudget'),
          tests: [
            firesWhen(
              'spending 5 dollars a minute against a 100 dollar budget',
              { ...counter('ai_cost_dollars_total', ',provider="openai",model="gpt"', 5, 60), [`ai_daily_budget_dollars{${S}}`]: '100x60' },
              '55m',
              SL,
            ),
            silentWhen('spending 1 dollar a minute', { ...counter('ai_cost_dollars_total', ',provider="openai",model="gpt"', 1, 60), [`ai_daily_budget_dollars{${S}}`]: '100x60' }, '55m'),
          ],
        }),
        alert({
          alert: 'RepeatedFailedLogins',
          threshold: 20,
          expr: (t) => `${PER_SERVICE} (increase(auth_login_attempts_total${sel(',result="failure"')}[5m])) > ${t}`,
          severity: 'P2',
          service,
          labels: { category: 'security' },
          summary: 'Many failed logins on {{ $labels.service }}',
          description: '{{ printf "%.0f" $value }} logins failed on {{ $labels.namespace }}/{{ $labels.service }} in 5 minutes: a password-guessing attack or a broken client.',
          runbook: runbook('RepeatedFailedLogins'),
          tests: [
            firesWhen('10 logins fail a minute', counter('auth_login_attempts_total', ',result="failure"', 10, 20), '10m', SL),
            silentWhen('one login fails a minute', counter('auth_login_attempts_total', ',result="failure"', 1, 20), '10m'),
          ],
        }),
        alert({
          alert: 'DatabaseConnectionPoolNearExhaustion',
          threshold: 0.9,
          expr: (t) => `max by (namespace, service) (database_connections_active${sel()}) / max by (namespace, service) (database_connections_max${sel()}) > ${t}`,
          for: '5m',
          severity: 'P2',
          service,
          summary: 'The database connection pool of {{ $labels.service }} is almost exhausted',
          description: '{{ $labels.namespace }}/{{ $labels.service }} uses {{ $value | humanizePercentage }} of its database connections; requests will queue and time out.',
          runbook: runbook('DatabaseConnectionPoolNearExhaustion'),
          tests: [
            firesWhen('19 of 20 connections are in use', { [`database_connections_active{${S}}`]: '19x20', [`database_connections_max{${S}}`]: '20x20' }, '10m', SL),
            silentWhen('5 of 20 connections are in use', { [`database_connections_active{${S}}`]: '5x20', [`database_connections_max{${S}}`]: '20x20' }, '10m'),
          ],
        }),
        alert({
          alert: 'SlowDatabaseQueries',
          threshold: 0.5,
          expr: (t) => `histogram_quantile(0.95, ${BY_SERVICE_LE} (rate(database_query_duration_seconds_bucket${sel()}[5m]))) > ${t}`,
          for: '10m',
          severity: 'P3',
          service,
          summary: 'Database queries of {{ $labels.service }} are slow',
          description: 'The 95th percentile of the database queries of {{ $labels.namespace }}/{{ $labels.service }} takes {{ humanizeDuration $value }}.',
          runbook: runbook('SlowDatabaseQueries'),
          tests: [
            firesWhen('queries take seconds', histogram('database_query_duration_seconds', 0), '20m', SL),
            silentWhen('queries are fast', histogram('database_query_duration_seconds', 1), '20m'),
          ],
        }),
        alert({
          alert: 'AIServiceDown',
          expr: `${PER_SERVICE} (rate(ai_requests_total${sel(',status!="success"')}[2m])) / ${PER_SERVICE} (rate(ai_requests_total${sel()}[2m])) >= 1`,
          for: '2m',
          severity: 'P1',
          service,
          summary: 'The AI service of {{ $labels.service }} is down',
          description: ({ for: f }) => `Every AI request of {{ $labels.namespace }}/{{ $labels.service }} has failed for ${humanDuration(f)}.`,
          runbook: runbook('AIServiceDown'),
          tests: [
            firesWhen('every AI request fails', { ...counter('ai_requests_total', ',provider="ollama",status="error"', 10, 15), ...counter('ai_requests_total', ',provider="ollama",status="success"', 0, 15) }, '10m', SL),
            silentWhen('some AI requests succeed', { ...counter('ai_requests_total', ',provider="ollama",status="error"', 10, 15), ...counter('ai_requests_total', ',provider="ollama",status="success"', 1, 15) }, '10m'),
          ],
        }),
        alert({
          alert: 'AIResponseSlow',
          threshold: 30,
          expr: (t) => `histogram_quantile(0.95, ${BY_SERVICE_LE} (rate(ai_response_duration_seconds_bucket${sel()}[10m]))) > ${t}`,
          for: '15m',
          severity: 'P3',
          service,
          summary: 'AI responses of {{ $labels.service }} are slow',
          description: 'The 95th percentile of the AI response time of {{ $labels.namespace }}/{{ $labels.service }} is {{ humanizeDuration $value }}.',
          runbook: runbook('AIResponseSlow'),
          tests: [
            firesWhen(
              'AI responses take a minute',
              { [`ai_response_duration_seconds_bucket{${S},le="10"}`]: '0x40', [`ai_response_duration_seconds_bucket{${S},le="60"}`]: '0+10x40', [`ai_response_duration_seconds_bucket{${S},le="+Inf"}`]: '0+10x40' },
              '30m',
              SL,
            ),
            silentWhen(
              'AI responses take seconds',
              { [`ai_response_duration_seconds_bucket{${S},le="10"}`]: '0+10x40', [`ai_response_duration_seconds_bucket{${S},le="60"}`]: '0+10x40', [`ai_response_duration_seconds_bucket{${S},le="+Inf"}`]: '0+10x40' },
              '30m',
            ),
          ],
        }),
        alert({
          alert: 'WebSocketConnectionFailures',
          threshold: 0.1,
          expr: (t) =>
            `${PER_SERVICE} (rate(websocket_connection_failures_total${sel()}[5m])) / ${PER_SERVICE} (rate(websocket_connection_attempts_total${sel()}[5m])) > ${t}`,
          for: '5m',
          severity: 'P2',
          service,
          summary: '{{ $value | humanizePercentage }} of the WebSocket connections to {{ $labels.service }} fail',
          description: ({ threshold, for: f }) =>
            `More than ${percent(threshold)} of the WebSocket connection attempts to {{ $labels.namespace }}/{{ $labels.service }} have failed for ${humanDuration(f)}.`,
          runbook: runbook('WebSocketConnectionFailures'),
          tests: [
            firesWhen('a fifth of the connections fail', { ...counter('websocket_connection_failures_total', '', 2), ...counter('websocket_connection_attempts_total', '', 10) }, '15m', SL),
            silentWhen('1% of the connections fail', { ...counter('websocket_connection_failures_total', '', 1), ...counter('websocket_connection_attempts_total', '', 100) }, '15m'),
          ],
        }),
        alert({
          alert: 'CacheHitRateCollapse',
          threshold: 0.5,
          expr: (t) => {
            const ratio = (offset: string) =>
              `(${PER_SERVICE} (rate(cache_hits_total${sel()}[15m]${offset})) / (${PER_SERVICE} (rate(cache_hits_total${sel()}[15m]${offset})) + ${PER_SERVICE} (rate(cache_misses_total${sel()}[15m]${offset}))))`;
            return `${ratio('')} < ${t} * ${ratio(' offset 1d')}`;
          },
          for: '15m',
          severity: 'P3',
          service,
          summary: 'The cache hit rate of {{ $labels.service }} collapsed',
          description: ({ threshold }) =>
            `The cache of {{ $labels.namespace }}/{{ $labels.service }} hits {{ $value | humanizePercentage }} of the time, less than ${share(threshold)} of its hit rate a day ago; the backends take the load.`,
          runbook: runbook('CacheHitRateCollapse'),
          tests: [
            firesWhen(
              'hits stopped since yesterday',
              { [`cache_hits_total{${S}}`]: '0+90x288 25920x10', [`cache_misses_total{${S}}`]: '0+10x288 2880+100x10' },
              '1d45m',
              SL,
              { interval: '5m', evaluationInterval: '15m' },
            ),
            silentWhen(
              'hits are as frequent as yesterday',
              { [`cache_hits_total{${S}}`]: '0+90x298', [`cache_misses_total{${S}}`]: '0+10x298' },
              '1d45m',
              { interval: '5m', evaluationInterval: '15m' },
            ),
          ],
        }),
      ],
    }),
  ];
}
