import { alert, type Environment, firesWhen, group, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';

const P = 'job="prometheus",instance="prometheus-0:9090"';
const L = { job: 'prometheus', instance: 'prometheus-0:9090' };

/** Prometheus watching itself: rule evaluation, delivery to Alertmanager, configuration and TSDB. */
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
  ];
}
