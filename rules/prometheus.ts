import { alert, type Environment, firesWhen, group, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';

const P = 'job="prometheus",instance="prometheus-0:9090"';
const L = { job: 'prometheus', instance: 'prometheus-0:9090' };
// One remote-write queue, as Prometheus labels its prometheus_remote_storage_* series.
const Q = `${P},remote_name="mimir",url="https://mimir.example.com/api/v1/push"`;
const QL = { ...L, remote_name: 'mimir', url: 'https://mimir.example.com/api/v1/push' };

/**
 * Prometheus watching itself: rule evaluation, delivery to Alertmanager,
 * configuration and TSDB, and its remote write to a long-term store
 * (components.prometheus.remoteWrite).
 */
export function prometheusRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'prometheus';
  return [
    group({
      name: 'obstack.prometheus',
      rules: [
        alert({
          alert: 'PrometheusRuleEvaluationFailures',
          expr: 'increase(prometheus_rule_evaluation_failures_total{job="prometheus"}[5m]) > 0',
          for: '15m',
          severity: 'P2',
          service,
          summary: 'Prometheus fails to evaluate rules',
          description: '{{ $labels.instance }} failed {{ printf "%.0f" $value }} rule evaluations in 5 minutes; alerts may not fire.',
          runbook: runbook('PrometheusRuleEvaluationFailures'),
          tests: [
            firesWhen('evaluations keep failing', { [`prometheus_rule_evaluation_failures_total{${P},rule_group="g"}`]: '0+1x30' }, '25m', { ...L, rule_group: 'g' }),
            silentWhen('no evaluation fails', { [`prometheus_rule_evaluation_failures_total{${P},rule_group="g"}`]: '0x30' }, '25m'),
          ],
        }),
        alert({
          alert: 'PrometheusNotConnectedToAlertmanagers',
          expr: 'max_over_time(prometheus_notifications_alertmanagers_discovered{job="prometheus"}[5m]) < 1',
          for: '10m',
          severity: 'P1',
          service,
          summary: 'Prometheus cannot reach any Alertmanager',
          description: '{{ $labels.instance }} has discovered no Alertmanager; no alert is delivered.',
          runbook: runbook('PrometheusNotConnectedToAlertmanagers'),
          tests: [
            firesWhen('no Alertmanager is discovered', { [`prometheus_notifications_alertmanagers_discovered{${P}}`]: '0x30' }, '20m', L),
            silentWhen('one Alertmanager is discovered', { [`prometheus_notifications_alertmanagers_discovered{${P}}`]: '1x30' }, '20m'),
          ],
        }),
        alert({
          alert: 'PrometheusConfigReloadFailed',
          expr: 'max_over_time(prometheus_config_last_reload_successful{job="prometheus"}[5m]) == 0',
          for: '10m',
          severity: 'P3',
          service,
          summary: 'Prometheus configuration reload failed',
          description: '{{ $labels.instance }} runs an old configuration: the last reload failed.',
          runbook: runbook('PrometheusConfigReloadFailed'),
          tests: [
            firesWhen('the last reload failed', { [`prometheus_config_last_reload_successful{${P}}`]: '0x30' }, '20m', L),
            silentWhen('the last reload succeeded', { [`prometheus_config_last_reload_successful{${P}}`]: '1x30' }, '20m'),
          ],
        }),
        alert({
          alert: 'PrometheusNotificationQueueRunningFull',
          expr: 'predict_linear(prometheus_notifications_queue_length{job="prometheus"}[5m], 60 * 30) > min_over_time(prometheus_notifications_queue_capacity{job="prometheus"}[5m])',
          for: '15m',
          severity: 'P2',
          service,
          summary: 'Prometheus alert notification queue is filling up',
          description: 'The notification queue of {{ $labels.instance }} is predicted to be full within 30 minutes; alerts would be dropped.',
          runbook: runbook('PrometheusNotificationQueueRunningFull'),
          tests: [
            firesWhen(
              'the queue grows towards its capacity',
              { [`prometheus_notifications_queue_length{${P}}`]: '0+500x40', [`prometheus_notifications_queue_capacity{${P}}`]: '10000x40' },
              '25m',
              L,
            ),
            silentWhen(
              'the queue is short and steady',
              { [`prometheus_notifications_queue_length{${P}}`]: '10x40', [`prometheus_notifications_queue_capacity{${P}}`]: '10000x40' },
              '25m',
            ),
          ],
        }),
        alert({
          alert: 'PrometheusErrorSendingAlerts',
          threshold: 1,
          expr: (t) =>
            `100 * rate(prometheus_notifications_errors_total{job="prometheus"}[5m]) / rate(prometheus_notifications_sent_total{job="prometheus"}[5m]) > ${t}`,
          for: '15m',
          severity: 'P2',
          service,
          summary: 'Prometheus fails to send alerts to {{ $labels.alertmanager }}',
          description: '{{ printf "%.1f" $value }}% of the alerts {{ $labels.instance }} sent to {{ $labels.alertmanager }} failed.',
          runbook: runbook('PrometheusErrorSendingAlerts'),
          tests: [
            firesWhen(
              'one send in ten fails',
              {
                [`prometheus_notifications_errors_total{${P},alertmanager="http://am:9093"}`]: '0+10x30',
                [`prometheus_notifications_sent_total{${P},alertmanager="http://am:9093"}`]: '0+100x30',
              },
              '25m',
              { ...L, alertmanager: 'http://am:9093' },
            ),
            silentWhen(
              'every send succeeds',
              {
                [`prometheus_notifications_errors_total{${P},alertmanager="http://am:9093"}`]: '0x30',
                [`prometheus_notifications_sent_total{${P},alertmanager="http://am:9093"}`]: '0+100x30',
              },
              '25m',
            ),
          ],
        }),
        alert({
          alert: 'PrometheusTSDBCompactionsFailing',
          expr: 'increase(prometheus_tsdb_compactions_failed_total{job="prometheus"}[3h]) > 0',
          for: '4h',
          severity: 'P3',
          service,
          summary: 'Prometheus TSDB compactions fail',
          description: '{{ $labels.instance }} had {{ printf "%.0f" $value }} failed compactions in 3 hours; disk use will grow.',
          runbook: runbook('PrometheusTSDBCompactionsFailing'),
          tests: [
            firesWhen('compactions keep failing', { [`prometheus_tsdb_compactions_failed_total{${P}}`]: '0+1x260' }, '4h10m', L, { evaluationInterval: '5m' }),
            silentWhen('compactions succeed', { [`prometheus_tsdb_compactions_failed_total{${P}}`]: '0x260' }, '4h10m', { evaluationInterval: '5m' }),
          ],
        }),
        alert({
          alert: 'PrometheusTSDBReloadsFailing',
          expr: 'increase(prometheus_tsdb_reloads_failures_total{job="prometheus"}[3h]) > 0',
          for: '4h',
          severity: 'P3',
          service,
          summary: 'Prometheus TSDB block reloads fail',
          description: '{{ $labels.instance }} failed {{ printf "%.0f" $value }} block reloads in 3 hours.',
          runbook: runbook('PrometheusTSDBReloadsFailing'),
          tests: [
            firesWhen('reloads keep failing', { [`prometheus_tsdb_reloads_failures_total{${P}}`]: '0+1x260' }, '4h10m', L, { evaluationInterval: '5m' }),
            silentWhen('reloads succeed', { [`prometheus_tsdb_reloads_failures_total{${P}}`]: '0x260' }, '4h10m', { evaluationInterval: '5m' }),
          ],
        }),
        alert({
          alert: 'PrometheusMissingRuleEvaluations',
          expr: 'increase(prometheus_rule_group_iterations_missed_total{job="prometheus"}[5m]) > 0',
          for: '15m',
          severity: 'P3',
          service,
          summary: 'Prometheus skips rule group evaluations',
          description: '{{ $labels.instance }} missed {{ printf "%.0f" $value }} evaluations of {{ $labels.rule_group }} in 5 minutes: the group is too slow for its interval.',
          runbook: runbook('PrometheusMissingRuleEvaluations'),
          tests: [
            firesWhen('iterations are missed', { [`prometheus_rule_group_iterations_missed_total{${P},rule_group="g"}`]: '0+1x30' }, '25m', { ...L, rule_group: 'g' }),
            silentWhen('no iteration is missed', { [`prometheus_rule_group_iterations_missed_total{${P},rule_group="g"}`]: '0x30' }, '25m'),
          ],
        }),
        alert({
          alert: 'PrometheusNotIngestingSamples',
          expr: 'rate(prometheus_tsdb_head_samples_appended_total{job="prometheus"}[5m]) <= 0 and prometheus_tsdb_head_series{job="prometheus"} > 0',
          for: '10m',
          severity: 'P2',
          service,
          summary: 'Prometheus is not ingesting samples',
          description: '{{ $labels.instance }} has series in its head block but appended no sample in 5 minutes: every alert is blind.',
          runbook: runbook('PrometheusNotIngestingSamples'),
          tests: [
            firesWhen(
              'no sample is appended',
              { [`prometheus_tsdb_head_samples_appended_total{${P}}`]: '1000x30', [`prometheus_tsdb_head_series{${P}}`]: '500x30' },
              '25m',
              L,
            ),
            silentWhen(
              'samples are appended',
              { [`prometheus_tsdb_head_samples_appended_total{${P}}`]: '0+1000x30', [`prometheus_tsdb_head_series{${P}}`]: '500x30' },
              '25m',
            ),
          ],
        }),
      ],
    }),
    remoteWriteRules(service),
  ];
}

/**
 * Remote write, after kube-prometheus's PrometheusRemoteStorageFailures,
 * PrometheusRemoteWriteBehind and PrometheusRemoteWriteDesiredShards, on the
 * series Prometheus 3 writes per queue (`remote_name`, `url`). Shipped to
 * every environment, like every area's alerts (the alert names an environment
 * file may override do not depend on it): without remote write their series
 * do not exist and they cannot fire.
 */
function remoteWriteRules(service: string): RuleGroup {
  const failed = 'rate(prometheus_remote_storage_samples_failed_total{job="prometheus"}[5m])';
  const sent = 'rate(prometheus_remote_storage_samples_total{job="prometheus"}[5m])';
  return group({
    name: 'obstack.prometheus.remote-write',
    rules: [
      alert({
        alert: 'PrometheusRemoteStorageFailures',
        threshold: 1,
        expr: (t) => `100 * ${failed} / (${failed} + ${sent}) > ${t}`,
        for: '15m',
        severity: 'P2',
        service,
        summary: 'Prometheus fails to send samples to {{ $labels.remote_name }}',
        description: ({ threshold }) =>
          `{{ $labels.instance }} failed to send {{ printf "%.1f" $value }}% of its samples to {{ $labels.remote_name }} ({{ $labels.url }}), more than ${threshold}%: the long-term store misses them once the WAL moves on.`,
        runbook: {
          impact: 'The long-term store misses samples: dashboards and alerts reading it show gaps, and the gap becomes permanent when Prometheus\'s WAL (about two hours) moves past the unsent samples.',
          causes: [
            'The store refuses the requests: a rotated token or password whose Secret was not updated (401/403), a tenant over its limits (429, "per-user series limit").',
            'The store is down or unreachable (5xx, timeouts): its own outage, a NetworkPolicy or egress block that does not cover its addresses.',
            'Samples the store refuses for good (400): out-of-order samples, too many labels, a label value too long.',
          ],
          checks: [
            "Prometheus's log (container prometheus): look for \"non-recoverable error\" or \"Failed to send batch\" with the HTTP status.",
            'prometheus_remote_storage_samples_failed_total by url against prometheus_remote_storage_samples_retried_total: retried samples still arrive, failed ones do not.',
          ],
        },
        tests: [
          firesWhen(
            'one sample in ten fails',
            { [`prometheus_remote_storage_samples_failed_total{${Q}}`]: '0+100x30', [`prometheus_remote_storage_samples_total{${Q}}`]: '0+900x30' },
            '25m',
            QL,
          ),
          silentWhen(
            'every sample is sent',
            { [`prometheus_remote_storage_samples_failed_total{${Q}}`]: '0x30', [`prometheus_remote_storage_samples_total{${Q}}`]: '0+1000x30' },
            '25m',
          ),
          silentWhen(
            'the failures stop before 15 minutes',
            { [`prometheus_remote_storage_samples_failed_total{${Q}}`]: '0+100x10 1000x20', [`prometheus_remote_storage_samples_total{${Q}}`]: '0+900x30' },
            '25m',
          ),
        ],
      }),
      alert({
        alert: 'PrometheusRemoteWriteBehind',
        threshold: 120,
        // Without max_over_time, a failed self-scrape would leave a hole that hides the lag.
        expr: (t) =>
          `max_over_time(prometheus_remote_storage_queue_highest_timestamp_seconds{job="prometheus"}[5m]) - max_over_time(prometheus_remote_storage_queue_highest_sent_timestamp_seconds{job="prometheus"}[5m]) > ${t}`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'Prometheus remote write to {{ $labels.remote_name }} is behind',
        description: ({ threshold }) =>
          `The newest sample {{ $labels.instance }} sent to {{ $labels.remote_name }} ({{ $labels.url }}) is {{ printf "%.0f" $value }}s older than the newest it read, more than ${threshold}s: the store is late, and loses samples if the lag outgrows the WAL.`,
        runbook: {
          impact: 'The long-term store is minutes behind: its dashboards and alerts see the present late; past about two hours of lag (the WAL) samples are lost.',
          causes: [
            'Too few remote-write shards for the samples per second: the queue is capped by maxShards (see PrometheusRemoteWriteDesiredShards).',
            'The store answers slowly or throttles (429), so every shard waits on it.',
            'Prometheus itself lacks CPU to compress and send.',
          ],
          checks: [
            'prometheus_remote_storage_shards, prometheus_remote_storage_shards_desired and prometheus_remote_storage_shards_max of the queue.',
            'prometheus_remote_storage_sent_batch_duration_seconds: slow requests point at the store.',
          ],
        },
        tests: [
          firesWhen(
            'the sent timestamp stays ten minutes behind',
            {
              [`prometheus_remote_storage_queue_highest_timestamp_seconds{${Q}}`]: '1000+60x30',
              [`prometheus_remote_storage_queue_highest_sent_timestamp_seconds{${Q}}`]: '400+60x30',
            },
            '25m',
            QL,
          ),
          silentWhen(
            'the queue keeps up within seconds',
            {
              [`prometheus_remote_storage_queue_highest_timestamp_seconds{${Q}}`]: '1000+60x30',
              [`prometheus_remote_storage_queue_highest_sent_timestamp_seconds{${Q}}`]: '995+60x30',
            },
            '25m',
          ),
        ],
      }),
      alert({
        alert: 'PrometheusRemoteWriteDesiredShards',
        // Without max_over_time, a failed self-scrape would leave a hole that hides the shortfall.
        expr: 'max_over_time(prometheus_remote_storage_shards_desired{job="prometheus"}[5m]) > max_over_time(prometheus_remote_storage_shards_max{job="prometheus"}[5m])',
        for: '15m',
        severity: 'P3',
        service,
        summary: 'Prometheus remote write to {{ $labels.remote_name }} wants more shards than allowed',
        description: '{{ $labels.instance }} computes that {{ printf "%.0f" $value }} shards are needed to keep up with {{ $labels.remote_name }} ({{ $labels.url }}), more than its maxShards: it will fall behind.',
        runbook: {
          impact: 'Remote write cannot send as fast as samples arrive with the shards it may use: it falls behind (PrometheusRemoteWriteBehind follows) and, past the WAL, loses samples.',
          causes: [
            'More samples per second than when maxShards was chosen (new targets, more series, a shorter scrape interval).',
            'Slower requests to the store, so each shard sends less.',
          ],
          checks: [
            "Raise components.prometheus.remoteWrite[].queue.maxShards (and Prometheus's CPU and memory with it), or send less with writeRelabel.",
          ],
        },
        tests: [
          firesWhen(
            'the desired shards exceed the maximum',
            { [`prometheus_remote_storage_shards_desired{${Q}}`]: '80x30', [`prometheus_remote_storage_shards_max{${Q}}`]: '50x30' },
            '25m',
            QL,
          ),
          silentWhen(
            'the desired shards stay under the maximum',
            { [`prometheus_remote_storage_shards_desired{${Q}}`]: '12x30', [`prometheus_remote_storage_shards_max{${Q}}`]: '50x30' },
            '25m',
          ),
        ],
      }),
    ],
  });
}
