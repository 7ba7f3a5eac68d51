import {
  alert,
  type AlertParams,
  type AlertRule,
  type Environment,
  firesWhen,
  group,
  humanDuration,
  percent,
  type RuleGroup,
  runbooks,
  type Severity,
  silentWhen,
} from '../src/authoring/index.js';
import { type Runbook, series } from './control-plane-common.js';

/** The scrape jobs of src/constructs/thanos/ (one per component), which every rule here selects on. */
export const THANOS_JOBS = {
  sidecar: 'thanos-sidecar',
  query: 'thanos-query',
  store: 'thanos-store',
  compact: 'thanos-compact',
  rule: 'thanos-rule',
} as const;

const I = (job: string) => ({ job, instance: `${job}-0:10902` });
const BUCKET_OPS = 'thanos_objstore_bucket_operations_total';
const BUCKET_FAILURES = 'thanos_objstore_bucket_operation_failures_total';

/**
 * A component is down when no target of its job answers, including when none
 * is discovered: `absent(up == 1)`. Without Thanos the alert keeps its name
 * (every environment ships the same alerts, so overrides are checked alike)
 * but reads only failing targets, of which there are none: it cannot fire.
 */
function componentDown(runbook: Runbook, on: boolean, def: { alert: string; job: string; severity: Severity; what: string; impact: string }): AlertRule {
  const up = series('up', I(def.job));
  return alert({
    alert: def.alert,
    expr: on ? `absent(up{job="${def.job}"} == 1)` : `max by (job) (up{job="${def.job}"}) == 0`,
    for: '10m',
    severity: def.severity,
    service: 'thanos',
    summary: `${def.what} cannot be scraped`,
    description: ({ for: f }) => `No target of job ${def.job} has answered Prometheus for ${humanDuration(f)}, or none is discovered: ${def.impact}`,
    runbook: runbook(def.alert),
    tests: [
      firesWhen('every target fails its scrapes', { [up]: '0x30' }, '20m', on ? {} : { job: def.job }),
      ...(on
        ? [firesWhen('no target is discovered at all', { [series('up', { job: 'other', instance: 'x:1' })]: '1x30' }, '20m', {})]
        : [silentWhen('Thanos is off (no target at all)', { [series('up', { job: 'other', instance: 'x:1' })]: '1x30' }, '20m')]),
      silentWhen('a target answers', { [up]: '1x30' }, '20m'),
    ],
  });
}

/** More than `threshold` of a component's bucket operations fail (the mixin's *BucketHighOperationFailures). */
function bucketFailures(runbook: Runbook, def: { alert: string; job: string; severity: Severity; what: string; threshold?: number }): AlertRule {
  const by = 'sum by (job)';
  const sel = `{job="${def.job}"}`;
  const labels = { ...I(def.job), operation: 'upload', bucket: 'metrics' };
  const threshold = def.threshold ?? 0.05;
  return alert({
    alert: def.alert,
    threshold,
    expr: (t) => `${by} (rate(${BUCKET_FAILURES}${sel}[5m])) / ${by} (rate(${BUCKET_OPS}${sel}[5m])) > ${t}`,
    for: '15m',
    severity: def.severity,
    service: 'thanos',
    summary: `${def.what} fails {{ $value | humanizePercentage }} of its object storage operations`,
    description: (p: AlertParams<number>) =>
      `More than ${percent(p.threshold)} of the bucket operations of job ${def.job} fail: wrong or rotated credentials in the objstore Secret, a deleted bucket, or the storage endpoint unreachable (egress on port 443).`,
    runbook: runbook(def.alert),
    tests: [
      firesWhen('a fifth of the operations fail', { [series(BUCKET_FAILURES, labels)]: '0+20x30', [series(BUCKET_OPS, labels)]: '0+100x30' }, '25m', { job: def.job }),
      silentWhen('every operation succeeds', { [series(BUCKET_FAILURES, labels)]: '0x30', [series(BUCKET_OPS, labels)]: '0+100x30' }, '25m'),
    ],
  });
}

/** 5xx answers of Query's Prometheus API on one handler: what Grafana and the Ruler see. */
function queryErrors(runbook: Runbook, alertName: string, handler: 'query' | 'query_range', what: string): AlertRule {
  const J = `job="${THANOS_JOBS.query}",handler="${handler}"`;
  const req = (code: string) => series('http_requests_total', { ...I(THANOS_JOBS.query), handler, code, method: 'post' });
  return alert({
    alert: alertName,
    threshold: 0.05,
    expr: (t) => `sum by (job) (rate(http_requests_total{${J},code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total{${J}}[5m])) > ${t}`,
    for: '5m',
    severity: 'P2',
    service: 'thanos',
    summary: `Thanos Query fails {{ $value | humanizePercentage }} of its ${what}`,
    description: ({ threshold }) =>
      `More than ${percent(threshold)} of the ${what} (handler ${handler}) end in a 5xx: dashboards show errors or gaps, and the Ruler's rules fail to evaluate.`,
    runbook: runbook(alertName),
    tests: [
      firesWhen('a tenth of the queries fail', { [req('503')]: '0+10x20', [req('200')]: '0+90x20' }, '15m', { job: THANOS_JOBS.query }),
      silentWhen('every query succeeds', { [req('503')]: '0x20', [req('200')]: '0+90x20' }, '15m'),
    ],
  });
}

/**
 * Thanos (src/constructs/thanos/): the sidecars' uploads, the Compactor, the
 * Store Gateway's and Query's errors and the Ruler's delivery, named after
 * the Thanos mixin's alerts. Every selector names a Thanos job, so without
 * Thanos none can fire.
 */
export function thanosRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const t = env.components.thanos;
  const on = t.enabled;
  const rulerOn = on && (t.ruler.enabled || env.components.prometheus.shards > 1);
  const service = 'thanos';
  const J = THANOS_JOBS;
  const grpcCodes = 'Unknown|ResourceExhausted|Internal|Unavailable|DataLoss|DeadlineExceeded';
  const sidecar = I(J.sidecar);
  const compact = I(J.compact);
  const rule = I(J.rule);
  return [
    group({
      name: 'obstack.thanos',
      rules: [
        componentDown(runbook, on, { alert: 'ThanosQueryDown', job: J.query, severity: 'P2', what: 'Thanos Query', impact: 'every dashboard is blank and the Ruler cannot evaluate.' }),
        componentDown(runbook, on, { alert: 'ThanosStoreDown', job: J.store, severity: 'P3', what: 'The Thanos Store Gateway', impact: 'history older than what Prometheus keeps is missing from queries.' }),
        componentDown(runbook, on, { alert: 'ThanosCompactDown', job: J.compact, severity: 'P3', what: 'The Thanos Compactor', impact: 'blocks are neither compacted, downsampled nor deleted past their retention.' }),
        componentDown(runbook, rulerOn, { alert: 'ThanosRuleDown', job: J.rule, severity: 'P2', what: 'The Thanos Ruler', impact: 'the rules it evaluates (all of them when Prometheus is sharded) cannot fire.' }),
        alert({
          alert: 'ThanosSidecarBucketOperationsFailed',
          expr: `sum by (job, instance) (rate(${BUCKET_FAILURES}{job="${J.sidecar}"}[5m])) > 0`,
          for: '5m',
          severity: 'P2',
          service,
          summary: 'The Thanos sidecar {{ $labels.instance }} cannot write to the bucket',
          description:
            "Its bucket operations fail: the 2-hour blocks Prometheus writes are not uploaded, and once Prometheus's retention passes them they are lost for good.",
          runbook: runbook('ThanosSidecarBucketOperationsFailed'),
          tests: [
            firesWhen('uploads fail', { [series(BUCKET_FAILURES, { ...sidecar, operation: 'upload', bucket: 'metrics' })]: '0+1x20' }, '15m', sidecar),
            silentWhen('no upload fails', { [series(BUCKET_FAILURES, { ...sidecar, operation: 'upload', bucket: 'metrics' })]: '3x20' }, '15m'),
          ],
        }),
        alert({
          alert: 'ThanosSidecarNoConnectionToStartedPrometheus',
          expr: `thanos_sidecar_prometheus_up{job="${J.sidecar}"} == 0`,
          for: '10m',
          severity: 'P3',
          service,
          summary: 'The Thanos sidecar {{ $labels.instance }} cannot reach its Prometheus',
          description: ({ for: f }) => `For ${humanDuration(f)} the sidecar has not reached Prometheus in its pod: Query misses this replica's recent data.`,
          runbook: runbook('ThanosSidecarNoConnectionToStartedPrometheus'),
          tests: [
            firesWhen('Prometheus does not answer the sidecar', { [series('thanos_sidecar_prometheus_up', sidecar)]: '0x20' }, '15m', sidecar),
            silentWhen('Prometheus answers', { [series('thanos_sidecar_prometheus_up', sidecar)]: '1x20' }, '15m'),
          ],
        }),
        alert({
          alert: 'ThanosCompactHalted',
          expr: `thanos_compact_halted{job="${J.compact}"} == 1`,
          for: '5m',
          severity: 'P3',
          service,
          summary: 'The Thanos Compactor has halted',
          description: 'It met a block it will not touch (overlapping blocks, a corrupted index) and stopped compacting, downsampling and enforcing retention until someone repairs the bucket.',
          runbook: runbook('ThanosCompactHalted'),
          tests: [
            firesWhen('the compactor halts', { [series('thanos_compact_halted', compact)]: '0 1x15' }, '10m', compact),
            silentWhen('the compactor runs', { [series('thanos_compact_halted', compact)]: '0x15' }, '10m'),
          ],
        }),
        alert({
          alert: 'ThanosCompactHighCompactionFailures',
          threshold: 0.05,
          expr: (th) =>
            `sum by (job) (rate(thanos_compact_group_compactions_failures_total{job="${J.compact}"}[5m])) / sum by (job) (rate(thanos_compact_group_compactions_total{job="${J.compact}"}[5m])) > ${th}`,
          for: '15m',
          severity: 'P3',
          service,
          summary: 'The Thanos Compactor fails {{ $value | humanizePercentage }} of its compactions',
          description: ({ threshold }) => `More than ${percent(threshold)} of the compactions fail: blocks pile up, queries over long ranges slow down, and the disk may be too small for the largest compaction.`,
          runbook: runbook('ThanosCompactHighCompactionFailures'),
          tests: [
            firesWhen(
              'a third of the compactions fail',
              { [series('thanos_compact_group_compactions_failures_total', { ...compact, resolution: '0' })]: '0+1x30', [series('thanos_compact_group_compactions_total', { ...compact, resolution: '0' })]: '0+3x30' },
              '25m',
              { job: J.compact },
            ),
            silentWhen(
              'every compaction succeeds',
              { [series('thanos_compact_group_compactions_failures_total', { ...compact, resolution: '0' })]: '0x30', [series('thanos_compact_group_compactions_total', { ...compact, resolution: '0' })]: '0+3x30' },
              '25m',
            ),
          ],
        }),
        alert({
          alert: 'ThanosCompactHasNotRun',
          threshold: 24,
          expr: (th) => `(time() - max by (job) (max_over_time(thanos_objstore_bucket_last_successful_upload_time{job="${J.compact}"}[24h]))) / 3600 > ${th}`,
          severity: 'P3',
          service,
          summary: 'The Thanos Compactor has uploaded nothing for {{ $value | humanize }} hours',
          description: ({ threshold }) => `No compacted or downsampled block has reached the bucket in ${threshold} hours: the Compactor is stuck, halted or cannot keep up.`,
          runbook: runbook('ThanosCompactHasNotRun'),
          tests: [
            // The last upload happened at the start and never again; 25 hours later it is more than a day old.
            firesWhen('the last upload is more than a day old', { [series('thanos_objstore_bucket_last_successful_upload_time', compact)]: '0x1500' }, '25h', { job: J.compact }),
            silentWhen('blocks are uploaded every hour', { [series('thanos_objstore_bucket_last_successful_upload_time', compact)]: '0+60x1500' }, '25h'),
          ],
        }),
        bucketFailures(runbook, { alert: 'ThanosCompactBucketHighOperationFailures', job: J.compact, severity: 'P3', what: 'The Thanos Compactor' }),
        bucketFailures(runbook, { alert: 'ThanosStoreBucketHighOperationFailures', job: J.store, severity: 'P3', what: 'The Thanos Store Gateway' }),
        alert({
          alert: 'ThanosStoreGrpcErrorRate',
          threshold: 0.05,
          expr: (th) =>
            `sum by (job) (rate(grpc_server_handled_total{job="${J.store}",grpc_code=~"${grpcCodes}"}[5m])) / sum by (job) (rate(grpc_server_started_total{job="${J.store}"}[5m])) > ${th}`,
          for: '5m',
          severity: 'P3',
          service,
          summary: 'The Thanos Store Gateway fails {{ $value | humanizePercentage }} of its requests',
          description: ({ threshold }) => `More than ${percent(threshold)} of the StoreAPI requests to the Store Gateway fail: queries over the bucket's history are partial or fail.`,
          runbook: runbook('ThanosStoreGrpcErrorRate'),
          tests: [
            firesWhen(
              'a tenth of the requests fail',
              { [series('grpc_server_handled_total', { ...I(J.store), grpc_code: 'Unavailable', grpc_method: 'Series' })]: '0+10x20', [series('grpc_server_started_total', { ...I(J.store), grpc_method: 'Series' })]: '0+100x20' },
              '15m',
              { job: J.store },
            ),
            silentWhen(
              'every request succeeds',
              { [series('grpc_server_handled_total', { ...I(J.store), grpc_code: 'OK', grpc_method: 'Series' })]: '0+100x20', [series('grpc_server_started_total', { ...I(J.store), grpc_method: 'Series' })]: '0+100x20' },
              '15m',
            ),
          ],
        }),
        queryErrors(runbook, 'ThanosQueryHttpRequestQueryErrorRateHigh', 'query', 'instant queries'),
        queryErrors(runbook, 'ThanosQueryHttpRequestQueryRangeErrorRateHigh', 'query_range', 'range queries'),
        alert({
          alert: 'ThanosQueryGrpcClientErrorRate',
          threshold: 0.05,
          expr: (th) =>
            `sum by (job) (rate(grpc_client_handled_total{job="${J.query}",grpc_code=~"${grpcCodes}"}[5m])) / sum by (job) (rate(grpc_client_started_total{job="${J.query}"}[5m])) > ${th}`,
          for: '5m',
          severity: 'P3',
          service,
          summary: 'Thanos Query fails {{ $value | humanizePercentage }} of its requests to StoreAPIs',
          description: ({ threshold }) =>
            `More than ${percent(threshold)} of Query's requests to the sidecars, the Store Gateway, the Ruler or other clusters fail: results are partial (a warning in Grafana) or fail.`,
          runbook: runbook('ThanosQueryGrpcClientErrorRate'),
          tests: [
            firesWhen(
              'a tenth of the store requests fail',
              { [series('grpc_client_handled_total', { ...I(J.query), grpc_code: 'Unavailable', grpc_method: 'Series' })]: '0+10x20', [series('grpc_client_started_total', { ...I(J.query), grpc_method: 'Series' })]: '0+100x20' },
              '15m',
              { job: J.query },
            ),
            silentWhen(
              'every store request succeeds',
              { [series('grpc_client_handled_total', { ...I(J.query), grpc_code: 'OK', grpc_method: 'Series' })]: '0+100x20', [series('grpc_client_started_total', { ...I(J.query), grpc_method: 'Series' })]: '0+100x20' },
              '15m',
            ),
          ],
        }),
        alert({
          alert: 'ThanosRuleSenderIsFailingAlerts',
          expr: `sum by (job, instance) (rate(thanos_alert_sender_alerts_dropped_total{job="${J.rule}"}[5m])) > 0`,
          for: '5m',
          severity: 'P2',
          service,
          summary: 'The Thanos Ruler {{ $labels.instance }} cannot deliver alerts to Alertmanager',
          description: 'Alerts the Ruler fires are dropped instead of reaching Alertmanager: nobody is notified of them.',
          runbook: runbook('ThanosRuleSenderIsFailingAlerts'),
          tests: [
            firesWhen('alerts are dropped', { [series('thanos_alert_sender_alerts_dropped_total', { ...rule, alertmanager: 'alertmanager-0:9093' })]: '0+2x20' }, '15m', rule),
            silentWhen('no alert is dropped', { [series('thanos_alert_sender_alerts_dropped_total', { ...rule, alertmanager: 'alertmanager-0:9093' })]: '0x20' }, '15m'),
          ],
        }),
        alert({
          alert: 'ThanosRuleHighRuleEvaluationFailures',
          threshold: 0.05,
          expr: (th) =>
            `sum by (job, instance) (rate(prometheus_rule_evaluation_failures_total{job="${J.rule}"}[5m])) / sum by (job, instance) (rate(prometheus_rule_evaluations_total{job="${J.rule}"}[5m])) > ${th}`,
          for: '5m',
          severity: 'P2',
          service,
          summary: 'The Thanos Ruler {{ $labels.instance }} fails {{ $value | humanizePercentage }} of its rule evaluations',
          description: ({ threshold }) => `More than ${percent(threshold)} of the rule evaluations fail, mostly because Query fails or times out: alerts may not fire.`,
          runbook: runbook('ThanosRuleHighRuleEvaluationFailures'),
          tests: [
            firesWhen(
              'a fifth of the evaluations fail',
              { [series('prometheus_rule_evaluation_failures_total', { ...rule, rule_group: 'stack' })]: '0+20x20', [series('prometheus_rule_evaluations_total', { ...rule, rule_group: 'stack' })]: '0+100x20' },
              '15m',
              rule,
            ),
            silentWhen(
              'every evaluation succeeds',
              { [series('prometheus_rule_evaluation_failures_total', { ...rule, rule_group: 'stack' })]: '0x20', [series('prometheus_rule_evaluations_total', { ...rule, rule_group: 'stack' })]: '0+100x20' },
              '15m',
            ),
          ],
        }),
      ],
    }),
  ];
}
